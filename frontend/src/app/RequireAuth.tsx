import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from './auth';

/** Signed-out visitors go to /signin?next=<where they were>, and come back there after signing in. While a
 * stored session is being restored ('checking') the screen renders at once: its requests wait for the
 * refresh (src/api/session.ts), and a refused refresh ends here as 'signed-out'. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'signed-out') {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/signin?next=${next}`} replace />;
  }
  return <>{children}</>;
}
