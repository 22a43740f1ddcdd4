// The login session: the access token lives in memory only; the refresh token in localStorage so a reload
// (or a new tab) stays signed in. Tokens are refreshed silently shortly before the access token expires and
// once more when a request is answered 401, so the user never sees an expiry.
import type { components } from './schema';

export type TokenPair = components['schemas']['TokenPair'];

const REFRESH_KEY = 'recon.refresh_token';
const EARLY_REFRESH_S = 60; // refresh this long before the access token expires

type Listener = (signedIn: boolean) => void;

let accessToken: string | null = null;
let accessExpiresAt = 0; // epoch ms
let refreshing: Promise<boolean> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<Listener>();

export function storedRefreshToken(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function notify(signedIn: boolean): void {
  for (const listener of listeners) listener(signedIn);
}

/** Called with false when the session ends (sign-out, or a refresh the api refused). */
export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function accessTokenNow(): string | null {
  return accessToken;
}

export function storeTokens(tokens: TokenPair): void {
  accessToken = tokens.access_token;
  accessExpiresAt = Date.now() + tokens.expires_in * 1000;
  localStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  clearTimeout(timer);
  const inMs = Math.max(5, tokens.expires_in - EARLY_REFRESH_S) * 1000;
  timer = setTimeout(() => void refreshSession(), inMs);
  notify(true);
}

export function clearSession(): void {
  accessToken = null;
  accessExpiresAt = 0;
  clearTimeout(timer);
  localStorage.removeItem(REFRESH_KEY);
  notify(false);
}

/** Exchanges the stored refresh token for a new pair; concurrent callers share one request (a refresh token
 * is single use: presenting it twice would end the whole session). */
export function refreshSession(): Promise<boolean> {
  if (refreshing) return refreshing;
  const token = storedRefreshToken();
  if (!token) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const response = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (response.ok) {
        storeTokens((await response.json()) as TokenPair);
        return true;
      }
      if (response.status === 401 || response.status === 422) {
        // Another tab may have rotated it meanwhile: then the stored token differs and is still good.
        if (storedRefreshToken() !== token) return refreshSessionAgain();
        clearSession();
      }
      return false;
    } catch {
      return false; // offline: keep the refresh token, the next request tries again
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function refreshSessionAgain(): Promise<boolean> {
  refreshing = null;
  return refreshSession();
}

/** A valid access token, refreshed first when it is missing or about to expire; null when signed out. */
export async function freshAccessToken(): Promise<string | null> {
  if (accessToken && Date.now() < accessExpiresAt - 5_000) return accessToken;
  return (await refreshSession()) ? accessToken : null;
}

/** fetch with the bearer token; a 401 triggers one refresh and one retry. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const token = await freshAccessToken();
  if (token) input.headers.set('Authorization', `Bearer ${token}`);
  const response = await fetch(input);
  if (response.status !== 401 || !token) return response;
  if (!(await refreshSession()) || !accessToken) return response;
  retry.headers.set('Authorization', `Bearer ${accessToken}`);
  return fetch(retry);
}
