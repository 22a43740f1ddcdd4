// Audit: the project's hash-chained audit trail, filterable (action or prefix, entity, time range) with the
// filters in the URL, and the chain verification result.
import { Alert, Button, Code, Group, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery, useMutation } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { humanMessage } from '../../api/errors';
import { useProjectId } from '../../app/project';
import { formatDateTime, shortHash } from '../../components/format';
import { EmptyState, ErrorNotice, Loading } from '../../components/status';

const KEYS = ['action', 'entity_type', 'entity_id', 'since', 'until'] as const;
type Key = (typeof KEYS)[number];

function Verify({ projectId }: { projectId: string }) {
  const verify = useMutation({
    mutationFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/audit/verify', { params: { path: { project_id: projectId } } })),
  });
  const result = verify.data;
  return (
    <Paper withBorder p="md">
      <Group justify="space-between">
        <Title order={4}>Chain verification</Title>
        <Button onClick={() => verify.mutate()} loading={verify.isPending}>
          Verify the audit chain
        </Button>
      </Group>
      {verify.error ? <Alert color="red" mt="sm" role="alert">{humanMessage(verify.error)}</Alert> : null}
      {result && (
        <Alert mt="sm" color={result.ok ? 'green' : 'red'} role="status" title={result.ok ? 'The chain is intact' : 'The chain is broken'}>
          <Text size="sm">
            {result.events_checked} event(s) checked.
            {result.head ? ` Head: event ${result.head.seq}, hash ${shortHash(result.head.hash, 16)} (keep a copy elsewhere).` : ''}
            {!result.ok ? ` First broken event ${result.first_broken_event_id}: ${result.reason}` : ''}
          </Text>
        </Alert>
      )}
    </Paper>
  );
}

export default function AuditPage() {
  const projectId = useProjectId();
  const [params, setParams] = useSearchParams();
  const filters = Object.fromEntries(KEYS.map((k) => [k, params.get(k) ?? ''])) as Record<Key, string>;
  const [draft, setDraft] = useState(filters);
  const key = params.toString();
  useEffect(() => setDraft(Object.fromEntries(KEYS.map((k) => [k, new URLSearchParams(key).get(k) ?? ''])) as Record<Key, string>), [key]);
  const events = useInfiniteQuery({
    queryKey: ['projects', projectId, 'audit', key],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => {
      const query: Record<string, string | number> = { limit: 100 };
      for (const k of KEYS) if (filters[k]) query[k] = filters[k];
      if (pageParam) query.cursor = pageParam;
      return unwrap(api.GET('/api/v1/projects/{project_id}/audit', { params: { path: { project_id: projectId }, query: query as never } }));
    },
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const k of KEYS) if (draft[k].trim()) next.set(k, draft[k].trim());
    setParams(next);
  };
  const rows = events.data?.pages.flatMap((p) => p.items) ?? [];
  const field = (k: Key, label: string, type = 'text') => (
    <TextInput label={label} type={type} value={draft[k]} onChange={(e) => setDraft((d) => ({ ...d, [k]: e.currentTarget.value }))} w={190} />
  );
  return (
    <Stack gap="md">
      <Title order={3}>Audit trail</Title>
      <Verify projectId={projectId} />
      <form onSubmit={submit} aria-label="Audit filters">
        <Group align="flex-end" gap="xs">
          {field('action', 'Action (or prefix ending in .)')}
          {field('entity_type', 'Entity type')}
          {field('entity_id', 'Entity id')}
          {field('since', 'From', 'datetime-local')}
          {field('until', 'Until', 'datetime-local')}
          <Button type="submit" variant="light">Apply filters</Button>
          <Button variant="subtle" onClick={() => setParams(new URLSearchParams())}>Clear</Button>
        </Group>
      </form>
      {events.isPending ? (
        <Loading label="Loading the audit trail" />
      ) : events.error ? (
        <ErrorNotice error={events.error} onRetry={() => void events.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No audit event matches">Change or clear the filters.</EmptyState>
      ) : (
        <>
          <Table aria-label="Audit events" fz="xs" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>#</Table.Th>
                <Table.Th>When</Table.Th>
                <Table.Th>Action</Table.Th>
                <Table.Th>Entity</Table.Th>
                <Table.Th>Actor</Table.Th>
                <Table.Th>Data</Table.Th>
                <Table.Th>Hash</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td>{e.seq}</Table.Td>
                  <Table.Td>{formatDateTime(e.occurred_at)}</Table.Td>
                  <Table.Td>{e.action}</Table.Td>
                  <Table.Td>
                    {e.entity_type} {shortHash(e.entity_id, 8)}
                  </Table.Td>
                  <Table.Td>{shortHash(e.actor_id, 8)}</Table.Td>
                  <Table.Td maw={420}>
                    <Code block fz="xs" tabIndex={0} aria-label={`Data of event ${e.seq}`} style={{ maxHeight: 80, overflow: 'auto' }}>
                      {JSON.stringify(e.data)}
                    </Code>
                  </Table.Td>
                  <Table.Td>{shortHash(e.hash, 10)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {events.hasNextPage && (
            <Button variant="default" loading={events.isFetchingNextPage} onClick={() => void events.fetchNextPage()}>
              Load older events
            </Button>
          )}
        </>
      )}
    </Stack>
  );
}
