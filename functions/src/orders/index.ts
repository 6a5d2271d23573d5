// The orders function: POST /orders decides from Redis at once, GET reads the caller's orders.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { authenticate } from '../lib/auth.js';
import { clientIp } from '../lib/client.js';
import { config } from '../lib/config.js';
import { db } from '../lib/db.js';
import { ApiError } from '../lib/errors.js';
import { healthRoute } from '../lib/health.js';
import { errorFields, type Logger } from '../lib/log.js';
import { httpFunction, parseBody, parseInput, type FunctionRequest, type Reply } from '../lib/http.js';
import { parseOrderRecord, redis, saleKeys } from '../lib/redis.js';
import { claimIdempotency, settleOrder } from '../lib/scripts.js';
import { currentSale } from '../lib/sale-state.js';
import { cachedSaleIndex, loadSaleIntoRedis, readSaleIndex, type LiveSale } from '../lib/sale-store.js';
import { taskQueue } from '../lib/task-queue.js';
import { endHold } from '../lib/holds.js';
import { ORDER_COLUMNS, type Order, type OrderRow } from '../lib/order-row.js';
import { fakePaymentProvider, type PaymentProvider } from './payments.js';
import { forgetAnswer, takeStockToken } from './take.js';

export const orderSchema = z.strictObject({ product_id: z.uuid() });
const listQuerySchema = z.strictObject({ product_id: z.uuid().optional() });
export const checkoutSchema = z.strictObject({ payment_token: z.string().min(1).max(500).optional() });

/** The payment provider of checkout; the fake one until a real one is configured. */
const payments: PaymentProvider = fakePaymentProvider;

const ORDER_LIST_LIMIT = 100;

function orderFromRow(row: OrderRow): Order {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at ? row.expires_at.toISOString() : null,
  };
}

function pendingOrder(orderId: string, userId: string, sale: LiveSale, takenMs: number): Order {
  return {
    order_id: orderId,
    user_id: userId,
    product_id: sale.product.product_id,
    sale_id: sale.sale_id,
    status: 'pending',
    failure_reason: null,
    created_at: new Date(takenMs).toISOString(),
    expires_at: null,
  };
}

/**
 * Orders accepted in Redis that the worker has not written to PostgreSQL yet. Read BEFORE
 * PostgreSQL: the worker commits first and settles Redis after, so an order missing from
 * PostgreSQL's answer is still `pending` in what was read here.
 */
async function pendingOrdersOf(userId: string, sales: LiveSale[]): Promise<Order[]> {
  const found = await Promise.all(
    sales.map(async (sale) => {
      const keys = saleKeys(sale.sale_id);
      const orderId = await redis().hget(keys.buyers, userId);
      if (!orderId) return undefined;
      const raw = await redis().hget(keys.orders, orderId);
      const record = raw ? parseOrderRecord(raw) : undefined;
      if (record?.status !== 'pending' || record.user_id !== userId) return undefined;
      return pendingOrder(orderId, userId, sale, record.taken_ms);
    }),
  );
  return found.filter((o): o is Order => o !== undefined);
}

/** The order as Redis knows it, whatever its status, if it belongs to `userId`. */
async function redisOrderById(orderId: string, userId: string): Promise<Order | undefined> {
  const sales = await readSaleIndex();
  const raws = await Promise.all(sales.map((s) => redis().hget(saleKeys(s.sale_id).orders, orderId)));
  for (const [i, raw] of raws.entries()) {
    const sale = sales[i];
    if (!raw || !sale) continue;
    const record = parseOrderRecord(raw);
    if (record.user_id !== userId) return undefined;
    return { ...pendingOrder(orderId, userId, sale, record.taken_ms), status: record.status };
  }
  return undefined;
}

async function writtenOrder(orderId: string, userId: string): Promise<Order | undefined> {
  const { rows } = await db().query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id = $1 AND user_id = $2`, [
    orderId,
    userId,
  ]);
  return rows[0] ? orderFromRow(rows[0]) : undefined;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** `Idempotency-Key`, also read as `x-idempotency-key` (docs/api.md). */
function idempotencyKeyOf(req: IncomingMessage): string | undefined {
  const raw = req.headers['idempotency-key'] ?? req.headers['x-idempotency-key'];
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError('invalid_request', 'The request is not valid.', {
      details: [{ field: 'Idempotency-Key', problem: '1 to 200 visible ASCII characters' }],
    });
  }
  return key;
}

/** Binds the key to this body for its lifetime; the same key with another body is 422. */
async function claimIdempotencyKey(userId: string, key: string, body: z.infer<typeof orderSchema>): Promise<void> {
  const fingerprint = createHash('sha256').update(`POST /orders ${JSON.stringify(body)}`).digest('base64url');
  if (await claimIdempotency(userId, key, fingerprint, config().IDEMPOTENCY_TTL_SECONDS)) throw new ApiError('idempotency_key_reused');
}

function ownOrderId(raw: string | undefined): string {
  if (!raw || !z.uuid().safeParse(raw).success) throw new ApiError('not_found', 'No such order.');
  return raw;
}

/** Checkout or cancel of an order PostgreSQL does not have: still pending, or not the caller's. */
async function notWrittenYet(orderId: string, userId: string, code: 'not_checkoutable' | 'not_cancellable'): Promise<never> {
  if (await redisOrderById(orderId, userId)) {
    throw new ApiError(code, 'The order is still being processed; try again in a moment.');
  }
  throw new ApiError('not_found', 'No such order.');
}

/** Each copy of the sale list, grouped by product once, not on every attempt. */
const byProduct = new WeakMap<LiveSale[], Map<string, LiveSale[]>>();

function salesByProduct(sales: LiveSale[]): Map<string, LiveSale[]> {
  let grouped = byProduct.get(sales);
  if (!grouped) {
    grouped = new Map();
    for (const sale of sales) grouped.set(sale.product.product_id, [...(grouped.get(sale.product.product_id) ?? []), sale]);
    byProduct.set(sales, grouped);
  }
  return grouped;
}

function saleOfProductIn(sales: LiveSale[], productId: string): LiveSale | undefined {
  const ofProduct = salesByProduct(sales).get(productId);
  return ofProduct ? currentSale(ofProduct, Date.now()) : undefined;
}

/**
 * POST /orders after authentication. The common attempt (no Idempotency-Key, the product in
 * this instance's fresh copy of the sales) is decided in one Redis round trip and a handful
 * of promises; anything else takes the longer way.
 */
function placeOrder(req: FunctionRequest, userId: string, log: Logger): Promise<Reply> {
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

  if (config().TEST_EXIT_AFTER_TAKE) process.exit(70); // the fault suite's crash between take and enqueue
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

export const ordersHandler = httpFunction('orders', [
  {
    method: 'POST',
    path: '/orders',
    handler: ({ req, log }) => {
      const principal = authenticate(req);
      return principal instanceof Promise
        ? principal.then((p) => placeOrder(req, p.userId, log))
        : placeOrder(req, principal.userId, log);
    },
  },
  {
    method: 'GET',
    path: '/orders',
    handler: async ({ req, query }) => {
      const { userId } = await authenticate(req);
      const filter = parseInput(listQuerySchema, Object.fromEntries(query));
      const sales = (await readSaleIndex()).filter(
        (s) => !filter.product_id || s.product.product_id === filter.product_id,
      );
      const pendingInRedis = await pendingOrdersOf(userId, sales);
      const { rows } = await db().query<OrderRow>(
        `SELECT ${ORDER_COLUMNS} FROM orders
          WHERE user_id = $1 AND ($2::uuid IS NULL OR product_id = $2)
          ORDER BY created_at DESC LIMIT $3`,
        [userId, filter.product_id ?? null, ORDER_LIST_LIMIT],
      );
      const written = rows.map(orderFromRow);
      const known = new Set(written.map((o) => o.order_id));
      const pending = pendingInRedis.filter((o) => !known.has(o.order_id));
      const orders = [...pending, ...written].sort((a, b) => b.created_at.localeCompare(a.created_at));
      return { status: 200, body: { orders: orders.slice(0, ORDER_LIST_LIMIT) } };
    },
  },
  {
    method: 'GET',
    path: '/orders/:order_id',
    handler: async ({ req, params }) => {
      const { userId } = await authenticate(req);
      const orderId = ownOrderId(params.order_id);
      const written = await writtenOrder(orderId, userId);
      if (written) return { status: 200, body: written };
      const inRedis = await redisOrderById(orderId, userId);
      if (!inRedis) throw new ApiError('not_found', 'No such order.');
      if (inRedis.status === 'pending') return { status: 200, body: inRedis };
      // Settled since PostgreSQL was asked: the worker commits before it tells Redis.
      const settled = await writtenOrder(orderId, userId);
      if (!settled) throw new ApiError('not_found', 'No such order.');
      return { status: 200, body: settled };
    },
  },
  {
    method: 'POST',
    path: '/orders/:order_id/checkout',
    handler: async ({ req, params }) => {
      const { userId } = await authenticate(req);
      const input = parseBody(req, checkoutSchema);
      const orderId = ownOrderId(params.order_id);
      const outcome = await endHold(orderId, 'checkout', {
        userId,
        charge: async (order) => {
          const paid = await payments.charge({ orderId: order.order_id, userId, paymentToken: input.payment_token ?? null });
          if (!paid.approved) throw new ApiError('not_checkoutable', `The payment was declined: ${paid.reason}.`);
          return { paymentToken: input.payment_token ?? null, reference: paid.reference };
        },
      });
      switch (outcome.result) {
        case 'done':
          return { status: 200, body: orderFromRow(outcome.order) };
        case 'expired':
          throw new ApiError('hold_expired');
        case 'not_held':
          if (outcome.order.status === 'expired') throw new ApiError('hold_expired');
          throw new ApiError('not_checkoutable', `This order is ${outcome.order.status}; only a held order can be checked out.`);
        default:
          return notWrittenYet(orderId, userId, 'not_checkoutable');
      }
    },
  },
  {
    method: 'DELETE',
    path: '/orders/:order_id',
    handler: async ({ req, params }) => {
      const { userId } = await authenticate(req);
      const orderId = ownOrderId(params.order_id);
      const outcome = await endHold(orderId, 'cancel', { userId });
      switch (outcome.result) {
        case 'done':
          return { status: 200, body: orderFromRow(outcome.order) };
        case 'expired':
          throw new ApiError('not_cancellable', 'The hold has expired; the unit is back on sale.');
        case 'not_held':
          throw new ApiError('not_cancellable', `This order is ${outcome.order.status}; only a held order can be cancelled.`);
        default:
          return notWrittenYet(orderId, userId, 'not_cancellable');
      }
    },
  },
  healthRoute({ postgres: true, redis: true }),
]);
