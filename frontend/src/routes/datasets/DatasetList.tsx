import { Anchor, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { useProjectId } from '../../app/project';
import { formatBytes, formatCount, formatDateTime } from '../../components/format';
import { StatusBadge } from '../../components/StatusBadge';
import { EmptyState, QueryView } from '../../components/status';
import { useDatasets } from './api';
import { Upload } from './Upload';

export function DatasetList() {
  const projectId = useProjectId();
  const datasets = useDatasets(projectId);
  return (
    <Stack>
      <Title order={3}>Datasets</Title>
      <Upload projectId={projectId} />
      <QueryView
        query={datasets}
        label="Loading datasets"
        isEmpty={(page) => page.items.length === 0}
        empty={<EmptyState title="No datasets yet">Upload the two sides to reconcile, e.g. the ledger and the bank statement.</EmptyState>}
      >
        {(page) => (
          <Table aria-label="Datasets" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Format</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th ta="right">Records</Table.Th>
                <Table.Th ta="right">Rejected</Table.Th>
                <Table.Th ta="right">Size</Table.Th>
                <Table.Th>Uploaded</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((dataset) => (
                <Table.Tr key={dataset.id}>
                  <Table.Td>
                    <Anchor component={Link} to={dataset.id}>
                      {dataset.name}
                    </Anchor>
                    {dataset.duplicate_of && (
                      <Text size="xs" c="dimmed">
                        ⚠ same file as an earlier upload
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{dataset.format}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={dataset.status} />
                    {dataset.error && (
                      <Text size="xs" c="red.9">
                        {dataset.error}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td ta="right">{formatCount(dataset.rows)}</Table.Td>
                  <Table.Td ta="right">{formatCount(dataset.rejected)}</Table.Td>
                  <Table.Td ta="right">{formatBytes(dataset.size)}</Table.Td>
                  <Table.Td>{formatDateTime(dataset.created_at)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
    </Stack>
  );
}
