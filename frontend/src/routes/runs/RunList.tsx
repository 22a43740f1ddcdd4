import { Anchor, Stack, Table, Title } from '@mantine/core';
import { Link } from 'react-router';
import { roleAtLeast } from '../../app/auth';
import { useProjectId, useProjectRole } from '../../app/project';
import { formatCount, formatDateTime } from '../../components/format';
import { StatusBadge } from '../../components/StatusBadge';
import { EmptyState, QueryView } from '../../components/status';
import { useRuns, type Run } from './api';
import { StartRun } from './StartRun';

function matched(run: Run): string {
  const left = (run.summary as { left?: { rows?: number; matched?: number } } | null)?.left;
  if (!left?.rows) return '—';
  return `${((100 * (left.matched ?? 0)) / left.rows).toFixed(1)} %`;
}

export function RunList() {
  const projectId = useProjectId();
  const runs = useRuns(projectId);
  const canRun = roleAtLeast(useProjectRole(), 'preparer');
  return (
    <Stack>
      <Title order={3}>Runs</Title>
      {canRun && <StartRun projectId={projectId} />}
      <QueryView query={runs} label="Loading runs" isEmpty={(p) => p.items.length === 0} empty={<EmptyState title="No runs yet">Start a run to reconcile two datasets with a rule set.</EmptyState>}>
        {(page) => (
          <Table aria-label="Runs" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Run</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Rule version</Table.Th>
                <Table.Th ta="right">Left matched</Table.Th>
                <Table.Th ta="right">Attempt</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Finished</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((run) => (
                <Table.Tr key={run.id}>
                  <Table.Td>
                    <Anchor component={Link} to={run.id}>
                      Run of {formatDateTime(run.created_at)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={run.status} />
                  </Table.Td>
                  <Table.Td>v{run.ruleset.version}</Table.Td>
                  <Table.Td ta="right">{matched(run)}</Table.Td>
                  <Table.Td ta="right">{formatCount(run.attempt)}</Table.Td>
                  <Table.Td>{formatDateTime(run.started_at)}</Table.Td>
                  <Table.Td>{formatDateTime(run.finished_at)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
    </Stack>
  );
}
