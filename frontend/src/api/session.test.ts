import { beforeEach, describe, expect, it } from 'vitest';
import { answer, json } from '../test/render';
import { authFetch, clearSession, storeTokens } from './session';

const pair = (access: string, refresh: string) => ({ access_token: access, refresh_token: refresh, token_type: 'bearer' as const, expires_in: 900, refresh_expires_in: 3600 });

describe('authFetch', () => {
  beforeEach(() => clearSession());

  it('refreshes once on a 401 and retries with the new token, rotating the refresh token', async () => {
    storeTokens(pair('old', 'r1'));
    const seen: string[] = [];
    answer({
      '/api/v1/projects': (request) => {
        seen.push(request.headers.get('Authorization') ?? '');
        return request.headers.get('Authorization') === 'Bearer new' ? json({ items: [] }) : json({ status: 401 }, 401);
      },
      '/api/v1/auth/refresh': () => json(pair('new', 'r2')),
    });
    const response = await authFetch(new Request('http://localhost/api/v1/projects'));
    expect(response.status).toBe(200);
    expect(seen).toEqual(['Bearer old', 'Bearer new']);
    expect(localStorage.getItem('recon.refresh_token')).toBe('r2');
  });

  it('ends the session when the refresh token is refused', async () => {
    storeTokens(pair('old', 'r1'));
    answer({
      '/api/v1/projects': () => json({ status: 401 }, 401),
      '/api/v1/auth/refresh': () => json({ type: 'https://recon.dev/problems/invalid-refresh-token', status: 401 }, 401),
    });
    const response = await authFetch(new Request('http://localhost/api/v1/projects'));
    expect(response.status).toBe(401);
    expect(localStorage.getItem('recon.refresh_token')).toBeNull();
  });
});
