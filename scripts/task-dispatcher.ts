// The local stand-in for Cloud Tasks' push delivery: a BullMQ worker that POSTs each task to
// the worker function with the headers Cloud Tasks sends, retried with the queue's backoff.
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix } from '../functions/src/lib/task-queue-local.ts';
import { retryDelayMs, TASK_HEADERS, TASK_KINDS, taskUrl, type QueuedTask, type TaskKind } from '../functions/src/lib/task-queue-port.ts';

export interface DispatcherOptions {
  redisUrl: string;
  keyPrefix: string;
  queueName: string;
  workerUrl: string;
  /** The queue's dispatch rate (Cloud Tasks maxDispatchesPerSecond). */
  maxPerSecond: number;
  /** Cloud Tasks maxConcurrentDispatches. */
  concurrency: number;
  /** Fault injection: deliver every task twice (every other one at once), as at-least-once allows. */
  deliverTwice?: boolean;
}

export function taskHeaders(job: Pick<Job, 'id' | 'attemptsMade' | 'timestamp' | 'delay'>, queueName: string) {
  return {
    'content-type': 'application/json',
    'user-agent': 'Google-Cloud-Tasks',
    [TASK_HEADERS.queueName]: queueName,
    [TASK_HEADERS.taskName]: job.id ?? '',
    [TASK_HEADERS.retryCount]: String(job.attemptsMade),
    [TASK_HEADERS.executionCount]: String(job.attemptsMade),
    [TASK_HEADERS.eta]: ((job.timestamp + (job.delay ?? 0)) / 1000).toFixed(6),
  };
}

/** Persist-order tasks dispatched (first deliveries) and the orders they carried. */
export interface DispatchCounts {
  tasks: number;
  orders: number;
}

export interface Dispatcher {
  close(): Promise<void>;
  /** What this dispatcher has delivered so far (the bench's orders per task). */
  counts(): DispatchCounts;
  /** Stops taking jobs (they wait in the queue, as with a paused Cloud Tasks queue). */
  pause(): Promise<void>;
  resume(): void;
}

export function startDispatcher(options: DispatcherOptions): Dispatcher {
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const counts: DispatchCounts = { tasks: 0, orders: 0 };
  const worker = new Worker<QueuedTask['payload']>(
    options.queueName,
    async (job) => {
      if (!TASK_KINDS.includes(job.name as TaskKind)) throw new Error(`unknown task kind ${job.name}`);
      if (job.name === 'persist-order' && job.attemptsMade === 0) {
        counts.tasks++;
        counts.orders += 'orders' in job.data ? job.data.orders.length : 1;
      }
      const deliver = async () => {
        const answer = await fetch(taskUrl(options.workerUrl, job.name as TaskKind), {
          method: 'POST',
          headers: taskHeaders(job, options.queueName),
          body: JSON.stringify(job.data),
          signal: AbortSignal.timeout(30_000),
        });
        await answer.arrayBuffer();
        if (!answer.ok) throw new Error(`worker answered ${answer.status}`);
      };
      if (!options.deliverTwice) return deliver();
      if (Number(job.timestamp) % 2 === 0) await Promise.all([deliver(), deliver()]);
      else await deliver().then(deliver);
    },
    {
      connection,
      prefix: bullPrefix({ REDIS_KEY_PREFIX: options.keyPrefix }),
      concurrency: options.concurrency,
      limiter: { max: options.maxPerSecond, duration: 1000 },
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade) },
    },
  );
  worker.on('error', (err) => process.stderr.write(`[dispatcher] ${err.message}\n`));
  return {
    async close() {
      await worker.close();
      connection.disconnect();
    },
    counts: () => ({ ...counts }),
    pause: () => worker.pause(true),
    resume: () => worker.resume(),
  };
}
