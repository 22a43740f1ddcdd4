// Started by the route's loader (src/app/screens.ts) at navigation, while the screen's code still loads: the
// first page of the tab in the URL and the tab counts (the requests wait for the session, not for React).
import type { QueryClient } from '@tanstack/react-query';
import { countsOptions, tabRowsOptions } from './api';
import { readState } from './state';

export function prefetchReview(queryClient: QueryClient, url: URL): void {
  const { runId, tab, filters } = readState(url.searchParams);
  if (!runId) return;
  void queryClient.prefetchInfiniteQuery(tabRowsOptions(runId, tab, filters));
  void queryClient.prefetchQuery(countsOptions(runId));
}
