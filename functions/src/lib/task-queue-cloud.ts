// The Cloud Tasks adapter of the TaskQueue port: an HTTP task to the worker with an OIDC token.
import { CloudTasksClient, type protos } from '@google-cloud/tasks';
import { grpc } from 'google-gax';
import type { Config } from './config.js';
import { ENQUEUE_TIMEOUT_MS, TaskNotQueued, taskId, taskUrl, type QueuedTask, type TaskQueue } from './task-queue-port.js';

type CreateTaskRequest = protos.google.cloud.tasks.v2.ICreateTaskRequest;

/** gRPC's ALREADY_EXISTS: a task of that name exists or existed recently — our dedup. */
const ALREADY_EXISTS = 6;
/** gRPC's UNAVAILABLE: the service could not be reached, or the connection broke mid-call. */
const UNAVAILABLE = 14;

/**
 * gRPC codes after which the task may exist: the call may have reached Cloud Tasks and been
 * done there before the answer was lost (CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, ABORTED,
 * INTERNAL, UNAVAILABLE, DATA_LOSS). Every other code is Cloud Tasks' answer that it did not
 * create the task (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, RESOURCE_EXHAUSTED,
 * FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED).
 */
const OUTCOME_UNKNOWN_CODES: ReadonlySet<number> = new Set([1, 2, 4, 10, 13, 14, 15]);

/**
 * What a failed createTask means for the task: `exists` (ALREADY_EXISTS: made before under this
 * name), `refused` (it was not made), `unknown` (it may have been). An error without a gRPC code
 * is unknown; UNAVAILABLE is `refused` only when grpc-js never had a connection to send it on
 * ("No connection established": the call was failed before it was assigned to one).
 */
export function createTaskFailure(err: unknown): 'exists' | 'refused' | 'unknown' {
  const { code, details, message } = (err ?? {}) as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof code !== 'number') return 'unknown';
  if (code === ALREADY_EXISTS) return 'exists';
  if (code === UNAVAILABLE) {
    const text = `${typeof details === 'string' ? details : ''} ${typeof message === 'string' ? message : ''}`;
    return /No connection established/.test(text) ? 'refused' : 'unknown';
  }
  return OUTCOME_UNKNOWN_CODES.has(code) ? 'unknown' : 'refused';
}

export type CloudTasksSettings = Pick<
  Config,
  'TASKS_PROJECT' | 'TASKS_LOCATION' | 'TASKS_QUEUE' | 'WORKER_URL' | 'TASKS_SERVICE_ACCOUNT'
> &
  Partial<Pick<Config, 'WORKER_AUDIENCE' | 'TASKS_API_ENDPOINT'>>;

export function queuePath(cfg: CloudTasksSettings): string {
  return `projects/${cfg.TASKS_PROJECT}/locations/${cfg.TASKS_LOCATION}/queues/${cfg.TASKS_QUEUE}`;
}

/** The audience of a task's OIDC token: WORKER_AUDIENCE, else WORKER_URL without a trailing slash. */
export function workerAudience(cfg: CloudTasksSettings): string {
  return cfg.WORKER_AUDIENCE ?? cfg.WORKER_URL.replace(/\/+$/, '');
}

/** The createTask request for one task: pure, so that it is unit-tested without the cloud. */
export function buildTaskRequest(cfg: CloudTasksSettings, task: QueuedTask): CreateTaskRequest {
  const parent = queuePath(cfg);
  const request: CreateTaskRequest = {
    parent,
    task: {
      name: `${parent}/tasks/${taskId(task)}`,
      httpRequest: {
        httpMethod: 'POST',
        url: taskUrl(cfg.WORKER_URL, task.kind),
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from(JSON.stringify(task.payload)).toString('base64'),
        oidcToken: { serviceAccountEmail: cfg.TASKS_SERVICE_ACCOUNT, audience: workerAudience(cfg) },
      },
    },
  };
  if (task.kind === 'expire-hold' && request.task) {
    const ms = task.at.getTime();
    request.task.scheduleTime = { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
  }
  return request;
}

/**
 * The Cloud Tasks client: Google's API with the instance's credentials, or, with
 * TASKS_API_ENDPOINT, plaintext gRPC to that host:port with no Google credentials at all
 * (google-gax uses `sslCreds` as the channel's whole credentials, and an explicit universe
 * domain spares it the search for Application Default Credentials).
 */
export function cloudTasksClient(cfg: Pick<CloudTasksSettings, 'TASKS_API_ENDPOINT'>): CloudTasksClient {
  if (!cfg.TASKS_API_ENDPOINT) return new CloudTasksClient();
  const split = cfg.TASKS_API_ENDPOINT.lastIndexOf(':');
  return new CloudTasksClient({
    apiEndpoint: cfg.TASKS_API_ENDPOINT.slice(0, split),
    port: Number(cfg.TASKS_API_ENDPOINT.slice(split + 1)),
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  });
}

export function createCloudTasksQueue(cfg: CloudTasksSettings): TaskQueue {
  if (!cfg.TASKS_PROJECT || !cfg.TASKS_SERVICE_ACCOUNT) {
    throw new Error('TASK_QUEUE=cloud-tasks needs TASKS_PROJECT and TASKS_SERVICE_ACCOUNT');
  }
  const client = cloudTasksClient(cfg);
  return {
    async enqueue(task) {
      try {
        await client.createTask(buildTaskRequest(cfg, task), { timeout: ENQUEUE_TIMEOUT_MS });
      } catch (err) {
        const failure = createTaskFailure(err);
        if (failure === 'exists') return;
        if (failure === 'refused') throw new TaskNotQueued(`Cloud Tasks refused the task: ${String(err)}`, { cause: err });
        throw err;
      }
    },
    close: () => client.close(),
  };
}
