// From the engine's problem locations (`passes[1].match[2]`, `left.id`) to a place in the YAML text, so
// the editor can underline the key the problem is about.
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';

export interface Located {
  from: number;
  to: number;
  line: number; // 1-based
}

export function locationPath(location: string): (string | number)[] {
  const path: (string | number)[] = [];
  for (const part of location.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    path.push(part.startsWith('[') ? Number(part.slice(1, -1)) : part);
  }
  return path;
}

/** The deepest node of `location` found in `text`; for "unknown key 'x'" the key `x` itself. */
export function locate(text: string, location: string, message = ''): Located {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, keepSourceTokens: false });
  let node: unknown = doc.contents;
  let range: [number, number] | null = null;
  let keyRange: [number, number] | null = null;
  const take = (n: unknown) => {
    const r = (n as YamlNode | null)?.range;
    if (r) range = [r[0], r[1]];
  };
  take(node);
  for (const step of locationPath(location)) {
    if (typeof step === 'number' && isSeq(node)) {
      if (node.items[step] === undefined) break;
      node = node.items[step];
      keyRange = null;
    } else if (typeof step === 'string' && isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === step);
      if (!pair) break;
      const k = (pair.key as YamlNode | null)?.range;
      keyRange = k ? [k[0], k[1]] : null;
      node = pair.value;
    } else {
      break;
    }
    take(node);
  }
  const unknown = /unknown key '([^']+)'/.exec(message)?.[1];
  if (unknown && isMap(node)) {
    const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === unknown);
    const k = (pair?.key as YamlNode | null | undefined)?.range;
    if (k) keyRange = [k[0], k[1]];
  }
  const [from, end] = keyRange ?? range ?? [0, 0];
  // A problem of the whole document underlines its first line, not every line.
  const to = !keyRange && node === doc.contents && text.includes('\n') ? Math.min(end, text.indexOf('\n')) : end;
  return { from, to: Math.max(to, from), line: counter.linePos(from).line };
}
