import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { streamEvents } from '../../api/sse';

export type Run = Schemas['RunOut'];
export const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

export const runKeys = {
  list: (projectId: string) => ['runs', projectId] as const,
  one: (runId: string) => ['run', runId] as const,
};

export function useRuns(projectId: string) {
  return useQuery({
    queryKey: runKeys.list(projectId),
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/runs', { params: { path: { project_id: projectId }, query: { limit: 100 } } })),
    refetchInterval: (query) => (query.state.data?.items.some((r) => !FINAL.has(r.status)) ? 3000 : false),
  });
}

export function useRun(runId: string) {
  return useQuery({
    queryKey: runKeys.one(runId),
    queryFn: () => unwrap(api.GET('/api/v1/runs/{run_id}', { params: { path: { run_id: runId } } })),
  });
}

export interface PassProgress {
  name: string;
  stage?: string;
  groups?: number;
  left?: number;
  right?: number;
}

export interface LiveState {
  status: string;
  attempt?: number;
  progress?: { phase?: string; passes?: PassProgress[] };
  error?: string | null;
}

/** Live progress of a run that is not finished, over server-sent events; at the end the run is refetched
 * (its summary and hashes) and the stream closes. Reconnects after a dropped connection. */
export function useRunEvents(run: Run | undefined): { live: LiveState | null; streamError: unknown } {
  const queryClient = useQueryClient();
  const [live, setLive] = useState<LiveState | null>(null);
  const [streamError, setStreamError] = useState<unknown>(null);
  const runId = run?.id;
  const active = run !== undefined && !FINAL.has(run.status);
  useEffect(() => {
    if (!runId || !active) return;
    const controller = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      streamEvents(
        `/api/v1/runs/${encodeURIComponent(runId)}/events`,
        ({ event, data }) => {
          setStreamError(null);
          setLive(data as LiveState);
          if (event === 'end') {
            void queryClient.invalidateQueries({ queryKey: runKeys.one(runId) });
            void queryClient.invalidateQueries({ queryKey: ['runs'] });
          }
        },
        controller.signal,
      ).catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setStreamError(error);
        retry = setTimeout(connect, 2000);
      });
    };
    connect();
    return () => {
      controller.abort();
      clearTimeout(retry);
    };
  }, [runId, active, queryClient]);
  return { live, streamError };
}
