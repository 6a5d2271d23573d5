// A local stand-in for the Cloud Tasks v2 API, for the cloud-parity run: no emulator exists.
/*
 * Cloud Tasks stand-in
 * --------------------
 * `startCloudTasksStandin(options)` serves the Cloud Tasks v2 gRPC API (built from the .proto
 * files that @google-cloud/tasks ships) on a plaintext port, so that the REAL `CloudTasksClient`
 * talks to it: `new CloudTasksClient({ apiEndpoint: endpoint.host, port: endpoint.port,
 * sslCreds: grpc.credentials.createInsecure() })`. It serves CreateTask, GetTask, DeleteTask and
 * ListTasks on the queues named in `options.queues` (any other queue is NOT_FOUND; every other
 * method is UNIMPLEMENTED), and pushes each HTTP task as Cloud Tasks does (docs/cloud.md §6):
 *  - the task's method (POST by default), url, headers and body as written, minus the headers
 *    Cloud Tasks replaces (Host, Content-Length, User-Agent, X-Google-*, X-AppEngine-*,
 *    X-CloudTasks-*), plus `User-Agent: Google-Cloud-Tasks` and X-CloudTasks-QueueName (the
 *    queue id), -TaskName (the task id), -TaskRetryCount (earlier dispatches), -TaskExecutionCount
 *    (earlier answers that were not 5xx), -TaskETA (epoch seconds) and, after an answered attempt,
 *    -TaskPreviousResponse; with an `oidcToken`, `Authorization: Bearer <options.mintIdToken(
 *    serviceAccountEmail, audience)>`, the audience being the task's url when left empty;
 *  - not before the task's scheduleTime; at most maxDispatchesPerSecond (a token bucket of
 *    maxBurstSize) and maxConcurrentDispatches at a time per queue;
 *  - 2xx ends the task; any other status, a delivery error or the dispatch deadline is retried
 *    per the queue's retry config with Cloud Tasks' backoff (see `retryBackoffMs`) until
 *    maxAttempts (and maxRetryDuration, when set) are spent;
 *  - a task name is refused (ALREADY_EXISTS) while the task lives and for `tombstoneMs` (1 h by
 *    default) after it ended or was deleted; a task without a name gets a generated id.
 * Delivery goes through `options.deliver(request, signal)` (default: a real fetch), so the
 * parity run can put a "Cloud Run front" there. Every attempt is recorded (`attempts()`), the
 * live tasks can be listed (`tasks()`), and `idle({ timeoutMs })` waits until no task is left. It logs
 * nothing unless given `options.log`. Not modelled: queue state (pause, purge, queue CRUD),
 * RunTask, IAM, OAuth tokens and App Engine tasks (refused as UNIMPLEMENTED), the extra back-off
 * Cloud Tasks applies on 429/503 and Retry-After, X-CloudTasks-TaskRetryReason.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { z } from 'zod';

export const HTTP_METHODS = ['POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A queue's retry config, in Cloud Tasks' terms (durations in ms); defaults are Cloud Tasks'. */
export const queueRetrySchema = z
  .object({
    /** Attempts in all, the first included; -1 = unlimited. */
    maxAttempts: z.number().int().min(-1).default(100),
    /** 0 = no age limit; else retries stop once both this and maxAttempts are spent. */
    maxRetryDurationMs: z.number().nonnegative().default(0),
    minBackoffMs: z.number().nonnegative().default(100),
    maxBackoffMs: z.number().nonnegative().default(3_600_000),
    maxDoublings: z.number().int().nonnegative().default(16),
  })
  .strict()
  .refine((r) => r.maxBackoffMs >= r.minBackoffMs, { message: 'maxBackoffMs must be at least minBackoffMs' });

export const queueRateLimitsSchema = z
  .object({
    maxDispatchesPerSecond: z.number().positive().max(500).default(500),
    maxConcurrentDispatches: z.number().int().positive().max(5000).default(1000),
    /**
     * Cloud Tasks picks the burst itself; the default here is one second's worth, as the local
     * BullMQ limiter (max N per 1000 ms) allows.
     */
    maxBurstSize: z.number().int().positive().optional(),
  })
  .strict();

export const queueOptionsSchema = z
  .object({
    /** The queue's full name: projects/P/locations/L/queues/Q. */
    name: z.string().regex(/^projects\/[A-Za-z0-9:.-]+\/locations\/[^/]+\/queues\/[A-Za-z0-9-]{1,100}$/),
    retry: queueRetrySchema.prefault({}),
    rateLimits: queueRateLimitsSchema.prefault({}),
  })
  .strict();

export type QueueOptions = z.input<typeof queueOptionsSchema>;
export type QueueRetry = z.output<typeof queueRetrySchema>;

/** One HTTP push, exactly as the stand-in hands it to `deliver`. */
export interface TaskDelivery {
  method: HttpMethod;
  url: string;
  headers: Readonly<Record<string, string>>;
  body?: Buffer;
}

/** The worker's answer; a thrown error or a rejected promise counts as no answer. */
export interface DeliveryAnswer {
  status: number;
}

export type DeliverTask = (request: TaskDelivery, signal: AbortSignal) => Promise<DeliveryAnswer>;
export type MintIdToken = (serviceAccountEmail: string, audience: string) => string | Promise<string>;

export interface CloudTasksStandinOptions {
  /** Where the gRPC server listens; default 127.0.0.1. */
  host?: string;
  /** 0 (the default) = any free port. */
  port?: number;
  queues: readonly QueueOptions[];
  /** Signs the OIDC token of a task with `oidcToken`; without it such a task is refused. */
  mintIdToken?: MintIdToken;
  /** Default: a real HTTP request with fetch (redirects followed, as Cloud Tasks may). */
  deliver?: DeliverTask;
  /** How long an ended or deleted task's name stays taken; Cloud Tasks says ~1 h. */
  tombstoneMs?: number;
  log?: (line: string) => void;
}

/** One dispatch of one task, and how it ended. */
export interface TaskAttempt {
  /** The full task name. */
  task: string;
  taskId: string;
  /** The full queue name. */
  queue: string;
  url: string;
  /** 1 for the first dispatch. */
  attempt: number;
  request: TaskDelivery;
  /** The HTTP status, when the worker answered. */
  status?: number;
  /** Why there was no answer (a delivery error, DEADLINE_EXCEEDED, CANCELLED at close). */
  error?: string;
  /** done: 2xx; retry: scheduled again; dropped: retries spent, or the task was deleted meanwhile. */
  outcome: 'done' | 'retry' | 'dropped';
  scheduledAt: Date;
  dispatchedAt: Date;
}

/** A task the stand-in still holds (not yet done, dropped or deleted). */
export interface TaskSnapshot {
  name: string;
  queue: string;
  url: string;
  scheduleTime: Date;
  dispatchCount: number;
  responseCount: number;
  running: boolean;
}

export interface CloudTasksStandin {
  /** Give these to CloudTasksClient as apiEndpoint and port, with insecure credentials. */
  endpoint: { host: string; port: number };
  attempts(): readonly TaskAttempt[];
  tasks(): readonly TaskSnapshot[];
  /**
   * Resolves once no task is left in any queue and none is being delivered (a task scheduled far
   * ahead keeps it waiting: delete it first); with `timeoutMs`, rejects then, naming what is left.
   */
  idle(options?: { timeoutMs?: number }): Promise<void>;
  close(): Promise<void>;
}

/**
 * The wait before retry number `retry` (1 = the first retry): minBackoff doubled `maxDoublings`
 * times, then growing linearly by that last step, capped at maxBackoff (queue.proto's example:
 * 10 s, 20 s, 40 s, 80 s, 160 s, 240 s, 300 s, 300 s … for min 10 s, max 300 s, 3 doublings).
 */
export function retryBackoffMs(retry: Pick<QueueRetry, 'minBackoffMs' | 'maxBackoffMs' | 'maxDoublings'>, retryNumber: number): number {
  const k = Math.max(1, retryNumber);
  const doublings = Math.min(k - 1, retry.maxDoublings);
  const linear = Math.max(1, k - retry.maxDoublings);
  return Math.min(retry.maxBackoffMs, retry.minBackoffMs * 2 ** doublings * linear);
}

const TASK_NAME = /^(projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+)\/tasks\/([^/]*)$/;
const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;
/** Headers Cloud Tasks computes or reserves, so a task's own values for them never go out. */
const REPLACED_HEADER = /^(host|content-length|user-agent|x-google-.*|x-appengine-.*|x-cloudtasks-.*)$/i;
const BODY_METHODS: readonly HttpMethod[] = ['POST', 'PUT', 'PATCH'];
const MAX_TASK_BYTES = 100 * 1024;
const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3600 * 1000;
const DEFAULT_DEADLINE_MS = 10 * 60 * 1000;
const MIN_DEADLINE_MS = 15 * 1000;
const MAX_DEADLINE_MS = 30 * 60 * 1000;
const MAX_PAGE_SIZE = 1000;

// The decoded gRPC requests (proto-loader: camelCase fields, longs as strings, enums as names,
// bytes as Buffer, absent fields absent).
const timestampSchema = z.object({ seconds: z.coerce.number().default(0), nanos: z.number().default(0) });
const viewSchema = z.enum(['VIEW_UNSPECIFIED', 'BASIC', 'FULL']).optional();
const createTaskRequestSchema = z.object({
  parent: z.string().default(''),
  task: z
    .object({
      name: z.string().default(''),
      httpRequest: z
        .object({
          url: z.string().default(''),
          httpMethod: z.enum(['HTTP_METHOD_UNSPECIFIED', ...HTTP_METHODS]).default('HTTP_METHOD_UNSPECIFIED'),
          headers: z.record(z.string(), z.string()).default({}),
          body: z.instanceof(Buffer).optional(),
          oauthToken: z.object({}).loose().optional(),
          oidcToken: z.object({ serviceAccountEmail: z.string().default(''), audience: z.string().default('') }).optional(),
        })
        .optional(),
      appEngineHttpRequest: z.object({}).loose().optional(),
      scheduleTime: timestampSchema.optional(),
      dispatchDeadline: timestampSchema.optional(),
    })
    .optional(),
  responseView: viewSchema,
});
const taskRequestSchema = z.object({ name: z.string().default(''), responseView: viewSchema });
const listTasksRequestSchema = z.object({
  parent: z.string().default(''),
  responseView: viewSchema,
  pageSize: z.number().int().default(0),
  pageToken: z.string().default(''),
});

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

interface QueueState {
  name: string;
  id: string;
  retry: QueueRetry;
  maxPerSecond: number;
  maxConcurrent: number;
  burst: number;
  tokens: number;
  refilledMs: number;
  inFlight: number;
  tasks: Map<string, StoredTask>;
  due: DueHeap;
}

interface StoredTask {
  name: string;
  id: string;
  queue: QueueState;
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  oidc?: { serviceAccountEmail: string; audience: string };
  createMs: number;
  scheduleMs: number;
  deadlineMs: number;
  dispatchCount: number;
  responseCount: number;
  /** Answers that were not 5xx: X-CloudTasks-TaskExecutionCount. */
  executionCount: number;
  previousResponse?: number;
  firstDispatchMs?: number;
  last?: { scheduleMs: number; dispatchMs: number; responseMs?: number; code: grpc.status; message: string };
  running: boolean;
  /** Bumped at each (re)schedule, so an older heap entry of the task is ignored. */
  version: number;
}

interface DueEntry {
  dueMs: number;
  seq: number;
  task: StoredTask;
  version: number;
}

/** The tasks of a queue by due time (a binary min-heap), so a dispatch costs O(log n). */
class DueHeap {
  private readonly entries: DueEntry[] = [];
  private seq = 0;

  push(task: StoredTask): void {
    task.version += 1;
    this.entries.push({ dueMs: task.scheduleMs, seq: this.seq++, task, version: task.version });
    let i = this.entries.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The earliest live entry, dropping stale ones (deleted, ended or rescheduled tasks). */
  peek(): DueEntry | undefined {
    for (let top = this.entries[0]; top; top = this.entries[0]) {
      const live = top.version === top.task.version && !top.task.running && top.task.queue.tasks.get(top.task.name) === top.task;
      if (live) return top;
      this.pop();
    }
    return undefined;
  }

  pop(): void {
    const last = this.entries.pop();
    if (!last || this.entries.length === 0) return;
    this.entries[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < this.entries.length && this.before(left, least)) least = left;
      if (right < this.entries.length && this.before(right, least)) least = right;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private before(a: number, b: number): boolean {
    const x = this.entries[a] as DueEntry;
    const y = this.entries[b] as DueEntry;
    return x.dueMs < y.dueMs || (x.dueMs === y.dueMs && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const x = this.entries[a] as DueEntry;
    this.entries[a] = this.entries[b] as DueEntry;
    this.entries[b] = x;
  }
}

/** The root of an installed package: its entry file's nearest folder holding package.json. */
function packageRoot(specifier: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve(specifier)));
  while (!existsSync(path.join(dir, 'package.json')) || readPackageName(dir) !== specifier) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package root of ${specifier}`);
    dir = up;
  }
  return dir;
}

function readPackageName(dir: string): unknown {
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name;
}

function loadCloudTasksService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync('google/cloud/tasks/v2/cloudtasks.proto', {
    // google/api, google/iam, google/rpc and google/protobuf come with google-gax
    includeDirs: [path.join(packageRoot('@google-cloud/tasks'), 'build/protos'), path.join(packageRoot('google-gax'), 'build/protos')],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: false,
  });
  const service = definition['google.cloud.tasks.v2.CloudTasks'];
  if (!service || 'format' in service) throw new Error('google.cloud.tasks.v2.CloudTasks is not a service in the shipped protos');
  return service as grpc.ServiceDefinition;
}

function timestamp(ms: number) {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function millis(t: { seconds: number; nanos: number }): number {
  return t.seconds * 1000 + Math.floor(t.nanos / 1_000_000);
}

/** google.rpc.Code for an HTTP answer, as google/rpc/code.proto pairs them; for lastAttempt. */
function rpcCodeOfHttp(status: number): grpc.status {
  if (status >= 200 && status < 300) return grpc.status.OK;
  const known: Record<number, grpc.status> = {
    400: grpc.status.INVALID_ARGUMENT,
    401: grpc.status.UNAUTHENTICATED,
    403: grpc.status.PERMISSION_DENIED,
    404: grpc.status.NOT_FOUND,
    409: grpc.status.ABORTED,
    429: grpc.status.RESOURCE_EXHAUSTED,
    499: grpc.status.CANCELLED,
    501: grpc.status.UNIMPLEMENTED,
    503: grpc.status.UNAVAILABLE,
    504: grpc.status.DEADLINE_EXCEEDED,
  };
  return known[status] ?? (status >= 500 ? grpc.status.INTERNAL : grpc.status.FAILED_PRECONDITION);
}

/** Cloud Tasks' generated ids are 19-ish decimal digits. */
function generatedTaskId(): string {
  return (BigInt(`0x${randomBytes(8).toString('hex')}`) >> 1n).toString();
}

function parse<T>(schema: z.ZodType<T>, request: unknown): T {
  const parsed = schema.safeParse(request);
  if (!parsed.success) throw new RpcError(grpc.status.INVALID_ARGUMENT, z.prettifyError(parsed.error));
  return parsed.data;
}

export const deliverByFetch: DeliverTask = async (request, signal) => {
  const answer = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body ? new Uint8Array(request.body) : undefined,
    redirect: 'follow',
    signal,
  });
  await answer.arrayBuffer();
  return { status: answer.status };
};

export async function startCloudTasksStandin(options: CloudTasksStandinOptions): Promise<CloudTasksStandin> {
  const deliver = options.deliver ?? deliverByFetch;
  const tombstoneMs = options.tombstoneMs ?? 3_600_000;
  const log = options.log ?? (() => undefined);
  const queues = new Map<string, QueueState>();
  for (const input of options.queues) {
    const q = queueOptionsSchema.parse(input);
    const burst = q.rateLimits.maxBurstSize ?? Math.max(1, Math.ceil(q.rateLimits.maxDispatchesPerSecond));
    queues.set(q.name, {
      name: q.name,
      id: q.name.slice(q.name.lastIndexOf('/') + 1),
      retry: q.retry,
      maxPerSecond: q.rateLimits.maxDispatchesPerSecond,
      maxConcurrent: q.rateLimits.maxConcurrentDispatches,
      burst,
      tokens: burst,
      refilledMs: Date.now(),
      inFlight: 0,
      tasks: new Map(),
      due: new DueHeap(),
    });
  }
  /** Names that ended or were deleted, and until when they stay taken. */
  const tombstones = new Map<string, number>();
  const history: TaskAttempt[] = [];
  const deliveries = new Set<Promise<void>>();
  const idleWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  /** A task in a line: what idle() names when it gives up. */
  const describe = (t: StoredTask) =>
    `${t.name} (${t.url}; dispatched ${t.dispatchCount}×${t.running ? ', running' : `, next at ${new Date(t.scheduleMs).toISOString()}`})`;
  const closing = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let wakeAtMs = Infinity;

  function queueOf(name: string): QueueState {
    const queue = queues.get(name);
    if (!queue) throw new RpcError(grpc.status.NOT_FOUND, `Queue ${name} does not exist.`);
    return queue;
  }

  function taskOf(name: string): StoredTask {
    const match = TASK_NAME.exec(name);
    if (!match) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request: name ${name}`);
    const task = queueOf(match[1] as string).tasks.get(name);
    if (task) return task;
    throw new RpcError(
      grpc.status.NOT_FOUND,
      nameTaken(name, Date.now())
        ? 'The task no longer exists, though a task with this name existed recently. The task either successfully completed or was deleted.'
        : 'Requested entity was not found.',
    );
  }

  function nameTaken(name: string, now: number): boolean {
    const until = tombstones.get(name);
    if (until !== undefined && until <= now) tombstones.delete(name);
    return until !== undefined && until > now;
  }

  function retire(task: StoredTask): void {
    task.queue.tasks.delete(task.name);
    tombstones.set(task.name, Date.now() + tombstoneMs);
    settleIdle();
  }

  function settleIdle(): void {
    if (idleWaiters.length === 0) return;
    for (const q of queues.values()) if (q.tasks.size > 0 || q.inFlight > 0) return;
    for (const waiter of idleWaiters.splice(0)) waiter.resolve();
  }

  function taskMessage(task: StoredTask, view: 'BASIC' | 'FULL') {
    return {
      name: task.name,
      httpRequest: {
        url: task.url,
        httpMethod: task.method,
        headers: task.headers,
        // BASIC leaves out the body (task.proto says so for App Engine tasks; assumed for HTTP ones)
        ...(view === 'FULL' && task.body ? { body: task.body } : {}),
        ...(task.oidc ? { oidcToken: task.oidc } : {}),
      },
      scheduleTime: timestamp(task.scheduleMs),
      createTime: timestamp(Math.floor(task.createMs / 1000) * 1000),
      dispatchDeadline: timestamp(task.deadlineMs),
      dispatchCount: task.dispatchCount,
      responseCount: task.responseCount,
      ...(task.firstDispatchMs === undefined ? {} : { firstAttempt: { dispatchTime: timestamp(task.firstDispatchMs) } }),
      ...(task.last
        ? {
            lastAttempt: {
              scheduleTime: timestamp(task.last.scheduleMs),
              dispatchTime: timestamp(task.last.dispatchMs),
              ...(task.last.responseMs === undefined ? {} : { responseTime: timestamp(task.last.responseMs) }),
              responseStatus: { code: task.last.code, message: task.last.message },
            },
          }
        : {}),
      view,
    };
  }

  function createTask(raw: unknown) {
    const request = parse(createTaskRequestSchema, raw);
    if (!/^projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+$/.test(request.parent)) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request: parent ${request.parent}`);
    }
    const queue = queueOf(request.parent);
    const input = request.task;
    if (!input) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Task is required.');
    if (input.appEngineHttpRequest) throw new RpcError(grpc.status.UNIMPLEMENTED, 'The stand-in serves HTTP tasks only.');
    const http = input.httpRequest;
    if (!http) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Task.http_request is required.');
    if (http.oauthToken) throw new RpcError(grpc.status.UNIMPLEMENTED, 'The stand-in does not mint OAuth tokens.');
    if (!/^https?:\/\//.test(http.url) || !URL.canParse(http.url)) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, 'HttpRequest.url must begin with "http://" or "https://".');
    }
    const method: HttpMethod = http.httpMethod === 'HTTP_METHOD_UNSPECIFIED' ? 'POST' : http.httpMethod;
    if (http.body && http.body.length > 0 && !BODY_METHODS.includes(method)) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `A body is allowed only with POST, PUT or PATCH, not ${method}.`);
    }
    if (http.oidcToken && !options.mintIdToken) {
      throw new RpcError(grpc.status.FAILED_PRECONDITION, 'The stand-in was started without mintIdToken, so it cannot sign OIDC tokens.');
    }
    const size =
      Buffer.byteLength(http.url) + (http.body?.length ?? 0) + Object.entries(http.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (size > MAX_TASK_BYTES) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Task size ${size} exceeds the maximum of ${MAX_TASK_BYTES} bytes.`);
    const now = Date.now();
    let name = input.name;
    if (name) {
      const match = TASK_NAME.exec(name);
      if (!match || match[1] !== request.parent || !TASK_ID.test(match[2] as string)) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid task name ${name} for queue ${request.parent}.`);
      }
      if (queue.tasks.has(name) || nameTaken(name, now)) {
        throw new RpcError(grpc.status.ALREADY_EXISTS, 'Requested entity already exists');
      }
    } else {
      do name = `${request.parent}/tasks/${generatedTaskId()}`;
      while (queue.tasks.has(name));
    }
    const scheduleMs = input.scheduleTime ? Math.max(now, millis(input.scheduleTime)) : now;
    if (scheduleMs - now > MAX_SCHEDULE_AHEAD_MS) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'schedule_time is more than 30 days ahead.');
    const deadlineMs = input.dispatchDeadline ? millis(input.dispatchDeadline) : DEFAULT_DEADLINE_MS;
    if (deadlineMs < MIN_DEADLINE_MS || deadlineMs > MAX_DEADLINE_MS) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, 'dispatch_deadline must be between 15 seconds and 30 minutes.');
    }
    const task: StoredTask = {
      name,
      id: name.slice(name.lastIndexOf('/') + 1),
      queue,
      method,
      url: http.url,
      headers: http.headers,
      ...(http.body && http.body.length > 0 ? { body: http.body } : {}),
      ...(http.oidcToken ? { oidc: http.oidcToken } : {}),
      createMs: now,
      scheduleMs,
      deadlineMs,
      dispatchCount: 0,
      responseCount: 0,
      executionCount: 0,
      running: false,
      version: 0,
    };
    queue.tasks.set(name, task);
    queue.due.push(task);
    log(`[cloud-tasks] created ${name} for ${new Date(scheduleMs).toISOString()}`);
    const created = taskMessage(task, request.responseView === 'FULL' ? 'FULL' : 'BASIC'); // as created: not yet dispatched
    pump();
    return created;
  }

  function getTask(raw: unknown) {
    const request = parse(taskRequestSchema, raw);
    return taskMessage(taskOf(request.name), request.responseView === 'FULL' ? 'FULL' : 'BASIC');
  }

  function deleteTask(raw: unknown) {
    const task = taskOf(parse(taskRequestSchema, raw).name);
    // a running attempt goes on, but its outcome no longer counts (see dispatch)
    retire(task);
    log(`[cloud-tasks] deleted ${task.name}`);
    return {};
  }

  function listTasks(raw: unknown) {
    const request = parse(listTasksRequestSchema, raw);
    const queue = queueOf(request.parent);
    const offset = request.pageToken ? Number(Buffer.from(request.pageToken, 'base64url').toString('utf8')) : 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Invalid page_token.');
    const size = request.pageSize > 0 ? Math.min(request.pageSize, MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
    const all = [...queue.tasks.values()].sort((a, b) => a.scheduleMs - b.scheduleMs || a.name.localeCompare(b.name));
    const page = all.slice(offset, offset + size);
    const view = request.responseView === 'FULL' ? 'FULL' : 'BASIC';
    return {
      tasks: page.map((task) => taskMessage(task, view)),
      nextPageToken: offset + size < all.length ? Buffer.from(String(offset + size)).toString('base64url') : '',
    };
  }

  /** Dispatches what is due within each queue's limits, then sleeps until the next thing due. */
  function pump(): void {
    if (closing.signal.aborted) return;
    const now = Date.now();
    let nextMs = Infinity;
    for (const queue of queues.values()) {
      queue.tokens = Math.min(queue.burst, queue.tokens + ((now - queue.refilledMs) * queue.maxPerSecond) / 1000);
      queue.refilledMs = now;
      for (let top = queue.due.peek(); top; top = queue.due.peek()) {
        if (top.dueMs > now) {
          nextMs = Math.min(nextMs, top.dueMs);
          break;
        }
        if (queue.inFlight >= queue.maxConcurrent) break; // a finishing dispatch pumps again
        if (queue.tokens < 1) {
          nextMs = Math.min(nextMs, now + Math.ceil(((1 - queue.tokens) * 1000) / queue.maxPerSecond));
          break;
        }
        queue.due.pop();
        queue.tokens -= 1;
        const delivery = dispatch(top.task).finally(() => {
          deliveries.delete(delivery);
          pump();
        });
        deliveries.add(delivery);
      }
    }
    if (nextMs === wakeAtMs && timer) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    wakeAtMs = nextMs;
    if (nextMs < Infinity) {
      timer = setTimeout(() => {
        timer = undefined;
        wakeAtMs = Infinity;
        pump();
      }, Math.max(0, nextMs - Date.now()));
    }
  }

  function deliveryHeaders(task: StoredTask): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(task.headers)) {
      if (REPLACED_HEADER.test(key) || (task.oidc && key.toLowerCase() === 'authorization')) continue;
      headers[key] = value;
    }
    headers['User-Agent'] = 'Google-Cloud-Tasks';
    headers['X-CloudTasks-QueueName'] = task.queue.id;
    headers['X-CloudTasks-TaskName'] = task.id;
    headers['X-CloudTasks-TaskRetryCount'] = String(task.dispatchCount);
    headers['X-CloudTasks-TaskExecutionCount'] = String(task.executionCount);
    headers['X-CloudTasks-TaskETA'] = (task.scheduleMs / 1000).toFixed(6);
    if (task.previousResponse !== undefined) headers['X-CloudTasks-TaskPreviousResponse'] = String(task.previousResponse);
    return headers;
  }

  async function dispatch(task: StoredTask): Promise<void> {
    const queue = task.queue;
    const dispatchMs = Date.now();
    const scheduledMs = task.scheduleMs;
    const headers = deliveryHeaders(task);
    task.running = true;
    queue.inFlight += 1;
    task.dispatchCount += 1;
    task.firstDispatchMs ??= dispatchMs;
    task.last = { scheduleMs: scheduledMs, dispatchMs, code: grpc.status.UNKNOWN, message: 'dispatched' };
    const attempt = task.dispatchCount;
    const deadline = AbortSignal.timeout(task.deadlineMs);
    const signal = AbortSignal.any([deadline, closing.signal]);
    const request: TaskDelivery = { method: task.method, url: task.url, headers, ...(task.body ? { body: task.body } : {}) };
    let status: number | undefined;
    let error: string | undefined;
    try {
      if (task.oidc && options.mintIdToken) {
        const audience = task.oidc.audience || task.url;
        headers.Authorization = `Bearer ${await options.mintIdToken(task.oidc.serviceAccountEmail, audience)}`;
      }
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      aborted.catch(() => undefined);
      ({ status } = await Promise.race([deliver(request, signal), aborted]));
    } catch (err) {
      if (deadline.aborted) error = 'DEADLINE_EXCEEDED';
      else if (closing.signal.aborted) error = 'CANCELLED';
      else error = err instanceof Error ? err.message : String(err);
    } finally {
      task.running = false;
      queue.inFlight -= 1;
    }
    const answeredMs = Date.now();
    let outcome: TaskAttempt['outcome'];
    if (status !== undefined) {
      task.responseCount += 1;
      if (status < 500) task.executionCount += 1;
      task.previousResponse = status;
      task.last = { ...task.last, responseMs: answeredMs, code: rpcCodeOfHttp(status), message: `HTTP ${status}` };
    } else {
      task.last = { ...task.last, code: error === 'DEADLINE_EXCEEDED' ? grpc.status.DEADLINE_EXCEEDED : grpc.status.UNAVAILABLE, message: error ?? '' };
    }
    const r = queue.retry;
    const ageMs = answeredMs - (task.firstDispatchMs ?? dispatchMs);
    const spent = r.maxAttempts !== -1 && task.dispatchCount >= r.maxAttempts && (r.maxRetryDurationMs === 0 || ageMs >= r.maxRetryDurationMs);
    if (queue.tasks.get(task.name) !== task) {
      outcome = 'dropped'; // deleted while it ran
    } else if (status !== undefined && status >= 200 && status < 300) {
      outcome = 'done';
      retire(task);
    } else if (closing.signal.aborted) {
      outcome = 'retry'; // it would be retried; the stand-in is going away
    } else if (spent) {
      outcome = 'dropped';
      retire(task);
    } else {
      outcome = 'retry';
      task.scheduleMs = answeredMs + retryBackoffMs(r, task.dispatchCount);
      queue.due.push(task);
    }
    history.push({
      task: task.name,
      taskId: task.id,
      queue: queue.name,
      url: task.url,
      attempt,
      request,
      ...(status === undefined ? {} : { status }),
      ...(error === undefined ? {} : { error }),
      outcome,
      scheduledAt: new Date(scheduledMs),
      dispatchedAt: new Date(dispatchMs),
    });
    log(`[cloud-tasks] ${task.id} attempt ${attempt} → ${status ?? error}: ${outcome}`);
    settleIdle();
  }

  function unary(handler: (request: unknown) => object): grpc.handleUnaryCall<unknown, object> {
    return (call, callback) => {
      try {
        callback(null, handler(call.request));
      } catch (err) {
        if (err instanceof RpcError) callback({ code: err.code, details: err.message });
        else callback({ code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) });
      }
    };
  }

  const server = new grpc.Server();
  // the other methods of the service answer UNIMPLEMENTED (grpc-js does that for missing handlers)
  server.addService(loadCloudTasksService(), {
    CreateTask: unary(createTask),
    GetTask: unary(getTask),
    DeleteTask: unary(deleteTask),
    ListTasks: unary(listTasks),
  });
  const host = options.host ?? '127.0.0.1';
  const bindHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  log(`[cloud-tasks] listening on ${bindHost}:${port}`);

  return {
    endpoint: { host, port },
    attempts: () => [...history],
    tasks: () =>
      [...queues.values()].flatMap((queue) =>
        [...queue.tasks.values()].map((task) => ({
          name: task.name,
          queue: queue.name,
          url: task.url,
          scheduleTime: new Date(task.scheduleMs),
          dispatchCount: task.dispatchCount,
          responseCount: task.responseCount,
          running: task.running,
        })),
      ),
    idle: ({ timeoutMs } = {}) =>
      new Promise<void>((resolve, reject) => {
        if (closing.signal.aborted) return reject(new Error('the Cloud Tasks stand-in is closed'));
        const waiter = {
          resolve: () => {
            clearTimeout(expiry);
            resolve();
          },
          reject: (err: Error) => {
            clearTimeout(expiry);
            reject(err);
          },
        };
        const expiry =
          timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                idleWaiters.splice(idleWaiters.indexOf(waiter), 1);
                const left = [...queues.values()].flatMap((q) => [...q.tasks.values()]);
                const more = left.length > 10 ? `, and ${left.length - 10} more` : '';
                reject(new Error(`Cloud Tasks stand-in not idle after ${timeoutMs} ms: ${left.slice(0, 10).map(describe).join('; ')}${more}`));
              }, timeoutMs);
        idleWaiters.push(waiter);
        settleIdle();
      }),
    async close() {
      if (closing.signal.aborted) return;
      closing.abort();
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...deliveries]);
      for (const waiter of idleWaiters.splice(0)) waiter.reject(new Error('the Cloud Tasks stand-in closed before its queues were idle'));
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
