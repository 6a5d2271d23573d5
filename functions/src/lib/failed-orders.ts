// Writing orders down as `failed` with their reason: the worker's refusals (a second live order
// of a user) and the sweeper's give-ups (never persisted), through one statement.
import type { Queryable } from './db.js';

/** What a failed order's row needs beyond its sale: who took the unit, and when. */
export interface FailedOrder {
  order_id: string;
  user_id: string;
  taken_ms: number;
}

/**
 * Inserts the orders `failed` with `reason`. An order already written keeps its row
 * (ON CONFLICT DO NOTHING): whoever wrote it first decided it, and the caller reads that back.
 */
export async function writeFailedOrders(
  client: Queryable,
  sale: { sale_id: string; product_id: string },
  orders: readonly FailedOrder[],
  reason: string,
): Promise<void> {
  if (orders.length === 0) return;
  await client.query(
    `INSERT INTO orders (order_id, user_id, product_id, sale_id, status, failure_reason, created_at)
     SELECT o, u, $3, $4, 'failed', $6, to_timestamp(t / 1000.0)
       FROM unnest($1::uuid[], $2::uuid[], $5::bigint[]) AS x(o, u, t)
     ON CONFLICT (order_id) DO NOTHING`,
    [orders.map((o) => o.order_id), orders.map((o) => o.user_id), sale.product_id, sale.sale_id, orders.map((o) => o.taken_ms), reason],
  );
}
