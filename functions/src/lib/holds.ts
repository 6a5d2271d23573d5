// The end of a hold (docs/design.md §4, Holds): checkout, cancel or expiry, each ONE PostgreSQL
// transaction that locks the order, decides by PostgreSQL's clock, moves the status and
// `sold`, and only then tells Redis, which gives the unit back at most once.
import type pg from 'pg';
import { withTransaction } from './db.js';
import { ORDER_COLUMNS, type OrderRow } from './order-row.js';
import { settleOrder } from './scripts.js';

export type HoldAction = 'checkout' | 'cancel' | 'expire';


export type HoldOutcome =
  /** The action happened; `order` is the order after it. */
  | { result: 'done'; order: OrderRow }
  /** The hold had run out: the order is (now) expired. */
  | { result: 'expired'; order: OrderRow }
  /** The order is not a live hold (confirmed, cancelled, failed, expired before). */
  | { result: 'not_held'; order: OrderRow }
  /** Expiry asked for before expires_at (by PostgreSQL's clock): try again later. */
  | { result: 'not_due'; order: OrderRow }
  | { result: 'not_found' };

export interface HoldOptions {
  /** Only this user's order (checkout and cancel); the worker and sweeper pass none. */
  userId?: string;
  /** Called inside the transaction, with the order locked, before it is confirmed. */
  charge?: (order: OrderRow) => Promise<{ paymentToken: string | null; reference: string }>;
}

async function release(client: pg.PoolClient, orderId: string, status: 'expired' | 'cancelled'): Promise<OrderRow> {
  const { rows } = await client.query<OrderRow>(
    `UPDATE orders SET status = $2, updated_at = now() WHERE order_id = $1 RETURNING ${ORDER_COLUMNS}`,
    [orderId, status],
  );
  const order = rows[0];
  if (!order) throw new Error(`order ${orderId} vanished under its lock`);
  await client.query('UPDATE flash_sales SET sold = sold - 1, updated_at = now() WHERE sale_id = $1', [order.sale_id]);
  return order;
}

export async function endHold(orderId: string, action: HoldAction, options: HoldOptions = {}): Promise<HoldOutcome> {
  const outcome = await withTransaction<HoldOutcome>(async (client) => {
    const { rows } = await client.query<OrderRow & { lapsed: boolean }>(
      `SELECT ${ORDER_COLUMNS}, expires_at <= now() AS lapsed FROM orders
        WHERE order_id = $1 AND ($2::uuid IS NULL OR user_id = $2) FOR UPDATE`,
      [orderId, options.userId ?? null],
    );
    const row = rows[0];
    if (!row) return { result: 'not_found' };
    const { lapsed, ...order } = row;
    if (order.status !== 'reserved') return { result: 'not_held', order };
    if (lapsed) return { result: 'expired', order: await release(client, orderId, 'expired') };
    if (action === 'expire') return { result: 'not_due', order };
    if (action === 'cancel') return { result: 'done', order: await release(client, orderId, 'cancelled') };

    const payment = options.charge ? await options.charge(order) : { paymentToken: null, reference: 'none' };
    const confirmed = await client.query<OrderRow>(
      `UPDATE orders SET status = 'confirmed', payment_token = $2, payment_reference = $3, paid_at = now(),
              updated_at = now()
        WHERE order_id = $1 RETURNING ${ORDER_COLUMNS}`,
      [orderId, payment.paymentToken, payment.reference],
    );
    const done = confirmed.rows[0];
    if (!done) throw new Error(`order ${orderId} vanished under its lock`);
    return { result: 'done', order: done };
  });
  if (outcome.result === 'done' || outcome.result === 'expired') {
    const { order } = outcome;
    await settleOrder(
      { ...order, taken_ms: order.created_at.getTime() },
      order.status as 'confirmed' | 'expired' | 'cancelled',
    );
  }
  return outcome;
}
