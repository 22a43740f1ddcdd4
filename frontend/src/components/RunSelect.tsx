// The succeeded runs of the project as a select (review, approvals): the chosen run lives in the URL.
import { Select } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import { formatDateTime, shortHash } from './format';

export function useSucceededRuns(projectId: string, enabled = true) {
  return useQuery({
    queryKey: ['projects', projectId, 'runs', 'succeeded'],
    enabled,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}/runs', {
          params: { path: { project_id: projectId }, query: { status: 'succeeded', limit: 100 } },
        }),
      ),
  });
}

export function RunSelect({
  projectId,
  value,
  onChange,
  enabled = true,
}: {
  projectId: string;
  value: string | null;
  onChange: (runId: string) => void;
  /** False: not asked for yet (a screen asking for its main data first). */
  enabled?: boolean;
}) {
  const runs = useSucceededRuns(projectId, enabled);
  const data = (runs.data?.items ?? []).map((run) => ({
    value: run.id,
    label: `${formatDateTime(run.created_at)} · run ${shortHash(run.id, 8)}${run.signed_off_at ? ' · signed off' : ''}`,
  }));
  return (
    <Select
      label="Run"
      placeholder={runs.isPending ? 'Loading runs…' : data.length ? 'Choose a run' : 'No succeeded run yet'}
      data={data}
      value={value}
      onChange={(next) => next && onChange(next)}
      allowDeselect={false}
      searchable
      w={380}
      error={runs.error ? 'The runs could not be loaded.' : undefined}
    />
  );
}
