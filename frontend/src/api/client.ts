// The typed API client: paths and bodies come from src/api/schema.d.ts (generated from the OpenAPI schema).
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';
import { ApiError } from './errors';
import { authFetch } from './session';

export type Schemas = components['schemas'];

// Absolute URLs on this origin (the SPA and the api share it: embedded, behind nginx, and via the dev proxy).
export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? '', fetch: authFetch });

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of an openapi-fetch result, or an ApiError (problem+json turned into a human message). */
export async function unwrap<T>(promise: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await promise;
  } catch (cause) {
    throw ApiError.network(cause);
  }
  if (result.error !== undefined || !result.response.ok) {
    throw ApiError.fromProblem(result.response, result.error);
  }
  return result.data as T;
}
