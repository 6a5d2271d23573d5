// Orders accepted together travel together (docs/design.md §4): the persist-order enqueues that
// one instance makes in one turn of its event loop go to the queue as ONE task, so the queue's
// dispatch limit (Cloud Tasks: 500 a second) bounds tasks, not orders. No added wait: the group
// leaves at the end of the turn it was opened in (setImmediate), a lone order alone; and it
// leaves at once when it is full (ORDERS_PER_TASK_MAX orders or TASK_BODY_MAX_BYTES).
// The outcome of the group's one enqueue (enqueueKnowing: a refusal final, an unknown outcome
// retried once under the same name) is every member's outcome: each caller acts on it for its
// own order exactly as for a task of its own.
import {
  enqueueKnowing,
  ORDERS_PER_TASK_MAX,
  TASK_BODY_MAX_BYTES,
  type EnqueueOutcome,
  type OrderTask,
  type TaskQueue,
} from './task-queue-port.js';

/** `{"orders":[]}`: the body's bytes around its orders. */
const ENVELOPE_BYTES = 13;

interface Group {
  orders: OrderTask[];
  bytes: number;
  waiters: { resolve: (outcome: EnqueueOutcome) => void; reject: (err: unknown) => void }[];
  sent: boolean;
}

export interface GroupLimits {
  maxOrders: number;
  maxBytes: number;
}

export class OrderEnqueuer {
  private open: Group | undefined;

  constructor(
    private readonly queue: () => Promise<TaskQueue>,
    private readonly limits: GroupLimits = { maxOrders: ORDERS_PER_TASK_MAX, maxBytes: TASK_BODY_MAX_BYTES },
  ) {}

  /**
   * Queues `order` with the others of this turn; resolves with the outcome of their task.
   * Rejects only when there is no queue to ask (the adapter failed to start), as before.
   */
  enqueue(order: OrderTask): Promise<EnqueueOutcome> {
    // +1: the comma between orders.
    const bytes = Buffer.byteLength(JSON.stringify(order)) + 1;
    let group = this.open;
    if (group && group.bytes + bytes > this.limits.maxBytes) {
      this.send(group);
      group = undefined;
    }
    if (!group) {
      const opened: Group = { orders: [], bytes: ENVELOPE_BYTES, waiters: [], sent: false };
      this.open = group = opened;
      setImmediate(() => this.send(opened));
    }
    const joined = group;
    return new Promise<EnqueueOutcome>((resolve, reject) => {
      joined.orders.push(order);
      joined.bytes += bytes;
      joined.waiters.push({ resolve, reject });
      if (joined.orders.length >= this.limits.maxOrders) this.send(joined);
    });
  }

  private send(group: Group): void {
    if (this.open === group) this.open = undefined;
    if (group.sent) return;
    group.sent = true;
    this.queue().then(
      (queue) =>
        enqueueKnowing(queue, { kind: 'persist-order', payload: { orders: group.orders } }).then((outcome) => {
          for (const w of group.waiters) w.resolve(outcome);
        }),
      (err: unknown) => {
        for (const w of group.waiters) w.reject(err);
      },
    );
  }
}
