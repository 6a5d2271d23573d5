// Group commit for the worker: order tasks that arrive at this instance within a few
// milliseconds for the same sale are written in ONE PostgreSQL transaction. Every order of a
// sale ends its transaction by moving that sale's `sold` row, so one order per transaction
// serialises all of them behind that row's lock and a WAL flush each; a batch pays it once.
// The rules do not change: the conditional update on `sold` and the unique live-order index
// are still the final word, and a duplicate delivery is still a no-op.
import { pgCode, withTransaction } from '../lib/db.js';
import type { OrderTask } from '../lib/task-queue-port.js';
import { persistOrder, writeOrders, type Outcome } from './persist.js';

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
      const outcomes = await withTransaction((client) => writeOrders(client, saleId, tasks));
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
