// The catalogue of every error code a client can see: its HTTP status and default message.
// openapi.yaml's Error definition and docs/api.md's catalogue list the same codes (unit tests
// keep the three equal); `internal` and `unavailable` are the two server-side answers.

export const ERRORS = {
  invalid_request: { status: 400, message: 'The request is not valid.' },
  unauthenticated: { status: 401, message: 'A valid bearer token is required.' },
  invalid_credentials: { status: 401, message: 'The email or password is wrong.' },
  forbidden: { status: 403, message: 'You are not allowed to do this.' },
  proof_of_work_required: { status: 403, message: 'Joining this queue needs a proof of work.' },
  not_admitted: { status: 403, message: 'This sale has a waiting room: join the queue and buy once you are admitted.' },
  not_found: { status: 404, message: 'Not found.' },
  email_taken: { status: 409, message: 'An account with this email already exists.' },
  sale_overlaps: { status: 409, message: 'Another sale of this product overlaps this time window.' },
  stock_below_sold: { status: 409, message: 'Stock cannot be lower than the units already sold or held.' },
  sold_out: { status: 409, message: 'Sold out.' },
  already_purchased: { status: 409, message: 'You already have an order for this product.' },
  sale_not_started: { status: 409, message: 'The sale has not started yet.' },
  sale_ended: { status: 409, message: 'The sale has ended.' },
  sale_not_ended: { status: 409, message: 'The sale has not ended yet.' },
  waiting_room_off: { status: 409, message: 'This sale has no waiting room; buy directly.' },
  hold_expired: { status: 409, message: 'The hold on this order has expired.' },
  not_checkoutable: { status: 409, message: 'This order cannot be checked out.' },
  not_cancellable: { status: 409, message: 'This order cannot be cancelled.' },
  payload_too_large: { status: 413, message: 'The body is too large.' },
  unsupported_media_type: { status: 415, message: 'The body must be JSON (Content-Type: application/json).' },
  idempotency_key_reused: { status: 422, message: 'This Idempotency-Key was used with a different request.' },
  rate_limited: { status: 429, message: 'Too many requests; try again later.' },
  internal: { status: 500, message: 'Something went wrong on our side.' },
  unavailable: { status: 503, message: 'The service is temporarily unavailable; try again.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetail {
  field: string;
  problem: string;
}

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  details?: ErrorDetail[];
}

/** Retry-After of every `503 unavailable`, in seconds. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = '1';

/** Redis replies that mean "not now" (loading, a script running too long, a failover), not a bug. */
const REDIS_NOT_NOW = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|OOM)\b/;

/** What ioredis and pg say, without a code, when their store does not answer. */
const CLIENT_NOT_ANSWERING = [
  'Command timed out', // ioredis commandTimeout
  'Connection is closed.', // ioredis
  "Stream isn't writeable", // ioredis, offline queue off
  'Connection terminated', // pg: unexpectedly, due to connection timeout
  'Query read timeout', // pg query_timeout
  'timeout exceeded when trying to connect', // pg pool connectionTimeoutMillis
  'Client has encountered a connection error', // pg
];

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * PostgreSQL's SQLSTATEs of "not now": the connection (08), an operator or a restart (57P),
 * too many connections, a statement or lock wait past its bound (57014, 55P03), a
 * serialization failure or deadlock (a retry succeeds).
 */
export function isTransientSqlState(code: string): boolean {
  return /^(08|57P)/.test(code) || ['53300', '57014', '55P03', '40001', '40P01'].includes(code);
}

/**
 * True when `err` says a store (Redis, PostgreSQL) did not answer in time or is unavailable,
 * rather than that the request or our code is wrong: the request answers `503 unavailable`
 * (with Retry-After), never `500 internal`. Known by shape, so that this catalogue loads neither client.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { name, message } = err;
  const code = (err as { code?: unknown }).code;
  if (name === 'MaxRetriesPerRequestError') return true;
  if (name === 'ReplyError') return REDIS_NOT_NOW.test(message);
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    // pg's DatabaseError carries the SQLSTATE and a severity.
    if ('severity' in err) return isTransientSqlState(code);
  }
  return CLIENT_NOT_ANSWERING.some((m) => message.startsWith(m));
}

/** An error meant for the client: a catalogue code, optionally a more precise message. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { details?: ErrorDetail[]; headers?: Record<string, string> } = {},
  ) {
    super(message ?? ERRORS[code].message);
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options.details;
    // A 503 always says when to come back: the stores' outages are short, or retried by then.
    this.headers = code === 'unavailable' ? { 'retry-after': UNAVAILABLE_RETRY_AFTER_SECONDS, ...options.headers } : options.headers;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: this.code, message: this.message };
    if (this.details) body.details = this.details;
    return body;
  }
}
