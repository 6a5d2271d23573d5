// The fault suite: a sale under a burst of 1,000 distinct buyers while something breaks —
// Redis flushed or killed, the worker or PostgreSQL stopped, tasks delivered twice, the
// order function dying between take and enqueue, clients vanishing, one buyer clicking 20
// times — and the checker finding no violation of docs/design.md §5 once the fault has healed.
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { ROOT, startStack, type Stack } from '../../scripts/stack.ts';
import { closeHelpers, createSale, database, mintToken, seedUsers } from '../helpers.ts';
import { checkWhenQuiet, History, type Attempt } from '../../functions/src/checker/invariants.ts';

const BUYERS = 1000;
const STOCK = 300;
const KEY_PREFIX = 'faults:';

let stack: Stack;
let redis: Redis;

before(async () => {
  stack = await startStack({
    name: 'faults',
    gatewayPort: 28080,
    redisPort: 26390,
    postgresPort: 25440,
    database: 'flashsale_faults',
    keyPrefix: KEY_PREFIX,
    admin: { email: 'admin@test.local' },
    fresh: true,
    logDir: path.join(ROOT, '.local/faults/logs'),
    sweepEveryMs: 1000,
    extraEnv: { PENDING_REDRIVE_AFTER_MS: '3000', PENDING_GIVE_UP_AFTER_MS: '45000', ORDER_RATE_USER_BURST: '50', LOG_LEVEL: 'warn' },
  });
  // The shared helpers talk to whichever stack these name: this suite's own.
  Object.assign(process.env, stack.env, {
    TEST_GATEWAY_URL: stack.gatewayUrl,
    TEST_FUNCTION_URLS: JSON.stringify(stack.functionUrls),
    TEST_ADMIN_EMAIL: stack.admin?.email,
    TEST_ADMIN_PASSWORD: stack.admin?.password,
  });
  redis = new Redis(stack.env.REDIS_URL ?? '', { keyPrefix: KEY_PREFIX, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
});

after(async () => {
  redis?.disconnect();
  await closeHelpers();
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Buyer {
  userId: string;
  token: string;
}

async function buyers(count: number): Promise<Buyer[]> {
  const ids = await seedUsers(count);
  return Promise.all(ids.map(async (userId) => ({ userId, token: await mintToken(userId, 'user', 3600) })));
}

/** One POST /orders, classified as the checker wants it; never throws. */
async function attempt(buyer: Buyer, productId: string, idempotencyKey?: string): Promise<Attempt> {
  const base = { userId: buyer.userId, idempotencyKey };
  try {
    const headers: Record<string, string> = { authorization: `Bearer ${buyer.token}`, 'content-type': 'application/json' };
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    const answer = await fetch(`${stack.gatewayUrl}/orders`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ product_id: productId }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await answer.json().catch(() => ({}))) as { order_id?: string; error?: string };
    if (answer.status === 202) return { ...base, outcome: 'ok', status: 202, orderId: body.order_id };
    if (answer.status >= 500) return { ...base, outcome: 'info', status: answer.status, error: body.error };
    return { ...base, outcome: 'fail', status: answer.status, error: body.error };
  } catch {
    return { ...base, outcome: 'info' };
  }
}

/** Sends the request and hangs up at once: the client never learns the answer. */
async function dropAfterSending(buyer: Buyer, productId: string): Promise<Attempt> {
  const url = new URL(`${stack.gatewayUrl}/orders`);
  await new Promise<void>((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, path: '/orders', method: 'POST', headers: {
      authorization: `Bearer ${buyer.token}`,
      'content-type': 'application/json',
    } });
    req.on('error', () => resolve());
    req.end(JSON.stringify({ product_id: productId }), () => {
      req.destroy();
      resolve();
    });
  });
  return { userId: buyer.userId, outcome: 'info' };
}

interface BurstOptions {
  productId: string;
  crowd: Buyer[];
  history: History;
  /** After this many attempts, start the fault (it runs alongside the rest of the burst). */
  faultAfter?: number;
  fault?: () => Promise<void>;
  /** Every n-th buyer hangs up right after sending. */
  dropEvery?: number;
  /** Extra work started in the middle of the burst. */
  middle?: () => Promise<void>;
}

/**
 * The crowd, 20 at a time, each buyer with its own Idempotency-Key, retrying an unknown
 * outcome (as a real client would) until it hears ok or fail or 40 s have passed.
 */
async function burst(options: BurstOptions): Promise<void> {
  const queue = [...options.crowd.entries()];
  const deadline = Date.now() + 40_000;
  let attempts = 0;
  const side: Promise<void>[] = [];
  const onAttempt = () => {
    attempts++;
    if (attempts === options.faultAfter && options.fault) side.push(options.fault());
    if (attempts === Math.floor(options.crowd.length / 2) && options.middle) side.push(options.middle());
  };
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [i, buyer] = next;
        if (options.dropEvery && i % options.dropEvery === 0) {
          options.history.record(await dropAfterSending(buyer, options.productId));
          onAttempt();
          continue;
        }
        const key = `buy-${randomUUID()}`;
        for (;;) {
          const a = await attempt(buyer, options.productId, key);
          options.history.record(a);
          onAttempt();
          if (a.outcome !== 'info' || Date.now() > deadline) break;
          await sleep(200);
        }
        await sleep(50);
      }
    }),
  );
  await Promise.all(side);
}

/**
 * `ordersMayFail`: only where docs/design.md §6 lets accepted orders end `failed` (Redis lost its
 * keys mid-sale: units taken again are refused by PostgreSQL). Everywhere else nothing is lost:
 * every unit is sold and no order fails, which the invariants alone would not catch (an order
 * that failed for good makes "no undersell" vacuous).
 */
async function runCase(
  t: { diagnostic(message: string): void },
  options: Omit<BurstOptions, 'productId' | 'crowd' | 'history'> & { ordersMayFail?: boolean },
) {
  const sale = await createSale({ stock: STOCK });
  const crowd = await buyers(BUYERS);
  const history = new History();
  await burst({ ...options, productId: sale.product.product_id, crowd, history });
  const { violations, facts } = await checkWhenQuiet(database(), redis, sale.sale_id, history, 60_000);
  t.diagnostic(`${history.summary()}; PostgreSQL: ${facts.live} live of ${facts.stock}, ${facts.failed} failed; Redis left ${facts.redisLeft}`);
  t.diagnostic(`violations: ${JSON.stringify(violations)}`);
  assert.ok(history.count('ok') > 0, 'some buyers got a unit');
  assert.deepEqual(
    Object.entries(violations).filter(([, n]) => n > 0),
    [],
    'no invariant of docs/design.md §5 is violated',
  );
  assert.equal(facts.live, facts.stock, 'every unit sold: a thousand buyers for the stock');
  if (!options.ordersMayFail) assert.equal(facts.failed, 0, 'nothing lost: no accepted order failed');
}

test('1. Redis FLUSHALL in the middle of the burst', { timeout: 180_000 }, async (t) => {
  await runCase(t, { faultAfter: 150, fault: async () => void (await redis.flushall()), ordersMayFail: true });
});

test('2. Redis killed and restarted empty in the middle of the burst', { timeout: 180_000 }, async (t) => {
  await runCase(t, {
    ordersMayFail: true,
    faultAfter: 150,
    fault: async () => {
      await stack.control.redis.kill();
      await sleep(1500);
      await stack.control.redis.restart();
    },
  });
});

test('3. the worker stopped for 10 s mid-burst, then started again', { timeout: 180_000 }, async (t) => {
  await runCase(t, {
    faultAfter: 100,
    fault: async () => {
      await stack.control.stopFunction('order-worker');
      await sleep(10_000);
      await stack.control.startFunction('order-worker');
    },
  });
});

test('4. PostgreSQL stopped for 10 s mid-burst, then started again', { timeout: 180_000 }, async (t) => {
  await runCase(t, {
    faultAfter: 100,
    fault: async () => {
      await stack.control.postgres.stop();
      await sleep(10_000);
      await stack.control.postgres.start();
    },
  });
});

test('5. every task delivered twice, some of them at once', { timeout: 180_000 }, async (t) => {
  await stack.control.restartDispatcher({ deliverTwice: true });
  try {
    await runCase(t, {});
  } finally {
    await stack.control.restartDispatcher({ deliverTwice: false });
  }
});

test('6. the order function killed between the take and the enqueue; the sweeper finishes those orders', { timeout: 180_000 }, async (t) => {
  await runCase(t, {
    faultAfter: 100,
    fault: async () => {
      await stack.control.startFunction('orders', { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${new URL('exit-after-take.mjs', import.meta.url).href}` }, { awaitHealthy: false });
      await sleep(3000); // it dies on its first take; the gateway answers 503 until it is back
      await stack.control.startFunction('orders');
    },
  });
});

test('7. clients that drop the connection after sending', { timeout: 180_000 }, async (t) => {
  await runCase(t, { dropEvery: 3 });
});

test('8. one buyer sending 20 requests at once, with and without one idempotency key', { timeout: 180_000 }, async (t) => {
  const [withKey, withoutKey] = await buyers(2);
  assert.ok(withKey && withoutKey);
  const extra = new History();
  let productId = '';
  const sale = await createSale({ stock: STOCK });
  productId = sale.product.product_id;
  const crowd = await buyers(BUYERS);
  const history = new History();
  await burst({
    productId,
    crowd,
    history,
    middle: async () => {
      const key = `same-${randomUUID()}`;
      const answers = await Promise.all([
        ...Array.from({ length: 20 }, () => attempt(withKey, productId, key)),
        ...Array.from({ length: 20 }, () => attempt(withoutKey, productId)),
      ]);
      for (const a of answers) extra.record(a);
    },
  });
  for (const a of extra.attempts) history.record(a);
  const keyed = extra.attempts.filter((a) => a.userId === withKey.userId);
  const unkeyed = extra.attempts.filter((a) => a.userId === withoutKey.userId);
  assert.equal(new Set(keyed.map((a) => `${a.status} ${a.orderId ?? a.error}`)).size, 1, 'one key, one answer');
  assert.ok(unkeyed.filter((a) => a.outcome === 'ok').length <= 1, 'without a key, still at most one unit');
  const { violations, facts } = await checkWhenQuiet(database(), redis, sale.sale_id, history, 60_000);
  t.diagnostic(`${history.summary()}; ${facts.live} live of ${facts.stock}, ${facts.failed} failed`);
  assert.deepEqual(Object.entries(violations).filter(([, n]) => n > 0), []);
  assert.equal(facts.live, facts.stock, 'every unit sold');
  assert.equal(facts.failed, 0, 'nothing lost: no accepted order failed');
});
