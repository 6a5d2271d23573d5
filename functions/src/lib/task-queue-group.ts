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
import { TurnBatch } from './turn-batch.js';

/** `{"orders":[]}`: the body's bytes around its orders. */
const ENVELOPE_BYTES = 13;

interface Member {
  order: OrderTask;
  /** Its JSON's bytes, and the comma before it. */
  bytes: number;
  resolve: (outcome: EnqueueOutcome) => void;
  reject: (err: unknown) => void;
}

export interface GroupLimits {
  maxOrders: number;
  maxBytes: number;
}

export class OrderEnqueuer {
  private readonly group: TurnBatch<Member>;

  constructor(
    private readonly queue: () => Promise<TaskQueue>,
    limits: GroupLimits = { maxOrders: ORDERS_PER_TASK_MAX, maxBytes: TASK_BODY_MAX_BYTES },
  ) {
    const bytesOf = (members: readonly Member[]) => members.reduce((sum, m) => sum + m.bytes, ENVELOPE_BYTES);
    this.group = new TurnBatch((members) => this.send(members), {
      fits: (members, next) => bytesOf(members) + next.bytes <= limits.maxBytes,
      full: (members) => members.length >= limits.maxOrders,
    });
  }

  /**
   * Queues `order` with the others of this turn; resolves with the outcome of their task.
   * Rejects only when there is no queue to ask (the adapter failed to start), as before.
   */
  enqueue(order: OrderTask): Promise<EnqueueOutcome> {
    // +1: the comma between orders.
    const bytes = Buffer.byteLength(JSON.stringify(order)) + 1;
    return new Promise<EnqueueOutcome>((resolve, reject) => this.group.add({ order, bytes, resolve, reject }));
  }

  private send(members: Member[]): void {
    this.queue().then(
      (queue) =>
        enqueueKnowing(queue, { kind: 'persist-order', payload: { orders: members.map((m) => m.order) } }).then((outcome) => {
          for (const m of members) m.resolve(outcome);
        }),
      (err: unknown) => {
        for (const m of members) m.reject(err);
      },
    );
  }
}
