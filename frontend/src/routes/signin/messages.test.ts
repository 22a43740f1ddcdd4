import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors';
import { signInMessage } from './messages';

const problem = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  ApiError.fromProblem(new Response(null, { status, headers }), body);

describe('signInMessage', () => {
  it('says how long an account stays locked and asks for the TOTP code', () => {
    const locked = problem(429, { type: 'https://recon.dev/problems/account-locked', detail: 'too many' }, { 'Retry-After': '600' });
    expect(signInMessage(locked).message).toContain('Try again in 10 minutes.');
    const totp = problem(401, { type: 'https://recon.dev/problems/totp-required', detail: 'send totp_code' });
    expect(signInMessage(totp).needsCode).toBe(true);
    const wrong = problem(401, { type: 'https://recon.dev/problems/invalid-credentials', detail: 'x' });
    expect(signInMessage(wrong)).toEqual({ message: 'The email or password is wrong.', needsCode: false });
  });
});
