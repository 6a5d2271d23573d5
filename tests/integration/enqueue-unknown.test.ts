// POST /orders when the queue's answer is lost (design.md §4): the task was made, the reply
// never came. The buyer is told 202 and the order ends confirmed, with the unit counted once;
// only a queue that refused for certain gets "503, nothing was taken". Real failures on real
// connections, through both adapters: an orders function of its own, its queue reached through
// a proxy that resets the connection after the queue did the work (tests/fault-proxy.ts) —
// BullMQ on the stack's queue Redis, or the real Cloud Tasks client against the cloud-parity
// stand-in (scripts/parity/cloud-tasks.ts), which pushes to the stack's worker.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { after, test } from 'node:test';
import { FUNCTION_HOST, healthy, spawnFunction } from '../../scripts/stack.ts';
import { startCloudTasksStandin, type CloudTasksStandin } from '../../scripts/parity/cloud-tasks.ts';
import { startFaultProxy, type FaultProxy } from '../fault-proxy.ts';
import { api, buyer, closeHelpers, createSale, database, eventually, functionUrl, type OrderBody, type SaleBody } from '../helpers.ts';

const children: ChildProcess[] = [];
const proxies: FaultProxy[] = [];
let standin: CloudTasksStandin | undefined;

after(async () => {
  for (const child of children) child.kill('SIGTERM');
  for (const proxy of proxies) await proxy.close();
  await standin?.close();
  await closeHelpers();
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, FUNCTION_HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An orders function of this test's own, with the stack's settings but for `env`. */
async function ordersFunction(env: Record<string, string>): Promise<string> {
  const port = await freePort();
  children.push(spawnFunction('orders', port, env));
  const url = `http://${FUNCTION_HOST}:${port}`;
  await eventually('the orders function answers', async () => ((await healthy(url)) ? true : undefined), 30_000);
  return url;
}

/** POST /orders straight to a function, with the claims header the gateway sends. */
async function order(base: string, userId: string, sale: SaleBody) {
  const claims = Buffer.from(JSON.stringify({ sub: userId, role: 'user' })).toString('base64url');
  return api<OrderBody & { error?: string }>('POST', '/orders', {
    base,
    headers: { 'x-apigateway-api-userinfo': claims },
    body: { product_id: sale.product.product_id },
  });
}

async function proxyTo(url: string): Promise<FaultProxy> {
  const target = new URL(url.includes('://') ? url : `tcp://${url}`);
  const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  proxies.push(proxy);
  return proxy;
}

/** What the buyer was told must be what happened: the task exists, so 202, confirmed once. */
async function assertToldTheTruth(sale: SaleBody, userId: string, answer: Awaited<ReturnType<typeof order>>) {
  assert.equal(answer.status, 202, `the task exists, so the order will be written: ${JSON.stringify(answer.body)}`);
  await eventually('the order confirmed', async () => {
    const { rows } = await database().query<{ status: string }>('SELECT status FROM orders WHERE order_id = $1', [answer.body.order_id]);
    return rows[0]?.status === 'confirmed' ? true : undefined;
  });
  const { rows } = await database().query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE user_id = $1 AND status = 'confirmed'`, [userId]);
  assert.equal(Number(rows[0]?.n), 1);
  await eventually(
    'Redis counts the unit once',
    async () => ((await api<SaleBody>('GET', `/sales/${sale.sale_id}`)).body.stock_remaining === sale.stock_total - 1 ? true : undefined),
    5000,
  );
}

/** A 503 leaves the units left as they were, and the buyer owns nothing. */
async function assertNothingTaken(sale: SaleBody, userId: string, attempt: () => ReturnType<typeof order>) {
  const left = () => api<SaleBody>('GET', `/sales/${sale.sale_id}`).then((a) => a.body.stock_remaining);
  const before = await left();
  const answer = await attempt();
  assert.deepEqual([answer.status, answer.body.error], [503, 'unavailable'], JSON.stringify(answer.body));
  await eventually('the unit is back', async () => ((await left()) === before ? true : undefined), 5000);
  const { rows } = await database().query('SELECT 1 FROM orders WHERE user_id = $1', [userId]);
  assert.equal(rows.length, 0);
}

/** Buyers at once, whose orders share tasks (task-queue-group.ts): each is refused, each unit given back. */
async function assertCrowdRefused(base: string) {
  const sale = await createSale({ stock: 3 });
  const crowd = await Promise.all([buyer(), buyer(), buyer()]);
  const left = () => api<SaleBody>('GET', `/sales/${sale.sale_id}`).then((a) => a.body.stock_remaining);
  const before = await left();
  const answers = await Promise.all(crowd.map((b) => order(base, b.userId, sale)));
  assert.deepEqual(answers.map((a) => [a.status, a.body.error]), Array(3).fill([503, 'unavailable']));
  await eventually('every unit is back', async () => ((await left()) === before ? true : undefined), 5000);
}

test('BullMQ: the queue Redis made the job and the connection broke before the answer: 202, and the order is confirmed once', { timeout: 120_000 }, async () => {
  const proxy = await proxyTo(process.env.QUEUE_REDIS_URL ?? '');
  const base = await ordersFunction({ QUEUE_REDIS_URL: `redis://127.0.0.1:${proxy.port}` });

  // The job is added, the answer lost with the connection, and the queue Redis out of reach
  // for a moment (the client's reconnections are refused and it gives the command up).
  const sale = await createSale({ stock: 3 });
  proxy.cutAnswerWith('persist-order-', { refuseMs: 2000 });
  const { userId } = await buyer();
  const answer = await order(base, userId, sale);
  assert.equal(proxy.cuts(), 1, 'the answer was cut');
  await assertToldTheTruth(sale, userId, answer);

  // Unreachable: nothing was sent, so nothing was taken.
  const refused = await buyer();
  await proxy.down();
  await assertNothingTaken(sale, refused.userId, () => order(base, refused.userId, sale));
  await assertCrowdRefused(base);
  await proxy.up();
});

test('Cloud Tasks: the task was created and the call cut off before its answer: 202, and the order is confirmed once', { timeout: 120_000 }, async () => {
  const queue = 'projects/parity/locations/europe-west1/queues/orders';
  standin = await startCloudTasksStandin({
    queues: [{ name: queue, retry: { minBackoffMs: 100, maxBackoffMs: 1000 } }],
    mintIdToken: (email, audience) => `id-token:${email}:${audience}`,
  });
  const proxy = await proxyTo(`${standin.endpoint.host}:${standin.endpoint.port}`);
  const base = await ordersFunction({
    TASK_QUEUE: 'cloud-tasks',
    TASKS_PROJECT: 'parity',
    TASKS_LOCATION: 'europe-west1',
    TASKS_QUEUE: 'orders',
    TASKS_SERVICE_ACCOUNT: 'tasks-invoker@parity.iam.gserviceaccount.com',
    TASKS_API_ENDPOINT: `127.0.0.1:${proxy.port}`,
    WORKER_URL: `${functionUrl('order-worker')}/`,
  });

  const sale = await createSale({ stock: 3 });
  proxy.cutAnswerWith('persist-order-');
  const { userId } = await buyer();
  const answer = await order(base, userId, sale);
  assert.equal(proxy.cuts(), 1, 'the answer was cut');
  await assertToldTheTruth(sale, userId, answer);
  const created = standin.attempts().filter((a) => a.taskId === `persist-order-${answer.body.order_id}`);
  assert.equal(created.length, 1, 'one task, delivered once');

  // Both tries cut off before Cloud Tasks saw them: still unknown to the function, so 202 and
  // the pending record left to the sweeper, which queues the order again (the stack's queue).
  proxy.cutRequestWith('persist-order-', { times: 2 });
  const late = await buyer();
  const unknown = await order(base, late.userId, sale);
  proxy.heal();
  assert.equal(unknown.status, 202, JSON.stringify(unknown.body));
  assert.equal(standin.attempts().filter((a) => a.taskId === `persist-order-${unknown.body.order_id}`).length, 0, 'no task was made');
  await eventually(
    'the sweeper has the order written',
    async () => {
      const { rows } = await database().query<{ status: string }>('SELECT status FROM orders WHERE order_id = $1', [unknown.body.order_id]);
      return rows[0]?.status === 'confirmed' ? true : undefined;
    },
    90_000,
  );

  // The API unreachable: the call never left (grpc-js had no connection), nothing was taken.
  const refused = await buyer();
  await proxy.down();
  await assertNothingTaken(sale, refused.userId, () => order(base, refused.userId, sale));
  await assertCrowdRefused(base);
  await proxy.up();
});
