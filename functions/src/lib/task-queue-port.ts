// The TaskQueue port: how accepted orders and due holds reach the order-worker — the tasks'
// shapes, names, URLs, headers and retry policy, pure, which both adapters (task-queue-cloud.ts,
// task-queue-local.ts) and the local dispatcher build on. task-queue.ts picks the adapter.
import { z } from 'zod';

export const orderTaskSchema = z
  .object({
    order_id: z.uuid(),
    user_id: z.string().min(1),
    product_id: z.uuid(),
    sale_id: z.uuid(),
    /** When Redis handed out the token (ms since the epoch, Redis clock). */
    taken_ms: z.number().int().nonnegative(),
  })
  .strict();

export type OrderTask = z.infer<typeof orderTaskSchema>;

/** A hold's end, due at its expires_at: the order ends `expired` unless it was paid or cancelled. */
export const holdExpirySchema = orderTaskSchema.pick({ order_id: true, user_id: true, sale_id: true, taken_ms: true }).strict();

export type HoldExpiryTask = z.infer<typeof holdExpirySchema>;

/** What the order-worker is asked to do; each kind is one route of the worker function. */
export type QueuedTask =
  | { kind: 'persist-order'; payload: OrderTask }
  | { kind: 'expire-hold'; payload: HoldExpiryTask; at: Date };

export type TaskKind = QueuedTask['kind'];

export const TASK_KINDS: readonly TaskKind[] = ['persist-order', 'expire-hold'];

/** Tasks are named by kind and order, so a retried enqueue of the same work is a no-op. */
export function taskId(task: QueuedTask): string {
  return `${task.kind}-${task.payload.order_id}`;
}

/** The worker function's route for a kind of task. */
export function taskPath(kind: TaskKind): string {
  return `/tasks/${kind}`;
}

/**
 * The URL a task of `kind` is pushed to: WORKER_URL with its path kept (a Cloud Functions URL
 * like https://region-project.cloudfunctions.net/order-worker has the function in its path).
 */
export function taskUrl(workerUrl: string, kind: TaskKind): string {
  const url = new URL(workerUrl);
  url.pathname = url.pathname.replace(/\/+$/, '') + taskPath(kind);
  return url.toString();
}

/**
 * Retry policy of the orders queue, the same for Cloud Tasks (terraform) and BullMQ:
 * transient failures (PostgreSQL down) are retried with capped exponential backoff.
 */
export const ORDER_QUEUE_RETRY = {
  maxAttempts: 100,
  minBackoffMs: 200,
  maxBackoffMs: 10_000,
} as const;

export function retryDelayMs(attemptsMade: number): number {
  const exponent = Math.max(0, attemptsMade - 1);
  return Math.min(ORDER_QUEUE_RETRY.maxBackoffMs, ORDER_QUEUE_RETRY.minBackoffMs * 2 ** Math.min(exponent, 20));
}

/** The headers Cloud Tasks sends with every HTTP push; the local dispatcher sends them too. */
export const TASK_HEADERS = {
  queueName: 'x-cloudtasks-queuename',
  taskName: 'x-cloudtasks-taskname',
  retryCount: 'x-cloudtasks-taskretrycount',
  executionCount: 'x-cloudtasks-taskexecutioncount',
  eta: 'x-cloudtasks-tasketa',
} as const;

/** How long one enqueue may take before its outcome counts as unknown (both adapters). */
export const ENQUEUE_TIMEOUT_MS = 5000;

/**
 * The queue said, for certain, that it did not create the task (or the request never left this
 * instance): nothing will ever run it. An adapter throws this for a definite refusal only; any
 * other error of `enqueue` means the outcome is unknown — the task may exist.
 */
export class TaskNotQueued extends Error {
  override name = 'TaskNotQueued';
}

export interface TaskQueue {
  /** Resolves when the task exists (made now, or before under the same name). */
  enqueue(task: QueuedTask): Promise<void>;
  close(): Promise<void>;
}

/**
 * `queued`: the task exists. `refused`: the queue refused it on the first try, so nothing will
 * run it. `unknown`: the first try's outcome is unknown and a retry under the same name (a no-op
 * if the first made it) did not settle it either: the task may or may not exist.
 */
export type EnqueueOutcome =
  | { outcome: 'queued'; retried: boolean; firstError?: unknown }
  | { outcome: 'refused'; error: TaskNotQueued }
  | { outcome: 'unknown'; error: unknown; firstError: unknown };

/**
 * One enqueue whose outcome is known when it can be: a definite refusal is final; an unknown
 * outcome (a timeout, a connection lost after the request left) is retried once under the same
 * task name, which the queue dedupes, so a retry never makes a second task. A refusal of that
 * retry does not make the first try's outcome known: it stays `unknown`.
 */
export async function enqueueKnowing(queue: TaskQueue, task: QueuedTask): Promise<EnqueueOutcome> {
  let firstError: unknown;
  try {
    await queue.enqueue(task);
    return { outcome: 'queued', retried: false };
  } catch (err) {
    if (err instanceof TaskNotQueued) return { outcome: 'refused', error: err };
    firstError = err;
  }
  try {
    await queue.enqueue(task);
    return { outcome: 'queued', retried: true, firstError };
  } catch (error) {
    return { outcome: 'unknown', error, firstError };
  }
}
