import { AppShell, Avatar, Burger, Group, Menu, NavLink, Text, Title, UnstyledButton } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Suspense } from 'react';
import { Link, Outlet, useLocation, useMatch, useNavigate } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { Loading } from '../components/status';
import { projectKeys } from './project';
import { roleAtLeast, useAuth } from './auth';
import { projectScreens } from './screens';

function UserMenu() {
  const { me, signOut, roleIn } = useAuth();
  const navigate = useNavigate();
  const match = useMatch('/projects/:projectId/*');
  const projectId = match?.params.projectId;
  if (!me) return null;
  const name = me.user.full_name || me.user.email;
  const role = projectId ? roleIn(projectId) : null;
  const initials = name
    .split(/[\s@.]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase())
    .join('');
  return (
    <Menu position="bottom-end" width={260}>
      <Menu.Target>
        <UnstyledButton aria-label={`Account: ${name}`}>
          <Group gap="xs">
            <Avatar size="sm" color="blue" radius="xl">
              {initials}
            </Avatar>
            <Text size="sm" visibleFrom="sm">
              {name}
            </Text>
          </Group>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>Signed in as</Menu.Label>
        <Menu.Item component="div" disabled style={{ cursor: 'default' }}>
          <Text size="sm" fw={600}>
            {me.user.full_name || '—'}
          </Text>
          <Text size="xs">{me.user.email}</Text>
          <Text size="xs">
            {me.org.name}
            {me.user.is_superuser ? ' · administrator' : ''}
            {role ? ` · ${role} in this project` : ''}
          </Text>
        </Menu.Item>
        <Menu.Divider />
        <Menu.Item
          onClick={() => {
            void signOut().then(() => navigate('/signin'));
          }}
        >
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

export function AppLayout() {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const match = useMatch('/projects/:projectId/*');
  const projectId = match?.params.projectId;
  const { roleIn } = useAuth();
  const project = useQuery({ queryKey: projectKeys.one(projectId ?? ''), enabled: false });
  const role = (project.data as { role?: string } | undefined)?.role ?? (projectId ? roleIn(projectId) : null);

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={1} size="h4">
              <Link to="/projects" style={{ color: 'inherit', textDecoration: 'none' }}>
                Reconciliation
              </Link>
            </Title>
          </Group>
          <UserMenu />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        <NavLink
          component={Link}
          to="/projects"
          label="Projects"
          active={location.pathname === '/projects'}
          onClick={close}
        />
        {projectId &&
          projectScreens
            .filter((screen) => !screen.minRole || roleAtLeast(role, screen.minRole))
            .map((screen) => {
              const to = `/projects/${projectId}/${screen.path}`;
              return (
                <NavLink
                  key={screen.path}
                  component={Link}
                  to={to}
                  label={screen.label}
                  pl="lg"
                  active={location.pathname === to || location.pathname.startsWith(`${to}/`)}
                  aria-current={location.pathname.startsWith(to) ? 'page' : undefined}
                  onClick={close}
                />
              );
            })}
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
