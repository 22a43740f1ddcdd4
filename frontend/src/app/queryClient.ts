// The app's one QueryClient: a module of its own so that route loaders can start a screen's first requests
// (prefetch) while the screen's code is still loading.
import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '../api/errors';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // Client errors (403, 404, 422) do not get better by retrying; network and 5xx errors may.
      retry: (failures, error) => failures < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});
