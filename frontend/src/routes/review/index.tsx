// The review workspace: a run's suggested groups, breaks, unmatched records per side and matched groups as
// ARIA tabs with their counts; filters, sort and run in the URL; the grid of the tab (Grid.tsx: cursor pages,
// the side panel, keyboard shortcuts); selection, manual match and bulk actions.
import { Badge, Button, Group, Stack, Tabs, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { roleAtLeast } from '../../app/auth';
import { projectKeys, useProjectId, useProjectRole } from '../../app/project';
import { formatCount } from '../../components/format';
import { RunSelect } from '../../components/RunSelect';
import { EmptyState, ErrorNotice } from '../../components/status';
import { useFirstPageSettled, useTabCounts, useWriteoffReasons, type Row } from './api';
import { rowKey } from './columns';
import { FilterBar } from './Filters';
import { ReviewGrid } from './Grid';
import { FilterAction, SelectionBar } from './Selection';
import { ShortcutsHelp } from './Shortcuts';
import { readState, TABS, writeState, type Filters, type TabId } from './state';

function useMembers(projectId: string, enabled: boolean) {
  const members = useQuery({
    queryKey: projectKeys.members(projectId),
    enabled,
    queryFn: () =>
      unwrap(api.GET('/api/v1/projects/{project_id}/members', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  return useMemo(
    () =>
      (members.data?.items ?? [])
        .filter((m) => roleAtLeast(m.role, 'preparer'))
        .map((m) => ({ value: m.user_id, label: m.full_name || m.email })),
    [members.data],
  );
}

export default function ReviewPage() {
  const projectId = useProjectId();
  const role = useProjectRole();
  const canAct = roleAtLeast(role, 'preparer');
  const [params, setParams] = useSearchParams();
  const state = useMemo(() => readState(params), [params]);
  const { runId, tab, filters } = state;
  const navigate = useCallback(
    (next: { runId?: string | null; tab?: TabId; filters?: Filters }) =>
      setParams(writeState({ runId: next.runId ?? runId, tab: next.tab ?? tab.id, filters: next.filters ?? filters })),
    [setParams, runId, tab.id, filters],
  );

  // The first page of rows and the tab counts first; the runs and members after them (useFirstPageSettled).
  const firstPage = useFirstPageSettled(runId, tab, filters);
  const counts = useTabCounts(runId);
  const reasonsQuery = useWriteoffReasons(projectId);
  const reasons = useMemo(() => reasonsQuery.data ?? [], [reasonsQuery.data]);
  const members = useMembers(projectId, firstPage);
  const [selected, setSelected] = useState<Map<string, Row>>(new Map());
  const [help, setHelp] = useState(false);
  const openHelp = useCallback(() => setHelp(true), []);

  useEffect(() => setSelected(new Map()), [runId]);

  const toggle = useCallback((row: Row) => {
    setSelected((current) => {
      const next = new Map(current);
      const key = rowKey(row);
      if (next.has(key)) next.delete(key);
      else next.set(key, row);
      return next;
    });
  }, []);

  const selectedRows = useMemo(() => [...selected.values()], [selected]);

  return (
    <Stack gap="sm">
      <Group justify="space-between" align="flex-end">
        <Title order={3}>Review</Title>
        <Group align="flex-end">
          <RunSelect projectId={projectId} value={runId} onChange={(id) => navigate({ runId: id, filters: {} })} enabled={firstPage} />
          <Button variant="subtle" onClick={() => setHelp(true)}>
            Keyboard shortcuts (?)
          </Button>
        </Group>
      </Group>
      <ShortcutsHelp opened={help} onClose={() => setHelp(false)} />
      {!runId ? (
        <EmptyState title="Choose a run to review">Its suggestions, breaks and unmatched records appear here.</EmptyState>
      ) : (
        <Tabs value={tab.id} onChange={(value) => value && navigate({ tab: value as TabId, filters: {} })} keepMounted={false}>
          <Tabs.List>
            {TABS.map((t) => (
              <Tabs.Tab key={t.id} value={t.id} rightSection={<Badge variant="light" size="sm">{counts.data ? formatCount(counts.data[t.countKey]) : '…'}</Badge>}>
                {t.label}
              </Tabs.Tab>
            ))}
          </Tabs.List>
          {TABS.map((t) => (
            <Tabs.Panel key={t.id} value={t.id} pt="sm">
              {t.id === tab.id && (
                <Stack gap="sm">
                  <FilterBar tab={tab} filters={filters} members={members} onApply={(f) => navigate({ filters: f })} />
                  {counts.error ? <ErrorNotice error={counts.error} /> : null}
                  {canAct && (
                    <Group justify="flex-end">
                      <FilterAction runId={runId} tab={tab} filters={filters} reasons={reasons} />
                    </Group>
                  )}
                  {canAct && <SelectionBar runId={runId} selected={selectedRows} reasons={reasons} onDone={() => setSelected(new Map())} />}
                  <ReviewGrid
                    // A new tab, filter or run starts with no active row and the panel closed.
                    key={JSON.stringify([runId, tab.id, filters])}
                    runId={runId}
                    tab={tab}
                    filters={filters}
                    totalRows={counts.data && !Object.keys(filters).length ? counts.data[tab.countKey] : undefined}
                    selected={selected}
                    toggle={toggle}
                    canAct={canAct}
                    reasons={reasons}
                    members={members}
                    onHelp={openHelp}
                  />
                </Stack>
              )}
            </Tabs.Panel>
          ))}
        </Tabs>
      )}
    </Stack>
  );
}
