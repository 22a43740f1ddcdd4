// Datasets: queries and their keys.
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../api/client';

export type Dataset = Schemas['DatasetOut'];
export type Accepted = Schemas['DatasetAccepted'];
export const BUSY = new Set(['pending', 'ingesting']);

export const datasetKeys = {
  list: (projectId: string) => ['datasets', projectId] as const,
  one: (projectId: string, datasetId: string) => ['datasets', projectId, datasetId] as const,
};

export function useDatasets(projectId: string) {
  return useQuery({
    queryKey: datasetKeys.list(projectId),
    queryFn: () =>
      unwrap(api.GET('/api/v1/projects/{project_id}/datasets', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
    // Ingestion runs on a worker: poll while a dataset is still pending or ingesting.
    refetchInterval: (query) => (query.state.data?.items.some((d) => BUSY.has(d.status)) ? 1500 : false),
  });
}

export function useDataset(projectId: string, datasetId: string) {
  return useQuery({
    queryKey: datasetKeys.one(projectId, datasetId),
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}/datasets/{dataset_id}', {
          params: { path: { project_id: projectId, dataset_id: datasetId } },
        }),
      ),
    refetchInterval: (query) => (query.state.data && BUSY.has(query.state.data.status) ? 1000 : false),
  });
}

export function usePreview(projectId: string, dataset: Dataset) {
  return useQuery({
    // Keyed by the ingestion time: a re-mapping that finished shows its new records at once.
    queryKey: [...datasetKeys.one(projectId, dataset.id), 'preview', dataset.ingested_at],
    enabled: dataset.status === 'ready',
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}/datasets/{dataset_id}/preview', {
          params: { path: { project_id: projectId, dataset_id: dataset.id }, query: { limit: 50 } },
        }),
      ),
  });
}

export function useRejections(projectId: string, dataset: Dataset) {
  return useInfiniteQuery({
    queryKey: [...datasetKeys.one(projectId, dataset.id), 'rejections', dataset.ingested_at],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}/datasets/{dataset_id}/rejections', {
          params: {
            path: { project_id: projectId, dataset_id: dataset.id },
            query: { limit: 500, ...(pageParam ? { cursor: pageParam } : {}) },
          },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}
