// The Cloud Tasks request for an order, built without the cloud: name, target, body, OIDC.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildOrderTaskRequest, queuePath } from '../../functions/src/lib/task-queue-cloud.ts';
import { orderTaskId, orderTaskSchema, retryDelayMs, ORDER_QUEUE_RETRY } from '../../functions/src/lib/task-queue.ts';

const settings = {
  TASKS_PROJECT: 'my-project',
  TASKS_LOCATION: 'europe-west1',
  TASKS_QUEUE: 'orders',
  WORKER_URL: 'https://order-worker-abc-ew.a.run.app/',
  TASKS_SERVICE_ACCOUNT: 'tasks-invoker@my-project.iam.gserviceaccount.com',
};

const task = orderTaskSchema.parse({
  order_id: '0b9d7c9e-6f0e-4a51-9a8e-1c2d3e4f5a6b',
  user_id: '5f6e7d8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
  product_id: '11111111-2222-4333-8444-555555555555',
  sale_id: '66666666-7777-4888-9999-aaaaaaaaaaaa',
  taken_ms: 1_767_225_600_123,
});

test('the task is named by the order, so a retried enqueue is a no-op', () => {
  const request = buildOrderTaskRequest(settings, task);
  assert.equal(request.parent, 'projects/my-project/locations/europe-west1/queues/orders');
  assert.equal(request.task?.name, `${queuePath(settings)}/tasks/order-${task.order_id}`);
  assert.equal(orderTaskId(task), `order-${task.order_id}`);
  assert.match(orderTaskId(task), /^[A-Za-z0-9_-]{1,500}$/, "Cloud Tasks' task id alphabet");
});

test('an HTTP POST of the task JSON to the worker, with an OIDC token of the invoker account', () => {
  const http = buildOrderTaskRequest(settings, task).task?.httpRequest;
  assert.equal(http?.httpMethod, 'POST');
  assert.equal(http?.url, settings.WORKER_URL);
  assert.deepEqual(http?.headers, { 'Content-Type': 'application/json' });
  assert.deepEqual(JSON.parse(Buffer.from(String(http?.body), 'base64').toString('utf8')), task);
  assert.deepEqual(http?.oidcToken, { serviceAccountEmail: settings.TASKS_SERVICE_ACCOUNT, audience: settings.WORKER_URL });
});

test('a scheduled task carries scheduleTime in seconds and nanos', () => {
  const request = buildOrderTaskRequest(settings, task, new Date(1_767_225_600_123));
  assert.deepEqual(request.task?.scheduleTime, { seconds: 1_767_225_600, nanos: 123_000_000 });
  assert.equal(buildOrderTaskRequest(settings, task).task?.scheduleTime, undefined);
});

test('retry backoff doubles from the minimum and stops at the maximum', () => {
  assert.equal(retryDelayMs(1), ORDER_QUEUE_RETRY.minBackoffMs);
  assert.equal(retryDelayMs(2), ORDER_QUEUE_RETRY.minBackoffMs * 2);
  assert.equal(retryDelayMs(50), ORDER_QUEUE_RETRY.maxBackoffMs);
});

test('a task with an unknown field or a bad id is refused', () => {
  assert.equal(orderTaskSchema.safeParse({ ...task, extra: 1 }).success, false);
  assert.equal(orderTaskSchema.safeParse({ ...task, order_id: 'x' }).success, false);
});
