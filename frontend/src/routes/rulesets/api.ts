import { useQuery } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../api/client';

export type RuleSet = Schemas['RuleSetOut'];
export type Validation = Schemas['ValidationResult'];

export const rulesetKeys = {
  list: (projectId: string) => ['rulesets', projectId] as const,
  one: (projectId: string, id: string) => ['rulesets', projectId, id] as const,
  versions: (projectId: string, id: string) => ['rulesets', projectId, id, 'versions'] as const,
  version: (projectId: string, id: string, version: number) => ['rulesets', projectId, id, 'versions', version] as const,
};

export function useRulesets(projectId: string) {
  return useQuery({
    queryKey: rulesetKeys.list(projectId),
    queryFn: () =>
      unwrap(api.GET('/api/v1/projects/{project_id}/rulesets', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
}

export function useRuleset(projectId: string, rulesetId: string | undefined) {
  return useQuery({
    queryKey: rulesetKeys.one(projectId, rulesetId ?? ''),
    enabled: Boolean(rulesetId),
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}/rulesets/{ruleset_id}', {
          params: { path: { project_id: projectId, ruleset_id: rulesetId! } },
        }),
      ),
  });
}

export function useVersions(projectId: string, rulesetId: string) {
  return useQuery({
    queryKey: rulesetKeys.versions(projectId, rulesetId),
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}/rulesets/{ruleset_id}/versions', {
          params: { path: { project_id: projectId, ruleset_id: rulesetId }, query: { limit: 200 } },
        }),
      ),
  });
}

export function useVersionText(projectId: string, rulesetId: string, version: number | null) {
  return useQuery({
    queryKey: rulesetKeys.version(projectId, rulesetId, version ?? 0),
    enabled: version !== null,
    staleTime: Infinity, // a version never changes
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}/rulesets/{ruleset_id}/versions/{version}', {
          params: { path: { project_id: projectId, ruleset_id: rulesetId, version: version! } },
        }),
      ),
  });
}

/** The engine's validation of `text` (debounced by the caller); never throws for invalid rules. */
export function validateRules(projectId: string, text: string, signal?: AbortSignal): Promise<Validation> {
  return unwrap(api.POST('/api/v1/projects/{project_id}/rulesets/validate', { params: { path: { project_id: projectId } }, body: { text }, signal }));
}
