// Retrying a write the api refused with 503 "retry later": on the embedded SQLite database a write can meet
// another writer's lock; the api rolled the request back, so sending it again is safe.
import { ApiError } from './errors';

export const retryWhenBusy = {
  retry: (failures: number, error: unknown) => failures < 3 && error instanceof ApiError && error.status === 503,
  retryDelay: (failures: number) => 500 * 2 ** failures,
};
