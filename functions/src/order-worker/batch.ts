// Group commit for the worker: order tasks that arrive at this instance within a few
// milliseconds for the same sale are written in ONE PostgreSQL transaction. Every order of a
// sale ends its transaction by moving that sale's `sold` row, so one order per transaction
// serialises all of them behind that row's lock and a WAL flush each; a batch pays it once.
// The rules do not change: the conditional update on `sold` and the unique live-order index
// are still the final word, and a duplicate delivery is still a no-op.
import type pg from 'pg';
import { pgCode, withTransaction } from '../lib/db.js';
import type { OrderTask } from '../lib/task-queue.js';
import { persistOrder, type Outcome } from './persist.js';

/** How long a task waits for company, and the most a batch takes. */
export const BATCH_WINDOW_MS = 2;
export const BATCH_MAX = 200;

/** Errors that one bad task causes for its whole batch: retry its tasks one by one. */
const PER_TASK_ERRORS = new Set(['23503', '22P02']);

interface Waiting {
  task: OrderTask;
  resolve: (outcome: Outcome) => void;
  reject: (err: unknown) => void;
}

async function writeBatch(client: pg.PoolClient, saleId: string, tasks: OrderTask[]): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  const sale = await client.query<{ hold_seconds: number; product_id: string }>(
    'SELECT hold_seconds, product_id FROM flash_sales WHERE sale_id = $1',
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
    if (refused.length > 0) {
      await client.query(
        `INSERT INTO orders (order_id, user_id, product_id, sale_id, status, failure_reason, created_at)
         SELECT o, u, $3, $4, 'failed', 'already_purchased', to_timestamp(t / 1000.0)
           FROM unnest($1::uuid[], $2::uuid[], $5::bigint[]) AS x(o, u, t)
         ON CONFLICT (order_id) DO NOTHING`,
        [refused.map((t) => t.order_id), refused.map((t) => t.user_id), saleRow.product_id, saleId, refused.map((t) => t.taken_ms)],
      );
      for (const t of refused) outcomes.set(t.order_id, { status: 'failed', failure_reason: 'already_purchased', expires_at: null, written: true });
    }
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

/** Collects the tasks of each sale for BATCH_WINDOW_MS and writes them together. */
export class OrderBatcher {
  private readonly waiting = new Map<string, Waiting[]>();

  persist(task: OrderTask): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const queue = this.waiting.get(task.sale_id);
      const entry = { task, resolve, reject };
      if (queue) {
        queue.push(entry);
        if (queue.length >= BATCH_MAX) this.flush(task.sale_id);
        return;
      }
      this.waiting.set(task.sale_id, [entry]);
      setTimeout(() => this.flush(task.sale_id), BATCH_WINDOW_MS);
    });
  }

  private flush(saleId: string): void {
    const batch = this.waiting.get(saleId);
    if (!batch) return;
    this.waiting.delete(saleId);
    void this.write(saleId, batch);
  }

  private async write(saleId: string, batch: Waiting[]): Promise<void> {
    // The same order delivered twice at once is written once and answered twice.
    const byOrder = new Map<string, Waiting[]>();
    for (const w of batch) byOrder.set(w.task.order_id, [...(byOrder.get(w.task.order_id) ?? []), w]);
    const tasks = [...byOrder.values()].map((ws) => (ws[0] as Waiting).task);
    try {
      const outcomes = await withTransaction((client) => writeBatch(client, saleId, tasks));
      for (const [orderId, ws] of byOrder) {
        const outcome = outcomes.get(orderId);
        for (const w of ws) {
          if (outcome) w.resolve(outcome);
          else w.reject(new Error(`no outcome for order ${orderId}`));
        }
      }
    } catch (err) {
      if (!PER_TASK_ERRORS.has(pgCode(err) ?? '')) {
        for (const w of batch) w.reject(err);
        return;
      }
      // One task spoiled the batch (a user that does not exist): each on its own, as before.
      for (const ws of byOrder.values()) {
        const task = (ws[0] as Waiting).task;
        await persistOrder(task).then(
          (outcome) => ws.forEach((w) => w.resolve(outcome)),
          (e: unknown) => ws.forEach((w) => w.reject(e)),
        );
      }
    }
  }
}
