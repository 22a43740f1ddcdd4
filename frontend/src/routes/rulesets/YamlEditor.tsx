// CodeMirror 6 with YAML highlighting; the engine's problems are shown in place (underline + gutter marker).
import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';
import { locate } from './locate';

export interface RulesProblem {
  location: string;
  message: string;
}

export function YamlEditor({
  value,
  onChange,
  problems,
  label,
}: {
  value: string;
  onChange: (text: string) => void;
  problems: RulesProblem[];
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          yaml(),
          lintGutter(),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) changed.current(update.state.doc.toString());
          }),
          EditorView.theme({ '&': { fontSize: '13px', border: '1px solid var(--mantine-color-default-border)' }, '.cm-scroller': { minHeight: '320px' } }),
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
    // The editor is created once; later `value` changes (from the builder) are applied below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const current = editor.state.doc.toString();
    if (current !== value) editor.dispatch({ changes: { from: 0, to: current.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const text = editor.state.doc.toString();
    const diagnostics: Diagnostic[] = problems.map((problem) => {
      const at = locate(text, problem.location, problem.message);
      const to = Math.min(Math.max(at.to, at.from + 1), text.length);
      return { from: Math.min(at.from, text.length), to, severity: 'error', message: problem.location ? `${problem.location}: ${problem.message}` : problem.message };
    });
    editor.dispatch(setDiagnostics(editor.state, diagnostics));
  }, [problems, value]);

  return <div ref={host} />;
}
