import { Alert, Button, Group, NumberInput, Stack, Switch, Tabs, TagsInput, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { api, unwrap, type Schemas } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { projectKeys, useProject, useProjectId } from '../../app/project';
import { QueryView } from '../../components/status';
import { Feeds } from './Feeds';
import { Schedules } from './Schedules';

type Project = Schemas['ProjectWithRole'];

function SettingsForm({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const [requireApproval, setRequireApproval] = useState(project.settings.require_approval ?? true);
  const [separation, setSeparation] = useState(project.settings.separation_of_duties ?? true);
  const [ratio, setRatio] = useState<number>(project.settings.max_empty_amount_ratio ?? 0.5);
  const [reasons, setReasons] = useState<string[]>(project.settings.writeoff_reasons ?? []);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/api/v1/projects/{project_id}', {
          params: { path: { project_id: project.id } },
          body: {
            version: project.version,
            settings: {
              require_approval: requireApproval,
              separation_of_duties: separation,
              max_empty_amount_ratio: ratio,
              writeoff_reasons: reasons,
            },
          },
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(projectKeys.one(project.id), updated);
      void queryClient.invalidateQueries({ queryKey: projectKeys.all });
    },
  });
  const errors = fieldErrors(save.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Project settings">
      <Stack maw={560}>
        <Switch
          label="Maker-checker: manual decisions need a second person's approval"
          checked={requireApproval}
          onChange={(e) => setRequireApproval(e.currentTarget.checked)}
          error={errors.require_approval}
        />
        <Switch
          label="Separation of duties: sign-off only by an approver who made none of the run's decisions"
          checked={separation}
          onChange={(e) => setSeparation(e.currentTarget.checked)}
          error={errors.separation_of_duties}
        />
        <NumberInput
          label="Largest share of rows with an empty amount"
          description="A dataset above it fails ingestion and names the mapping to fix (1: never, 0: any empty amount fails)."
          min={0}
          max={1}
          step={0.05}
          decimalScale={2}
          value={ratio}
          onChange={(value) => setRatio(typeof value === 'number' ? value : Number(value))}
          error={errors.max_empty_amount_ratio}
        />
        <TagsInput
          label="Write-off reason codes"
          description="lower_case codes a write-off must name; press Enter after each."
          value={reasons}
          onChange={setReasons}
          error={errors.writeoff_reasons ?? Object.entries(errors).find(([key]) => key.startsWith('settings.writeoff_reasons'))?.[1]}
        />
        {save.error && Object.keys(errors).length === 0 && (
          <Alert color="red" role="alert">
            {humanMessage(save.error)}
          </Alert>
        )}
        {save.isSuccess && (
          <Text c="green.9" size="sm" role="status">
            Settings saved.
          </Text>
        )}
        <Group>
          <Button type="submit" loading={save.isPending}>
            Save settings
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

const TABS = ['general', 'feeds', 'schedules'] as const;

export default function SettingsPage() {
  const projectId = useProjectId();
  const project = useProject(projectId);
  const [params, setParams] = useSearchParams();
  const tab = TABS.find((t) => t === params.get('tab')) ?? 'general';
  return (
    <Stack>
      <Title order={3}>Project settings</Title>
      <Tabs value={tab} onChange={(value) => setParams(value && value !== 'general' ? { tab: value } : {}, { replace: true })} keepMounted={false}>
        <Tabs.List aria-label="Settings sections">
          <Tabs.Tab value="general">General</Tabs.Tab>
          <Tabs.Tab value="feeds">Feeds</Tabs.Tab>
          <Tabs.Tab value="schedules">Schedules</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="general" pt="md">
          <QueryView query={project} label="Loading settings">
            {(data) => <SettingsForm project={data} />}
          </QueryView>
        </Tabs.Panel>
        <Tabs.Panel value="feeds" pt="md">
          <Feeds projectId={projectId} />
        </Tabs.Panel>
        <Tabs.Panel value="schedules" pt="md">
          <Schedules projectId={projectId} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
