import { Alert, Anchor, Badge, Button, Code, Group, List, Stack, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { roleAtLeast } from '../../app/auth';
import { useProjectId, useProjectRole } from '../../app/project';
import { ErrorNotice, Loading } from '../../components/status';
import { rulesetKeys, useRuleset, validateRules, type Validation } from './api';
import { Builder } from './Builder';
import { DryRun } from './DryRun';
import { History } from './History';
import { locate } from './locate';
import { TEMPLATE } from './model';
import { YamlEditor } from './YamlEditor';

const TABS = ['yaml', 'builder', 'history', 'dry-run'] as const;

/** Validation by the engine as you type (debounced; a newer text cancels the older request). */
function useValidation(projectId: string, text: string): { result: Validation | null; error: unknown; checking: boolean } {
  const [state, setState] = useState<{ result: Validation | null; error: unknown; checking: boolean }>({ result: null, error: null, checking: false });
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, checking: true }));
    const timer = setTimeout(() => {
      validateRules(projectId, text, controller.signal)
        .then((result) => setState({ result, error: null, checking: false }))
        .catch((error: unknown) => {
          if (!controller.signal.aborted) setState({ result: null, error, checking: false });
        });
    }, 350);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [projectId, text]);
  return state;
}

function Problems({ text, validation }: { text: string; validation: ReturnType<typeof useValidation> }) {
  if (validation.error) return <ErrorNotice error={validation.error} title="The rules could not be checked" />;
  const result = validation.result;
  if (!result) return <Text size="sm" c="dimmed" role="status">Checking…</Text>;
  if (result.valid) {
    return (
      <Stack gap={4} role="status">
        <Group gap="xs">
          <Badge color="green" variant="light">Valid</Badge>
          <Text size="sm">The engine accepts these rules{validation.checking ? ' (checking the latest change…)' : ''}.</Text>
        </Group>
        {result.plan && <Code block aria-label="Execution plan">{result.plan}</Code>}
      </Stack>
    );
  }
  return (
    <Stack gap={4} role="alert" aria-label="Problems in the rules">
      <Text size="sm" fw={600} c="red.9">
        {result.problems.length} problem{result.problems.length === 1 ? '' : 's'}:
      </Text>
      <List size="sm" spacing={2}>
        {result.problems.map((p, i) => (
          <List.Item key={i}>
            Line {locate(text, p.location, p.message).line}
            {p.location ? `, ${p.location}` : ''}: {p.message}
          </List.Item>
        ))}
      </List>
    </Stack>
  );
}

export function RulesetPage() {
  const projectId = useProjectId();
  const { rulesetId } = useParams();
  const isNew = !rulesetId;
  const ruleset = useRuleset(projectId, rulesetId);
  const [params, setParams] = useSearchParams();
  const tab = TABS.find((t) => t === params.get('tab')) ?? 'yaml';
  const canEdit = roleAtLeast(useProjectRole(), 'preparer');
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [text, setText] = useState<string | null>(isNew ? TEMPLATE : null);
  const [name, setName] = useState('');
  const latestText = ruleset.data?.latest?.text;
  useEffect(() => {
    if (latestText !== undefined) setText((before) => before ?? latestText);
  }, [latestText]);
  const validation = useValidation(projectId, text ?? '');

  const save = useMutation({
    mutationFn: async () => {
      if (isNew) {
        return unwrap(api.POST('/api/v1/projects/{project_id}/rulesets', { params: { path: { project_id: projectId } }, body: { name: name.trim(), text: text ?? '' } }));
      }
      await unwrap(
        api.POST('/api/v1/projects/{project_id}/rulesets/{ruleset_id}/versions', {
          params: { path: { project_id: projectId, ruleset_id: rulesetId } },
          body: { text: text ?? '' },
        }),
      );
      return null;
    },
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: rulesetKeys.list(projectId) });
      if (created) navigate(`../${created.id}`, { relative: 'path' });
      else void queryClient.invalidateQueries({ queryKey: rulesetKeys.one(projectId, rulesetId!) });
    },
  });
  const errors = fieldErrors(save.error);

  if (!isNew && ruleset.isPending) return <Loading label="Loading the rule set" />;
  if (!isNew && ruleset.error) return <ErrorNotice error={ruleset.error} onRetry={() => void ruleset.refetch()} />;
  const latest = ruleset.data?.latest_version ?? 0;
  const changed = !isNew && text !== null && text !== latestText;
  const setTab = (value: string | null) => {
    const next = new URLSearchParams(params);
    if (value && value !== 'yaml') next.set('tab', value);
    else next.delete('tab');
    setParams(next, { replace: true });
  };

  return (
    <Stack>
      <Anchor component={Link} to={isNew ? '..' : '..'} relative="path" size="sm">
        ← All rule sets
      </Anchor>
      <Group justify="space-between">
        <Title order={3}>{isNew ? 'New rule set' : ruleset.data?.name}</Title>
        {!isNew && <Text size="sm">Latest version: v{latest}{changed ? ' (unsaved changes)' : ''}</Text>}
      </Group>
      {isNew && <TextInput label="Rule set name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.name} w={360} />}
      <Tabs value={tab} onChange={setTab}>
        <Tabs.List aria-label="Rule set views">
          <Tabs.Tab value="yaml">YAML editor</Tabs.Tab>
          <Tabs.Tab value="builder">Form builder</Tabs.Tab>
          {!isNew && <Tabs.Tab value="history">Version history</Tabs.Tab>}
          {!isNew && <Tabs.Tab value="dry-run">Dry run</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="yaml" pt="md">
          {text !== null && tab === 'yaml' && <YamlEditor label="Rules (YAML)" value={text} onChange={setText} problems={validation.result?.problems ?? []} />}
        </Tabs.Panel>
        <Tabs.Panel value="builder" pt="md">
          {text !== null && tab === 'builder' && <Builder text={text} onChange={setText} />}
        </Tabs.Panel>
        {!isNew && rulesetId && (
          <>
            <Tabs.Panel value="history" pt="md">
              {tab === 'history' && <History projectId={projectId} rulesetId={rulesetId} latest={latest} />}
            </Tabs.Panel>
            <Tabs.Panel value="dry-run" pt="md">
              {tab === 'dry-run' && <DryRun projectId={projectId} rulesetId={rulesetId} latest={latest} />}
            </Tabs.Panel>
          </>
        )}
      </Tabs>
      {(tab === 'yaml' || tab === 'builder') && text !== null && (
        <Stack>
          <Problems text={text} validation={validation} />
          {save.error && !errors.name && (
            <Alert color="red" role="alert" title="Not saved">
              {humanMessage(save.error)}
            </Alert>
          )}
          {canEdit && (
            <Group>
              <Button onClick={() => save.mutate()} loading={save.isPending} disabled={!isNew && !changed}>
                {isNew ? 'Create rule set' : 'Save as new version'}
              </Button>
            </Group>
          )}
        </Stack>
      )}
    </Stack>
  );
}
