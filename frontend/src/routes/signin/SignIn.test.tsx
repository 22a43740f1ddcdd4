import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { answer, json, renderAt } from '../../test/render';
import SignInPage from './index';

const routes = [
  { path: '/signin', element: <SignInPage /> },
  { path: '/projects', element: <p>projects screen</p> },
];

describe('sign in', () => {
  beforeEach(() => localStorage.clear());

  it('says an account is locked and for how long', async () => {
    answer({
      '/api/v1/auth/login': () =>
        json({ type: 'https://recon.dev/problems/account-locked', title: 'Account temporarily locked', status: 429, detail: 'too many' }, 429, {
          'Retry-After': '120',
        }),
    });
    renderAt('/signin', routes);
    await userEvent.type(screen.getByLabelText(/Email/), 'a@example.com');
    await userEvent.type(screen.getByLabelText(/Password/), 'secret');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('temporarily locked. Try again in 2 minutes.');
  });

  it('asks for the TOTP code, then signs in and goes where the user was headed', async () => {
    const calls = answer({
      '/api/v1/auth/login': () => json({ type: 'https://recon.dev/problems/totp-required', status: 401, detail: 'send totp_code' }, 401),
    });
    renderAt('/signin?next=%2Fprojects', routes);
    await userEvent.type(screen.getByLabelText(/Email/), 'a@example.com');
    await userEvent.type(screen.getByLabelText(/Password/), 'secret');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByLabelText(/Authentication code/)).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent('two-factor authentication');
    answer({
      '/api/v1/auth/login': () => json({ access_token: 'a', refresh_token: 'r', token_type: 'bearer', expires_in: 900, refresh_expires_in: 3600 }),
      '/api/v1/auth/me': () => json({ user: { id: 'u', email: 'a@example.com', full_name: 'A', is_superuser: false }, org: { id: 'o', name: 'Org' }, memberships: [], auth: { method: 'jwt' } }),
    });
    await userEvent.type(screen.getByLabelText(/Authentication code/), '123456');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('projects screen')).toBeInTheDocument();
    expect(localStorage.getItem('recon.refresh_token')).toBe('r');
    expect(calls.length).toBe(1);
  });
});
