// The TaskQueue port: how accepted orders and due holds reach the order-worker — the tasks'
// shapes, names, URLs, headers and retry policy, pure, which both adapters (task-queue-cloud.ts,
// task-queue-local.ts) and the local dispatcher build on. task-queue.ts picks the adapter.
import { createHash } from 'node:crypto';
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

/**
 * The most orders one persist-order task carries, and the most bytes its body may have: well
 * under Cloud Tasks' 100 KB per task (docs/cloud.md §6). An order is about 230 bytes of JSON, so
 * the count is the bound that acts; the byte bound keeps a task legal whatever a user id holds.
 */
export const ORDERS_PER_TASK_MAX = 100;
export const TASK_BODY_MAX_BYTES = 32 * 1024;

/**
 * A persist-order task's body: the orders accepted together (arrival order), written by the
 * worker in one batch. A task queued by an earlier release carries one bare order (an
 * OrderTask): the worker takes both shapes (`orderGroupOf`).
 */
export const orderGroupSchema = z.object({ orders: z.array(orderTaskSchema).min(1).max(ORDERS_PER_TASK_MAX) }).strict();

export type OrderGroup = z.infer<typeof orderGroupSchema>;

/** The orders of a persist-order body, in either shape. */
export const persistOrderBodySchema = z.union([orderGroupSchema, orderTaskSchema]);

export function orderGroupOf(body: z.infer<typeof persistOrderBodySchema>): OrderGroup {
  return 'orders' in body ? body : { orders: [body] };
}

/** A hold's end, due at its expires_at: the order ends `expired` unless it was paid or cancelled. */
export const holdExpirySchema = orderTaskSchema.pick({ order_id: true, user_id: true, sale_id: true, taken_ms: true }).strict();

export type HoldExpiryTask = z.infer<typeof holdExpirySchema>;

/** What the order-worker is asked to do; each kind is one route of the worker function. */
export type QueuedTask =
  | { kind: 'persist-order'; payload: OrderGroup }
  | { kind: 'expire-hold'; payload: HoldExpiryTask; at: Date };

export type TaskKind = QueuedTask['kind'];

export const TASK_KINDS: readonly TaskKind[] = ['persist-order', 'expire-hold'];

/**
 * Tasks are named by their content, so a retried enqueue of the same work is a no-op: a task of
 * one order by kind and order id (as before grouping, so a resend of one order meets the name
 * of the task that carried it alone); a task of several orders by a hash of its sorted order ids
 * (the same group, the same name; another group, another name — an order in two tasks is a
 * duplicate delivery, which the worker writes once).
 */
export function taskId(task: QueuedTask): string {
  if (task.kind === 'expire-hold') return `expire-hold-${task.payload.order_id}`;
  const ids = task.payload.orders.map((o) => o.order_id);
  if (ids.length === 1) return `persist-order-${ids[0]}`;
  return `persist-orders-${createHash('sha256').update(ids.sort().join(',')).digest('hex').slice(0, 40)}`;
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
