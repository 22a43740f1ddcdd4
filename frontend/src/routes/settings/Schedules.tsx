// Schedules of a project: a rule set run on two sources (a feed's newest ready dataset, or a fixed dataset)
// at cron slots in a time zone and/or when a feed brings a new file. The api computes the next run times.
import { Alert, Autocomplete, Button, Group, Paper, Select, Stack, Switch, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { DeleteCell } from '../../components/DeleteCell';
import { formatDateTime } from '../../components/format';
import { EmptyState, QueryView } from '../../components/status';
import { useFeeds } from './Feeds';

type Schedule = Schemas['ScheduleOut'];
type Source = Schemas['Source'];

const scheduleKeys = (projectId: string) => ['projects', projectId, 'schedules'] as const;
const NEXT_SHOWN = 3;

const ZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? ['UTC'];
  } catch {
    return ['UTC'];
  }
})();

/** A slot in the schedule's own time zone (what the cron means), e.g. "Mon 8 Dec 2026, 06:00 Europe/Berlin". */
export function formatSlot(iso: string, timeZone: string): string {
  try {
    const text = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone }).format(new Date(iso));
    return `${text} ${timeZone}`;
  } catch {
    return formatDateTime(iso);
  }
}

function useNames(projectId: string) {
  const feeds = useFeeds(projectId);
  const datasets = useQuery({
    queryKey: ['projects', projectId, 'datasets'],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/datasets', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  const rulesets = useQuery({
    queryKey: ['projects', projectId, 'rulesets'],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/rulesets', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  return useMemo(() => {
    const sources = [
      ...(feeds.data?.items ?? []).map((f) => ({ value: `feed:${f.id}`, label: `Feed: ${f.name} (newest file)` })),
      ...(datasets.data?.items ?? []).map((d) => ({ value: `dataset:${d.id}`, label: `Dataset: ${d.name}` })),
    ];
    const label = new Map(sources.map((s) => [s.value, s.label]));
    const rulesetOptions = (rulesets.data?.items ?? []).map((r) => ({ value: r.id, label: r.name }));
    const rulesetName = new Map(rulesetOptions.map((r) => [r.value, r.label]));
    const source = (s: Source) => label.get(s.feed_id ? `feed:${s.feed_id}` : `dataset:${s.dataset_id}`) ?? (s.feed_id ? 'a deleted feed' : 'a deleted dataset');
    return { sources, rulesetOptions, source, ruleset: (id: string) => rulesetName.get(id) ?? id };
  }, [feeds.data, datasets.data, rulesets.data]);
}

const toSource = (value: string | null): Source | null => {
  if (!value) return null;
  const [kind, id] = [value.slice(0, value.indexOf(':')), value.slice(value.indexOf(':') + 1)];
  return kind === 'feed' ? { feed_id: id } : { dataset_id: id };
};

function NewSchedule({ projectId, names }: { projectId: string; names: ReturnType<typeof useNames> }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [ruleset, setRuleset] = useState<string | null>(null);
  const [left, setLeft] = useState<string | null>(null);
  const [right, setRight] = useState<string | null>(null);
  const [cron, setCron] = useState('0 6 * * 1-5');
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [onNewFile, setOnNewFile] = useState(false);
  const [missing, setMissing] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/projects/{project_id}/schedules', {
          params: { path: { project_id: projectId } },
          body: {
            name: name.trim(),
            ruleset_id: ruleset!,
            left: toSource(left)!,
            right: toSource(right)!,
            cron: cron.trim() || null,
            timezone: timezone.trim(),
            on_new_file: onNewFile,
          },
        }),
      ),
    onSuccess: () => {
      setName('');
      void queryClient.invalidateQueries({ queryKey: scheduleKeys(projectId) });
    },
  });
  const errors = { ...fieldErrors(create.error), ...missing };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const absent: Record<string, string> = {};
    if (!ruleset) absent.ruleset_id = 'Choose the rule set to run';
    if (!left) absent.left = 'Choose the left side';
    if (!right) absent.right = 'Choose the right side';
    setMissing(absent);
    if (Object.keys(absent).length === 0) create.mutate();
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} noValidate aria-label="New schedule">
        <Stack gap="sm" maw={560}>
          <Title order={4}>Schedule a run</Title>
          <TextInput label="Schedule name" value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.name} required />
          <Select label="Rule set" description="Its newest version runs" data={names.rulesetOptions} value={ruleset} onChange={setRuleset} error={errors.ruleset_id} searchable />
          <Select label="Left side" data={names.sources} value={left} onChange={setLeft} error={errors.left ?? errors['left.feed_id'] ?? errors['left.dataset_id']} searchable />
          <Select label="Right side" data={names.sources} value={right} onChange={setRight} error={errors.right ?? errors['right.feed_id'] ?? errors['right.dataset_id']} searchable />
          <TextInput
            label="Cron"
            description='Minute hour day-of-month month day-of-week, e.g. "0 6 * * 1-5" (06:00 Monday to Friday); empty: only on new files'
            value={cron}
            onChange={(e) => setCron(e.currentTarget.value)}
            error={errors.cron}
            styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
          />
          <Autocomplete label="Time zone" description="IANA name, e.g. Europe/Berlin" data={ZONES} value={timezone} onChange={setTimezone} error={errors.timezone} limit={20} />
          <Switch label="Also run when a feed side brings a new file" checked={onNewFile} onChange={(e) => setOnNewFile(e.currentTarget.checked)} />
          {create.error && Object.keys(fieldErrors(create.error)).length === 0 ? (
            <Alert color="red" role="alert">
              {humanMessage(create.error)}
            </Alert>
          ) : null}
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create schedule
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

function ScheduleRow({ projectId, schedule: s, names }: { projectId: string; schedule: Schedule; names: ReturnType<typeof useNames> }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () =>
      unwrap(api.DELETE('/api/v1/projects/{project_id}/schedules/{schedule_id}', { params: { path: { project_id: projectId, schedule_id: s.id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: scheduleKeys(projectId) }),
  });
  const when = [s.cron ? `${s.cron} (${s.timezone})` : null, s.on_new_file ? 'on a new file' : null].filter(Boolean).join(' and ');
  return (
    <Table.Tr>
      <Table.Td>{s.name}</Table.Td>
      <Table.Td>{names.ruleset(s.ruleset_id)}</Table.Td>
      <Table.Td>
        {names.source(s.left)}
        <br />
        {names.source(s.right)}
      </Table.Td>
      <Table.Td>
        <Text size="sm" ff="monospace">
          {when}
        </Text>
        {!s.enabled && <Text size="xs">paused</Text>}
      </Table.Td>
      <Table.Td>
        {s.next_runs.length ? (
          <Stack gap={0} aria-label={`Next runs of ${s.name}`}>
            {s.next_runs.slice(0, NEXT_SHOWN).map((slot) => (
              <Text key={slot} size="sm">
                {formatSlot(slot, s.timezone)}
              </Text>
            ))}
          </Stack>
        ) : (
          '—'
        )}
      </Table.Td>
      <Table.Td>
        {formatDateTime(s.last_fired_at)}
        {s.last_error && (
          <Text size="xs" c="red.9">
            {s.last_error}
          </Text>
        )}
      </Table.Td>
      <DeleteCell label={`Delete schedule ${s.name}`} remove={remove} />
    </Table.Tr>
  );
}

export function Schedules({ projectId }: { projectId: string }) {
  const names = useNames(projectId);
  const schedules = useQuery({
    queryKey: scheduleKeys(projectId),
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/schedules', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  return (
    <Stack>
      <QueryView
        query={schedules}
        label="Loading schedules"
        isEmpty={(page) => page.items.length === 0}
        empty={<EmptyState title="No schedule yet">A schedule runs a rule set by itself, at set times or when a feed brings a new file.</EmptyState>}
      >
        {(page) => (
          <Table aria-label="Schedules">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Rule set</Table.Th>
                <Table.Th>Left / right</Table.Th>
                <Table.Th>When</Table.Th>
                <Table.Th>Next runs</Table.Th>
                <Table.Th>Last run</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((s) => (
                <ScheduleRow key={s.id} projectId={projectId} schedule={s} names={names} />
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
      <NewSchedule projectId={projectId} names={names} />
    </Stack>
  );
}
