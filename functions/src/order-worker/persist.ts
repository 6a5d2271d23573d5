// Writing an accepted order down: ONE PostgreSQL transaction that is the final word on
// "no oversell" (conditional sold update) and "one per user" (the unique live-order index).
import type pg from 'pg';
import { pgCode, withTransaction } from '../lib/db.js';
import type { SettledStatus } from '../lib/order-row.js';
import type { OrderTask } from '../lib/task-queue.js';

export interface Outcome {
  status: SettledStatus;
  failure_reason: string | null;
  /** When a `reserved` order's hold runs out. */
  expires_at: Date | null;
  /** false when this delivery found the order already written (a duplicate). */
  written: boolean;
}

const PG_FOREIGN_KEY_VIOLATION = '23503';

async function existingOutcome(client: pg.PoolClient, orderId: string): Promise<Outcome | undefined> {
  const { rows } = await client.query<{ status: SettledStatus; failure_reason: string | null; expires_at: Date | null }>(
    'SELECT status, failure_reason, expires_at FROM orders WHERE order_id = $1',
    [orderId],
  );
  const row = rows[0];
  return row ? { ...row, written: false } : undefined;
}

async function insertFailed(client: pg.PoolClient, task: OrderTask, reason: string): Promise<Outcome> {
  await client.query(
    `INSERT INTO orders (order_id, user_id, product_id, sale_id, status, failure_reason, created_at)
     VALUES ($1, $2, $3, $4, 'failed', $5, to_timestamp($6 / 1000.0))
     ON CONFLICT (order_id) DO NOTHING`,
    [task.order_id, task.user_id, task.product_id, task.sale_id, reason, task.taken_ms],
  );
  return { status: 'failed', failure_reason: reason, expires_at: null, written: true };
}

/**
 * Persists one order. A duplicate delivery returns the outcome already written; a lost
 * race on the last unit or on "one per user" is a `failed` order with its reason.
 * Throws only on transient trouble (the queue retries) — every other path commits.
 */
export async function persistOrder(task: OrderTask): Promise<Outcome> {
  try {
    return await withTransaction(async (client) => {
      const sale = await client.query<{ hold_seconds: number; product_id: string }>(
        'SELECT hold_seconds, product_id FROM flash_sales WHERE sale_id = $1',
        [task.sale_id],
      );
      const saleRow = sale.rows[0];
      if (!saleRow || saleRow.product_id !== task.product_id) {
        return { status: 'failed', failure_reason: 'sale_not_found', expires_at: null, written: false };
      }
      const held = saleRow.hold_seconds > 0;
      const inserted = await client.query(
        `INSERT INTO orders (order_id, user_id, product_id, sale_id, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0),
                 CASE WHEN $7::int > 0 THEN to_timestamp($6 / 1000.0) + make_interval(secs => $7::int) END)
         ON CONFLICT DO NOTHING`,
        [
          task.order_id,
          task.user_id,
          task.product_id,
          task.sale_id,
          held ? 'reserved' : 'confirmed',
          task.taken_ms,
          saleRow.hold_seconds,
        ],
      );
      if (inserted.rowCount === 0) {
        // Either this order is already written (duplicate delivery) or the user has
        // another live order of this product (the partial unique index said no).
        return (await existingOutcome(client, task.order_id)) ?? (await insertFailed(client, task, 'already_purchased'));
      }
      const sold = await client.query(
        'UPDATE flash_sales SET sold = sold + 1, updated_at = now() WHERE sale_id = $1 AND sold < stock',
        [task.sale_id],
      );
      if (sold.rowCount === 0) {
        await client.query(
          `UPDATE orders SET status = 'failed', failure_reason = 'sold_out', expires_at = NULL, updated_at = now()
            WHERE order_id = $1`,
          [task.order_id],
        );
        return { status: 'failed', failure_reason: 'sold_out', expires_at: null, written: true };
      }
      return held
        ? { status: 'reserved', failure_reason: null, expires_at: new Date(task.taken_ms + saleRow.hold_seconds * 1000), written: true }
        : { status: 'confirmed', failure_reason: null, expires_at: null, written: true };
    });
  } catch (err) {
    // A token minted for a user that does not exist: nothing to write, nothing to retry.
    if (pgCode(err) === PG_FOREIGN_KEY_VIOLATION) return { status: 'failed', failure_reason: 'unknown_user', expires_at: null, written: false };
    throw err;
  }
}
