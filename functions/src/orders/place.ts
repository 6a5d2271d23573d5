// Placing an order (POST /orders): the take in Redis, then the enqueue of an accepted order,
// answered `202 pending` at once (design.md §4). The hot path: keep its promises few.
import { randomUUID } from 'node:crypto';
import { clientIp } from '../lib/client.js';
import { ApiError } from '../lib/errors.js';
import { errorFields, type Logger } from '../lib/log.js';
import { parseBody, type FunctionRequest, type Reply } from '../lib/http.js';
import { cachedSaleIndex, loadSaleIntoRedis, readSaleIndex, type LiveSale } from '../lib/sale-store.js';
import { settleOrder } from '../lib/scripts.js';
import { taskQueue } from '../lib/task-queue.js';
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

/** The take, then the enqueue of an accepted order; `202 pending` once it is queued. */
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
  try {
    await (await taskQueue()).enqueue({ kind: 'persist-order', payload: task });
  } catch (err) {
    // Nothing would ever write this order down: give the unit back and say so.
    log.error('enqueue failed; token released', { order_id: order.order_id, ...errorFields(err) });
    await settleOrder(task, 'failed');
    await forgetAnswer(attempt);
    throw new ApiError('unavailable', 'The order could not be queued; nothing was taken. Try again.');
  }
  return { status: 202, body: order };
}
