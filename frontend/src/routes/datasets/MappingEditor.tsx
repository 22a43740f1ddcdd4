import { Alert, Badge, Button, Group, Select, Stack, Table, Text } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { datasetKeys, type Dataset } from './api';
import { MappingTrial, useMappingTrial } from './MappingTrial';

// The canonical record and the type each field is parsed as (recon.datasets.mapping.CANONICAL_TYPES).
export const CANONICAL_FIELDS: { field: string; type: string; label: string }[] = [
  { field: 'ext_id', type: 'text', label: 'Id' },
  { field: 'date', type: 'date', label: 'Date' },
  { field: 'value_date', type: 'date', label: 'Value date' },
  { field: 'amount', type: 'decimal', label: 'Amount' },
  { field: 'currency', type: 'text', label: 'Currency' },
  { field: 'reference', type: 'text', label: 'Reference' },
  { field: 'counterparty', type: 'text', label: 'Counterparty' },
  { field: 'description', type: 'text', label: 'Description' },
];
const BY_NAME = '';

/** Which file column feeds each canonical field, with a live preview of the first rows read with the mapping
 * being edited. Saving re-ingests the file (the records shown meanwhile stay until the new ones replace them). */
export function MappingEditor({ projectId, dataset }: { projectId: string; dataset: Dataset }) {
  const queryClient = useQueryClient();
  const [mapping, setMapping] = useState<Record<string, string>>(dataset.mapping ?? {});
  const columns = dataset.source_columns ?? [];
  const effective = dataset.effective_mapping ?? {};
  const stats = (dataset.column_stats ?? {}) as Record<string, { empty?: number; unparseable?: number }>;
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/api/v1/projects/{project_id}/datasets/{dataset_id}/mapping', {
          params: { path: { project_id: projectId, dataset_id: dataset.id } },
          body: { mapping, version: dataset.version },
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(datasetKeys.one(projectId, dataset.id), updated);
      void queryClient.invalidateQueries({ queryKey: datasetKeys.list(projectId) });
    },
  });
  const trial = useMappingTrial(projectId, dataset, mapping);
  const errors = { ...trial.errors, ...fieldErrors(save.error) };
  const generalError = save.error && !Object.keys(errors).some((k) => k.startsWith('mapping')) ? humanMessage(save.error) : null;

  return (
    <Stack>
      <Text size="sm" c="dimmed">
        Fields left on “by name” use the column of the same name (or a common synonym). Columns no field uses are kept
        as extra columns.
      </Text>
      <Table aria-label="Column mapping">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Field</Table.Th>
            <Table.Th>Parsed as</Table.Th>
            <Table.Th>Source column</Table.Th>
            <Table.Th>Last ingestion</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {CANONICAL_FIELDS.map(({ field, type, label }) => {
            const used = effective[field];
            const stat = stats[field];
            return (
              <Table.Tr key={field}>
                <Table.Td>{label}</Table.Td>
                <Table.Td>
                  <Badge variant="outline" color="gray">
                    {type}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Select
                    aria-label={`Source column for ${label}`}
                    data={[{ value: BY_NAME, label: used ? `by name (${used})` : 'by name (none found)' }, ...columns.map((c) => ({ value: c, label: c }))]}
                    value={mapping[field] ?? BY_NAME}
                    allowDeselect={false}
                    onChange={(value) =>
                      setMapping((before) => {
                        const next = { ...before };
                        if (!value) delete next[field];
                        else next[field] = value;
                        return next;
                      })
                    }
                    error={errors[`mapping.${field}`] ?? errors[field]}
                    w={260}
                  />
                </Table.Td>
                <Table.Td>
                  {stat ? (
                    <Text size="xs">
                      {stat.empty ?? 0} empty, {stat.unparseable ?? 0} unparseable
                    </Text>
                  ) : (
                    <Text size="xs" c="dimmed">
                      not mapped
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {generalError && (
        <Alert color="red" role="alert">
          {generalError}
        </Alert>
      )}
      {save.isSuccess && dataset.status !== 'ready' && (
        <Text size="sm" role="status">
          Mapping saved: the file is being ingested again.
        </Text>
      )}
      <Group>
        <Button onClick={() => save.mutate()} loading={save.isPending}>
          Save mapping and re-ingest
        </Button>
      </Group>
      <MappingTrial trial={trial} dataset={dataset} />
    </Stack>
  );
}
