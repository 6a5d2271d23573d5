// The cloud-parity run (scripts/parity/stack.ts): the purchase journey and a hold's expiry
// through the wiring terraform/ describes — the rendered openapi.yaml, ID tokens whose audience
// Cloud Run checks, the real Cloud Tasks client, internal-only ingress — and the proof that the
// run fails when that wiring is wrong (a worker URL whose path is lost, a wrong audience).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../../scripts/stack.ts';
import { startParityStack, type ParityStack } from '../../scripts/parity/stack.ts';
import { setRole } from '../../scripts/admin.ts';
import { api, buyer, closeHelpers, database, eventually } from '../helpers.ts';

const ADMIN = 'admin@parity.local';
let stack: ParityStack;

before(async () => {
  stack = await startParityStack({
    gatewayPort: 27080,
    redisPort: 27390,
    postgresPort: 27440,
    keyPrefix: 'parity:',
    sweepEveryMs: 1000,
    logDir: path.join(ROOT, '.local/parity/logs'),
  });
  Object.assign(process.env, stack.env, { TEST_GATEWAY_URL: stack.gatewayUrl });
});

after(async () => {
  await closeHelpers();
  await stack?.stop();
});

async function signUpAndLogIn(email: string, grantAdmin = false): Promise<string> {
  const created = await api('POST', '/users', { body: { email, password: 'parity-password' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // An admin is made as an operator makes one (npm run admin -- grant), against this run's database.
  if (grantAdmin) await setRole(database(), email, 'admin');
  const login = await api<{ token: string }>('POST', '/users/authenticate', { body: { email, password: 'parity-password' } });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return login.body.token;
}

async function saleOf(admin: string, holdSeconds: number, stock = 5): Promise<string> {
  const product = await api<{ product_id: string }>('POST', '/products', { token: admin, body: { name: `parity ${holdSeconds}`, price_in_cent: 100 } });
  assert.equal(product.status, 201, JSON.stringify(product.body));
  const now = Date.now();
  const sale = await api('POST', '/sales', {
    token: admin,
    body: {
      product_id: product.body.product_id,
      starts_at: new Date(now - 1000).toISOString(),
      ends_at: new Date(now + 3_600_000).toISOString(),
      stock,
      hold_seconds: holdSeconds,
    },
  });
  assert.equal(sale.status, 201, JSON.stringify(sale.body));
  return product.body.product_id;
}

async function orderStatus(token: string, orderId: string): Promise<string> {
  const order = await api<{ status: string }>('GET', `/orders/${orderId}`, { token });
  return order.body.status;
}

let admin: string;
let productNow: string;

test('sign up, log in, buy and see it confirmed, all through the wiring terraform/ describes', async () => {
  admin = await signUpAndLogIn(ADMIN, true);
  productNow = await saleOf(admin, 0);
  const buyer = await signUpAndLogIn('buyer@parity.local');
  const order = await api<{ order_id: string; status: string }>('POST', '/orders', { token: buyer, body: { product_id: productNow } });
  assert.equal(order.status, 202, JSON.stringify(order.body));
  await eventually('the order confirmed', async () => ((await orderStatus(buyer, order.body.order_id)) === 'confirmed' ? true : undefined), 20_000);
  // The stand-in records an attempt once the worker's answer is back, which may be a moment
  // after the commit the buyer already sees.
  const attemptsOf = () => stack.tasks.attempts().filter((a) => a.taskId === `persist-order-${order.body.order_id}`);
  const delivered = await eventually('the task answered by the worker', async () => (attemptsOf().some((a) => a.status === 200) ? attemptsOf() : undefined), 10_000).catch(() => attemptsOf());
  assert.ok(delivered.some((a) => a.status === 200), `the task reached the worker: ${JSON.stringify(delivered.map((a) => a.status))}`);
  assert.ok(delivered[0]?.url.startsWith(stack.deployment.functions['order-worker']?.url ?? '?'), 'at the worker URL terraform gives it');
});

test('buyers at once: their orders travel in persist-order tasks of several through the real client, each order confirmed once', async () => {
  const product = await saleOf(admin, 0, 40);
  const buyers = await Promise.all(Array.from({ length: 40 }, () => buyer()));
  const orders = await Promise.all(buyers.map((b) => api<{ order_id: string }>('POST', '/orders', { token: b.token, body: { product_id: product } })));
  assert.deepEqual([...new Set(orders.map((o) => o.status))], [202]);
  const ids = orders.map((o) => o.body.order_id);
  await eventually('every order confirmed', async () => {
    const { rows } = await database().query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE order_id = ANY($1) AND status = 'confirmed'`, [ids]);
    return Number(rows[0]?.n) === ids.length ? true : undefined;
  }, 30_000);
  const delivery = () => {
    const carried = new Map<string, number>();
    const tasks = new Set<string>();
    for (const a of stack.tasks.attempts()) {
      if (!a.url.endsWith('/tasks/persist-order') || a.status !== 200 || !a.request.body) continue;
      const body = JSON.parse(a.request.body.toString('utf8')) as { orders: { order_id: string }[] };
      assert.ok(a.request.body.length <= 100 * 1024);
      for (const o of body.orders) {
        if (!ids.includes(o.order_id)) continue;
        tasks.add(a.taskId);
        carried.set(o.order_id, (carried.get(o.order_id) ?? 0) + 1);
      }
    }
    return { carried, tasks };
  };
  // What the stand-in delivered: each order in a task that reached the worker, within Cloud Tasks' size.
  // Its record of an attempt comes with the worker's answer, a moment after the commit.
  await eventually('every task answered', async () => (delivery().carried.size === ids.length ? true : undefined), 10_000).catch(() => undefined);
  const { carried, tasks } = delivery();
  assert.deepEqual(ids.filter((id) => !carried.has(id)), [], 'every order was delivered in a task');
  assert.ok(tasks.size <= ids.length);
  const { rows } = await database().query<{ sold: number }>('SELECT sold FROM flash_sales WHERE product_id = $1', [product]);
  assert.equal(rows[0]?.sold, ids.length, 'sold moved once per order');
  console.log(`# ${ids.length} orders in ${tasks.size} persist-order tasks`);
});

test('a hold expires through a task scheduled for its end', async () => {
  const product = await saleOf(admin, 2);
  const buyer = await signUpAndLogIn('holder@parity.local');
  const order = await api<{ order_id: string }>('POST', '/orders', { token: buyer, body: { product_id: product } });
  assert.equal(order.status, 202);
  await eventually('the order reserved', async () => ((await orderStatus(buyer, order.body.order_id)) === 'reserved' ? true : undefined), 20_000);
  await eventually('the hold expired', async () => ((await orderStatus(buyer, order.body.order_id)) === 'expired' ? true : undefined), 30_000);
  const expiry = stack.tasks.attempts().find((a) => a.taskId === `expire-hold-${order.body.order_id}` && a.status === 200);
  assert.ok(expiry, 'the expire-hold task ran (not only the sweeper)');
});

test('the platform: only the JWKS is public, the worker and sweeper take internal traffic only, a preflight gets CORS', async () => {
  const fns = stack.deployment.functions;
  assert.equal((await stack.platform.admit(`${fns.jwks?.url}/.well-known/jwks.json`, undefined, { internal: false })).ok, true);
  for (const name of ['users', 'sales', 'orders']) {
    const answer = await stack.platform.admit(`${fns[name]?.url}/health`, undefined, { internal: false });
    assert.equal(answer.ok ? 200 : answer.status, 403, `${name} refuses an anonymous caller`);
  }
  for (const name of ['order-worker', 'sweeper']) {
    const answer = await stack.platform.admit(`${fns[name]?.url}/health`, undefined, { internal: false });
    assert.equal(answer.ok ? 200 : answer.status, 404, `${name} is internal only`);
  }
  const preflight = await fetch(`${stack.gatewayUrl}/orders`, {
    method: 'OPTIONS',
    headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:5173');
});

async function buyWhileOrdersRunsWith(overrides: Record<string, string>, email: string) {
  await stack.restartFunction('orders', overrides);
  const buyer = await signUpAndLogIn(email);
  const order = await api<{ order_id: string }>('POST', '/orders', { token: buyer, body: { product_id: productNow } });
  assert.equal(order.status, 202, JSON.stringify(order.body));
  const orderId = order.body.order_id;
  const attempts = () => stack.tasks.attempts().filter((a) => a.taskId === `persist-order-${orderId}`);
  return { buyer, orderId, attempts };
}

test('the run fails when the worker URL loses its path or the audience is not the worker URL', async (t) => {
  const worker = stack.deployment.functions['order-worker'];
  assert.ok(worker);
  // A function's cloudfunctions.net address has a path, /<service name>: the platform routes by it.
  const pathUrl = `https://europe-west1-parity-project.cloudfunctions.net/${worker.service}`;
  t.after(() => stack.restartFunction('orders'));

  await t.test('with the path kept and the run.app URL as the audience, the task is delivered', async () => {
    const { buyer, orderId } = await buyWhileOrdersRunsWith({ WORKER_URL: pathUrl, WORKER_AUDIENCE: worker.url }, 'path-kept@parity.local');
    await eventually('the order confirmed', async () => ((await orderStatus(buyer, orderId)) === 'confirmed' ? true : undefined), 20_000);
  });

  await t.test('a cloudfunctions.net URL as the audience is refused (401) and the order stays pending', async () => {
    const { buyer, orderId, attempts } = await buyWhileOrdersRunsWith({ WORKER_URL: pathUrl }, 'bad-audience@parity.local');
    await eventually('two refused deliveries', async () => (attempts().length >= 2 ? true : undefined), 20_000);
    assert.deepEqual([...new Set(attempts().map((a) => a.status))], [401]);
    assert.equal(await orderStatus(buyer, orderId), 'pending');
  });

  await t.test('the bare origin as the audience is refused (401)', async () => {
    const { attempts } = await buyWhileOrdersRunsWith({ WORKER_URL: pathUrl, WORKER_AUDIENCE: new URL(pathUrl).origin }, 'origin-audience@parity.local');
    await eventually('two refused deliveries', async () => (attempts().length >= 2 ? true : undefined), 20_000);
    assert.deepEqual([...new Set(attempts().map((a) => a.status))], [401]);
  });

  await t.test('a worker URL whose path is dropped reaches no function (404)', async () => {
    const { attempts } = await buyWhileOrdersRunsWith({ WORKER_URL: new URL(pathUrl).origin, WORKER_AUDIENCE: worker.url }, 'path-dropped@parity.local');
    await eventually('two refused deliveries', async () => (attempts().length >= 2 ? true : undefined), 20_000);
    assert.deepEqual([...new Set(attempts().map((a) => a.status))], [404]);
  });
});
