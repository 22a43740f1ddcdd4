import { screen, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import { clearSession } from '../api/session';
import { answer, json, renderAt } from '../test/render';
import { RequireAuth } from './RequireAuth';

const pair = { access_token: 'fresh', refresh_token: 'r2', token_type: 'bearer', expires_in: 900, refresh_expires_in: 3600 };

function Projects() {
  const projects = useQuery({ queryKey: ['projects'], queryFn: () => unwrap(api.GET('/api/v1/projects', {})) });
  return <p>{projects.data ? `${projects.data.items.length} projects` : 'waiting'}</p>;
}

const routes = [
  { path: '/projects', element: <RequireAuth><Projects /></RequireAuth> },
  { path: '/signin', element: <p>the sign-in page</p> },
];

describe('restoring a stored session', () => {
  beforeEach(() => {
    clearSession();
    localStorage.setItem('recon.refresh_token', 'r1');
  });

  it('renders the screen at once; its request waits for the one refresh and carries the new token', async () => {
    const calls = answer({
      '/api/v1/auth/refresh': () => json(pair),
      '/api/v1/auth/me': () => json({ user: { email: 'a@example.com' }, org: { name: 'o' }, memberships: [] }),
      '/api/v1/projects': (request) =>
        request.headers.get('Authorization') === 'Bearer fresh' ? json({ items: [{}, {}], next_cursor: null }) : json({ status: 401 }, 401),
    });
    renderAt('/projects', routes);
    expect(screen.getByText('waiting')).toBeInTheDocument(); // no "restoring" screen in between
    expect(await screen.findByText('2 projects')).toBeInTheDocument();
    const paths = calls.map((c) => new URL(c.url).pathname);
    expect(paths.filter((p) => p === '/api/v1/auth/refresh')).toHaveLength(1);
    expect(localStorage.getItem('recon.refresh_token')).toBe('r2');
  });

  it('goes to the sign-in page when the refresh token is refused', async () => {
    answer({
      '/api/v1/auth/refresh': () => json({ status: 401 }, 401),
      '/api/v1/projects': () => json({ status: 401 }, 401),
      '/api/v1/auth/me': () => json({ status: 401 }, 401),
    });
    renderAt('/projects', routes);
    expect(await screen.findByText('the sign-in page')).toBeInTheDocument();
    await waitFor(() => expect(localStorage.getItem('recon.refresh_token')).toBeNull());
  });
});
