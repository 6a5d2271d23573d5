// Writing accepted orders down: ONE PostgreSQL transaction per batch (one order is a batch of
// one) that is the final word on "no oversell" (the conditional update of `sold`) and "one per
// user" (the unique live-order index); a duplicate delivery is a no-op.
import type pg from 'pg';
import { pgCode, withTransaction } from '../lib/db.js';
import { writeFailedOrders } from '../lib/failed-orders.js';
import type { SettledStatus } from '../lib/order-row.js';
import type { OrderTask } from '../lib/task-queue-port.js';

export interface Outcome {
  status: SettledStatus;
  failure_reason: string | null;
  /** When a `reserved` order's hold runs out. */
  expires_at: Date | null;
  /** false when this delivery found the order already written (a duplicate). */
  written: boolean;
}

const PG_FOREIGN_KEY_VIOLATION = '23503';

/**
 * Writes the orders of one sale, inside the caller's transaction: each new order `confirmed`
 * (or `reserved`) while the sale has room, first taken first, the rest `failed` (`sold_out`).
 * A duplicate delivery gets the outcome already written; a second live order of a user is
 * written `failed` (`already_purchased`). A single order is a batch of one.
 */
export async function writeOrders(client: pg.PoolClient, saleId: string, tasks: readonly OrderTask[]): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  const sale = await client.query<{ sale_id: string; hold_seconds: number; product_id: string }>(
    'SELECT sale_id, hold_seconds, product_id FROM flash_sales WHERE sale_id = $1',
    [saleId],
  );
  const saleRow = sale.rows[0];
  const valid = tasks.filter((t) => {
    if (saleRow && t.product_id === saleRow.product_id) return true;
    outcomes.set(t.order_id, { status: 'failed', failure_reason: 'sale_not_found', expires_at: null, written: false });
    return false;
  });
  if (!saleRow || valid.length === 0) return outcomes;

  const held = saleRow.hold_seconds > 0;
  const inserted = await client.query<{ order_id: string }>(
    `INSERT INTO orders (order_id, user_id, product_id, sale_id, status, created_at, expires_at)
     SELECT o, u, $3, $4, $5, to_timestamp(t / 1000.0),
            CASE WHEN $6::int > 0 THEN to_timestamp(t / 1000.0) + make_interval(secs => $6::int) END
       FROM unnest($1::uuid[], $2::uuid[], $7::bigint[]) AS x(o, u, t)
     ON CONFLICT DO NOTHING RETURNING order_id`,
    [
      valid.map((t) => t.order_id),
      valid.map((t) => t.user_id),
      saleRow.product_id,
      saleId,
      held ? 'reserved' : 'confirmed',
      saleRow.hold_seconds,
      valid.map((t) => t.taken_ms),
    ],
  );
  const fresh = new Set(inserted.rows.map((r) => r.order_id));

  // Not inserted: written before (a duplicate delivery), or a second live order of its user.
  const others = valid.filter((t) => !fresh.has(t.order_id));
  if (others.length > 0) {
    const existing = await client.query<{ order_id: string; status: Outcome['status']; failure_reason: string | null; expires_at: Date | null }>(
      'SELECT order_id, status, failure_reason, expires_at FROM orders WHERE order_id = ANY($1::uuid[])',
      [others.map((t) => t.order_id)],
    );
    for (const row of existing.rows) outcomes.set(row.order_id, { ...row, written: false });
    const refused = others.filter((t) => !outcomes.has(t.order_id));
    await writeFailedOrders(client, saleRow, refused, 'already_purchased');
    for (const t of refused) outcomes.set(t.order_id, { status: 'failed', failure_reason: 'already_purchased', expires_at: null, written: true });
  }

  // The stock: as many of the new orders as PostgreSQL has units for, first taken first.
  const newOrders = valid.filter((t) => fresh.has(t.order_id)).sort((a, b) => a.taken_ms - b.taken_ms);
  if (newOrders.length > 0) {
    const { rows } = await client.query<{ sold: number; stock: number }>(
      // NO KEY UPDATE, as an UPDATE takes: it waits for no order insert's foreign-key share lock.
      'SELECT sold, stock FROM flash_sales WHERE sale_id = $1 FOR NO KEY UPDATE',
      [saleId],
    );
    const room = Math.max(0, (rows[0]?.stock ?? 0) - (rows[0]?.sold ?? 0));
    const granted = Math.min(room, newOrders.length);
    if (granted > 0) {
      const moved = await client.query(
        'UPDATE flash_sales SET sold = sold + $2, updated_at = now() WHERE sale_id = $1 AND sold + $2 <= stock',
        [saleId, granted],
      );
      if (moved.rowCount !== 1) throw new Error(`sold moved under its lock on sale ${saleId}`);
    }
    const soldOut = newOrders.slice(granted);
    if (soldOut.length > 0) {
      await client.query(
        `UPDATE orders SET status = 'failed', failure_reason = 'sold_out', expires_at = NULL, updated_at = now()
          WHERE order_id = ANY($1::uuid[])`,
        [soldOut.map((t) => t.order_id)],
      );
    }
    for (const [i, t] of newOrders.entries()) {
      outcomes.set(
        t.order_id,
        i >= granted
          ? { status: 'failed', failure_reason: 'sold_out', expires_at: null, written: true }
          : held
            ? { status: 'reserved', failure_reason: null, expires_at: new Date(t.taken_ms + saleRow.hold_seconds * 1000), written: true }
            : { status: 'confirmed', failure_reason: null, expires_at: null, written: true },
      );
    }
  }
  return outcomes;
}

/**
 * Persists one order on its own, as a batch of one. Throws only on transient trouble (the
 * queue retries); a token minted for a user that does not exist is an outcome, not an error.
 */
export async function persistOrder(task: OrderTask): Promise<Outcome> {
  try {
    const outcome = (await withTransaction((client) => writeOrders(client, task.sale_id, [task]))).get(task.order_id);
    if (!outcome) throw new Error(`no outcome for order ${task.order_id}`);
    return outcome;
  } catch (err) {
    // Nothing to write, nothing to retry.
    if (pgCode(err) === PG_FOREIGN_KEY_VIOLATION) return { status: 'failed', failure_reason: 'unknown_user', expires_at: null, written: false };
    throw err;
  }
}
