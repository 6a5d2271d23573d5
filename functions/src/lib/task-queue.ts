// The TaskQueue port: how an accepted order reaches the order-worker. Cloud Tasks in the
// cloud, BullMQ on the same Redis locally; both push the same body with the same headers.
import { z } from 'zod';
import { config } from './config.js';

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

/** A retried enqueue of the same order is a no-op because the task is named by the order. */
export function orderTaskId(task: Pick<OrderTask, 'order_id'>): string {
  return `order-${task.order_id}`;
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

export interface TaskQueue {
  enqueueOrder(task: OrderTask): Promise<void>;
  close(): Promise<void>;
}

let shared: Promise<TaskQueue> | undefined;

/** This instance's queue, per TASK_QUEUE; the adapter is imported only where it is used. */
export function taskQueue(): Promise<TaskQueue> {
  shared ??=
    config().TASK_QUEUE === 'cloud-tasks'
      ? import('./task-queue-cloud.js').then((m) => m.createCloudTasksQueue(config()))
      : import('./task-queue-local.js').then((m) => m.createLocalQueue(config()));
  return shared;
}

export async function closeTaskQueue(): Promise<void> {
  const queue = shared;
  shared = undefined;
  await (await queue)?.close();
}
