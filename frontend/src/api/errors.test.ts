import { describe, expect, it } from 'vitest';
import { ApiError, fieldErrors, humanMessage } from './errors';

const problem = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  ApiError.fromProblem(new Response(null, { status, headers }), body);

describe('ApiError', () => {
  it('uses the problem detail as the message and keys field errors by form field', () => {
    const error = problem(422, {
      type: 'https://recon.dev/problems/validation-error',
      title: 'Validation error',
      detail: 'body.name: String should have at least 1 character',
      errors: [{ field: 'body.settings.require_approval', message: 'Input should be a valid boolean' }],
    });
    expect(error.message).toBe('body.name: String should have at least 1 character');
    expect(error.code).toBe('validation-error');
    expect(fieldErrors(error)).toEqual({
      'settings.require_approval': 'Input should be a valid boolean',
      require_approval: 'Input should be a valid boolean',
    });
  });

  it('falls back to a human sentence per status, never raw JSON', () => {
    expect(problem(503, null).message).toBe('The server is busy or starting. Please try again shortly.');
    expect(problem(418, { title: "I'm a teapot" }).message).toBe("I'm a teapot");
    expect(humanMessage({ weird: true })).toBe('Something went wrong. Please try again.');
  });
});
