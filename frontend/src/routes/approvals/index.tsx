// Approvals and close: the queue of pending decisions (approve / reject singly and in bulk; the maker cannot
// approve their own: the button says why), the open-exception check, the reconciliation statement with its
// reconciling items (JSON and XLSX download), sign-off and reopen.
import { Alert, Badge, Button, Checkbox, Group, Paper, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { memo, useCallback, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, unwrap, type Schemas } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { retryWhenBusy } from '../../api/retry';
import { authFetch } from '../../api/session';
import { roleAtLeast, useAuth } from '../../app/auth';
import { useProjectId, useProjectRole } from '../../app/project';
import { formatDateTime, formatMoney, shortHash } from '../../components/format';
import { RunSelect } from '../../components/RunSelect';
import { EmptyState, ErrorNotice, QueryView } from '../../components/status';

type Decision = Schemas['DecisionOut'];

const closeKeys = (runId: string) => ['close', runId] as const;

// Pending decisions come in pages (a month-end can leave thousands); more are asked for with a button, or
// all of them (up to what one bulk request takes) by "Select all decisions".
const PENDING_PAGE_SIZE = 100;
const MAX_BULK = 1000;

function usePending(projectId: string, runId: string) {
  return useInfiniteQuery({
    queryKey: [...closeKeys(runId), 'pending'],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}/decisions', {
          params: {
            path: { project_id: projectId },
            query: { status: 'pending_approval', run_id: runId, limit: PENDING_PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
}

interface DecisionRowProps {
  decision: Decision;
  chosen: boolean;
  own: boolean;
  why: string | undefined;
  acting: boolean;
  toggle: (id: string) => void;
  act: (decision: Decision, approve: boolean) => void;
}

// One row, memoised: choosing a row or acting on one re-renders that row only, not the whole queue.
const DecisionRow = memo(function DecisionRow({ decision: d, chosen, own, why, acting, toggle, act }: DecisionRowProps) {
  return (
    <Table.Tr>
      <Table.Td>
        <Checkbox aria-label={`Select decision ${d.kind.replace('_', ' ')} ${formatMoney(d.difference)}`} checked={chosen} onChange={() => toggle(d.id)} />
      </Table.Td>
      <Table.Td>{d.kind.replace('_', ' ')}</Table.Td>
      <Table.Td>{formatMoney(d.left_total)}</Table.Td>
      <Table.Td>{formatMoney(d.right_total)}</Table.Td>
      <Table.Td>{formatMoney(d.difference)}</Table.Td>
      <Table.Td>{d.reason_code ?? d.reconciling_type ?? '—'}</Table.Td>
      <Table.Td>{d.comment || '—'}</Table.Td>
      <Table.Td>
        {formatDateTime(d.created_at)}
        {own ? ' (by you)' : ''}
      </Table.Td>
      <Table.Td>
        <Stack gap={2}>
          <Group gap={4}>
            <Button size="xs" disabled={Boolean(why)} loading={acting} onClick={() => act(d, true)} aria-describedby={why ? `why-${d.id}` : undefined}>
              Approve
            </Button>
            <Button size="xs" variant="light" color="red" disabled={Boolean(why)} onClick={() => act(d, false)}>
              Reject
            </Button>
          </Group>
          {why && (
            <Text size="xs" c="dimmed" id={`why-${d.id}`}>
              {why}
            </Text>
          )}
        </Stack>
      </Table.Td>
    </Table.Tr>
  );
});

export function DecisionQueue({ projectId, runId, canApprove }: { projectId: string; runId: string; canApprove: boolean }) {
  const { me } = useAuth();
  const queryClient = useQueryClient();
  const pending = usePending(projectId, runId);
  const pages = pending.data?.pages;
  const items = useMemo(() => pages?.flatMap((p) => p.items) ?? [], [pages]);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [comment, setComment] = useState('');
  const refresh = () => {
    setChosen(new Set());
    void queryClient.invalidateQueries({ queryKey: closeKeys(runId) });
    void queryClient.invalidateQueries({ queryKey: ['review', runId] });
  };
  const check = useMutation({
    ...retryWhenBusy,
    mutationFn: ({ decisions, approve }: { decisions: Decision[]; approve: boolean }) =>
      unwrap(
        api.POST(approve ? '/api/v1/runs/{run_id}/bulk/approve' : '/api/v1/runs/{run_id}/bulk/reject-decisions', {
          params: { path: { run_id: runId } },
          body: { decisions: decisions.map((d) => ({ id: d.id, version: d.version })), comment },
        }),
      ),
    onSuccess: () => {
      setComment('');
      refresh();
    },
  });
  const errors = fieldErrors(check.error);
  const myId = me?.user.id;
  const toggle = useCallback(
    (id: string) =>
      setChosen((c) => {
        const next = new Set(c);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        return next;
      }),
    [],
  );
  const { mutate } = check;
  const act = useCallback((decision: Decision, approve: boolean) => mutate({ decisions: [decision], approve }), [mutate]);
  const actingOn = check.isPending && check.variables?.decisions.length === 1 ? check.variables.decisions[0]?.id : undefined;
  const selected = items.filter((d) => chosen.has(d.id));
  const { fetchNextPage } = pending;
  const [selectingAll, setSelectingAll] = useState(false);
  const selectAll = async (on: boolean) => {
    if (!on) return setChosen(new Set());
    setSelectingAll(true);
    try {
      let data = pending.data;
      let more = pending.hasNextPage;
      while (more && (data?.pages.reduce((n, p) => n + p.items.length, 0) ?? 0) < MAX_BULK) {
        const next = await fetchNextPage();
        if (next.error) break; // shown by the list; what is loaded gets selected
        data = next.data;
        more = next.hasNextPage;
      }
      setChosen(new Set((data?.pages.flatMap((p) => p.items) ?? []).slice(0, MAX_BULK).map((d) => d.id)));
    } finally {
      setSelectingAll(false);
    }
  };
  const ownSelected = selected.filter((d) => d.maker_id === myId).length;
  return (
    <Paper withBorder p="md">
      <Stack gap="sm">
        <Title order={4}>Pending decisions</Title>
        <QueryView
          query={pending}
          label="Loading pending decisions"
          isEmpty={() => items.length === 0}
          empty={<EmptyState title="No decision waits for approval">Manual decisions of this run appear here until an approver checks them.</EmptyState>}
        >
          {() => (
            <Stack gap="xs">
              <Table aria-label="Pending decisions" fz="sm">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>
                      <Checkbox
                        aria-label="Select all decisions"
                        // Checked at once while the rest of the pending decisions load to be selected.
                        checked={selectingAll || (selected.length === items.length && !pending.hasNextPage)}
                        indeterminate={!selectingAll && selected.length > 0 && (selected.length < items.length || pending.hasNextPage)}
                        disabled={selectingAll}
                        onChange={(e) => void selectAll(e.currentTarget.checked && !(selected.length > 0 && selected.length === items.length))}
                      />
                    </Table.Th>
                    <Table.Th>Kind</Table.Th>
                    <Table.Th>Left</Table.Th>
                    <Table.Th>Right</Table.Th>
                    <Table.Th>Difference</Table.Th>
                    <Table.Th>Write-off / type</Table.Th>
                    <Table.Th>Comment</Table.Th>
                    <Table.Th>Made</Table.Th>
                    <Table.Th>Actions</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {items.map((d) => {
                    const own = d.maker_id === myId;
                    return (
                      <DecisionRow
                        key={d.id}
                        decision={d}
                        chosen={chosen.has(d.id)}
                        own={own}
                        why={!canApprove ? 'Only approvers can approve' : own ? 'You made this decision: another approver must check it' : undefined}
                        acting={actingOn === d.id}
                        toggle={toggle}
                        act={act}
                      />
                    );
                  })}
                </Table.Tbody>
              </Table>
              <Group>
                <Text size="sm" c="dimmed" aria-live="polite">
                  {items.length} shown{pending.hasNextPage ? ', more are pending' : ''}
                </Text>
                {pending.hasNextPage && (
                  <Button size="xs" variant="light" loading={pending.isFetchingNextPage} onClick={() => void pending.fetchNextPage()}>
                    Show more decisions
                  </Button>
                )}
              </Group>
              <Textarea label="Checker comment" description="Required to reject" value={comment} onChange={(e) => setComment(e.currentTarget.value)} error={errors.comment} autosize minRows={1} />
              {check.error && !errors.comment ? (
                <Alert color="red" role="alert">
                  {humanMessage(check.error)}
                </Alert>
              ) : null}
              <Group>
                <Button disabled={!canApprove || selected.length === 0 || ownSelected > 0} loading={check.isPending && !actingOn} onClick={() => check.mutate({ decisions: selected, approve: true })}>
                  Approve selected ({selected.length})
                </Button>
                <Button variant="light" color="red" disabled={!canApprove || selected.length === 0 || ownSelected > 0} onClick={() => check.mutate({ decisions: selected, approve: false })}>
                  Reject selected
                </Button>
                {ownSelected > 0 && (
                  <Text size="sm" c="dimmed">
                    {ownSelected} of the selected decisions are yours: another approver must check them.
                  </Text>
                )}
              </Group>
            </Stack>
          )}
        </QueryView>
      </Stack>
    </Paper>
  );
}

type Section = {
  currency?: string | null;
  balance_per_bank?: string;
  adjusted_balance_per_bank?: string;
  balance_per_books?: string;
  adjusted_balance_per_books?: string;
  unexplained_difference?: string;
  agrees?: boolean;
  reconciling_items?: { type: string; side: string; count: number; amount: string; effect_on_bank?: string }[];
  adjustments?: { reason: string; groups: number; amount: string }[];
};

function download(name: string, blob: Blob) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Statement({ runId }: { runId: string }) {
  const statement = useQuery({
    queryKey: [...closeKeys(runId), 'statement'],
    queryFn: () => unwrap(api.GET('/api/v1/runs/{run_id}/statement', { params: { path: { run_id: runId } } })),
  });
  const [downloadError, setDownloadError] = useState<string | null>(null);
  return (
    <Paper withBorder p="md">
      <QueryView query={statement} label="Loading the reconciliation statement">
        {(s) => {
          const document = s.document as { agrees?: boolean; sections?: Section[]; period?: { start?: string; end?: string } };
          return (
            <Stack gap="sm">
              <Group justify="space-between">
                <Title order={4}>Reconciliation statement {s.id ? '(signed off)' : '(preview)'}</Title>
                <Badge color={document.agrees ? 'green' : 'red'} variant="light">
                  {document.agrees ? 'Adjusted balances agree' : 'Does not agree'}
                </Badge>
              </Group>
              {s.sha256 && <Text size="xs">sha256 {shortHash(s.sha256, 16)} · signed off {formatDateTime(s.signed_off_at)}</Text>}
              {(document.sections ?? []).map((section, index) => (
                <Stack key={index} gap={4}>
                  <Table aria-label={`Statement ${section.currency ?? ''}`.trim()} fz="sm" withTableBorder>
                    <Table.Tbody>
                      <Table.Tr><Table.Th>Balance per bank</Table.Th><Table.Td>{formatMoney(section.balance_per_bank)} {section.currency}</Table.Td></Table.Tr>
                      {(section.reconciling_items ?? []).map((item) => (
                        <Table.Tr key={`${item.type}-${item.side}`}>
                          <Table.Th pl="lg">{item.type.replaceAll('_', ' ')} ({item.count})</Table.Th>
                          <Table.Td>{formatMoney(item.effect_on_bank ?? item.amount)}</Table.Td>
                        </Table.Tr>
                      ))}
                      <Table.Tr><Table.Th>Adjusted balance per bank</Table.Th><Table.Td>{formatMoney(section.adjusted_balance_per_bank)}</Table.Td></Table.Tr>
                      <Table.Tr><Table.Th>Balance per books</Table.Th><Table.Td>{formatMoney(section.balance_per_books)}</Table.Td></Table.Tr>
                      {(section.adjustments ?? []).map((a) => (
                        <Table.Tr key={a.reason}>
                          <Table.Th pl="lg">write-off: {a.reason} ({a.groups})</Table.Th>
                          <Table.Td>{formatMoney(a.amount)}</Table.Td>
                        </Table.Tr>
                      ))}
                      <Table.Tr><Table.Th>Adjusted balance per books</Table.Th><Table.Td>{formatMoney(section.adjusted_balance_per_books)}</Table.Td></Table.Tr>
                      <Table.Tr><Table.Th>Unexplained difference</Table.Th><Table.Td>{formatMoney(section.unexplained_difference)}</Table.Td></Table.Tr>
                    </Table.Tbody>
                  </Table>
                </Stack>
              ))}
              <Group>
                <Button variant="default" onClick={() => download(`statement-${runId.slice(0, 8)}.json`, new Blob([JSON.stringify(s.document, null, 2)], { type: 'application/json' }))}>
                  Download statement (JSON)
                </Button>
                {s.id && (
                  <Button
                    variant="default"
                    onClick={async () => {
                      setDownloadError(null);
                      const response = await authFetch(new Request(`/api/v1/statements/${s.id}/xlsx`));
                      if (response.ok) download(`statement-${runId.slice(0, 8)}.xlsx`, await response.blob());
                      else setDownloadError(`The sheet could not be downloaded (${response.status}).`);
                    }}
                  >
                    Download statement (XLSX)
                  </Button>
                )}
                <Button
                  variant="default"
                  onClick={async () => {
                    setDownloadError(null);
                    const locale = encodeURIComponent(navigator.language || 'en-US');
                    const response = await authFetch(new Request(`/api/v1/runs/${runId}/export.csv?what=groups&preset=excel&locale=${locale}`));
                    if (response.ok) download(`groups-${runId.slice(0, 8)}.csv`, await response.blob());
                    else setDownloadError(`The export failed (${response.status}).`);
                  }}
                >
                  Export groups (CSV for Excel)
                </Button>
                {downloadError && <Text c="red.9" size="sm" role="alert">{downloadError}</Text>}
              </Group>
            </Stack>
          );
        }}
      </QueryView>
    </Paper>
  );
}

function Close({ runId, canApprove }: { runId: string; canApprove: boolean }) {
  const queryClient = useQueryClient();
  const run = useQuery({ queryKey: ['runs', runId], queryFn: () => unwrap(api.GET('/api/v1/runs/{run_id}', { params: { path: { run_id: runId } } })) });
  const open = useQuery({
    queryKey: [...closeKeys(runId), 'open'],
    queryFn: () => unwrap(api.GET('/api/v1/runs/{run_id}/open-exceptions', { params: { path: { run_id: runId } } })),
  });
  const [comment, setComment] = useState('');
  const act = useMutation({
    ...retryWhenBusy,
    mutationFn: (what: 'sign-off' | 'reopen') =>
      unwrap(api.POST(what === 'sign-off' ? '/api/v1/runs/{run_id}/sign-off' : '/api/v1/runs/{run_id}/reopen', { params: { path: { run_id: runId } }, body: { comment } })),
    onSuccess: () => {
      setComment('');
      void queryClient.invalidateQueries({ queryKey: closeKeys(runId) });
      void queryClient.invalidateQueries({ queryKey: ['runs', runId] });
      void queryClient.invalidateQueries({ queryKey: ['review', runId] });
    },
  });
  const errors = fieldErrors(act.error);
  const signedOff = Boolean(run.data?.signed_off_at);
  const o = open.data;
  const openTotal = o ? o.unmatched_items + o.breaks + o.suggested_groups + o.pending_decisions : 0;
  return (
    <Paper withBorder p="md">
      <Stack gap="sm">
        <Title order={4}>Sign-off</Title>
        {open.error ? <ErrorNotice error={open.error} /> : null}
        {o && (
          <Table aria-label="Open exceptions" fz="sm" w={420}>
            <Table.Tbody>
              <Table.Tr><Table.Th>Unmatched records</Table.Th><Table.Td>{o.unmatched_items}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Breaks</Table.Th><Table.Td>{o.breaks}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Suggestions not decided</Table.Th><Table.Td>{o.suggested_groups}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Decisions pending approval</Table.Th><Table.Td>{o.pending_decisions}</Table.Td></Table.Tr>
            </Table.Tbody>
          </Table>
        )}
        <Text size="sm" role="status">
          {signedOff
            ? `Signed off ${formatDateTime(run.data?.signed_off_at)}: the run is frozen.`
            : openTotal
              ? `${openTotal} open item(s): match, write off or explain them as reconciling items before sign-off.`
              : 'Nothing is open: the run can be signed off.'}
        </Text>
        <Textarea label="Sign-off comment" description={signedOff ? 'Required: why the run is reopened' : 'Optional'} value={comment} onChange={(e) => setComment(e.currentTarget.value)} error={errors.comment} autosize minRows={1} />
        {act.error && !errors.comment ? (
          <Alert color="red" role="alert">
            {humanMessage(act.error)}
          </Alert>
        ) : null}
        <Group>
          {!signedOff ? (
            <Button disabled={!canApprove} loading={act.isPending} onClick={() => act.mutate('sign-off')}>
              Sign off
            </Button>
          ) : (
            <Button color="orange" variant="light" disabled={!canApprove} loading={act.isPending} onClick={() => act.mutate('reopen')}>
              Reopen
            </Button>
          )}
          {!canApprove && <Text size="sm" c="dimmed">Only approvers sign off and reopen.</Text>}
        </Group>
      </Stack>
    </Paper>
  );
}

export default function ApprovalsPage() {
  const projectId = useProjectId();
  const role = useProjectRole();
  const canApprove = roleAtLeast(role, 'approver');
  const [params, setParams] = useSearchParams();
  const runId = params.get('run');
  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end">
        <Title order={3}>Approvals and close</Title>
        <RunSelect projectId={projectId} value={runId} onChange={(id) => setParams({ run: id })} />
      </Group>
      {!runId ? (
        <EmptyState title="Choose a run">Its pending decisions, open exceptions and reconciliation statement appear here.</EmptyState>
      ) : (
        <>
          <DecisionQueue key={runId} projectId={projectId} runId={runId} canApprove={canApprove} />
          <Close key={`close-${runId}`} runId={runId} canApprove={canApprove} />
          <Statement key={`statement-${runId}`} runId={runId} />
        </>
      )}
    </Stack>
  );
}
