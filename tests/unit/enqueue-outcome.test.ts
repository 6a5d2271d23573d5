// Whether a failed enqueue made its task: the two adapters' reading of their errors, and the
// one retry under the same task name that settles an unknown outcome when it can (design.md §4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplyError } from 'ioredis';
import { grpc } from 'google-gax';
import { createTaskFailure } from '../../functions/src/lib/task-queue-cloud.ts';
import { addFailure, createLocalQueue } from '../../functions/src/lib/task-queue-local.ts';
import { enqueueKnowing, TaskNotQueued, type QueuedTask, type TaskQueue } from '../../functions/src/lib/task-queue-port.ts';

const task: QueuedTask = {
  kind: 'persist-order',
  payload: {
    order_id: '0b9d7c9e-6f0e-4a51-9a8e-1c2d3e4f5a6b',
    user_id: '5f6e7d8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
    product_id: '11111111-2222-4333-8444-555555555555',
    sale_id: '66666666-7777-4888-9999-aaaaaaaaaaaa',
    taken_ms: 1_767_225_600_123,
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
