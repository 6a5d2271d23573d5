// Host-agnostic HTTP plumbing: a function is a route table turned into one
// (req, res) handler that the Functions Framework or a bare node:http server can host.
import { randomUUID } from 'node:crypto';
import type { Domain } from 'node:domain';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { z } from 'zod';
import { config } from './config.js';
import { ApiError, isStoreUnavailable, type ErrorBody, type ErrorDetail } from './errors.js';
import { clientIp } from './client.js';
import { errorFields, log, logAccess, traceFields, type Logger } from './log.js';
import { countAnswer } from './metrics.js';

/** A request as the Functions Framework hands it over (body already parsed) or as node:http does. */
export interface FunctionRequest extends IncomingMessage {
  body?: unknown;
  rawBody?: Buffer;
}

export interface Reply {
  status: number;
  /** JSON, JSON already serialised (JsonText), or a stream of text sent as it comes (headers must then name its content-type). */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteContext {
  req: FunctionRequest;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
  requestId: string;
  log: Logger;
}

/**
 * A route's answer. A route may answer synchronously (or throw): on the hot path every
 * promise counts, since the Functions Framework runs each request in a domain, whose
 * async hook makes each promise cost microseconds (see README, Performance).
 */
export type RouteHandler = (ctx: RouteContext) => Reply | Promise<Reply>;

export interface Route {
  method: HTTPMethod;
  path: string;
  handler: RouteHandler;
}

export type HttpHandler = (req: FunctionRequest, res: ServerResponse) => void;

/** The largest request body a function reads, and the local gateway passes on. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * `413 payload_too_large`, closing the connection: the rest of the body is never read, so the
 * socket cannot carry another request (a kept-alive client would meet it half-read).
 */
export function bodyTooLarge(): ApiError {
  return new ApiError('payload_too_large', undefined, { headers: { connection: 'close' } });
}

/** application/json or application/<something>+json, parameters (charset) allowed. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given.length > 0 && given.length <= 200) return given;
  return randomUUID();
}

/** A body that is JSON text already (a rendered page, sales/list.ts): sent as it is. */
export class JsonText {
  constructor(readonly text: string) {}
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const payload = body === undefined ? '' : body instanceof JsonText ? body.text : JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (payload) res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(payload);
}

export function sendError(res: ServerResponse, requestId: string, err: ApiError): void {
  const body: ErrorBody = err.toBody();
  sendJson(res, err.status, body, { 'x-request-id': requestId, ...err.headers });
}

/**
 * Maps an error to the catalogue: a client's malformed or oversized body is its own fault, a
 * store that did not answer (timeout, connection lost) is `503 unavailable`, anything else is ours.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') {
    // The framework's parser fails before our limit is looked at: the limit comes first.
    const body = (err as { body?: unknown }).body;
    if (typeof body === 'string' && Buffer.byteLength(body) > MAX_BODY_BYTES) return bodyTooLarge();
    return new ApiError('invalid_request', 'The body is not valid JSON.');
  }
  if (type === 'entity.too.large') return bodyTooLarge();
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new ApiError('invalid_request', 'The body encoding is not supported.');
  }
  if (isStoreUnavailable(err)) return new ApiError('unavailable');
  return new ApiError('internal');
}

const NO_QUERY = new URLSearchParams();

/** A route's view of its request; the query and the logger are made only when asked for (hot path). */
class Context implements RouteContext {
  #query: URLSearchParams | undefined;
  #log: Logger | undefined;

  constructor(
    readonly req: FunctionRequest,
    readonly params: Record<string, string | undefined>,
    private readonly url: string,
    readonly requestId: string,
    private readonly functionLog: Logger,
  ) {}

  get query(): URLSearchParams {
    if (!this.#query) {
      const start = this.url.indexOf('?');
      this.#query = start >= 0 ? new URLSearchParams(this.url.slice(start + 1)) : NO_QUERY;
    }
    return this.#query;
  }

  get log(): Logger {
    this.#log ??= this.functionLog.child({ request_id: this.requestId, ...traceFields(this.req.headers) });
    return this.#log;
  }
}

/**
 * The Functions Framework runs each request inside a domain (a deprecated Node API) to catch
 * what the function forgets to. While in it, every promise and every emitter is bound to it
 * through an async hook: a promise costs about four times as much (npm run bench: 20 awaits
 * take a fifth off the framework's hello), and a client made lazily by the first request (Redis,
 * PostgreSQL, the queue) would stay bound to that request's domain for the life of the
 * instance. Our routes answer every error themselves (httpFunction), so the request's work
 * leaves the domain; what still escapes reaches the framework's process-wide handler, which
 * answers 500 and restarts the instance, as on any host without domains.
 */
function leaveFrameworkDomain(): void {
  (process as { domain?: Domain | null }).domain?.exit();
}

/** True when the request announces a body: without one there is nothing to wait for. */
function announcesBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Why a request's body is refused before any route sees it, on either host: one limit
 * (MAX_BODY_BYTES, by its announced length or, under the Functions Framework, which has read
 * it already up to its own far larger limit, by `rawBody`) and JSON only (the framework would
 * hand a form-encoded body over as if it were JSON). Undefined when it may go on.
 */
export function bodyRefusal(req: FunctionRequest): ApiError | undefined {
  if (!announcesBody(req)) return undefined;
  const length = req.headers['content-length'];
  if ((length !== undefined && Number(length) > MAX_BODY_BYTES) || (req.rawBody?.length ?? 0) > MAX_BODY_BYTES) {
    return bodyTooLarge();
  }
  if (!JSON_MEDIA_TYPE.test(req.headers['content-type'] ?? '')) return new ApiError('unsupported_media_type');
  return undefined;
}

/**
 * How much of a refused body is still read and thrown away before the answer. A server that
 * answers while the client is still sending, and then closes, makes the client's kernel see a
 * reset (ECONNRESET, the answer lost with it); read to the end, the answer arrives whole and
 * the connection closes cleanly. Past this much the socket is closed at once.
 */
const DRAIN_LIMIT_BYTES = 64 * MAX_BODY_BYTES;

/** Calls `answer` once the body the host left unread is read and discarded (up to the bound). */
export function discardBodyThen(req: IncomingMessage, answer: () => void): void {
  if (req.readableEnded || !announcesBody(req)) {
    answer();
    return;
  }
  let size = 0;
  let answered = false;
  const once = () => {
    if (answered) return;
    answered = true;
    answer();
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > DRAIN_LIMIT_BYTES) once();
  });
  req.on('end', once);
  req.on('error', () => {
    answered = true; // the client went away: there is no one to answer
  });
}

/**
 * Reads a body the host left unread (node:http) into `req.rawBody` and `req.body`, as the
 * Functions Framework hands it over, then calls `next`; events, not an async iterator. A body
 * over MAX_BODY_BYTES is drained (up to DRAIN_LIMIT_BYTES) and answered `413`.
 */
export function readBodyThen(req: FunctionRequest, onError: (err: ApiError) => void, next: () => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const refuse = () => {
    if (settled) return;
    settled = true;
    onError(bodyTooLarge());
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    else if (chunks.length > 0) chunks.length = 0; // refused: keep nothing of it
    if (size > DRAIN_LIMIT_BYTES) refuse();
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) return refuse();
    if (settled) return;
    settled = true;
    req.rawBody = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    req.body = req.rawBody;
    next();
  });
  req.on('error', () => {
    settled = true; // the client went away: there is no one to answer
  });
}

/** What a browser may send and read across origins (API.md, CORS). */
const CORS_PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, idempotency-key, x-idempotency-key, x-request-id',
  'access-control-max-age': '600',
  vary: 'origin',
};
const CORS_EXPOSE_HEADERS = 'x-request-id, retry-after';

let allowedOrigins: ReadonlySet<string> | undefined;

function isAllowedOrigin(origin: string): boolean {
  allowedOrigins ??= new Set(config().CORS_ALLOWED_ORIGINS);
  return allowedOrigins.has(origin.toLowerCase());
}

/**
 * CORS, for a request that carries an Origin (no work at all for one that does not): a
 * preflight (OPTIONS, any path — API Gateway with allowCors passes it on unchecked) is
 * answered here, 204 for an allowed origin and 403 without any allow header for another;
 * any other request from an allowed origin gets the allow and expose headers on its answer.
 * Returns true when the request is answered.
 */
function applyCors(req: IncomingMessage, res: ServerResponse, origin: string, requestId: string): boolean {
  const allowed = isAllowedOrigin(origin);
  if (req.method === 'OPTIONS') {
    if (!allowed) {
      sendError(res, requestId, new ApiError('forbidden', 'This origin may not call the API.', { headers: { vary: 'origin' } }));
      return true;
    }
    res.statusCode = 204;
    res.setHeader('access-control-allow-origin', origin);
    for (const [name, value] of Object.entries(CORS_PREFLIGHT_HEADERS)) res.setHeader(name, value);
    res.setHeader('x-request-id', requestId);
    res.end();
    return true;
  }
  res.setHeader('vary', 'origin');
  if (allowed) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', CORS_EXPOSE_HEADERS);
  }
  return false;
}

/** Builds one handler from a route table; unknown routes are `404 not_found`. */
export function httpFunction(name: string, routes: Route[]): HttpHandler {
  const router = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true });
  for (const route of routes) {
    const stored: StoredRoute = { handler: route.handler, template: pathTemplate(route.path) };
    router.on(route.method, route.path, () => undefined, stored);
  }
  const functionLog = log.child({ function: name });

  /** The request's one access line (and its count), once its answer is sent. */
  const answered = (req: IncomingMessage, res: ServerResponse, requestId: string, startedAt: number, route: string, error?: string) => {
    const method = req.method ?? 'GET';
    const length = res.getHeader('content-length');
    logAccess({
      function: name,
      method,
      route,
      status: res.statusCode,
      startedAt,
      requestId,
      error,
      responseSize: length === undefined ? undefined : Number(length),
      userAgent: req.headers['user-agent'],
      remoteIp: clientIp(req),
      protocol: `HTTP/${req.httpVersion}`,
      trace: traceFields(req.headers),
    });
    countAnswer(name, method, route, res.statusCode, error);
  };

  const fail = (req: IncomingMessage, res: ServerResponse, requestId: string, startedAt: number, route: string, err: unknown) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500) {
      functionLog.error('request failed', { request_id: requestId, method: req.method, route, ...traceFields(req.headers), ...errorFields(err) });
    }
    sendError(res, requestId, apiError);
    answered(req, res, requestId, startedAt, route, apiError.code);
  };

  const dispatch = (req: FunctionRequest, res: ServerResponse, requestId: string, startedAt: number) => {
    const url = req.url ?? '/';
    const match = router.find((req.method ?? 'GET') as HTTPMethod, url.split('?', 1)[0] ?? '/');
    const stored = match?.store as StoredRoute | undefined;
    const route = stored?.template ?? UNMATCHED_ROUTE;
    try {
      if (!match || !stored) throw new ApiError('not_found', 'No such route.');
      const send = (r: Reply) => {
        if (r.body instanceof Readable) {
          sendStream(res, requestId, r, functionLog).then(() => answered(req, res, requestId, startedAt, route), () => undefined);
          return;
        }
        sendJson(res, r.status, r.body, { 'x-request-id': requestId, ...r.headers });
        answered(req, res, requestId, startedAt, route, r.status >= 400 ? errorCodeOf(r.body) : undefined);
      };
      const reply = stored.handler(new Context(req, match.params, url, requestId, functionLog));
      if (reply instanceof Promise) reply.then(send, (err: unknown) => fail(req, res, requestId, startedAt, route, err));
      else send(reply);
    } catch (err) {
      fail(req, res, requestId, startedAt, route, err);
    }
  };

  // Not async: the reply is sent from the route's own promise, if it has one.
  return (req, res) => {
    const startedAt = performance.now();
    leaveFrameworkDomain();
    const requestId = requestIdOf(req);
    const origin = req.headers.origin;
    if (origin !== undefined && applyCors(req, res, origin, requestId)) {
      answered(req, res, requestId, startedAt, PREFLIGHT_ROUTE);
      return;
    }
    const refusal = bodyRefusal(req);
    if (refusal) {
      discardBodyThen(req, () => fail(req, res, requestId, startedAt, BODY_REFUSED_ROUTE, refusal));
    } else if (req.body === undefined && !req.readableEnded && announcesBody(req)) {
      readBodyThen(req, (err) => fail(req, res, requestId, startedAt, BODY_REFUSED_ROUTE, err), () => dispatch(req, res, requestId, startedAt));
    } else {
      dispatch(req, res, requestId, startedAt);
    }
  };
}

interface StoredRoute {
  handler: RouteHandler;
  template: string;
}

/** The access line's route of a request no route matched, a preflight, a body refused before routing. */
export const UNMATCHED_ROUTE = '(no route)';
export const PREFLIGHT_ROUTE = '(preflight)';
export const BODY_REFUSED_ROUTE = '(body refused)';

/** `/orders/:order_id` as openapi.yaml writes it: `/orders/{order_id}`. */
export function pathTemplate(path: string): string {
  return path.replace(/:([A-Za-z_][\w]*)/g, '{$1}');
}

function errorCodeOf(body: unknown): string | undefined {
  const code = (body as { error?: unknown } | null | undefined)?.error;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A streamed answer (a CSV export): headers at once, then the text as the stream yields it,
 * with the socket's backpressure. A failure midway cannot change the status any more: the
 * connection is cut, so the client sees an incomplete answer rather than a truncated file.
 */
async function sendStream(res: ServerResponse, requestId: string, reply: Reply, functionLog: Logger): Promise<void> {
  res.statusCode = reply.status;
  for (const [header, value] of Object.entries({ 'x-request-id': requestId, ...reply.headers })) res.setHeader(header, value);
  try {
    await pipeline(reply.body as Readable, res);
  } catch (err) {
    functionLog.error('streamed answer failed', { request_id: requestId, ...errorFields(err) });
    res.destroy();
    throw err;
  }
}

function parseJsonText(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError('invalid_request', 'The body is not valid JSON.');
  }
}

/** The request's JSON body as its host handed it over (parsed, raw or none); no body is `{}`. */
export function jsonBody(req: FunctionRequest): unknown {
  const body = req.body;
  if (Buffer.isBuffer(body)) return parseJsonText(body.toString('utf8'));
  if (typeof body === 'string') return parseJsonText(body);
  // The framework parsed it; an empty object may stand for "no body at all".
  if (body !== undefined && body !== null) return body;
  return {};
}

export function validationDetails(error: z.ZodError): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) details.push({ field: [...issue.path, key].join('.'), problem: 'unknown field' });
    } else {
      details.push({ field: issue.path.join('.') || '(body)', problem: issue.message });
    }
  }
  return details;
}

/** Validates input against its zod schema, or throws `400 invalid_request` with details. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ApiError('invalid_request', 'The request is not valid.', { details: validationDetails(parsed.error) });
  }
  return parsed.data;
}

export function parseBody<S extends z.ZodType>(req: FunctionRequest, schema: S): z.infer<S> {
  return parseInput(schema, jsonBody(req));
}
