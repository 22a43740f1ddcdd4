// Who is signed in: the session (src/api/session.ts) plus the `/auth/me` answer, shared by the whole app.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../api/client';
import {
  clearSession,
  onSessionChange,
  refreshSession,
  storedRefreshToken,
  storeTokens,
} from '../api/session';

export type Me = Schemas['MeOut'];
type Status = 'checking' | 'signed-in' | 'signed-out';

interface AuthValue {
  status: Status;
  me: Me | null;
  signIn: (email: string, password: string, totpCode?: string) => Promise<void>;
  signOut: () => Promise<void>;
  /** The caller's role in a project ("owner", "admin", "approver", "preparer", "viewer"), or null. */
  roleIn: (projectId: string) => string | null;
}

const AuthContext = createContext<AuthValue | null>(null);

async function loadMe(): Promise<Me> {
  return unwrap(api.GET('/api/v1/auth/me'));
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<Status>(storedRefreshToken() ? 'checking' : 'signed-out');
  const [me, setMe] = useState<Me | null>(null);

  useEffect(() => {
    const stop = onSessionChange((signedIn) => {
      if (!signedIn) {
        setMe(null);
        setStatus('signed-out');
        queryClient.clear();
      }
    });
    if (storedRefreshToken()) {
      // A reload: the access token was in memory only; the refresh token brings the session back. The screens
      // render meanwhile (RequireAuth lets 'checking' through) and their requests wait for the same refresh, so
      // the refresh, /auth/me and the screen's first requests are not three round trips in a row.
      const me = loadMe().catch(() => null);
      void (async () => {
        if (!(await refreshSession())) return setStatus('signed-out');
        setStatus('signed-in');
        const answer = await me;
        if (answer) setMe(answer);
        else setMe(await loadMe().catch(() => null));
      })();
    }
    return stop;
  }, [queryClient]);

  const signIn = useCallback(async (email: string, password: string, totpCode?: string) => {
    const tokens = await unwrap(
      api.POST('/api/v1/auth/login', { body: { email, password, totp_code: totpCode || null } }),
    );
    storeTokens(tokens);
    setMe(await loadMe());
    setStatus('signed-in');
  }, []);

  const signOut = useCallback(async () => {
    const token = storedRefreshToken();
    if (token) await api.POST('/api/v1/auth/logout', { body: { refresh_token: token } }).catch(() => undefined);
    clearSession();
  }, []);

  const roleIn = useCallback(
    (projectId: string) => me?.memberships.find((m) => m.project_id === projectId)?.role ?? null,
    [me],
  );

  const value = useMemo(() => ({ status, me, signIn, signOut, roleIn }), [status, me, signIn, signOut, roleIn]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

const ROLE_RANK: Record<string, number> = { viewer: 1, preparer: 2, approver: 3, admin: 4, owner: 5 };

/** Whether `role` is at least `needed` in the api's role order (viewer < preparer < approver < admin < owner). */
export function roleAtLeast(role: string | null | undefined, needed: string): boolean {
  return (ROLE_RANK[role ?? ''] ?? 0) >= (ROLE_RANK[needed] ?? 99);
}
