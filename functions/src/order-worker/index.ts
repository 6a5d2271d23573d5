// The order-worker function: the queue's HTTP consumer (Cloud Tasks or the local dispatcher).
// 2xx means "done, do not retry"; 5xx means "try again later".
import { healthRoute } from '../lib/health.js';
import { httpFunction, parseBody } from '../lib/http.js';
import { isTransientDbError } from '../lib/db.js';
import { ApiError } from '../lib/errors.js';
import { redis, saleKeys } from '../lib/redis.js';
import { orderTaskSchema, TASK_HEADERS } from '../lib/task-queue.js';
import { persistOrder } from './persist.js';

export const orderWorkerHandler = httpFunction('order-worker', [
  {
    method: 'POST',
    path: '/',
    handler: async ({ req, log }) => {
      const task = await parseBody(req, orderTaskSchema);
      let outcome;
      try {
        outcome = await persistOrder(task);
      } catch (err) {
        if (isTransientDbError(err)) throw new ApiError('unavailable', 'PostgreSQL is not available; retry.');
        throw err;
      }
      // PostgreSQL has decided; now Redis learns it, and a failed order gives its token back once.
      const keys = saleKeys(task.sale_id);
      await redis().runScript(
        'settle',
        [keys.stock, keys.buyers, keys.orders],
        [task.order_id, outcome.status, task.user_id, task.taken_ms],
      );
      log.debug('order settled', {
        order_id: task.order_id,
        status: outcome.status,
        duplicate: !outcome.written,
        task: req.headers[TASK_HEADERS.taskName],
        retry: req.headers[TASK_HEADERS.retryCount],
      });
      return { status: 200, body: { order_id: task.order_id, status: outcome.status, failure_reason: outcome.failure_reason } };
    },
  },
  healthRoute({ postgres: true, redis: true }),
]);
