import { Group, Skeleton, Stack, Text, Title } from '@mantine/core';
import { Outlet } from 'react-router';
import { ErrorNotice } from '../components/status';
import { useProject, useProjectId, useProjectRole } from './project';

/** The project's name above every project screen; a missing or forbidden project is said so here. The screen
 * below starts loading its own data at once (not after the project's answer: one round trip less). */
export function ProjectLayout() {
  const projectId = useProjectId();
  const project = useProject(projectId);
  const role = useProjectRole();
  if (project.error) return <ErrorNotice error={project.error} onRetry={() => void project.refetch()} />;
  return (
    <Stack gap="md">
      <Group justify="space-between" align="baseline">
        {project.isPending ? (
          <Skeleton height={26} width={240} role="status" aria-label="Loading the project" />
        ) : (
          <Title order={2} size="h3">
            {project.data.name}
          </Title>
        )}
        {role && (
          <Text size="sm" c="dimmed">
            Your role: {role}
          </Text>
        )}
      </Group>
      <Outlet />
    </Stack>
  );
}
