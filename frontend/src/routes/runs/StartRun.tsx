import { Alert, Button, Group, Select, Stack, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { runKeys } from './api';

/** Start a run: two ready datasets and a rule set (its latest version unless another is chosen). */
export function StartRun({ projectId }: { projectId: string }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const datasets = useQuery({
    queryKey: ['datasets', projectId],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/datasets', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  const rulesets = useQuery({
    queryKey: ['rulesets', projectId],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/rulesets', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  const ready = (datasets.data?.items ?? []).filter((d) => d.status === 'ready');
  const datasetOptions = ready.map((d) => ({ value: d.id, label: `${d.name} (${d.rows.toLocaleString()} records, ${d.created_at.slice(0, 16).replace('T', ' ')})` }));
  const rulesetOptions = (rulesets.data?.items ?? []).map((r) => ({ value: r.id, label: `${r.name} (v${r.latest_version})` }));
  const [left, setLeft] = useState<string | null>(null);
  const [right, setRight] = useState<string | null>(null);
  const [ruleset, setRuleset] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/api/v1/projects/{project_id}/runs', { params: { path: { project_id: projectId } }, body: { left_dataset_id: left!, right_dataset_id: right!, ruleset_id: ruleset! } })),
    onSuccess: (run) => {
      // The run page starts from the run as created (queued), so it always follows it over server-sent events,
      // even when a small run has finished before the page could fetch it.
      queryClient.setQueryData(runKeys.one(run.id), run);
      void queryClient.invalidateQueries({ queryKey: runKeys.list(projectId) });
      navigate(run.id);
    },
  });
  const errors = fieldErrors(start.error);
  const loading = datasets.isPending || rulesets.isPending;
  return (
    <Stack gap="xs">
      <Group align="flex-end">
        <Select label="Left dataset" data={datasetOptions} value={left} onChange={setLeft} w={330} error={errors.left_dataset_id} placeholder={loading ? 'Loading…' : 'Choose'} />
        <Select label="Right dataset" data={datasetOptions} value={right} onChange={setRight} w={330} error={errors.right_dataset_id} placeholder={loading ? 'Loading…' : 'Choose'} />
        <Select label="Rule set" data={rulesetOptions} value={ruleset} onChange={setRuleset} w={240} error={errors.ruleset_id} placeholder={loading ? 'Loading…' : 'Choose'} />
        <Button onClick={() => start.mutate()} loading={start.isPending} disabled={!left || !right || !ruleset}>
          Start run
        </Button>
      </Group>
      {!loading && (ready.length < 2 || rulesetOptions.length === 0) && (
        <Text size="sm" c="dimmed">
          A run needs two ready datasets and a rule set.
        </Text>
      )}
      {start.error && !errors.left_dataset_id && !errors.right_dataset_id && !errors.ruleset_id && (
        <Alert color="red" role="alert" title="The run was not started">
          {humanMessage(start.error)}
        </Alert>
      )}
    </Stack>
  );
}
