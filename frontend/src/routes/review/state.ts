// The review workspace's state in the URL (?run=…&tab=…&q=…): every tab and filter is a link that can be
// shared and reloaded. Empty values are left out of the URL.
export const TABS = [
  { id: 'suggested', label: 'Suggested', kind: 'groups', status: 'suggested', countKey: 'suggested' },
  { id: 'breaks', label: 'Breaks', kind: 'groups', status: 'break', countKey: 'breaks' },
  { id: 'unmatched-left', label: 'Unmatched left', kind: 'items', side: 'left', countKey: 'unmatched_left' },
  { id: 'unmatched-right', label: 'Unmatched right', kind: 'items', side: 'right', countKey: 'unmatched_right' },
  { id: 'matched', label: 'Matched', kind: 'groups', status: 'matched', countKey: 'matched' },
] as const;

export type Tab = (typeof TABS)[number];
export type TabId = Tab['id'];

export const FILTER_KEYS = [
  'status',
  'pass',
  'min_score',
  'amount_min',
  'amount_max',
  'date_from',
  'date_to',
  'q',
  'assignee_id',
  'min_age',
  'max_age',
  'reason',
  'sort',
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

export interface ReviewState {
  runId: string | null;
  tab: Tab;
  filters: Filters;
}

export function readState(params: URLSearchParams): ReviewState {
  const tab = TABS.find((t) => t.id === params.get('tab')) ?? TABS[0];
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) filters[key] = value;
  }
  return { runId: params.get('run'), tab, filters };
}

export function writeState(state: { runId: string | null; tab: TabId; filters: Filters }): URLSearchParams {
  const params = new URLSearchParams();
  if (state.runId) params.set('run', state.runId);
  params.set('tab', state.tab);
  for (const key of FILTER_KEYS) {
    const value = state.filters[key]?.trim();
    if (value) params.set(key, value);
  }
  return params;
}

/** Filters that apply to a tab, as query parameters of the api (groups: /groups, records: /unmatched). */
export function apiQuery(tab: Tab, filters: Filters): Record<string, string | number | string[]> {
  const shared = ['amount_min', 'amount_max', 'date_from', 'date_to', 'q', 'assignee_id', 'min_age', 'max_age'] as const;
  const query: Record<string, string | number | string[]> = {};
  for (const key of shared) if (filters[key]) query[key] = filters[key]!;
  if (filters.sort) query.sort = filters.sort;
  if (tab.kind === 'groups') {
    query.status = [filters.status && tab.id === 'matched' ? filters.status : tab.status];
    if (filters.pass) query.pass = filters.pass;
    if (filters.min_score) query.min_score = filters.min_score;
  } else {
    query.side = tab.side;
    if (filters.reason) query.reason = [filters.reason];
  }
  return query;
}

/** The same filters as the body of a bulk action on everything the filter selects. */
export function selectionBody(tab: Tab, filters: Filters): Record<string, unknown> {
  const query: Record<string, unknown> = apiQuery(tab, filters);
  delete query.sort;
  const { side, pass, status, reason, ...rest } = query;
  if (tab.kind === 'groups') return { groups: { ...rest, status, ...(pass ? { pass } : {}) } };
  return { unmatched: { ...rest, side, ...(reason ? { reason } : {}) } };
}
