// The current project (from the URL) for every screen inside /projects/:projectId.
import { queryOptions, useQuery } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { useAuth } from './auth';

export function useProjectId(): string {
  const { projectId } = useParams();
  if (!projectId) throw new Error('useProjectId outside /projects/:projectId');
  return projectId;
}

export const projectKeys = {
  all: ['projects'] as const,
  one: (projectId: string) => ['projects', projectId] as const,
  members: (projectId: string) => ['projects', projectId, 'members'] as const,
};

export const projectQuery = (projectId: string) =>
  queryOptions({
    queryKey: projectKeys.one(projectId),
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}', { params: { path: { project_id: projectId } } })),
  });

export function useProject(projectId: string) {
  return useQuery(projectQuery(projectId));
}

/** The signed-in user's role in the current project, as the project answer says (fresh after creating or
 * joining a project, unlike the memberships of /auth/me read at sign-in). */
export function useProjectRole(): string | null {
  const projectId = useProjectId();
  const { roleIn } = useAuth();
  const project = useProject(projectId);
  return project.data?.role ?? roleIn(projectId);
}
