// Whether a failed enqueue made its task: the two adapters' reading of their errors, and the
// one retry under the same task name that settles an unknown outcome when it can (design.md §4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplyError } from 'ioredis';
import { grpc } from 'google-gax';
import { createTaskFailure } from '../../functions/src/lib/task-queue-cloud.ts';
import { addFailure, createLocalQueue } from '../../functions/src/lib/task-queue-local.ts';
import { OrderEnqueuer } from '../../functions/src/lib/task-queue-group.ts';
import {
  enqueueKnowing,
  orderGroupOf,
  orderGroupSchema,
  ORDERS_PER_TASK_MAX,
  persistOrderBodySchema,
  TASK_BODY_MAX_BYTES,
  TaskNotQueued,
  taskId,
  type QueuedTask,
  type TaskQueue,
} from '../../functions/src/lib/task-queue-port.ts';

const task: QueuedTask = {
  kind: 'persist-order',
  payload: {
    orders: [
      {
        order_id: '0b9d7c9e-6f0e-4a51-9a8e-1c2d3e4f5a6b',
        user_id: '5f6e7d8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
        product_id: '11111111-2222-4333-8444-555555555555',
        sale_id: '66666666-7777-4888-9999-aaaaaaaaaaaa',
        taken_ms: 1_767_225_600_123,
      },
    ],
  },
};

/** A gRPC error as google-gax hands it over: a numeric code, details, and "<code> <NAME>: details". */
function grpcError(code: grpc.status, details = 'x'): Error {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details });
}

test('Cloud Tasks: ALREADY_EXISTS is the task made before; a lost or cut-off call is unknown; the API saying no is a refusal', () => {
  assert.equal(createTaskFailure(grpcError(grpc.status.ALREADY_EXISTS)), 'exists');
  for (const code of [
    grpc.status.DEADLINE_EXCEEDED,
    grpc.status.UNAVAILABLE,
    grpc.status.UNKNOWN,
    grpc.status.INTERNAL,
    grpc.status.CANCELLED,
    grpc.status.ABORTED,
    grpc.status.DATA_LOSS,
  ]) {
    assert.equal(createTaskFailure(grpcError(code, 'Connection dropped')), 'unknown', grpc.status[code]);
  }
  for (const code of [
    grpc.status.INVALID_ARGUMENT,
    grpc.status.NOT_FOUND,
    grpc.status.PERMISSION_DENIED,
    grpc.status.RESOURCE_EXHAUSTED,
    grpc.status.FAILED_PRECONDITION,
    grpc.status.OUT_OF_RANGE,
    grpc.status.UNIMPLEMENTED,
    grpc.status.UNAUTHENTICATED,
  ]) {
    assert.equal(createTaskFailure(grpcError(code)), 'refused', grpc.status[code]);
  }
  // grpc-js fails a call it could not assign to any connection with this text: it never left.
  const neverSent = grpcError(grpc.status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1');
  assert.equal(createTaskFailure(neverSent), 'refused');
  // Without a gRPC code nothing says where the call got to.
  assert.equal(createTaskFailure(new Error('socket hang up')), 'unknown');
  assert.equal(createTaskFailure(undefined), 'unknown');
});

test('BullMQ: a job never sent, or refused by Redis before running, is a refusal; a timeout or a lost connection is unknown', () => {
  assert.equal(addFailure(new Error("Stream isn't writeable and enableOfflineQueue options is false")), 'refused');
  for (const message of ['OOM command not allowed when used memory > maxmemory', 'NOPERM no permission', 'READONLY You can\'t write against a read only replica.', 'LOADING Redis is loading', 'BUSY Redis is busy running a script']) {
    assert.equal(addFailure(new ReplyError(message)), 'refused', message);
  }
  assert.equal(addFailure(new ReplyError('ERR Error running script: something went wrong half-way')), 'unknown');
  assert.equal(addFailure(new Error('Command timed out')), 'unknown');
  assert.equal(addFailure(Object.assign(new Error('Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.'), { name: 'MaxRetriesPerRequestError' })), 'unknown');
  assert.equal(addFailure(new Error('Connection is closed.')), 'unknown');
});

/** A queue whose enqueues answer from a script: a value resolves, an error rejects. */
function scripted(...answers: (Error | undefined)[]): TaskQueue & { calls: number } {
  const queue = {
    calls: 0,
    enqueue() {
      const answer = answers[queue.calls++];
      return answer ? Promise.reject(answer) : Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return queue;
}

test('enqueueKnowing: a refusal is final; an unknown outcome is retried once under the same name; a retry that fails leaves it unknown', async () => {
  let q = scripted(undefined);
  assert.deepEqual(await enqueueKnowing(q, task), { outcome: 'queued', retried: false });
  assert.equal(q.calls, 1);

  const refusal = new TaskNotQueued('queue not found');
  q = scripted(refusal);
  assert.deepEqual(await enqueueKnowing(q, task), { outcome: 'refused', error: refusal });
  assert.equal(q.calls, 1, 'a refusal is not retried: nothing was made, the buyer is told so');

  const lost = new Error('Connection dropped');
  q = scripted(lost, undefined);
  assert.deepEqual(await enqueueKnowing(q, task), { outcome: 'queued', retried: true, firstError: lost });

  // The first try may have made the task: a refusal of the retry does not say it did not.
  q = scripted(lost, refusal);
  assert.deepEqual(await enqueueKnowing(q, task), { outcome: 'unknown', error: refusal, firstError: lost });
  const again = new Error('Command timed out');
  q = scripted(lost, again);
  assert.deepEqual(await enqueueKnowing(q, task), { outcome: 'unknown', error: again, firstError: lost });
  assert.equal(q.calls, 2, 'one retry, no more: the sweeper queues it again later');
});

test("the local queue refuses, having sent nothing, while its Redis cannot be reached", async () => {
  const queue = createLocalQueue({ REDIS_URL: 'redis://127.0.0.1:1', QUEUE_REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: 'unit:', TASKS_QUEUE: 'orders' });
  try {
    await assert.rejects(queue.enqueue(task), TaskNotQueued);
  } finally {
    await queue.close().catch(() => undefined);
  }
});

// Orders accepted in one turn travel in one task (task-queue-group.ts), and its outcome is each one's.
const orderOf = (i: number) => ({
  order_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  user_id: `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  product_id: '11111111-2222-4333-8444-555555555555',
  sale_id: '66666666-7777-4888-9999-aaaaaaaaaaaa',
  taken_ms: 1_767_225_600_000 + i,
});

/** A queue that records every task it is asked for and answers from a script, as `scripted`. */
function recording(...answers: (Error | undefined)[]) {
  const asked: QueuedTask[] = [];
  const queue: TaskQueue = {
    enqueue(t) {
      const answer = answers[asked.length];
      asked.push(t);
      return answer ? Promise.reject(answer) : Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return { asked, enqueuer: new OrderEnqueuer(() => Promise.resolve(queue)) };
}

const ordersIn = (t: QueuedTask | undefined) => (t?.kind === 'persist-order' ? t.payload.orders.map((o) => o.order_id) : []);

test('orders enqueued in one turn go as one task, in arrival order; a lone order goes alone, under its own name', async () => {
  const { asked, enqueuer } = recording();
  const three = await Promise.all([0, 1, 2].map((i) => enqueuer.enqueue(orderOf(i))));
  assert.deepEqual(three, Array(3).fill({ outcome: 'queued', retried: false }));
  assert.equal(asked.length, 1);
  assert.deepEqual(ordersIn(asked[0]), [0, 1, 2].map((i) => orderOf(i).order_id));
  assert.match(taskId(asked[0] as QueuedTask), /^persist-orders-[0-9a-f]{40}$/);

  assert.deepEqual(await enqueuer.enqueue(orderOf(3)), { outcome: 'queued', retried: false });
  assert.equal(asked.length, 2, 'the next turn opens a new task');
  assert.equal(taskId(asked[1] as QueuedTask), `persist-order-${orderOf(3).order_id}`, 'a task of one keeps the name of one order');
});

test('a group is bounded: by ORDERS_PER_TASK_MAX orders, and by TASK_BODY_MAX_BYTES, well under Cloud Tasks\' 100 KB', async () => {
  const { asked, enqueuer } = recording();
  await Promise.all(Array.from({ length: ORDERS_PER_TASK_MAX * 2 + 1 }, (_, i) => enqueuer.enqueue(orderOf(i))));
  assert.deepEqual(asked.map((t) => ordersIn(t).length), [ORDERS_PER_TASK_MAX, ORDERS_PER_TASK_MAX, 1]);
  const full = JSON.stringify((asked[0] as QueuedTask).payload);
  assert.ok(Buffer.byteLength(full) <= TASK_BODY_MAX_BYTES && TASK_BODY_MAX_BYTES <= 50 * 1024, `a full task is ${Buffer.byteLength(full)} bytes`);
  assert.ok(orderGroupSchema.safeParse(JSON.parse(full)).success);

  // Long user ids fill the bytes first: every body stays within the bound.
  const big = recording();
  const longUser = (i: number) => ({ ...orderOf(i), user_id: 'u'.repeat(2000) + String(i) });
  await Promise.all(Array.from({ length: 40 }, (_, i) => big.enqueuer.enqueue(longUser(i))));
  assert.ok(big.asked.length > 1);
  for (const t of big.asked) assert.ok(Buffer.byteLength(JSON.stringify(t.payload)) <= TASK_BODY_MAX_BYTES);
  assert.deepEqual(big.asked.flatMap(ordersIn), Array.from({ length: 40 }, (_, i) => orderOf(i).order_id), 'every order once, in order');
});

test("a group's outcome is each member's: a refusal refuses all; an unknown outcome is retried once under the same name", async () => {
  const refusal = new TaskNotQueued('queue not found');
  let q = recording(refusal);
  const refused = await Promise.all([0, 1, 2].map((i) => q.enqueuer.enqueue(orderOf(i))));
  assert.deepEqual(refused, Array(3).fill({ outcome: 'refused', error: refusal }), 'each order gives its unit back and answers 503');
  assert.equal(q.asked.length, 1);

  const lost = new Error('Connection dropped');
  q = recording(lost, undefined);
  const retried = await Promise.all([0, 1].map((i) => q.enqueuer.enqueue(orderOf(i))));
  assert.deepEqual(retried, Array(2).fill({ outcome: 'queued', retried: true, firstError: lost }));
  assert.deepEqual(q.asked.map((t) => taskId(t)), Array(2).fill(taskId(q.asked[0] as QueuedTask)), 'the retry is the same task, same name');
  assert.deepEqual(ordersIn(q.asked[1]), ordersIn(q.asked[0]));

  const again = new Error('Command timed out');
  q = recording(lost, again);
  const unknown = await Promise.all([0, 1].map((i) => q.enqueuer.enqueue(orderOf(i))));
  assert.deepEqual(unknown, Array(2).fill({ outcome: 'unknown', error: again, firstError: lost }), 'each stays pending for the sweeper');

  // No queue at all (the adapter failed to start): every member's call fails, as one alone did.
  const broken = new OrderEnqueuer(() => Promise.reject(new Error('TASK_QUEUE=cloud-tasks needs TASKS_PROJECT')));
  const results = await Promise.allSettled([0, 1].map((i) => broken.enqueue(orderOf(i))));
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
});

test('a task of several orders is named by its set of orders: the same set, the same name, whatever their order', () => {
  const group = (ids: number[]): QueuedTask => ({ kind: 'persist-order', payload: { orders: ids.map(orderOf) } });
  assert.equal(taskId(group([1, 2, 3])), taskId(group([3, 1, 2])));
  assert.notEqual(taskId(group([1, 2, 3])), taskId(group([1, 2])));
  assert.notEqual(taskId(group([1, 2])), taskId(group([1])));
  for (const ids of [[1], [1, 2]]) assert.match(taskId(group(ids)), /^[A-Za-z0-9_-]{1,500}$/, "Cloud Tasks' task id alphabet");
  // A task queued by an earlier release is one bare order: the worker reads both.
  assert.deepEqual(orderGroupOf(persistOrderBodySchema.parse(orderOf(1))), { orders: [orderOf(1)] });
  assert.deepEqual(orderGroupOf(persistOrderBodySchema.parse({ orders: [orderOf(1), orderOf(2)] })), { orders: [orderOf(1), orderOf(2)] });
  assert.equal(persistOrderBodySchema.safeParse({ orders: [] }).success, false);
  assert.equal(persistOrderBodySchema.safeParse({ orders: Array.from({ length: ORDERS_PER_TASK_MAX + 1 }, (_, i) => orderOf(i)) }).success, false);
});
