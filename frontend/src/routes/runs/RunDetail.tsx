import { Alert, Anchor, Button, Group, Progress, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { humanMessage } from '../../api/errors';
import { roleAtLeast } from '../../app/auth';
import { useProjectRole } from '../../app/project';
import { formatCount, formatDateTime, shortHash } from '../../components/format';
import { ReconSummary, type EngineSummary } from '../../components/ReconSummary';
import { StatusBadge } from '../../components/StatusBadge';
import { QueryView } from '../../components/status';
import { FINAL, runKeys, useRun, useRunEvents, type LiveState, type PassProgress, type Run } from './api';

const PHASES = ['loading', 'matching', 'persisting', 'done'];

function LiveProgress({ state }: { state: LiveState }) {
  const phase = state.progress?.phase ?? (state.status === 'queued' ? 'queued' : 'starting');
  const at = PHASES.indexOf(phase);
  const passes: PassProgress[] = state.progress?.passes ?? [];
  return (
    <Stack gap="xs" aria-label="Run progress">
      <Text size="sm" role="status" aria-live="polite">
        {state.status === 'queued' ? 'Waiting for a worker…' : `Phase: ${phase}`}
      </Text>
      <Progress value={at < 0 ? 5 : ((at + 1) / PHASES.length) * 100} animated aria-label="Run phase" />
      {passes.length > 0 && (
        <Table aria-label="Progress per pass" withTableBorder>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Pass</Table.Th>
              <Table.Th>Stage</Table.Th>
              <Table.Th ta="right">Groups</Table.Th>
              <Table.Th ta="right">Left</Table.Th>
              <Table.Th ta="right">Right</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {passes.map((p) => (
              <Table.Tr key={p.name}>
                <Table.Td>{p.name}</Table.Td>
                <Table.Td>{p.stage ?? '—'}</Table.Td>
                <Table.Td ta="right">{formatCount(p.groups)}</Table.Td>
                <Table.Td ta="right">{formatCount(p.left)}</Table.Td>
                <Table.Td ta="right">{formatCount(p.right)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function Provenance({ run }: { run: Run }) {
  const rows: [string, string][] = [
    ['Left input', `${shortHash(run.inputs.left_sha256, 16)} (dataset ${run.inputs.left_dataset_id.slice(0, 8)})`],
    ['Right input', `${shortHash(run.inputs.right_sha256, 16)} (dataset ${run.inputs.right_dataset_id.slice(0, 8)})`],
    ['Rule version', `v${run.ruleset.version} · ${shortHash(run.ruleset.sha256, 16)}`],
    ['Results', shortHash(run.results_sha256, 16)],
    ['Attempt', String(run.attempt)],
    ['Started', formatDateTime(run.started_at)],
    ['Finished', formatDateTime(run.finished_at)],
  ];
  return (
    <Table aria-label="Inputs and hashes" withTableBorder>
      <Table.Tbody>
        {rows.map(([k, v]) => (
          <Table.Tr key={k}>
            <Table.Th w={160}>{k}</Table.Th>
            <Table.Td style={{ fontFamily: 'monospace' }}>{v}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Actions({ run }: { run: Run }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const canAct = roleAtLeast(useProjectRole(), 'preparer');
  const action = useMutation({
    mutationFn: (what: 'cancel' | 'retry' | 'rerun') => {
      const params = { params: { path: { run_id: run.id } } };
      if (what === 'cancel') return unwrap(api.POST('/api/v1/runs/{run_id}/cancel', params));
      if (what === 'retry') return unwrap(api.POST('/api/v1/runs/{run_id}/retry', params));
      return unwrap(api.POST('/api/v1/runs/{run_id}/rerun', params));
    },
    onSuccess: (next) => {
      queryClient.setQueryData(runKeys.one(next.id), next);
      void queryClient.invalidateQueries({ queryKey: runKeys.one(run.id) });
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
      if (next.id !== run.id) navigate(`../${next.id}`, { relative: 'path' });
    },
  });
  if (!canAct) return null;
  return (
    <Stack gap={4}>
      <Group>
        {!FINAL.has(run.status) && (
          <Button color="red" variant="light" onClick={() => action.mutate('cancel')} loading={action.isPending && action.variables === 'cancel'}>
            Cancel run
          </Button>
        )}
        {(run.status === 'failed' || run.status === 'cancelled') && (
          <Button onClick={() => action.mutate('retry')} loading={action.isPending && action.variables === 'retry'}>
            Retry
          </Button>
        )}
        {run.status === 'succeeded' && (
          <Button variant="light" onClick={() => action.mutate('rerun')} loading={action.isPending && action.variables === 'rerun'}>
            Rerun with the same inputs
          </Button>
        )}
      </Group>
      {action.error && (
        <Text size="sm" c="red.9" role="alert">
          {humanMessage(action.error)}
        </Text>
      )}
    </Stack>
  );
}

export function RunDetail() {
  const { runId = '' } = useParams();
  const run = useRun(runId);
  const { live, streamError } = useRunEvents(run.data);
  return (
    <QueryView query={run} label="Loading the run">
      {(r) => {
        const status = live && !FINAL.has(r.status) ? live.status : r.status;
        return (
          <Stack>
            <Anchor component={Link} to=".." relative="path" size="sm">
              ← All runs
            </Anchor>
            <Group justify="space-between">
              <Title order={3}>Run of {formatDateTime(r.created_at)}</Title>
              <StatusBadge status={status} />
            </Group>
            {r.rerun_of_id && (
              <Text size="sm">
                Rerun of <Anchor component={Link} to={`../${r.rerun_of_id}`} relative="path">an earlier run</Anchor>
                {r.identical_to_original === true && ': identical results'}
                {r.identical_to_original === false && ': the results differ'}
              </Text>
            )}
            <Actions run={r} />
            {!FINAL.has(r.status) && <LiveProgress state={live ?? { status: r.status, progress: r.progress as LiveState['progress'] }} />}
            {streamError !== null && !FINAL.has(r.status) && (
              <Text size="sm" c="dimmed" role="status">
                Live updates interrupted ({humanMessage(streamError)}); reconnecting…
              </Text>
            )}
            {r.error && (
              <Alert color="red" title="The run failed" role="alert">
                {r.error}
              </Alert>
            )}
            <SimpleGrid cols={{ base: 1, lg: 2 }}>
              <Provenance run={r} />
            </SimpleGrid>
            {r.summary && (
              <>
                <Title order={4}>Summary</Title>
                <ReconSummary summary={r.summary as EngineSummary} />
              </>
            )}
          </Stack>
        );
      }}
    </QueryView>
  );
}
