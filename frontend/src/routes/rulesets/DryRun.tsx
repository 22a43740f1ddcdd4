// A dry run: the summary the rules would produce against two chosen datasets; nothing is stored.
import { Alert, Button, Group, Select, Stack, Text } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { ReconSummary } from '../../components/ReconSummary';
import { useQuery } from '@tanstack/react-query';

export function DryRun({ projectId, rulesetId, latest }: { projectId: string; rulesetId: string; latest: number }) {
  const datasets = useQuery({
    queryKey: ['datasets', projectId],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/datasets', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  const ready = (datasets.data?.items ?? []).filter((d) => d.status === 'ready');
  const options = ready.map((d) => ({ value: d.id, label: `${d.name} (${d.rows.toLocaleString()} records)` }));
  const [left, setLeft] = useState<string | null>(null);
  const [right, setRight] = useState<string | null>(null);
  const [version, setVersion] = useState(String(latest));
  const run = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/projects/{project_id}/rulesets/{ruleset_id}/dry-run', {
          params: { path: { project_id: projectId, ruleset_id: rulesetId } },
          body: { left_dataset_id: left!, right_dataset_id: right!, version: Number(version) },
        }),
      ),
  });
  const errors = fieldErrors(run.error);
  return (
    <Stack>
      <Group align="flex-end">
        <Select label="Left dataset" data={options} value={left} onChange={setLeft} w={300} error={errors.left_dataset_id} placeholder={datasets.isPending ? 'Loading…' : 'Choose a dataset'} />
        <Select label="Right dataset" data={options} value={right} onChange={setRight} w={300} error={errors.right_dataset_id} placeholder={datasets.isPending ? 'Loading…' : 'Choose a dataset'} />
        <Select label="Rule version" data={Array.from({ length: latest }, (_, i) => String(latest - i))} value={version} onChange={(v) => v && setVersion(v)} allowDeselect={false} w={120} />
        <Button onClick={() => run.mutate()} loading={run.isPending} disabled={!left || !right}>
          Dry run
        </Button>
      </Group>
      {datasets.isSuccess && ready.length < 2 && (
        <Text size="sm" c="dimmed">
          A dry run needs two datasets that are ready: upload them on the Datasets screen.
        </Text>
      )}
      {run.error && !errors.left_dataset_id && !errors.right_dataset_id && (
        <Alert color="red" role="alert" title="The dry run failed">
          {humanMessage(run.error)}
        </Alert>
      )}
      {run.data && (
        <Stack gap="xs" aria-label="Dry run summary">
          <Text size="sm">
            Version {run.data.version}, {run.data.elapsed_s.toFixed(2)} s. Nothing was stored.
          </Text>
          <ReconSummary summary={run.data.summary} />
        </Stack>
      )}
    </Stack>
  );
}
