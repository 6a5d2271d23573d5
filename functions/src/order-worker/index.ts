// The order-worker function: the queue's HTTP consumer (Cloud Tasks or the local dispatcher),
// one route per kind of task. 2xx means "done, do not retry"; 5xx means "try again later".
import { isTransientDbError } from '../lib/db.js';
import { ApiError } from '../lib/errors.js';
import { errorFields, type Logger } from '../lib/log.js';
import { healthRoute } from '../lib/health.js';
import { endHold, retryingRedis } from '../lib/holds.js';
import { httpFunction, parseBody, type FunctionRequest, type RouteHandler } from '../lib/http.js';
import { countFinalOutcome, countMetric } from '../lib/metrics.js';
import { publishSale } from '../lib/live-view.js';
import { settleOrder } from '../lib/scripts.js';
import { holdExpirySchema, orderGroupOf, persistOrderBodySchema, TASK_HEADERS, taskPath, type OrderTask } from '../lib/task-queue-port.js';
import { enqueueOrder, taskQueue } from '../lib/task-queue.js';
import { OrderBatcher } from './batch.js';
import type { Outcome } from './persist.js';

const batcher = new OrderBatcher();

/** PostgreSQL down is the queue's business (retry), not a failed order. */
async function retryable<T>(work: () => Promise<T>, log: Logger): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isTransientDbError(err)) throw err;
    log.warn('PostgreSQL not available; the queue will retry', errorFields(err));
    throw new ApiError('unavailable', 'PostgreSQL is not available; retry.');
  }
}

interface Settled {
  order_id: string;
  status: Outcome['status'];
  failure_reason: string | null;
}

/**
 * One order of a task: written (in its sale's batch), then told to Redis, its hold's expiry
 * queued, its outcome line logged. Throws on anything the queue must retry; a repeat of a done
 * order is a duplicate and changes nothing.
 */
async function settleOne(task: OrderTask, req: FunctionRequest, retry: number, log: Logger): Promise<Settled> {
  const outcome = await retryable(() => batcher.persist(task), log);
  // PostgreSQL has decided; now Redis learns it, and a failed order gives its token back once.
  // A blip is retried here, as a hold's end is: else the order goes on in a task of its own.
  const inRedis = await retryingRedis(() => settleOrder(task, outcome.status));
  if (outcome.status === 'reserved' && outcome.expires_at) {
    // Also on a duplicate delivery: the first may have died before this line (same name: a no-op).
    await (await taskQueue()).enqueue({
      kind: 'expire-hold',
      payload: { order_id: task.order_id, user_id: task.user_id, sale_id: task.sale_id, taken_ms: task.taken_ms },
      at: outcome.expires_at,
    });
  }
  // The outcome line (log-based metrics count it: docs/operations.md): one per order per delivery.
  const finalLatencyMs = Date.now() - task.taken_ms;
  log.info('order settled', {
    order_id: task.order_id,
    sale_id: task.sale_id,
    status: outcome.status,
    failure_reason: outcome.failure_reason,
    duplicate: !outcome.written,
    final_latency_ms: outcome.written ? finalLatencyMs : undefined,
    redis: inRedis,
    task: req.headers[TASK_HEADERS.taskName],
    retry,
  });
  if (outcome.written) countFinalOutcome(outcome.status, outcome.failure_reason, finalLatencyMs);
  return { order_id: task.order_id, status: outcome.status, failure_reason: outcome.failure_reason };
}

/**
 * A persist-order task: the orders accepted together (or, queued by an earlier release, one
 * bare order). Each is settled on its own; they share their sale's batch, so a task's orders
 * are one PostgreSQL transaction. If every one of them failed (PostgreSQL down), the task
 * answers 5xx and the queue retries it with its backoff. If only some failed, the done ones are
 * not held back with them: the failed ones are queued again, in a task of their own (named by
 * its orders), and this one answers 200 once that task exists; if that enqueue does not
 * succeed, this one answers 5xx and is delivered again whole, its done orders then duplicates.
 * Either way each order is written exactly once, or released once by its `failed` outcome.
 */
const persistOrderTask: RouteHandler = async ({ req, log }) => {
  const body = parseBody(req, persistOrderBodySchema);
  const { orders } = orderGroupOf(body);
  const retry = Number(req.headers[TASK_HEADERS.retryCount] ?? 0) || 0;
  const results = await Promise.allSettled(orders.map((task) => settleOne(task, req, retry, log)));
  for (const saleId of new Set(orders.map((o) => o.sale_id))) void publishSale(saleId);
  const failed = orders.filter((_, i) => results[i]?.status === 'rejected');
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  // PostgreSQL down is a 503 for the queue to retry; anything else is thrown as it came.
  const failure = failures.find((f) => !(f instanceof ApiError)) ?? failures[0];
  if (failed.length === orders.length) throw failure;
  if (failed.length > 0) {
    const requeued = await Promise.all(failed.map((o) => enqueueOrder(o).catch((error: unknown) => ({ outcome: 'unknown' as const, error }))));
    const fields = { task: req.headers[TASK_HEADERS.taskName], orders: orders.length, failed: failed.length, ...errorFields(failure) };
    if (requeued.some((q) => q.outcome !== 'queued')) {
      log.warn('part of a task failed and its failed orders could not be queued again; the queue delivers it again whole', fields);
      throw failure;
    }
    log.warn('part of a task failed; its failed orders are queued again in a task of their own', fields);
  }
  const settled = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  // Per order, as the log-based metric counts `order settled` lines with retry > 0.
  if (retry > 0) countMetric('tasks_retried', settled.length);
  // A bare order (an earlier release's task) is answered as before; it never fails in part.
  return { status: 200, body: 'orders' in body ? { orders: settled, requeued: failed.map((o) => o.order_id) } : settled[0] };
};

const expireHoldTask: RouteHandler = async ({ req, log }) => {
  const task = parseBody(req, holdExpirySchema);
  const outcome = await retryable(() => endHold(task.order_id, 'expire'), log);
  if (outcome.result === 'expired') void publishSale(task.sale_id);
  if (outcome.result === 'not_due') throw new ApiError('unavailable', 'The hold has not run out yet; retry.');
  if (outcome.result === 'not_found') {
    log.warn('expiry of an order that is not written', { order_id: task.order_id });
    return { status: 200, body: { order_id: task.order_id, status: null } };
  }
  log.info('hold ended', { order_id: task.order_id, sale_id: task.sale_id, status: outcome.order.status, result: outcome.result });
  // Ended in PostgreSQL, Redis not told: the retry finds the hold ended and tells Redis again.
  if (outcome.redis === 'not_told') throw new ApiError('unavailable', 'Redis was not told the hold ended; retry.');
  return { status: 200, body: { order_id: task.order_id, status: outcome.order.status } };
};

export const orderWorkerHandler = httpFunction('order-worker', [
  { method: 'POST', path: taskPath('persist-order'), handler: persistOrderTask },
  { method: 'POST', path: taskPath('expire-hold'), handler: expireHoldTask },
  healthRoute({ postgres: true, redis: true }),
]);
