// Placing an order (POST /orders): the take in Redis, then the enqueue of an accepted order,
// answered `202 pending` at once (design.md §4). The hot path: keep its promises few.
import { randomUUID } from 'node:crypto';
import { clientIp } from '../lib/client.js';
import { ApiError } from '../lib/errors.js';
import { errorFields, type Logger } from '../lib/log.js';
import { parseBody, type FunctionRequest, type Reply } from '../lib/http.js';
import { cachedSaleIndex, loadSaleIntoRedis, readSaleIndex, type LiveSale } from '../lib/sale-store.js';
import { roomGiveBack, settleOrder } from '../lib/scripts.js';
import { enqueueOrder } from '../lib/task-queue.js';
import { claimIdempotencyKey, idempotencyKeyOf } from './idempotency.js';
import { saleOfProductIn } from './sale-lookup.js';
import { orderSchema } from './schemas.js';
import { forgetAnswer, takeStockToken } from './take.js';
import { pendingOrder } from './view.js';

/**
 * POST /orders after authentication. The common attempt (no Idempotency-Key, the product in
 * this instance's fresh copy of the sales) is decided in one Redis round trip and a handful
 * of promises; anything else takes the longer way.
 */
export function placeOrder(req: FunctionRequest, userId: string, log: Logger): Promise<Reply> {
  const input = parseBody(req, orderSchema);
  const idempotencyKey = idempotencyKeyOf(req);
  const ip = clientIp(req);
  const copy = cachedSaleIndex();
  const known = copy && saleOfProductIn(copy, input.product_id);
  if (known && !idempotencyKey) return takeAndQueue(known, userId, ip, undefined, log);
  return (async () => {
    if (idempotencyKey) await claimIdempotencyKey(userId, idempotencyKey, input);
    // Not in this instance's copy (or no copy): perhaps created a moment ago; read it fresh.
    const sale = known || saleOfProductIn(await readSaleIndex({ maxAgeMs: 0 }), input.product_id);
    if (!sale) throw new ApiError('not_found', 'No sale of this product.');
    return takeAndQueue(sale, userId, ip, idempotencyKey, log);
  })();
}

/**
 * On a sale with a waiting room, the admission a refused order used is the buyer's again (the
 * 503 says "try again", and without it the retry would be 403 not_admitted). Best effort: when
 * it cannot be given back, the buyer waits for a new turn, as before.
 */
async function giveAdmissionBack(task: { sale_id: string; user_id: string; order_id: string }, log: Logger): Promise<void> {
  try {
    const answer = await roomGiveBack(task.sale_id, task.user_id, task.order_id);
    if (answer === 'kept') log.warn('enqueue refused; the admission stays used', { order_id: task.order_id });
  } catch (err) {
    log.warn('enqueue refused; the admission could not be given back', { order_id: task.order_id, ...errorFields(err) });
  }
}

/**
 * The take, then the enqueue of an accepted order: `202 pending` once it is queued, or when the
 * enqueue's outcome stays unknown (the order is then decided by the sweeper); `503` with the
 * unit given back only when the queue refused the task for certain. The task is shared with
 * the orders accepted in the same turn: a refusal gives back every one of their units, each by
 * its own call here, and answers 503 to each.
 */
async function takeAndQueue(sale: LiveSale, userId: string, ip: string, idempotencyKey: string | undefined, log: Logger): Promise<Reply> {
  const attempt = { saleId: sale.sale_id, userId, orderId: randomUUID(), clientIp: ip, idempotencyKey };
  let result = await takeStockToken(attempt);
  if (result.outcome === 'not_loaded') {
    await loadSaleIntoRedis(sale.sale_id);
    result = await takeStockToken(attempt);
  }
  if (result.outcome !== 'taken') throw new ApiError('unavailable', 'The sale is being loaded; try again.');
  const order = pendingOrder(result.orderId, userId, sale, result.takenMs);
  if (result.replayed) return { status: 202, body: order };

  const task = { order_id: order.order_id, user_id: userId, product_id: order.product_id, sale_id: sale.sale_id, taken_ms: result.takenMs };
  // With the other orders this instance accepts in this turn, in one task: its outcome is this order's.
  const queued = await enqueueOrder(task);
  switch (queued.outcome) {
    case 'queued':
      if (queued.retried) log.warn('enqueue outcome was unknown; the retry under the same task name queued it', { order_id: order.order_id, ...errorFields(queued.firstError) });
      return { status: 202, body: order };
    case 'refused':
      // The queue said it did not take the task: nothing will ever write this order down.
      // Give the unit back and say so.
      try {
        await settleOrder(task, 'failed');
      } catch (err) {
        // Not released: the pending record stays, and the sweeper queues it again; it is
        // pending, not refused.
        log.error('enqueue refused and the token not released; the order stays pending for the sweeper', {
          order_id: order.order_id,
          ...errorFields(err),
        });
        return { status: 202, body: order };
      }
      log.error('enqueue refused; token released', { order_id: order.order_id, ...errorFields(queued.error) });
      await forgetAnswer(attempt);
      await giveAdmissionBack(task, log);
      throw new ApiError('unavailable', 'The order could not be queued; nothing was taken. Try again.');
    case 'unknown':
      // The task may exist, and the worker would then write the order: releasing the unit now
      // could sell it twice and tell a buyer "no" who gets it. The pending record stays; the
      // sweeper queues it again under the same name after PENDING_REDRIVE_AFTER_MS (a no-op if
      // it exists) and the order is decided like any other (design.md §4).
      log.error('enqueue outcome unknown; the order stays pending for the sweeper', {
        order_id: order.order_id,
        ...errorFields(queued.error),
      });
      return { status: 202, body: order };
  }
}
