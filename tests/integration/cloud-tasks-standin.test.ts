// The cloud-parity run's Cloud Tasks stand-in, driven by the real CloudTasksClient over gRPC:
// what it delivers, what it refuses, when, and how it retries. Needs no Redis or PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudTasksClient } from '@google-cloud/tasks';
import * as grpc from '@grpc/grpc-js';
import { buildTaskRequest, queuePath, type CloudTasksSettings } from '../../functions/src/lib/task-queue-cloud.ts';
import type { QueuedTask } from '../../functions/src/lib/task-queue-port.ts';
import {
  retryBackoffMs,
  startCloudTasksStandin,
  type CloudTasksStandin,
  type DeliveryAnswer,
  type TaskDelivery,
} from '../../scripts/parity/cloud-tasks.ts';

/** Every test's tasks settle within this; a stuck one fails the test with its name, not a hang. */
const SETTLED = { timeoutMs: 5000 };
const SERVICE_ACCOUNT = 'tasks-invoker@parity.iam.gserviceaccount.com';
/** What the stand-ins' mintIdToken signs: readable, so that a test sees the audience. */
const idToken = (email: string, audience: string) => `id-token:${email}:${audience}`;

// Stand-in A pushes with its default fetch to a local worker, as production's adapter asks.
interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
const received: Received[] = [];
let worker: Server;
let localStandin: CloudTasksStandin;
let localClient: CloudTasksClient;
let settings: CloudTasksSettings;

// Stand-in B delivers through a "Cloud Run front": a token for the run.app URL or 401, a known
// URL or 404, then each task's scripted answers (200 once the script is spent).
const RUN_URL = 'https://order-worker-123456789.europe-west1.run.app';
const FRONT_RETRY = { maxAttempts: 5, minBackoffMs: 20, maxBackoffMs: 100, maxDoublings: 2 };
const frontQueue = 'projects/parity/locations/europe-west1/queues/orders';
const throttledQueue = 'projects/parity/locations/europe-west1/queues/throttled';
const scripts = new Map<string, ('throw' | number)[]>();
let running = 0;
let mostRunning = 0;
let frontStandin: CloudTasksStandin;
let frontClient: CloudTasksClient;

function header(request: TaskDelivery | undefined, name: string): string | undefined {
  return Object.entries(request?.headers ?? {}).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}

async function cloudRunFront(request: TaskDelivery, signal: AbortSignal): Promise<DeliveryAnswer> {
  const url = new URL(request.url);
  if (url.origin !== RUN_URL) return { status: 404 };
  const audience = /^Bearer id-token:[^:]+:(.*)$/.exec(header(request, 'authorization') ?? '')?.[1];
  if (audience !== RUN_URL) return { status: 401 };
  if (url.pathname === '/tasks/slow') {
    running += 1;
    mostRunning = Math.max(mostRunning, running);
    try {
      await sleep(200, undefined, { signal });
    } finally {
      running -= 1;
    }
    return { status: 200 };
  }
  const next = scripts.get(header(request, 'x-cloudtasks-taskname') ?? '')?.shift() ?? 200;
  if (next === 'throw') throw new Error('connection reset by peer');
  return { status: next };
}

function client(standin: CloudTasksStandin): CloudTasksClient {
  // exactly how the adapter reaches a local endpoint (TASKS_API_ENDPOINT)
  const { host, port } = standin.endpoint;
  return new CloudTasksClient({ apiEndpoint: host, port, sslCreds: grpc.credentials.createInsecure() });
}

/** The gRPC status code a call failed with (the adapter's test for ALREADY_EXISTS). */
async function failureCode(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  assert.fail('the call succeeded');
}

function order(): QueuedTask & { kind: 'persist-order' } {
  return {
    kind: 'persist-order',
    payload: { orders: [{ order_id: randomUUID(), user_id: randomUUID(), product_id: randomUUID(), sale_id: randomUUID(), taken_ms: Date.now() }] },
  };
}

/** The one order of a task of one. */
const only = (task: QueuedTask & { kind: 'persist-order' }) => task.payload.orders[0] ?? assert.fail('an order');

function holdExpiry(at: Date): QueuedTask {
  const payload = only(order());
  return { kind: 'expire-hold', payload: { order_id: payload.order_id, user_id: payload.user_id, sale_id: payload.sale_id, taken_ms: payload.taken_ms }, at };
}

function attemptsOf(standin: CloudTasksStandin, taskName: string) {
  return standin.attempts().filter((a) => a.task === taskName);
}

before(async () => {
  worker = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  worker.listen(0, '127.0.0.1');
  await once(worker, 'listening');
  settings = {
    TASKS_PROJECT: 'parity',
    TASKS_LOCATION: 'europe-west1',
    TASKS_QUEUE: 'orders',
    WORKER_URL: `http://127.0.0.1:${(worker.address() as AddressInfo).port}`,
    TASKS_SERVICE_ACCOUNT: SERVICE_ACCOUNT,
  };
  localStandin = await startCloudTasksStandin({ queues: [{ name: queuePath(settings) }], mintIdToken: idToken });
  localClient = client(localStandin);
  frontStandin = await startCloudTasksStandin({
    queues: [
      { name: frontQueue, retry: FRONT_RETRY },
      { name: throttledQueue, rateLimits: { maxDispatchesPerSecond: 20, maxBurstSize: 1, maxConcurrentDispatches: 2 } },
    ],
    mintIdToken: idToken,
    deliver: cloudRunFront,
    tombstoneMs: 300,
  });
  frontClient = client(frontStandin);
});

after(async () => {
  await Promise.all([localClient.close(), frontClient.close()]);
  await Promise.all([localStandin.close(), frontStandin.close()]);
  worker.close();
});

test("the adapter's task reaches the worker as written, with Cloud Tasks' headers and an OIDC token for its audience", async () => {
  const task = order();
  const request = buildTaskRequest(settings, task);
  const before = Date.now();
  const [created] = await localClient.createTask(request);
  assert.equal(created.name, request.task?.name);
  await localStandin.idle(SETTLED);

  const got = received.find((r) => r.headers['x-cloudtasks-taskname'] === `persist-order-${only(task).order_id}`);
  assert.ok(got, 'the worker got the task');
  assert.equal(got.method, 'POST');
  assert.equal(got.path, '/tasks/persist-order');
  assert.deepEqual(JSON.parse(got.body.toString('utf8')), task.payload, 'the body is the JSON itself, not its base64');
  assert.equal(got.headers['content-type'], 'application/json');
  assert.equal(got.headers['user-agent'], 'Google-Cloud-Tasks');
  assert.equal(got.headers.authorization, `Bearer ${idToken(SERVICE_ACCOUNT, settings.WORKER_URL)}`, "the adapter's explicit audience");
  assert.equal(got.headers['x-cloudtasks-queuename'], 'orders');
  assert.equal(got.headers['x-cloudtasks-taskretrycount'], '0');
  assert.equal(got.headers['x-cloudtasks-taskexecutioncount'], '0');
  assert.equal(got.headers['x-cloudtasks-taskpreviousresponse'], undefined);
  const eta = Number(got.headers['x-cloudtasks-tasketa']);
  assert.ok(eta >= Math.floor(before / 1000) && eta <= Date.now() / 1000, `ETA ${eta} is the time of creation`);

  const attempts = attemptsOf(localStandin, created.name ?? '');
  assert.deepEqual(
    attempts.map((a) => [a.url, a.attempt, a.status, a.outcome]),
    [[`${settings.WORKER_URL}/tasks/persist-order`, 1, 200, 'done']],
  );
  assert.equal(localStandin.tasks().length, 0, 'a delivered task is gone');
});

test("a task without a name gets an id; its method, its own headers and a default audience of its url; reserved headers are replaced", async () => {
  const url = `${settings.WORKER_URL}/tasks/custom?sale=summer`;
  const [created] = await localClient.createTask({
    parent: queuePath(settings),
    task: {
      httpRequest: {
        httpMethod: 'PUT',
        url,
        headers: { 'X-Sale': 'summer', 'User-Agent': 'mine', Authorization: 'Bearer forged', 'X-CloudTasks-TaskRetryCount': '9' },
        body: Buffer.from('raw bytes'),
        oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT },
      },
    },
  });
  const id = /\/tasks\/(\d+)$/.exec(created.name ?? '')?.[1];
  assert.ok(id, `a generated id under the queue: ${created.name}`);
  assert.ok(created.name?.startsWith(`${queuePath(settings)}/tasks/`));
  await localStandin.idle(SETTLED);

  const got = received.find((r) => r.headers['x-cloudtasks-taskname'] === id);
  assert.ok(got);
  assert.equal(got.method, 'PUT');
  assert.equal(got.path, '/tasks/custom?sale=summer');
  assert.equal(got.body.toString('utf8'), 'raw bytes');
  assert.equal(got.headers['x-sale'], 'summer');
  assert.equal(got.headers['content-type'], undefined, 'Cloud Tasks sets no Content-Type of its own');
  assert.equal(got.headers['user-agent'], 'Google-Cloud-Tasks');
  assert.equal(got.headers.authorization, `Bearer ${idToken(SERVICE_ACCOUNT, url)}`, 'an empty audience is the url');
  assert.equal(got.headers['x-cloudtasks-taskretrycount'], '0');
});

test('a name is refused while its task lives and after it ran or was deleted: ALREADY_EXISTS, what the adapter ignores', async () => {
  const task = order();
  await localClient.createTask(buildTaskRequest(settings, task));
  await localStandin.idle(SETTLED);
  assert.equal(await failureCode(localClient.createTask(buildTaskRequest(settings, task))), 6, 'after it ran');
  assert.equal(received.filter((r) => r.headers['x-cloudtasks-taskname'] === `persist-order-${only(task).order_id}`).length, 1);

  const later = buildTaskRequest(settings, holdExpiry(new Date(Date.now() + 60_000)));
  const name = later.task?.name ?? '';
  await localClient.createTask(later);
  assert.equal(await failureCode(localClient.createTask(later)), 6, 'while it waits');
  const [got] = await localClient.getTask({ name, responseView: 'FULL' });
  assert.equal(got.name, name);
  assert.equal(Number(got.scheduleTime?.seconds), later.task?.scheduleTime?.seconds);
  assert.ok(got.httpRequest?.body && got.httpRequest.body.length > 0, 'FULL has the body');
  const [listed] = await localClient.listTasks({ parent: queuePath(settings) });
  assert.deepEqual(listed.map((t) => t.name), [name]);
  await assert.rejects(localStandin.idle({ timeoutMs: 50 }), (err: Error) => err.message.includes(name), 'idle() names what keeps it waiting');
  await localClient.deleteTask({ name });
  assert.equal(await failureCode(localClient.getTask({ name })), 5, 'deleted');
  assert.equal(await failureCode(localClient.createTask(later)), 6, 'after it was deleted');
});

test('a name is free again once its tombstone period has passed', async () => {
  const request = { parent: frontQueue, task: { name: `${frontQueue}/tasks/reused`, httpRequest: { url: `${RUN_URL}/tasks/x` } } };
  await frontClient.createTask(request);
  await frontStandin.idle(SETTLED);
  assert.equal(await failureCode(frontClient.createTask(request)), 6);
  await sleep(350);
  await frontClient.createTask(request);
  await frontStandin.idle(SETTLED);
});

test('a task scheduled for later is not delivered before its time, and its ETA says when', async () => {
  const at = new Date(Date.now() + 300);
  const request = buildTaskRequest(settings, holdExpiry(at));
  await localClient.createTask(request);
  const [waiting] = await localClient.listTasks({ parent: queuePath(settings) });
  assert.deepEqual(waiting.map((t) => t.name), [request.task?.name]);
  await localStandin.idle(SETTLED);
  const [attempt] = attemptsOf(localStandin, request.task?.name ?? '');
  assert.ok(attempt && attempt.dispatchedAt.getTime() >= at.getTime(), 'not before scheduleTime');
  const got = received.find((r) => r.headers['x-cloudtasks-taskname'] === request.task?.name?.split('/').pop());
  assert.equal(got?.path, '/tasks/expire-hold');
  assert.equal(got?.headers['x-cloudtasks-tasketa'], (at.getTime() / 1000).toFixed(6));
});

test('a 500 then a 200 is one retry after the minimum backoff, with retry and execution counts', async () => {
  const name = `${frontQueue}/tasks/flaky-${randomUUID()}`;
  scripts.set(name.split('/').pop() ?? '', [500]);
  await frontClient.createTask({ parent: frontQueue, task: { name, httpRequest: { url: `${RUN_URL}/tasks/persist-order`, oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT, audience: RUN_URL } } } });
  await frontStandin.idle(SETTLED);
  const attempts = attemptsOf(frontStandin, name);
  assert.deepEqual(
    attempts.map((a) => [a.attempt, a.status, a.outcome, header(a.request, 'x-cloudtasks-taskretrycount'), header(a.request, 'x-cloudtasks-taskexecutioncount')]),
    [
      [1, 500, 'retry', '0', '0'],
      [2, 200, 'done', '1', '0'], // a 5xx is no execution
    ],
  );
  assert.equal(header(attempts[1]?.request, 'x-cloudtasks-taskpreviousresponse'), '500');
  const gap = (attempts[1]?.dispatchedAt.getTime() ?? 0) - (attempts[0]?.dispatchedAt.getTime() ?? 0);
  assert.ok(gap >= FRONT_RETRY.minBackoffMs, `retried after ${gap} ms`);
});

test("a 401 from the front (the default audience, url with path, is not the run.app URL) is retried with Cloud Tasks' backoff until maxAttempts, then dropped", async () => {
  const name = `${frontQueue}/tasks/wrong-audience-${randomUUID()}`;
  await frontClient.createTask({
    parent: frontQueue,
    task: { name, httpRequest: { url: `${RUN_URL}/tasks/persist-order`, oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT } } },
  });
  await frontStandin.idle(SETTLED);
  const attempts = attemptsOf(frontStandin, name);
  assert.deepEqual(
    attempts.map((a) => [a.attempt, a.status, a.outcome, header(a.request, 'x-cloudtasks-taskexecutioncount')]),
    [
      [1, 401, 'retry', '0'],
      [2, 401, 'retry', '1'], // a 4xx is an execution
      [3, 401, 'retry', '2'],
      [4, 401, 'retry', '3'],
      [5, 401, 'dropped', '4'],
    ],
  );
  for (let i = 1; i < attempts.length; i += 1) {
    const gap = (attempts[i]?.dispatchedAt.getTime() ?? 0) - (attempts[i - 1]?.dispatchedAt.getTime() ?? 0);
    assert.ok(gap >= retryBackoffMs(FRONT_RETRY, i), `retry ${i} waited ${gap} ms, at least ${retryBackoffMs(FRONT_RETRY, i)}`);
  }
  assert.equal(await failureCode(frontClient.getTask({ name })), 5, 'a dropped task is gone');
});

test('an unknown URL (404) and a delivery error are retried and recorded', async () => {
  const name = `${frontQueue}/tasks/reset-${randomUUID()}`;
  scripts.set(name.split('/').pop() ?? '', ['throw']);
  await frontClient.createTask({ parent: frontQueue, task: { name, httpRequest: { url: `${RUN_URL}/tasks/x`, oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT, audience: RUN_URL } } } });
  const lost = `${frontQueue}/tasks/lost-${randomUUID()}`;
  await frontClient.createTask({ parent: frontQueue, task: { name: lost, httpRequest: { url: 'https://elsewhere.run.app/tasks/x' } } });
  await frontStandin.idle(SETTLED);
  assert.deepEqual(
    attemptsOf(frontStandin, name).map((a) => [a.status, a.error, a.outcome, header(a.request, 'x-cloudtasks-taskretrycount')]),
    [
      [undefined, 'connection reset by peer', 'retry', '0'],
      [200, undefined, 'done', '1'],
    ],
  );
  assert.deepEqual(
    attemptsOf(frontStandin, lost).map((a) => a.status),
    [404, 404, 404, 404, 404],
  );
});

test("a queue's rate and concurrency limits hold", async () => {
  const names = Array.from({ length: 6 }, (_, i) => `${throttledQueue}/tasks/slow-${i}-${randomUUID()}`);
  mostRunning = 0;
  await Promise.all(
    names.map((name) =>
      frontClient.createTask({ parent: throttledQueue, task: { name, httpRequest: { url: `${RUN_URL}/tasks/slow`, oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT, audience: RUN_URL } } } }),
    ),
  );
  await frontStandin.idle(SETTLED);
  const times = frontStandin
    .attempts()
    .filter((a) => a.queue === throttledQueue)
    .map((a) => a.dispatchedAt.getTime())
    .sort((a, b) => a - b);
  assert.equal(times.length, 6);
  assert.equal(mostRunning, 2, 'at most maxConcurrentDispatches at once');
  for (let i = 1; i < times.length; i += 1) {
    assert.ok((times[i] ?? 0) - (times[i - 1] ?? 0) >= 45, `dispatches ${i - 1} and ${i} are ~1/20 s apart at least`);
  }
  assert.ok((times[2] ?? 0) - (times[0] ?? 0) >= 190, 'the third waits for the first to end');
});

test('an unknown queue is NOT_FOUND; a task name outside its queue is INVALID_ARGUMENT', async () => {
  const nowhere = 'projects/parity/locations/europe-west1/queues/nowhere';
  assert.equal(await failureCode(frontClient.createTask({ parent: nowhere, task: { httpRequest: { url: `${RUN_URL}/tasks/x` } } })), 5);
  assert.equal(await failureCode(frontClient.getTask({ name: `${nowhere}/tasks/x` })), 5);
  assert.equal(await failureCode(frontClient.listTasks({ parent: nowhere })), 5);
  assert.equal(
    await failureCode(frontClient.createTask({ parent: frontQueue, task: { name: `${throttledQueue}/tasks/x`, httpRequest: { url: `${RUN_URL}/tasks/x` } } })),
    3,
  );
});

test("retry backoff follows queue.proto's example: doublings, then linear, then the maximum", () => {
  const retry = { minBackoffMs: 10_000, maxBackoffMs: 300_000, maxDoublings: 3 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map((k) => retryBackoffMs(retry, k) / 1000),
    [10, 20, 40, 80, 160, 240, 300, 300],
  );
});
