// Version history and a side-by-side diff of two versions (CodeMirror's merge view).
import { MergeView } from '@codemirror/merge';
import { yaml } from '@codemirror/lang-yaml';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { Group, Select, Stack, Table, Text } from '@mantine/core';
import { useEffect, useRef } from 'react';
import { useSearchParams } from 'react-router';
import { formatDateTime, shortHash } from '../../components/format';
import { EmptyState, Loading, QueryView } from '../../components/status';
import { useVersions, useVersionText } from './api';

function Diff({ a, b }: { a: string; b: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const readOnly = [yaml(), EditorState.readOnly.of(true), EditorView.editable.of(false)];
    const view = new MergeView({
      parent: host.current!,
      a: { doc: a, extensions: [...readOnly, EditorView.contentAttributes.of({ 'aria-label': 'Older version' })] },
      b: { doc: b, extensions: [...readOnly, EditorView.contentAttributes.of({ 'aria-label': 'Newer version' })] },
    });
    return () => view.destroy();
  }, [a, b]);
  return <div ref={host} style={{ border: '1px solid var(--mantine-color-default-border)', fontSize: 13 }} />;
}

export function History({ projectId, rulesetId, latest }: { projectId: string; rulesetId: string; latest: number }) {
  const versions = useVersions(projectId, rulesetId);
  const [params, setParams] = useSearchParams();
  const from = Number(params.get('from') ?? Math.max(1, latest - 1));
  const to = Number(params.get('to') ?? latest);
  const older = useVersionText(projectId, rulesetId, from);
  const newer = useVersionText(projectId, rulesetId, to);
  const choose = (key: 'from' | 'to', value: string | null) => {
    if (!value) return;
    const next = new URLSearchParams(params);
    next.set(key, value);
    setParams(next, { replace: true });
  };
  return (
    <QueryView query={versions} label="Loading versions" isEmpty={(p) => p.items.length === 0} empty={<EmptyState title="No versions" />}>
      {(page) => {
        const options = page.items.map((v) => ({ value: String(v.version), label: `v${v.version} — ${formatDateTime(v.created_at)}` }));
        return (
          <Stack>
            <Table aria-label="Versions">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>Rules name</Table.Th>
                  <Table.Th>SHA-256</Table.Th>
                  <Table.Th>Saved</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {page.items.map((v) => (
                  <Table.Tr key={v.version}>
                    <Table.Td>v{v.version}</Table.Td>
                    <Table.Td>{v.rules_name}</Table.Td>
                    <Table.Td>{shortHash(v.sha256)}</Table.Td>
                    <Table.Td>{formatDateTime(v.created_at)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            {page.items.length < 2 ? (
              <Text size="sm" c="dimmed">
                Save a second version to compare versions.
              </Text>
            ) : (
              <>
                <Group>
                  <Select label="Compare version" data={options} value={String(from)} onChange={(v) => choose('from', v)} allowDeselect={false} w={280} />
                  <Select label="with version" data={options} value={String(to)} onChange={(v) => choose('to', v)} allowDeselect={false} w={280} />
                </Group>
                {older.isPending || newer.isPending ? (
                  <Loading label="Loading the versions" />
                ) : older.data && newer.data ? (
                  <Diff a={older.data.text} b={newer.data.text} />
                ) : (
                  <QueryView query={older.error ? older : newer}>{() => null}</QueryView>
                )}
              </>
            )}
          </Stack>
        );
      }}
    </QueryView>
  );
}
