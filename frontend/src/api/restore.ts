// Imported first by main.tsx: a stored session's refresh starts while the rest of the app's modules are still
// evaluating, before React renders. Every request (and AuthProvider) then shares this one refresh.
import { refreshSession, storedRefreshToken } from './session';

if (storedRefreshToken()) void refreshSession();
