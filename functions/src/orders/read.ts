// Reading a buyer's orders from both stores: PostgreSQL has what the worker wrote, Redis what
// it has not written yet (design.md §4.8); the worker commits before it tells Redis, so no
// order is ever missing from both.
import { db } from '../lib/db.js';
import { ApiError } from '../lib/errors.js';
import { ORDER_COLUMNS, type Order, type OrderRow } from '../lib/order-row.js';
import { CREATED_US_SQL, PAGE_LIMIT_MAX, createdBeforeSql, decodeCursor, newestFirst, orderPositionSchema, pageOf, type OrderPosition } from '../lib/pages.js';
import { parseOrderRecord, redis, saleKeys } from '../lib/redis.js';
import { readSaleIndex, type LiveSale } from '../lib/sale-store.js';
import { orderFromRow, pendingOrder } from './view.js';

/** The most orders one page of GET /orders holds. */
export const ORDER_LIST_LIMIT = PAGE_LIMIT_MAX;

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
export async function redisOrderById(orderId: string, userId: string): Promise<Order | undefined> {
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

/** One page of GET /orders. */
export interface OrderPage {
  orders: Order[];
  next_cursor?: string;
}

/** An order's position in the newest-first list: created_at in microseconds, and its id. */
function positionOf(order: Order & { created_us?: string }): OrderPosition {
  return { t: order.created_us ?? String(BigInt(Date.parse(order.created_at)) * 1000n), id: order.order_id };
}

/**
 * GET /orders: the buyer's orders, newest first, pending ones from Redis merged in, one page
 * after `cursor` (keyset: created_at then order_id, which neither store ever changes; a
 * pending order keeps its place once written, since the worker writes created_at = taken_ms).
 */
export async function listOrders(
  userId: string,
  productId: string | undefined,
  page: { limit: number; cursor?: string } = { limit: ORDER_LIST_LIMIT },
): Promise<OrderPage> {
  const after = page.cursor ? decodeCursor(page.cursor, orderPositionSchema) : undefined;
  const sales = (await readSaleIndex()).filter((s) => !productId || s.product.product_id === productId);
  const pendingInRedis = await pendingOrdersOf(userId, sales);
  const params: unknown[] = [userId, productId ?? null, page.limit + 1];
  if (after) params.push(after.t, after.id);
  const { rows } = await db().query<OrderRow & { created_us: string }>(
    `SELECT ${ORDER_COLUMNS}, ${CREATED_US_SQL} FROM orders
      WHERE user_id = $1 AND ($2::uuid IS NULL OR product_id = $2)
        ${after ? `AND ${createdBeforeSql('$4', '$5')}` : ''}
      ORDER BY created_at DESC, order_id DESC LIMIT $3`,
    params,
  );
  const written = rows.map((row) => ({ order: orderFromRow(row), position: { t: row.created_us, id: row.order_id } }));
  const known = new Set(written.map((o) => o.order.order_id));
  const pending = pendingInRedis
    .filter((o) => !known.has(o.order_id))
    .map((order) => ({ order, position: positionOf(order) }))
    .filter((o) => !after || newestFirst(o.position, after) > 0);
  const merged = [...pending, ...written].sort((a, b) => newestFirst(a.position, b.position));
  const { items, next_cursor } = pageOf(merged, page.limit, (o) => o.position);
  return { orders: items.map((o) => o.order), ...(next_cursor ? { next_cursor } : {}) };
}

/** GET /orders/{order_id}: PostgreSQL first, then Redis for an order not written yet. */
export async function orderOf(orderId: string, userId: string): Promise<Order> {
  const written = await writtenOrder(orderId, userId);
  if (written) return written;
  const inRedis = await redisOrderById(orderId, userId);
  if (!inRedis) throw new ApiError('not_found', 'No such order.');
  if (inRedis.status === 'pending') return inRedis;
  // Settled since PostgreSQL was asked: the worker commits before it tells Redis.
  const settled = await writtenOrder(orderId, userId);
  if (!settled) throw new ApiError('not_found', 'No such order.');
  return settled;
}
