// The local adapter of the TaskQueue port: a BullMQ queue on the same Redis (docs/design.md §7).
// Job id = task name (dedup), attempts and backoff = the Cloud Tasks queue's retry config.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from './config.js';
import { errorFields, log } from './log.js';
import { ENQUEUE_TIMEOUT_MS, ORDER_QUEUE_RETRY, TaskNotQueued, taskId, type QueuedTask, type TaskQueue } from './task-queue-port.js';

export type LocalQueueSettings = Pick<Config, 'REDIS_URL' | 'QUEUE_REDIS_URL' | 'REDIS_KEY_PREFIX' | 'TASKS_QUEUE'>;

/** BullMQ keeps its own prefix (it refuses ioredis's keyPrefix); ours stays in front of it. */
export function bullPrefix(cfg: Pick<Config, 'REDIS_KEY_PREFIX'>): string {
  return `${cfg.REDIS_KEY_PREFIX}bull`;
}

/** Completed jobs are kept an hour, so a re-enqueue of a finished order stays a no-op as on Cloud Tasks. */
export const KEEP_COMPLETED_SECONDS = 3600;

/** How long an enqueue waits for the queue's Redis to be connected before it gives up, sending nothing. */
export const QUEUE_READY_WAIT_MS = 1000;

/**
 * Redis's refusals that come before a command runs (out of memory, no permission, a replica, still
 * loading, busy with a script, …): the job was not added.
 */
const REFUSED_BEFORE_RUNNING = /^(OOM|NOPERM|READONLY|LOADING|MASTERDOWN|MISCONF|NOAUTH|WRONGPASS|BUSY)\b/;

/**
 * What a failed add means for the job: `refused` when it was never sent (the connection was not
 * writable: the offline queue is off) or Redis refused it before running it; otherwise
 * `unknown` — a timeout, or a connection lost after the command left, may follow a write.
 */
export function addFailure(err: unknown): 'refused' | 'unknown' {
  const { name, message } = (err ?? {}) as { name?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (text.startsWith("Stream isn't writeable")) return 'refused';
  if (name === 'ReplyError' && REFUSED_BEFORE_RUNNING.test(text)) return 'refused';
  return 'unknown';
}

/** Resolves true once `connection` is ready, false if it is not within `ms`. */
function readyWithin(connection: Redis, ms: number): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    connection.on('ready', onReady);
  });
}

export function createLocalQueue(cfg: LocalQueueSettings): TaskQueue {
  // No offline queue: a job is sent on a live connection or not at all, so that "not sent" is
  // known for certain (TaskNotQueued) and never confused with "sent, answer lost" (unknown).
  const connection = new Redis(cfg.QUEUE_REDIS_URL ?? cfg.REDIS_URL, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: false,
    commandTimeout: ENQUEUE_TIMEOUT_MS,
  });
  const newQueue = () => {
    const q = new Queue<QueuedTask['payload']>(cfg.TASKS_QUEUE, { connection, prefix: bullPrefix(cfg) });
    q.on('error', (err) => log.warn('queue error', errorFields(err)));
    return q;
  };
  let queue = newQueue();
  /** The queue whose start (BullMQ's init) has been seen to succeed: then a ready connection is all an enqueue needs. */
  let started: Queue<QueuedTask['payload']> | undefined;
  // Connection trouble is reported here; an enqueue that fails says so to its caller. An
  // 'error' event without a listener would end the process.
  connection.on('error', (err) => log.warn('queue Redis connection error', errorFields(err)));

  /** The queue, connected and initialised, or TaskNotQueued having sent nothing. */
  async function readyQueue(): Promise<Queue<QueuedTask['payload']>> {
    if (!(await readyWithin(connection, QUEUE_READY_WAIT_MS))) throw new TaskNotQueued(`the queue's Redis is not connected (${connection.status})`);
    const current = queue;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        current.waitUntilReady(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('BullMQ not initialised in time')), QUEUE_READY_WAIT_MS))),
      ]);
    } catch (err) {
      // BullMQ keeps a failed start for good: begin again for the next enqueue.
      if (queue === current) queue = newQueue();
      throw new TaskNotQueued(`the queue is not ready: ${String(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    started = current;
    return current;
  }

  return {
    async enqueue(task) {
      // The common case costs no promise of its own: connected, and the queue started before.
      const q = connection.status === 'ready' && started === queue ? queue : await readyQueue();
      try {
        await q.add(task.kind, task.payload, {
          jobId: taskId(task),
          delay: task.kind === 'expire-hold' ? Math.max(0, task.at.getTime() - Date.now()) : 0,
          attempts: ORDER_QUEUE_RETRY.maxAttempts,
          backoff: { type: 'capped-exponential' },
          removeOnComplete: { age: KEEP_COMPLETED_SECONDS },
          removeOnFail: { age: 24 * 3600 },
        });
      } catch (err) {
        if (addFailure(err) === 'refused') throw new TaskNotQueued(`the queue's Redis refused the job: ${String(err)}`, { cause: err });
        throw err;
      }
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
