// Structured logs: one JSON object a line, in the shape Cloud Logging reads (`severity`).
import { config } from './config.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SEVERITY: Record<Level, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };

export type LogFields = Record<string, unknown>;

function write(level: Level, message: string, fields: LogFields): void {
  if (RANK[level] < RANK[config().LOG_LEVEL]) return;
  const line = JSON.stringify({ severity: SEVERITY[level], message, time: new Date().toISOString(), ...fields });
  if (level === 'error' || level === 'warn') process.stderr.write(line + '\n');
  else process.stdout.write(line + '\n');
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function logger(base: LogFields = {}): Logger {
  return {
    debug: (m, f = {}) => write('debug', m, { ...base, ...f }),
    info: (m, f = {}) => write('info', m, { ...base, ...f }),
    warn: (m, f = {}) => write('warn', m, { ...base, ...f }),
    error: (m, f = {}) => write('error', m, { ...base, ...f }),
    child: (f) => logger({ ...base, ...f }),
  };
}

export const log = logger();

export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) return { err: err.message, stack: err.stack };
  return { err: String(err) };
}

/**
 * The trace a request belongs to, from W3C `traceparent` (`00-<trace>-<span>-<flags>`) or
 * Google's `X-Cloud-Trace-Context` (`<trace>/<span>;o=1`), as the fields Cloud Logging joins
 * on (docs/cloud.md): `logging.googleapis.com/trace` is `projects/<project>/traces/<trace>`.
 */
export function traceFields(headers: Readonly<Record<string, string | string[] | undefined>>): LogFields {
  let trace: string | undefined;
  let span: string | undefined;
  let sampled = false;
  const parent = headers.traceparent;
  const w3c = typeof parent === 'string' ? /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/.exec(parent.trim()) : null;
  if (w3c?.[1] && !/^0+$/.test(w3c[1])) {
    trace = w3c[1];
    span = w3c[2];
    sampled = (Number.parseInt(w3c[3] ?? '0', 16) & 1) === 1;
  } else {
    const google = headers['x-cloud-trace-context'];
    const m = typeof google === 'string' ? /^([\da-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?/.exec(google.trim()) : null;
    if (m?.[1]) {
      trace = m[1].toLowerCase();
      // Cloud Logging's spanId is 16 hex digits; this header gives it in decimal.
      span = m[2] ? BigInt(m[2]).toString(16).padStart(16, '0').slice(-16) : undefined;
      sampled = m[3] === '1';
    }
  }
  if (!trace) return {};
  const fields: LogFields = { 'logging.googleapis.com/trace': `projects/${traceProject()}/traces/${trace}` };
  if (span) fields['logging.googleapis.com/spanId'] = span;
  if (sampled) fields['logging.googleapis.com/trace_sampled'] = true;
  return fields;
}

/** The project traces belong to: the deployment's own (TASKS_PROJECT, set by terraform), `local` on this machine. */
function traceProject(): string {
  return config().TASKS_PROJECT || 'local';
}

/** What the access line of one answered request says (Cloud Logging's HttpRequest fields and ours). */
export interface AccessRecord {
  function: string;
  method: string;
  /** The route's path template (`/orders/{order_id}`): no ids, no query string. */
  route: string;
  status: number;
  startedAt: number;
  requestId: string;
  /** The catalogue code of an error answer. */
  error?: string;
  responseSize?: number;
  userAgent?: string;
  remoteIp?: string;
  protocol?: string;
  trace: LogFields;
}

/** A duration as Cloud Logging's `latency` takes it: seconds with a trailing `s`. */
export function durationString(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(6)}s`;
}

/**
 * One line per answered request, after the answer is sent: INFO, or ERROR for a 5xx. Only the
 * route's template, the status and the error code are logged, never a header or body (tokens,
 * passwords and payment tokens travel in those).
 */
export function logAccess(record: AccessRecord): void {
  const level: Level = record.status >= 500 ? 'error' : 'info';
  if (RANK[level] < RANK[config().LOG_LEVEL]) return;
  const latencyMs = performance.now() - record.startedAt;
  const httpRequest: LogFields = {
    requestMethod: record.method,
    requestUrl: record.route,
    status: record.status,
    latency: durationString(latencyMs),
    protocol: record.protocol,
  };
  if (record.responseSize !== undefined) httpRequest.responseSize = String(record.responseSize);
  if (record.userAgent) httpRequest.userAgent = record.userAgent.slice(0, 200);
  if (record.remoteIp) httpRequest.remoteIp = record.remoteIp;
  write(level, `${record.method} ${record.route} ${record.status}`, {
    function: record.function,
    request_id: record.requestId,
    httpRequest,
    ...(record.error ? { error: record.error } : {}),
    ...record.trace,
  });
}
