// The local adapter of the TaskQueue port: a BullMQ queue on the same Redis (docs/design.md §7).
// Job id = task name (dedup), attempts and backoff = the Cloud Tasks queue's retry config.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from './config.js';
import { errorFields, log } from './log.js';
import { ORDER_QUEUE_RETRY, taskId, type QueuedTask, type TaskQueue } from './task-queue-port.js';

export type LocalQueueSettings = Pick<Config, 'REDIS_URL' | 'QUEUE_REDIS_URL' | 'REDIS_KEY_PREFIX' | 'TASKS_QUEUE'>;

/** BullMQ keeps its own prefix (it refuses ioredis's keyPrefix); ours stays in front of it. */
export function bullPrefix(cfg: Pick<Config, 'REDIS_KEY_PREFIX'>): string {
  return `${cfg.REDIS_KEY_PREFIX}bull`;
}

/** Completed jobs are kept an hour, so a re-enqueue of a finished order stays a no-op as on Cloud Tasks. */
export const KEEP_COMPLETED_SECONDS = 3600;

export function createLocalQueue(cfg: LocalQueueSettings): TaskQueue {
  const connection = new Redis(cfg.QUEUE_REDIS_URL ?? cfg.REDIS_URL, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  const queue = new Queue<QueuedTask['payload']>(cfg.TASKS_QUEUE, { connection, prefix: bullPrefix(cfg) });
  // Connection trouble is reported here; an enqueue that fails says so to its caller. An
  // 'error' event without a listener would end the process.
  connection.on('error', (err) => log.warn('queue Redis connection error', errorFields(err)));
  queue.on('error', (err) => log.warn('queue error', errorFields(err)));
  return {
    async enqueue(task) {
      await queue.add(task.kind, task.payload, {
        jobId: taskId(task),
        delay: task.kind === 'expire-hold' ? Math.max(0, task.at.getTime() - Date.now()) : 0,
        attempts: ORDER_QUEUE_RETRY.maxAttempts,
        backoff: { type: 'capped-exponential' },
        removeOnComplete: { age: KEEP_COMPLETED_SECONDS },
        removeOnFail: { age: 24 * 3600 },
      });
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
