// The Cloud Tasks request for an order, built without the cloud: name, target, body, OIDC.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { protos } from '@google-cloud/tasks';
import { grpc } from 'google-gax';
import { buildTaskRequest, cloudTasksClient, createCloudTasksQueue, queuePath } from '../../functions/src/lib/task-queue-cloud.ts';
import { orderTaskSchema, retryDelayMs, ORDER_QUEUE_RETRY, taskId, taskUrl, type QueuedTask } from '../../functions/src/lib/task-queue-port.ts';

const settings = {
  TASKS_PROJECT: 'my-project',
  TASKS_LOCATION: 'europe-west1',
  TASKS_QUEUE: 'orders',
  WORKER_URL: 'https://order-worker-abc-ew.a.run.app',
  TASKS_SERVICE_ACCOUNT: 'tasks-invoker@my-project.iam.gserviceaccount.com',
};

const task = orderTaskSchema.parse({
  order_id: '0b9d7c9e-6f0e-4a51-9a8e-1c2d3e4f5a6b',
  user_id: '5f6e7d8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
  product_id: '11111111-2222-4333-8444-555555555555',
  sale_id: '66666666-7777-4888-9999-aaaaaaaaaaaa',
  taken_ms: 1_767_225_600_123,
});

const persist: QueuedTask = { kind: 'persist-order', payload: { orders: [task] } };
const expiry: QueuedTask = {
  kind: 'expire-hold',
  payload: { order_id: task.order_id, user_id: task.user_id, sale_id: task.sale_id, taken_ms: task.taken_ms },
  at: new Date(1_767_225_600_123),
};

test('a task is named by its kind and order, so a retried enqueue is a no-op', () => {
  const request = buildTaskRequest(settings, persist);
  assert.equal(request.parent, 'projects/my-project/locations/europe-west1/queues/orders');
  assert.equal(request.task?.name, `${queuePath(settings)}/tasks/persist-order-${task.order_id}`);
  assert.equal(taskId(expiry), `expire-hold-${task.order_id}`);
  for (const t of [persist, expiry]) assert.match(taskId(t), /^[A-Za-z0-9_-]{1,500}$/, "Cloud Tasks' task id alphabet");
});

test("an HTTP POST of the task JSON to the worker's route for it, with an OIDC token of the invoker account", () => {
  const http = buildTaskRequest(settings, persist).task?.httpRequest;
  assert.equal(http?.httpMethod, 'POST');
  assert.equal(http?.url, `${settings.WORKER_URL}/tasks/persist-order`);
  assert.deepEqual(http?.headers, { 'Content-Type': 'application/json' });
  assert.deepEqual(JSON.parse(Buffer.from(String(http?.body), 'base64').toString('utf8')), { orders: [task] });
  assert.deepEqual(http?.oidcToken, { serviceAccountEmail: settings.TASKS_SERVICE_ACCOUNT, audience: settings.WORKER_URL });
  assert.equal(buildTaskRequest(settings, expiry).task?.httpRequest?.url, `${settings.WORKER_URL}/tasks/expire-hold`);
});

test('a WORKER_URL with a base path keeps it: the task goes below it, not to the host root', () => {
  for (const base of ['https://europe-west1-my-project.cloudfunctions.net/order-worker', 'https://europe-west1-my-project.cloudfunctions.net/order-worker/']) {
    const request = buildTaskRequest({ ...settings, WORKER_URL: base }, persist);
    assert.equal(request.task?.httpRequest?.url, 'https://europe-west1-my-project.cloudfunctions.net/order-worker/tasks/persist-order');
    assert.equal(
      buildTaskRequest({ ...settings, WORKER_URL: base }, expiry).task?.httpRequest?.url,
      'https://europe-west1-my-project.cloudfunctions.net/order-worker/tasks/expire-hold',
    );
  }
  assert.equal(taskUrl('http://127.0.0.1:8084/', 'persist-order'), 'http://127.0.0.1:8084/tasks/persist-order');
});

test('the OIDC audience is WORKER_AUDIENCE when set, else WORKER_URL without its trailing slash (path kept)', () => {
  const withPath = { ...settings, WORKER_URL: 'https://h.example/fn-name/' };
  assert.equal(buildTaskRequest(withPath, persist).task?.httpRequest?.oidcToken?.audience, 'https://h.example/fn-name');
  assert.equal(buildTaskRequest({ ...settings, WORKER_URL: 'https://w-1.europe-west1.run.app/' }, persist).task?.httpRequest?.oidcToken?.audience, 'https://w-1.europe-west1.run.app');
  const custom = { ...withPath, WORKER_AUDIENCE: 'https://worker.example/aud' };
  assert.equal(buildTaskRequest(custom, persist).task?.httpRequest?.oidcToken?.audience, 'https://worker.example/aud');
  assert.equal(buildTaskRequest(custom, persist).task?.httpRequest?.url, 'https://h.example/fn-name/tasks/persist-order');
});

test("an expiry task is scheduled for the hold's end, in seconds and nanos; an order task is not", () => {
  assert.deepEqual(buildTaskRequest(settings, expiry).task?.scheduleTime, { seconds: 1_767_225_600, nanos: 123_000_000 });
  assert.equal(buildTaskRequest(settings, persist).task?.scheduleTime, undefined);
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

test('TASKS_API_ENDPOINT: createTask goes over plaintext gRPC to that host:port, with no Google credentials', async (t) => {
  const received: { request: protos.google.cloud.tasks.v2.ICreateTaskRequest; authorization: unknown[] }[] = [];
  const server = new grpc.Server();
  const { CreateTaskRequest, Task } = protos.google.cloud.tasks.v2;
  server.addService(
    {
      CreateTask: {
        path: '/google.cloud.tasks.v2.CloudTasks/CreateTask',
        requestStream: false,
        responseStream: false,
        requestSerialize: (m: protos.google.cloud.tasks.v2.ICreateTaskRequest) => Buffer.from(CreateTaskRequest.encode(m).finish()),
        requestDeserialize: (b: Buffer) => CreateTaskRequest.decode(b),
        responseSerialize: (m: protos.google.cloud.tasks.v2.ITask) => Buffer.from(Task.encode(m).finish()),
        responseDeserialize: (b: Buffer) => Task.decode(b),
      },
    },
    {
      CreateTask: (call: grpc.ServerUnaryCall<protos.google.cloud.tasks.v2.CreateTaskRequest, protos.google.cloud.tasks.v2.ITask>, done: grpc.sendUnaryData<protos.google.cloud.tasks.v2.ITask>) => {
        received.push({ request: call.request, authorization: call.metadata.get('authorization') });
        if (received.length > 1) done({ code: grpc.status.ALREADY_EXISTS, details: 'exists' });
        else done(null, call.request.task ?? {});
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => server.forceShutdown());
  // No credentials to find: a search for them would fail or hang, not reach the server.
  const before = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/credentials.json';
  t.after(() => {
    if (before === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    else process.env.GOOGLE_APPLICATION_CREDENTIALS = before;
  });
  const queue = createCloudTasksQueue({ ...settings, TASKS_API_ENDPOINT: `127.0.0.1:${port}` });
  t.after(() => queue.close());
  await queue.enqueue(persist);
  await queue.enqueue(persist); // ALREADY_EXISTS: the task exists, which is what we wanted
  assert.equal(received.length, 2);
  assert.equal(received[0]?.request.task?.httpRequest?.url, `${settings.WORKER_URL}/tasks/persist-order`);
  assert.equal(received[0]?.request.task?.name, `${queuePath(settings)}/tasks/persist-order-${task.order_id}`);
  assert.deepEqual(received[0]?.authorization, [], 'no Google token is attached');
  assert.equal(typeof cloudTasksClient({ TASKS_API_ENDPOINT: `127.0.0.1:${port}` }).createTask, 'function');
});
