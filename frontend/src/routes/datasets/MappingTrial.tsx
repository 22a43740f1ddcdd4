import { Alert, Badge, Group, Stack, Text, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { api, unwrap } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { formatCount } from '../../components/format';
import { Loading } from '../../components/status';
import { VirtualTable } from '../../components/VirtualTable';
import { datasetKeys, type Dataset } from './api';
import { recordColumns, recordView, REJECTION_COLUMNS, rejectionView } from './records';

const ROWS = 50;

/** Field errors of the trial (e.g. `mapping.amount`: no such column), for the mapping form to show in place. */
export function useMappingTrial(projectId: string, dataset: Dataset, mapping: Record<string, string>) {
  const [debounced] = useDebouncedValue(mapping, 250);
  const query = useQuery({
    queryKey: [...datasetKeys.one(projectId, dataset.id), 'mapping-trial', dataset.version, debounced],
    enabled: dataset.format === 'csv',
    placeholderData: keepPreviousData,
    retry: false,
    queryFn: () =>
      unwrap(
        api.POST('/api/v1/projects/{project_id}/datasets/{dataset_id}/mapping/preview', {
          params: { path: { project_id: projectId, dataset_id: dataset.id } },
          body: { mapping: debounced, limit: ROWS },
        }),
      ),
  });
  return { query, errors: fieldErrors(query.error) };
}

/** The first rows of the file read with the mapping being edited (not saved yet): the records, the rows it
 * would reject and why, and what was detected while reading. */
export function MappingTrial({ trial, dataset }: { trial: ReturnType<typeof useMappingTrial>; dataset: Dataset }) {
  const { query, errors } = trial;
  const extra = useMemo(() => query.data?.extra_columns ?? [], [query.data]);
  const columns = useMemo(() => recordColumns(extra), [extra]);
  const view = useMemo(() => recordView(extra), [extra]);
  if (dataset.format !== 'csv') {
    return (
      <Text size="sm" c="dimmed">
        A live preview reads the first rows of CSV files; for {dataset.format} files save the mapping to see its records.
      </Text>
    );
  }
  if (query.isPending) return <Loading label="Reading the first rows with this mapping" />;
  if (query.isError) {
    const inForm = Object.keys(errors).some((k) => k.startsWith('mapping'));
    return (
      <Alert color={inForm ? 'yellow' : 'red'} role="alert" title="This mapping cannot be read">
        {humanMessage(query.error)}
      </Alert>
    );
  }
  const data = query.data;
  return (
    <Stack gap="xs">
      <Title order={4}>Preview of this mapping (not saved)</Title>
      <Group gap="xs">
        <Text size="sm">
          First {formatCount(data.rows_read)} rows{data.whole_file ? ' (the whole file)' : ''}: {formatCount(data.items.length)} accepted,{' '}
          {formatCount(data.rejections.length)} rejected
        </Text>
        {Object.entries(data.detected).map(([key, value]) => (
          <Badge key={key} variant="light" color="gray">
            {key}: {value}
          </Badge>
        ))}
      </Group>
      <VirtualTable label="Records with this mapping" rows={data.items} view={view} columns={columns} height={260} />
      {data.rejections.length > 0 && (
        <VirtualTable label="Rows this mapping rejects" rows={data.rejections} view={rejectionView} columns={REJECTION_COLUMNS} height={160} />
      )}
    </Stack>
  );
}
