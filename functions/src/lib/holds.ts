// The end of a hold (docs/design.md §4, Holds): checkout, cancel or expiry, each ONE PostgreSQL
// transaction that locks the order, decides by PostgreSQL's clock, moves the status and
// `sold`, and only then tells Redis, which gives the unit back at most once. A call that finds
// the hold already ended tells Redis again, so a retry repairs an update that failed.
import type pg from 'pg';
import { withTransaction } from './db.js';
import { errorFields, log } from './log.js';
import { ORDER_COLUMNS, type OrderRow, type SettledStatus } from './order-row.js';
import { settleOrder } from './scripts.js';

export type HoldAction = 'checkout' | 'cancel' | 'expire';


/**
 * Whether Redis has the order's status that PostgreSQL committed: `told`, or `not_told` when
 * that update failed (the commit stands; a retry or the sweeper tells Redis again).
 */
export type RedisTold = 'told' | 'not_told';

export type HoldOutcome =
  /** The action happened; `order` is the order after it. */
  | { result: 'done'; order: OrderRow; redis: RedisTold }
  /** The hold had run out: the order is (now) expired. */
  | { result: 'expired'; order: OrderRow; redis: RedisTold }
  /** The order is not a live hold (confirmed, cancelled, failed, expired before). */
  | { result: 'not_held'; order: OrderRow; redis: RedisTold }
  /** Expiry asked for before expires_at (by PostgreSQL's clock): try again later. */
  | { result: 'not_due'; order: OrderRow }
  | { result: 'not_found' };

type Decided = { result: 'done' | 'expired' | 'not_held'; order: OrderRow } | Extract<HoldOutcome, { result: 'not_due' | 'not_found' }>;

/** The pauses before each try of telling Redis an outcome: three tries within a quarter second. */
const TELL_REDIS_PAUSES_MS = [0, 50, 200];

/**
 * `tell` (a settle-4.lua call, which acts once per order) tried up to three times within a
 * quarter second: a blip (a reset connection, a failover's first second) is over by then.
 * Throws the last failure.
 */
export async function retryingRedis<T>(tell: () => Promise<T>): Promise<T> {
  let failure: unknown;
  for (const pauseMs of TELL_REDIS_PAUSES_MS) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    try {
      return await tell();
    } catch (err) {
      failure = err;
    }
  }
  throw failure;
}

/**
 * Tells Redis the status PostgreSQL has for the order (settle-4.lua: at most once per order, so
 * telling it again is harmless). A failure is logged and reported, never thrown: the commit stands.
 */
async function tellRedis(order: OrderRow): Promise<RedisTold> {
  // A blip (a reset connection, a failover's first second) is retried at once, so that the buyer
  // of a cancel is free to buy again now rather than at the sweeper's next pass; a longer outage
  // is left to a retry of the call or to the sweeper. settle-4.lua acts once per order, so a try
  // whose answer was lost and is tried again changes nothing twice.
  try {
    await retryingRedis(() => settleOrder({ ...order, taken_ms: order.created_at.getTime() }, order.status as SettledStatus));
    return 'told';
  } catch (failure) {
    log.warn('hold ended in PostgreSQL but Redis was not told; a retry or the sweeper will', {
      order_id: order.order_id,
      status: order.status,
      ...errorFields(failure),
    });
    return 'not_told';
  }
}

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
  const outcome = await withTransaction<Decided>(async (client) => {
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
  if (outcome.result === 'not_due' || outcome.result === 'not_found') return outcome;
  // Also when the hold had ended before this call: the call that ended it may have failed to
  // tell Redis, and this one (a retry) must not leave the unit stranded (design.md §6).
  return { ...outcome, redis: await tellRedis(outcome.order) };
}
