// Feeds of a project: folders the workers watch (a local directory in the embedded mode, an S3 prefix in
// production). Each new file is ingested once per content; bank statements need no column mapping.
import { Alert, Button, Group, Paper, Stack, Switch, Table, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { DeleteCell } from '../../components/DeleteCell';
import { formatDateTime } from '../../components/format';
import { EmptyState, QueryView } from '../../components/status';

export type Feed = Schemas['FeedOut'];

export const feedKeys = (projectId: string) => ['projects', projectId, 'feeds'] as const;

export function useFeeds(projectId: string) {
  return useQuery({
    queryKey: feedKeys(projectId),
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/feeds', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
}

/** "field = column" lines into a mapping; a line without "=" is reported on the field, not dropped. */
export function parseMapping(text: string): { mapping: Record<string, string>; problem: string | null } {
  const mapping: Record<string, string> = {};
  const lines = text.split('\n').map((line) => line.trim());
  for (const [index, line] of lines.entries()) {
    if (!line) continue;
    const at = line.indexOf('=');
    const field = line.slice(0, at).trim();
    const column = line.slice(at + 1).trim();
    if (at < 0 || !field || !column) return { mapping, problem: `line ${index + 1}: write "field = column", e.g. "amount = Betrag"` };
    mapping[field] = column;
  }
  return { mapping, problem: null };
}

function NewFeed({ projectId }: { projectId: string }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const [statements, setStatements] = useState(true);
  const [mappingText, setMappingText] = useState('');
  const parsed = parseMapping(mappingText);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/projects/{project_id}/feeds', {
          params: { path: { project_id: projectId } },
          body: { name: name.trim(), path: path.trim(), mapping: statements ? null : parsed.mapping },
        }),
      ),
    onSuccess: () => {
      setName('');
      setPath('');
      setMappingText('');
      void queryClient.invalidateQueries({ queryKey: feedKeys(projectId) });
    },
  });
  const errors = fieldErrors(create.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!statements && parsed.problem) return;
    create.mutate();
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} noValidate aria-label="New feed">
        <Stack gap="sm" maw={560}>
          <Title order={4}>Watch a folder</Title>
          <TextInput label="Feed name" value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.name} required />
          <TextInput
            label="Folder"
            description="Inside the project's folder of the feeds store, e.g. bank/statements"
            value={path}
            onChange={(e) => setPath(e.currentTarget.value)}
            error={errors.path}
            required
          />
          <Switch
            label="The files are bank statements (MT940/MT950, CAMT.053, BAI2, OFX): no column mapping"
            checked={statements}
            onChange={(e) => setStatements(e.currentTarget.checked)}
          />
          {!statements && (
            <Textarea
              label="Column mapping"
              description='One "field = column" a line (fields: ext_id, date, value_date, amount, currency, reference, counterparty, description); fields left out are found by name.'
              value={mappingText}
              onChange={(e) => setMappingText(e.currentTarget.value)}
              error={parsed.problem ?? errors.mapping}
              autosize
              minRows={2}
            />
          )}
          {create.error && Object.keys(errors).length === 0 ? (
            <Alert color="red" role="alert">
              {humanMessage(create.error)}
            </Alert>
          ) : null}
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create feed
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

function FeedRow({ projectId, feed }: { projectId: string; feed: Feed }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () =>
      unwrap(api.DELETE('/api/v1/projects/{project_id}/feeds/{feed_id}', { params: { path: { project_id: projectId, feed_id: feed.id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: feedKeys(projectId) }),
  });
  const mapped = Object.keys(feed.mapping ?? {}).length;
  return (
    <Table.Tr>
      <Table.Td>{feed.name}</Table.Td>
      <Table.Td>
        <Text size="sm" ff="monospace">
          {feed.location}
        </Text>
      </Table.Td>
      <Table.Td>{feed.mapping ? `${mapped} mapped column${mapped === 1 ? '' : 's'}` : 'bank statements: no mapping'}</Table.Td>
      <Table.Td>
        {feed.enabled ? 'watching' : 'paused'}
        {feed.last_error && (
          <Text size="xs" c="red.9">
            {feed.last_error}
          </Text>
        )}
      </Table.Td>
      <Table.Td>{formatDateTime(feed.last_polled_at)}</Table.Td>
      <DeleteCell label={`Delete feed ${feed.name}`} remove={remove} />
    </Table.Tr>
  );
}

export function Feeds({ projectId }: { projectId: string }) {
  const feeds = useFeeds(projectId);
  return (
    <Stack>
      <QueryView
        query={feeds}
        label="Loading feeds"
        isEmpty={(page) => page.items.length === 0}
        empty={<EmptyState title="No feed yet">A feed watches a folder and ingests each new file once, as a dataset.</EmptyState>}
      >
        {(page) => (
          <Table aria-label="Feeds">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Put files in</Table.Th>
                <Table.Th>Files</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Last checked</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((feed) => (
                <FeedRow key={feed.id} projectId={projectId} feed={feed} />
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
      <NewFeed projectId={projectId} />
    </Stack>
  );
}
