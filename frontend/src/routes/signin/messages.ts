import { ApiError, humanMessage } from '../../api/errors';

/** What the sign-in form says for each refusal of /auth/login (the api's problem types). */
export function signInMessage(error: unknown): { message: string; needsCode: boolean } {
  if (!(error instanceof ApiError)) return { message: humanMessage(error), needsCode: false };
  switch (error.code) {
    case 'invalid-credentials':
      return { message: 'The email or password is wrong.', needsCode: false };
    case 'totp-required':
      return { message: 'This account uses two-factor authentication: enter the 6-digit code from your authenticator app.', needsCode: true };
    case 'invalid-totp':
      return { message: 'The authentication code is wrong, expired or already used.', needsCode: true };
    case 'account-locked': {
      const minutes = error.retryAfterS ? Math.ceil(error.retryAfterS / 60) : null;
      const wait = minutes ? ` Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.` : ' Try again later.';
      return { message: `Too many failed sign-in attempts: this account is temporarily locked.${wait}`, needsCode: false };
    }
    case 'rate-limited':
      return { message: 'Too many attempts from this address. Please wait a moment and try again.', needsCode: false };
    default:
      return { message: error.message, needsCode: false };
  }
}
