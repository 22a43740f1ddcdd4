// API errors as people read them: the problem's `detail` (RFC 9457) as the message, per-field errors keyed by
// the form field they belong to, and a readable fallback for every status.
export interface FieldError {
  field: string;
  message: string;
}

const STATUS_MESSAGES: Record<number, string> = {
  400: 'The request was not accepted.',
  401: 'Your session has ended. Please sign in again.',
  403: 'You do not have permission to do this.',
  404: 'This item does not exist or you do not have access to it.',
  409: 'Someone changed this meanwhile. Reload and try again.',
  413: 'The file is too large.',
  422: 'Some values are not valid.',
  429: 'Too many attempts. Please wait a moment and try again.',
  500: 'The server failed. Please try again; if it persists, tell your administrator.',
  502: 'The server is not reachable right now. Please try again shortly.',
  503: 'The server is busy or starting. Please try again shortly.',
  504: 'The server took too long to answer. Please try again.',
};

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly errors: FieldError[];
  readonly requestId: string | null;
  readonly retryAfterS: number | null;

  constructor(init: {
    status: number;
    message: string;
    type?: string;
    title?: string;
    errors?: FieldError[];
    requestId?: string | null;
    retryAfterS?: number | null;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.type = init.type ?? 'about:blank';
    this.title = init.title ?? '';
    this.errors = init.errors ?? [];
    this.requestId = init.requestId ?? null;
    this.retryAfterS = init.retryAfterS ?? null;
  }

  /** The last part of the problem type, e.g. `account-locked`. */
  get code(): string {
    return this.type.split('/').pop() ?? this.type;
  }

  static network(cause: unknown): ApiError {
    const reason = cause instanceof Error ? ` (${cause.message})` : '';
    return new ApiError({ status: 0, message: `The server could not be reached${reason}. Check your connection.` });
  }

  static fromProblem(response: Response, body: unknown): ApiError {
    const problem = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const detail = typeof problem.detail === 'string' && problem.detail ? problem.detail : null;
    const title = typeof problem.title === 'string' ? problem.title : '';
    const errors = Array.isArray(problem.errors) ? (problem.errors as FieldError[]) : [];
    const retry = Number(response.headers.get('Retry-After'));
    return new ApiError({
      status: response.status,
      message: detail ?? STATUS_MESSAGES[response.status] ?? (title || `Request failed (${response.status}).`),
      type: typeof problem.type === 'string' ? problem.type : undefined,
      title,
      errors,
      requestId: (problem.request_id as string | undefined) ?? response.headers.get('X-Request-ID'),
      retryAfterS: Number.isFinite(retry) && retry > 0 ? retry : null,
    });
  }
}

/** A message for anything thrown: ApiError's message, or a generic one (never raw JSON). */
export function humanMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong. Please try again.';
}

/** Field errors by form field: `body.settings.require_approval` -> `settings.require_approval` and also the
 * last segment (`require_approval`), so a form can look a field up by its own name. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const byField: Record<string, string> = {};
  for (const { field, message } of error.errors) {
    const path = field.replace(/^(body|query|path|header)\./, '');
    byField[path] ??= message;
    const last = path.split('.').pop();
    if (last) byField[last] ??= message;
  }
  return byField;
}
