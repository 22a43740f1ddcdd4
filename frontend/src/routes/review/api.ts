// Server state of the review workspace: tab counts, the cursor-paged rows of a tab, totals of a filter, and
// the review actions (every action refreshes the run's counts and lists).
import { infiniteQueryOptions, queryOptions, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useSyncExternalStore } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { retryWhenBusy } from '../../api/retry';
import { apiQuery, type Filters, type Tab } from './state';

export type Group = Schemas['GroupOut'];
export type Item = Schemas['ItemOut'];
export type Row = ({ rowType: 'group' } & Group) | ({ rowType: 'item' } & Item);

// A small first page shows the grid soon; the pages after it are as large as the api allows, fewer round trips
// while scrolling.
export const FIRST_PAGE_SIZE = 200;
export const PAGE_SIZE = 1000;

export const reviewKeys = {
  run: (runId: string) => ['review', runId] as const,
  counts: (runId: string) => ['review', runId, 'counts'] as const,
  rows: (runId: string, tabId: string, filters: Filters) => ['review', runId, 'rows', tabId, filters] as const,
  totals: (runId: string, tabId: string, filters: Filters) => ['review', runId, 'totals', tabId, filters] as const,
  comments: (runId: string, target: string, id: number) => ['review', runId, 'comments', target, id] as const,
};

export function useRun(runId: string | null) {
  return useQuery({
    queryKey: ['runs', runId],
    enabled: Boolean(runId),
    queryFn: () => unwrap(api.GET('/api/v1/runs/{run_id}', { params: { path: { run_id: runId! } } })),
  });
}

export const countsOptions = (runId: string | null) =>
  queryOptions({
    queryKey: reviewKeys.counts(runId ?? ''),
    enabled: Boolean(runId),
    queryFn: () => unwrap(api.GET('/api/v1/runs/{run_id}/counts', { params: { path: { run_id: runId! } } })),
  });

export function useTabCounts(runId: string | null) {
  return useQuery(countsOptions(runId));
}

/** A fetched page of a tab (the grid formats a row's cells when it first shows it, not here). */
export interface RowPage {
  items: Row[];
  next_cursor: string | null;
}

function toPage(items: Row[], nextCursor: string | null | undefined): RowPage {
  return { items, next_cursor: nextCursor ?? null };
}

async function fetchRows(runId: string, tab: Tab, filters: Filters, cursor: string | null): Promise<RowPage> {
  const query = { ...apiQuery(tab, filters), ...(cursor ? { cursor, limit: PAGE_SIZE } : { limit: FIRST_PAGE_SIZE }) };
  if (tab.kind === 'groups') {
    const page = await unwrap(
      api.GET('/api/v1/runs/{run_id}/groups', { params: { path: { run_id: runId }, query: query as never } }),
    );
    return toPage(page.items.map((g) => ({ rowType: 'group' as const, ...g })), page.next_cursor);
  }
  const page = await unwrap(
    api.GET('/api/v1/runs/{run_id}/unmatched', { params: { path: { run_id: runId }, query: query as never } }),
  );
  return toPage(page.items.map((i) => ({ rowType: 'item' as const, ...i })), page.next_cursor);
}

export const tabRowsOptions = (runId: string | null, tab: Tab, filters: Filters) =>
  infiniteQueryOptions({
    queryKey: reviewKeys.rows(runId ?? '', tab.id, filters),
    enabled: Boolean(runId),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => fetchRows(runId!, tab, filters, pageParam),
    getNextPageParam: (last) => last.next_cursor,
    // Pages are appended, never changed in place: comparing 100k rows deeply on every page would be a long
    // main-thread task for nothing.
    structuralSharing: false,
    staleTime: 30_000,
  });

export function useTabRows(runId: string | null, tab: Tab, filters: Filters) {
  return useInfiniteQuery(tabRowsOptions(runId, tab, filters));
}

/** Whether the tab's first page has been answered (rows or an error), without re-rendering on later pages.
 * The api serves requests from one process: everything the screen needs asked for at once made the first page
 * (what the user waits for) answer up to twice as late, so the run list and members are asked for after it. */
export function useFirstPageSettled(runId: string | null, tab: Tab, filters: Filters): boolean {
  const queryClient = useQueryClient();
  const subscribe = useCallback((onChange: () => void) => queryClient.getQueryCache().subscribe(onChange), [queryClient]);
  const settled = useCallback(() => {
    const state = queryClient.getQueryState(reviewKeys.rows(runId ?? '', tab.id, filters));
    return !runId || Boolean(state && (state.data !== undefined || state.status === 'error'));
  }, [queryClient, runId, tab.id, filters]);
  return useSyncExternalStore(subscribe, settled);
}

export type Totals =
  | { kind: 'groups'; count: number; rows: Schemas['GroupTotalsRow'][] }
  | { kind: 'items'; count: number; rows: Schemas['ItemTotalsRow'][] };

export async function fetchTotals(runId: string, tab: Tab, filters: Filters): Promise<Totals> {
  const query = apiQuery(tab, filters);
  delete query.sort;
  if (tab.kind === 'groups') {
    const totals = await unwrap(
      api.GET('/api/v1/runs/{run_id}/groups/totals', { params: { path: { run_id: runId }, query: query as never } }),
    );
    return { kind: 'groups', count: totals.groups, rows: totals.currencies };
  }
  const totals = await unwrap(
    api.GET('/api/v1/runs/{run_id}/unmatched/totals', { params: { path: { run_id: runId }, query: query as never } }),
  );
  return { kind: 'items', count: totals.records, rows: totals.currencies };
}

export function useTotals(runId: string | null, tab: Tab, filters: Filters, enabled: boolean) {
  return useQuery({
    queryKey: reviewKeys.totals(runId ?? '', tab.id, filters),
    enabled: Boolean(runId) && enabled,
    queryFn: () => fetchTotals(runId!, tab, filters),
    staleTime: 0,
  });
}

export type ActionName =
  | 'confirm'
  | 'reject'
  | 'unmatch'
  | 'writeoff'
  | 'manual-match'
  | 'reconciling-items'
  | 'assign'
  | 'comments'
  | 'bulk/confirm'
  | 'bulk/reject'
  | 'bulk/unmatch'
  | 'bulk/writeoff'
  | 'bulk/by-filter';

/** POST /runs/{run}/<action>; afterwards the run's counts, lists and totals are fetched again. */
export function useReviewAction(runId: string | null) {
  const queryClient = useQueryClient();
  return useMutation({
    ...retryWhenBusy,
    mutationFn: ({ action, body }: { action: ActionName; body: Record<string, unknown> }) =>
      unwrap(
        api.POST(`/api/v1/runs/{run_id}/${action}` as '/api/v1/runs/{run_id}/confirm', {
          params: { path: { run_id: runId! } },
          body: body as never,
        }),
      ) as Promise<unknown>,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: reviewKeys.run(runId ?? '') }),
  });
}

export function useComments(runId: string, target: 'group' | 'item', targetId: number) {
  return useQuery({
    queryKey: reviewKeys.comments(runId, target, targetId),
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/runs/{run_id}/comments', {
          params: { path: { run_id: runId }, query: { target, target_id: targetId, limit: 100 } },
        }),
      ),
  });
}

export function useWriteoffReasons(projectId: string) {
  return useQuery({
    queryKey: ['projects', projectId],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}', { params: { path: { project_id: projectId } } })),
    select: (project) => (project.settings as { writeoff_reasons?: string[] } | undefined)?.writeoff_reasons ?? [],
  });
}
