// The fault suite: a sale under a burst of distinct buyers while something breaks — Redis
// flushed or killed, the worker or PostgreSQL stopped or hung, tasks delivered twice, the order
// function dying between take and enqueue, the queue down or answering after the write, Redis
// failing after a commit, holds ended under faults, the stock changed, two order instances, a
// sale past its key expiry, a waiting room's Redis flushed — and the checker finding no violation of docs/design.md §5 once the
// fault has healed. Each case proves a row of README's "Guarantees".
//
// The sweeper is held off for the whole suite: each case is checked before any sweep could
// repair what it broke (a double or lost release would otherwise be hidden). Where the
// guarantee itself leans on the sweeper (a crash after the take, a Redis loss), the case calls
// it and counts its drift repairs, which only a Redis loss may need. Then two passes of the
// sweeper run and the final state is checked again. Last, `npm run check` on sales broken on
// purpose, one per invariant.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { ROOT, startStack, type Stack } from '../../scripts/stack.ts';
import { admin, api, closeHelpers, createSale, database, eventually, mintToken, seedUsers, type Answer, type OrderBody, type SaleBody } from '../helpers.ts';
import { check, checkWhenQuiet, History, type Attempt, type CheckOptions, type SaleFacts, type Violations } from '../../functions/src/checker/invariants.ts';
import { loadScripts, saleKeys, SALE_INDEX_KEY } from '../../functions/src/lib/redis.ts';
import type { FunctionName } from '../../scripts/stack.ts';
import type { QueueLog, QueueTicket } from '@flash-sale/contract';
import { checkAdmissionLog, noAdmissionViolations, type OrderSpan } from '../../functions/src/checker/admission-log.ts';

const BUYERS = 1000;
const STOCK = 300;
/** The newer cases' sale: smaller, so that the suite stays a few minutes long. */
const SMALL = { stock: 150, buyers: 400 } as const;
const KEY_PREFIX = 'faults:';
/** The port of the second orders instance (case 14): the one after the stack's own. */
const SECOND_ORDERS_PORT = 28087;
const QUEUE_FAULT_FILE = path.join(ROOT, '.local/faults/queue-fault');

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
  // Held off until each case has been checked: see the head of this file.
  await stack.control.sweeper.pause();
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
  /** An orders instance called directly (with the gateway's claims header) instead of the gateway. */
  via?: string;
}

async function buyers(count: number): Promise<Buyer[]> {
  const ids = await seedUsers(count);
  return Promise.all(ids.map(async (userId) => ({ userId, token: await mintToken(userId, 'user', 3600) })));
}

/** One POST /orders, classified as the checker wants it; never throws. */
async function attempt(buyer: Buyer, productId: string, idempotencyKey?: string): Promise<Attempt> {
  const base = { userId: buyer.userId, idempotencyKey };
  try {
    const headers: Record<string, string> = buyer.via
      ? { 'x-apigateway-api-userinfo': Buffer.from(JSON.stringify({ sub: buyer.userId, role: 'user' })).toString('base64url') }
      : { authorization: `Bearer ${buyer.token}` };
    headers['content-type'] = 'application/json';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    const answer = await fetch(`${buyer.via ?? stack.gatewayUrl}/orders`, {
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
  /** What a buyer does after its last attempt (a hold's checkout, cancel or wait). */
  then?: (buyer: Buyer, index: number, last: Attempt) => Promise<void>;
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
          if (a.outcome !== 'info' || Date.now() > deadline) {
            await options.then?.(buyer, i, a);
            break;
          }
          await sleep(200);
        }
        await sleep(50);
      }
    }),
  );
  await Promise.all(side);
}

interface VerifyOptions extends CheckOptions {
  /** The guarantee leans on the sweeper (a crash after the take, a Redis update lost): call it while waiting. */
  sweeper?: boolean;
  /** Redis lost the sale's keys mid-sale: docs/design.md §6 lets the sweeper repair the counts once quiet. */
  repairAllowed?: boolean;
}

const clean = (violations: Violations) => Object.entries(violations).filter(([, n]) => n > 0);

/**
 * Waits for the sale to be quiet with the sweeper held off (or, where the case needs it,
 * called here with its drift repairs counted), checks, then lets the sweeper run two passes
 * and checks the final state.
 */
async function verify(t: { diagnostic(message: string): void }, saleId: string, history: History, options: VerifyOptions = {}): Promise<SaleFacts> {
  let repaired = 0;
  const sweepOnce = async () => {
    const report = await stack.control.sweeper.sweepOnce();
    repaired += report.repaired ?? 0;
  };
  const first = await checkWhenQuiet(database(), redis, saleId, history, 60_000, { ...options, between: options.sweeper ? sweepOnce : undefined });
  t.diagnostic(`${history.summary()}; PostgreSQL: ${first.facts.live} live of ${first.facts.stock}, ${first.facts.failed} failed; Redis left ${first.facts.redisLeft}`);
  t.diagnostic(`before the sweeper: violations ${JSON.stringify(Object.fromEntries(clean(first.violations)))}; drift repaired ${repaired}`);
  assert.deepEqual(clean(first.violations), [], 'no invariant of docs/design.md §5 is violated, checked before the sweeper could repair it');
  if (!options.repairAllowed) assert.equal(repaired, 0, 'no drift between Redis and PostgreSQL needed the sweeper');
  await sweepOnce();
  await sweepOnce();
  const final = await check(database(), redis, saleId, history, options);
  t.diagnostic(`after two sweeps: violations ${JSON.stringify(Object.fromEntries(clean(final.violations)))}; drift repaired ${repaired}`);
  assert.deepEqual(clean(final.violations), [], 'and none after the sweeper ran');
  if (!options.repairAllowed) assert.equal(repaired, 0, 'the sweeper found no drift to repair');
  return final.facts;
}

/**
 * `ordersMayFail`: only where docs/design.md §6 lets accepted orders end `failed` (Redis lost its
 * keys mid-sale: units taken again are refused by PostgreSQL). Everywhere else nothing is lost:
 * every unit is sold and no order fails, which the invariants alone would not catch (an order
 * that failed for good makes "no undersell" vacuous).
 */
async function runCase(
  t: { diagnostic(message: string): void },
  options: Omit<BurstOptions, 'productId' | 'crowd' | 'history'> & VerifyOptions & { ordersMayFail?: boolean; buyers?: number; stock?: number; sale?: SaleBody; crowd?: Buyer[] },
): Promise<{ facts: SaleFacts; saleId: string; history: History }> {
  const sale = options.sale ?? (await createSale({ stock: options.stock ?? STOCK }));
  const crowd = options.crowd ?? (await buyers(options.buyers ?? BUYERS));
  const history = new History();
  await burst({ ...options, productId: sale.product.product_id, crowd, history });
  const facts = await verify(t, sale.sale_id, history, options);
  assert.ok(history.count('ok') > 0, 'some buyers got a unit');
  assert.equal(facts.live, facts.stock, 'every unit sold: more buyers than stock');
  if (!options.ordersMayFail) assert.equal(facts.failed, 0, 'nothing lost: no accepted order failed');
  return { facts, saleId: sale.sale_id, history };
}

/** The Redis loss cases: design.md §6's allowances, and nothing more. */
const REDIS_LOST = { ordersMayFail: true, sweeper: true, repairAllowed: true, answersMayBeForgotten: true } as const;

const preload = (file: string) => `${process.env.NODE_OPTIONS ?? ''} --import ${new URL(file, import.meta.url).href}`;

/** Runs `work` with `names` restarted under `env` (a fault preloaded), then restarts them clean. */
async function withFunctions<T>(names: FunctionName[], env: Record<string, string>, work: () => Promise<T>): Promise<T> {
  for (const name of names) await stack.control.startFunction(name, env);
  try {
    return await work();
  } finally {
    for (const name of names) await stack.control.startFunction(name);
  }
}

/** A call retried while its outcome is unknown (5xx, dropped), as a client would; undefined if it never answered. */
async function untilAnswered<T>(call: () => Promise<Answer<T>>, timeoutMs = 40_000): Promise<Answer<T> | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await call().catch(() => undefined);
    if (answer && answer.status < 500) return answer;
    await sleep(200);
  }
  return undefined;
}

type HoldEnd = 'checkout' | 'cancel' | 'expire';
const HOLD_ENDS: HoldEnd[] = ['checkout', 'cancel', 'expire'];

/**
 * Holds ended by their buyers under a fault: each buyer who got a 202 waits for the hold, then
 * checks out, cancels or lets it expire (by turns); what each was told is kept, to be compared
 * with how its order ended.
 */
function holdEnder(told: Map<string, { end: HoldEnd; statuses: string[]; answer: string }>, endOf = (index: number) => HOLD_ENDS[index % HOLD_ENDS.length] as HoldEnd) {
  return async (buyer: Buyer, index: number, last: Attempt) => {
    if (last.outcome !== 'ok' || !last.orderId) return;
    const orderId = last.orderId;
    const end = endOf(index);
    let status = 'pending';
    const deadline = Date.now() + 40_000;
    while (status === 'pending' && Date.now() < deadline) {
      const read = await api<OrderBody>('GET', `/orders/${orderId}`, { token: buyer.token }).catch(() => undefined);
      if (read?.status === 200) status = read.body.status;
      if (status === 'pending') await sleep(200);
    }
    if (status !== 'reserved') return; // failed (a Redis loss) or already ended: nothing to do
    if (end === 'expire') return void told.set(orderId, { end, statuses: ['expired'], answer: 'none' });
    const answer =
      end === 'checkout'
        ? await untilAnswered(() => api<OrderBody>('POST', `/orders/${orderId}/checkout`, { token: buyer.token, body: {} }))
        : await untilAnswered(() => api<OrderBody>('DELETE', `/orders/${orderId}`, { token: buyer.token }));
    const code = answer ? `${answer.status} ${String((answer.body as { error?: string }).error ?? answer.body.status)}` : 'none';
    // 200: exactly what was asked. 409: the hold had run out (or a retry found the cancel done).
    const statuses =
      answer?.status === 200
        ? [end === 'checkout' ? 'confirmed' : 'cancelled']
        : answer?.status === 409
          ? end === 'checkout' ? ['expired'] : ['expired', 'cancelled']
          : ['confirmed', 'cancelled', 'expired'];
    told.set(orderId, { end, statuses, answer: code });
  };
}

/** Every hold ended as its buyer was told: a 200 checkout confirmed, a 200 cancel cancelled, an unattended hold expired. */
async function assertHoldsEndedAsTold(t: { diagnostic(message: string): void }, told: Map<string, { end: HoldEnd; statuses: string[]; answer: string }>) {
  const { rows } = await database().query<{ order_id: string; status: string }>('SELECT order_id, status FROM orders WHERE order_id = ANY($1::uuid[])', [[...told.keys()]]);
  const ended = new Map(rows.map((r) => [r.order_id, r.status]));
  const wrong = [...told.entries()].filter(([id, { statuses }]) => !statuses.includes(ended.get(id) ?? 'missing'));
  const byEnd = HOLD_ENDS.map((end) => `${end} ${[...told.values()].filter((v) => v.end === end).length}`).join(', ');
  t.diagnostic(`holds ended by their buyers: ${byEnd}`);
  assert.deepEqual(
    wrong.map(([id, v]) => `${id}: ${v.end} answered ${v.answer}, ended ${ended.get(id) ?? 'missing'}`),
    [],
    'every hold ended as its buyer was told',
  );
  assert.ok(told.size > 0, 'some holds were ended');
}

/** Waits until no hold of the sale is left: every checkout, cancel and expiry has happened. */
async function holdsEnded(saleId: string): Promise<void> {
  await eventually(
    'every hold ended',
    async () => {
      const { rows } = await database().query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'reserved'`, [saleId]);
      return Number(rows[0]?.n) === 0 ? true : undefined;
    },
    60_000,
  );
}

/** A sale with holds under a fault: buyers check out, cancel or let their holds expire. */
async function runHoldCase(t: { diagnostic(message: string): void }, options: Omit<BurstOptions, 'productId' | 'crowd' | 'history'> & VerifyOptions & { ordersMayFail?: boolean }) {
  const sale = await createSale({ stock: 60, holdSeconds: 3 });
  const crowd = await buyers(200);
  const history = new History();
  const told = new Map<string, { end: HoldEnd; statuses: string[]; answer: string }>();
  await burst({ ...options, productId: sale.product.product_id, crowd, history, then: holdEnder(told) });
  await holdsEnded(sale.sale_id);
  // Units cancelled or expired go back on sale while the crowd still buys: "every unit sold" is not promised.
  const facts = await verify(t, sale.sale_id, history, { ...options, undersell: false });
  await assertHoldsEndedAsTold(t, told);
  const confirmed = [...told.values()].filter((v) => v.end === 'checkout' && v.statuses.length === 1 && v.statuses[0] === 'confirmed').length;
  assert.ok(facts.confirmed >= confirmed, 'every 200 checkout is confirmed');
  if (!options.ordersMayFail) assert.equal(facts.failed, 0, 'nothing lost: no accepted order failed');
}

test('1. Redis FLUSHALL in the middle of the burst', { timeout: 180_000 }, async (t) => {
  await runCase(t, { ...REDIS_LOST, faultAfter: 150, fault: async () => void (await redis.flushall()) });
});

test('2. Redis killed and restarted empty in the middle of the burst', { timeout: 180_000 }, async (t) => {
  await runCase(t, {
    ...REDIS_LOST,
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
    sweeper: true, // the guarantee: the sweeper re-drives what the crash left pending
    faultAfter: 100,
    fault: async () => {
      await stack.control.startFunction('orders', { NODE_OPTIONS: preload('exit-after-take.mjs') }, { awaitHealthy: false });
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
  const sale = await createSale({ stock: STOCK });
  const productId = sale.product.product_id;
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
  const facts = await verify(t, sale.sale_id, history);
  assert.equal(facts.live, facts.stock, 'every unit sold');
  assert.equal(facts.failed, 0, 'nothing lost: no accepted order failed');
});

test('9. holds checked out, cancelled and expiring while Redis is flushed', { timeout: 180_000 }, async (t) => {
  await runHoldCase(t, { ...REDIS_LOST, faultAfter: 60, fault: async () => void (await redis.flushall()) });
});

test('10. holds checked out, cancelled and expiring while PostgreSQL restarts', { timeout: 180_000 }, async (t) => {
  await runHoldCase(t, {
    faultAfter: 60,
    fault: async () => {
      await stack.control.postgres.stop();
      await sleep(5000);
      await stack.control.postgres.start();
    },
  });
});

/** The queue fails as QUEUE_FAULT_FILE says for `ms` from the fault on (tests/faults/queue-fault.mjs). */
const queueFault = (mode: 'down' | 'unknown', ms: number) => async () => {
  writeFileSync(QUEUE_FAULT_FILE, mode);
  await sleep(ms);
  writeFileSync(QUEUE_FAULT_FILE, '');
};

test('11. the queue unavailable for 3 s mid-burst: 503, nothing taken', { timeout: 180_000 }, async (t) => {
  writeFileSync(QUEUE_FAULT_FILE, '');
  await withFunctions(['orders'], { NODE_OPTIONS: preload('queue-fault.mjs'), QUEUE_FAULT_FILE }, async () => {
    const { history } = await runCase(t, { ...SMALL, faultAfter: 100, fault: queueFault('down', 3000) });
    assert.ok(history.attempts.some((a) => a.status === 503 && a.error === 'unavailable'), 'buyers were told 503 while the queue was down');
  });
});

test('12. enqueues whose outcome is unknown (the task written, the answer lost) for 3 s mid-burst', { timeout: 180_000 }, async (t) => {
  writeFileSync(QUEUE_FAULT_FILE, '');
  await withFunctions(['orders'], { NODE_OPTIONS: preload('queue-fault.mjs'), QUEUE_FAULT_FILE }, async () => {
    // The sweeper may be how an unknown outcome is resolved; a drift repair may not.
    await runCase(t, { ...SMALL, sweeper: true, faultAfter: 100, fault: queueFault('unknown', 3000) });
  });
});

test('13. Redis failing between the PostgreSQL commit and the Redis update: the worker, cancel and expiry', { timeout: 180_000 }, async (t) => {
  const sale = await createSale({ stock: 60, holdSeconds: 2 });
  const productId = sale.product.product_id;
  const crowd = await buyers(40);
  const history = new History();
  const told = new Map<string, { end: HoldEnd; statuses: string[]; answer: string }>();
  const rebuys: Attempt[] = [];
  await withFunctions(['orders', 'order-worker'], { NODE_OPTIONS: preload('fail-settle.mjs'), FAIL_SETTLE_EVERY: '2' }, async () => {
    // Cancel or let expire (no checkout): each ended hold's unit must go back, and its buyer may buy again.
    const endHold = holdEnder(told, (index) => (index % 2 === 0 ? 'cancel' : 'expire'));
    await burst({
      productId,
      crowd,
      history,
      then: async (buyer, index, last) => {
        await endHold(buyer, index, last);
        const ended = last.orderId ? told.get(last.orderId) : undefined;
        if (!ended) return;
        if (ended.end === 'expire') await sleep(2500);
        // The buyer buys again: the unit went back on sale, and Redis must no longer hold the buyer.
        // Each try is a new attempt with a key of its own: a key replays its first answer, so
        // retrying a refusal under one key would only ever hear that refusal again.
        for (let tries = 0; ; tries++) {
          const again = await attempt(buyer, productId, `again-${randomUUID()}`);
          history.record(again);
          const refusedForNothing = again.error === 'already_purchased';
          if ((again.outcome !== 'info' && !refusedForNothing) || tries >= 50) {
            rebuys.push(again);
            break;
          }
          await sleep(200);
        }
      },
    });
    await holdsEnded(sale.sale_id);
  });
  // The sweeper may reconcile a lost Redis update (settle again); it may not repair a drift.
  const facts = await verify(t, sale.sale_id, history, { sweeper: true, undersell: false });
  await assertHoldsEndedAsTold(t, told);
  assert.deepEqual(
    rebuys.filter((a) => a.outcome !== 'ok').map((a) => `${a.status} ${a.error}`),
    [],
    'every buyer whose hold was cancelled or expired could buy again (never already_purchased for nothing)',
  );
  assert.equal(facts.failed, 0, 'nothing lost: no accepted order failed');
});

test('14. the order function and the worker hung (SIGSTOP) for 4 s mid-burst, not killed', { timeout: 180_000 }, async (t) => {
  const hung: FunctionName[] = ['orders', 'order-worker'];
  try {
    await runCase(t, {
      ...SMALL,
      faultAfter: 100,
      fault: async () => {
        for (const name of hung) stack.control.signalFunction(name, 'SIGSTOP');
        await sleep(4000);
        for (const name of hung) stack.control.signalFunction(name, 'SIGCONT');
      },
    });
  } finally {
    for (const name of hung) stack.control.signalFunction(name, 'SIGCONT');
  }
});

test('15. an admin raising the stock mid-burst, then trying to lower it below what is sold', { timeout: 180_000 }, async (t) => {
  const token = await admin();
  const sale = await createSale({ stock: SMALL.stock });
  const saleId = sale.sale_id;
  const changes: string[] = [];
  const { facts } = await runCase(t, {
    sale,
    buyers: SMALL.buyers,
    faultAfter: 100,
    fault: async () => {
      const raised = await api('POST', '/sales/update', { token, body: { sale_id: saleId, stock: SMALL.stock + 60 } });
      changes.push(`raised: ${raised.status}`);
      assert.equal(raised.status, 200, JSON.stringify(raised.body));
    },
  });
  assert.equal(facts.stock, SMALL.stock + 60, 'the raised stock is the stock');
  const lowered = await api<{ error?: string }>('POST', '/sales/update', { token, body: { sale_id: saleId, stock: 10 } });
  assert.equal(lowered.status, 409, 'the stock cannot go below what is sold');
  assert.equal(lowered.body.error, 'stock_below_sold');
  const after = await check(database(), redis, saleId, new History());
  assert.deepEqual(clean(after.violations), [], 'a refused change changes nothing');
  assert.equal(after.facts.stock, SMALL.stock + 60);
  t.diagnostic(changes.join(', '));
});

test('16. two orders instances at once, half the crowd on each', { timeout: 180_000 }, async (t) => {
  const second = await stack.control.startInstance('orders', SECOND_ORDERS_PORT);
  try {
    const crowd = (await buyers(SMALL.buyers)).map((b, i) => (i % 2 === 1 ? { ...b, via: second.url } : b));
    const { history } = await runCase(t, { stock: SMALL.stock, crowd });
    const viaSecond = new Set(crowd.filter((b) => b.via).map((b) => b.userId));
    assert.ok(history.attempts.some((a) => a.outcome === 'ok' && viaSecond.has(a.userId)), 'the second instance sold units too');
  } finally {
    await second.stop();
  }
});

test('17. a sale past its key expiry: over, its orders readable, its keys not rebuilt', { timeout: 180_000 }, async (t) => {
  const sale = await createSale({ stock: 5 });
  const crowd = await buyers(3);
  const history = new History();
  await burst({ productId: sale.product.product_id, crowd, history });
  await verify(t, sale.sale_id, history);
  // A week and a day after its end, as if it had run then: PostgreSQL's window, the published
  // view's, and Redis's keys gone by their expiry (design.md §3: a week after the end).
  const endedMs = Date.now() - 8 * 24 * 3600_000;
  await database().query('UPDATE flash_sales SET starts_at = $2, ends_at = $3 WHERE sale_id = $1', [
    sale.sale_id,
    new Date(endedMs - 3600_000),
    new Date(endedMs),
  ]);
  const view = await redis.hget(SALE_INDEX_KEY, sale.sale_id);
  if (view) {
    const published = { ...(JSON.parse(view) as Record<string, unknown>), starts_at: new Date(endedMs - 3600_000).toISOString(), ends_at: new Date(endedMs).toISOString() };
    await redis.hset(SALE_INDEX_KEY, sale.sale_id, JSON.stringify(published));
  }
  const keys = saleKeys(sale.sale_id);
  await redis.del(keys.meta, keys.stock, keys.buyers, keys.orders);
  await sleep(1500); // every instance's copy of the sale list (SALES_CACHE_MS) is older now

  // Every command Redis runs from here on that rebuilds this sale (rebuild-4.lua, by its SHA).
  const rebuild = loadScripts().find((script) => script.name === 'rebuild');
  assert.ok(rebuild);
  const rebuildSha = createHash('sha1').update(rebuild.lua).digest('hex');
  const rebuilds: string[] = [];
  const monitor = await redis.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.some((a) => a.toLowerCase() === rebuildSha) && args.some((a) => a.includes(`{${sale.sale_id}}`))) rebuilds.push(args.join(' '));
  });
  t.after(() => monitor.disconnect());

  const [owner] = crowd;
  assert.ok(owner);
  const owned = history.attempts.find((a) => a.userId === owner.userId && a.outcome === 'ok');
  const answers = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      if (i % 3 === 0) return `GET /sales ${(await api('GET', '/sales')).status}`;
      if (i % 3 === 1) {
        const a = await attempt(crowd[i % crowd.length] as Buyer, sale.product.product_id);
        return `POST /orders ${a.status ?? 'none'} ${a.error ?? ''}`;
      }
      return `GET /orders/{id} ${(await api('GET', `/orders/${owned?.orderId ?? randomUUID()}`, { token: owner.token })).status}`;
    }),
  );
  const failed = answers.filter((a) => !/ [1-4]\d\d\b/.test(a));
  assert.deepEqual(failed, [], 'every read and purchase is answered, none with a 5xx');
  const purchase = await attempt((await buyers(1))[0] as Buyer, sale.product.product_id);
  assert.ok(purchase.outcome === 'fail' && ['sale_ended', 'not_found'].includes(purchase.error ?? ''), `a purchase is refused: ${purchase.status} ${purchase.error}`);
  if (owned?.orderId) {
    const order = await api<OrderBody>('GET', `/orders/${owned.orderId}`, { token: owner.token });
    assert.equal(order.body.status, 'confirmed', 'its orders still read from PostgreSQL');
  }
  const listed = await api<{ sales: { sale_id: string; status?: string }[] }>('GET', '/sales');
  assert.equal(listed.status, 200);
  await stack.control.sweeper.sweepOnce(); // the sweeper too
  await sleep(200);
  assert.equal(await redis.exists(keys.meta, keys.stock, keys.buyers, keys.orders), 0, "the ended sale's keys stay gone");
  assert.deepEqual(rebuilds.slice(0, 3), [], `no request or sweep rebuilt the ended sale's keys (${rebuilds.length} rebuilds)`);
});

test('18. Redis flushed while buyers wait in a sale\'s waiting room: everyone joins again, never more admitted than stock', { timeout: 180_000 }, async (t) => {
  const stock = 15;
  const sale = await createSale({ stock, waitingRoom: { mode: 'always', admit_per_second: 100, admission_seconds: 30 } });
  const crowd = await buyers(40);
  const history = new History();
  let rejoined = 0;
  const queuePath = `/sales/${sale.sale_id}/queue`;
  // Each buyer: poll where they stand, buy once admitted; a ticket Redis lost (404) joins again.
  const shop = async (who: Buyer) => {
    let answer = await api<QueueTicket>('GET', `${queuePath}/me`, { token: who.token });
    for (let i = 0; i < 200; i++) {
      if (answer.status === 404) {
        rejoined++;
        answer = await api<QueueTicket>('POST', queuePath, { token: who.token, body: {} });
      }
      const ticket = answer.status === 200 ? answer.body : undefined;
      if (ticket?.order || ticket?.state === 'ended') return;
      if (ticket?.state === 'admitted') {
        const a = await attempt(who, sale.product.product_id);
        history.record(a);
        if (a.outcome === 'ok' || a.error === 'already_purchased') return;
      }
      await sleep(100);
      answer = await api<QueueTicket>('GET', `${queuePath}/me`, { token: who.token });
    }
  };
  // Everyone joins; the first five places buy and their orders are written; the rest wait.
  const tickets = await Promise.all(crowd.map((who) => api<QueueTicket>('POST', queuePath, { token: who.token, body: {} })));
  assert.ok(tickets.every((a) => a.status === 200));
  const first = crowd.filter((_, i) => (tickets[i]?.body.place ?? 0) <= 5);
  await Promise.all(first.map(shop));
  await eventually('the first five orders written', async () => {
    const { rows } = await database().query("SELECT 1 FROM orders WHERE sale_id = $1 AND status = 'confirmed'", [sale.sale_id]);
    return rows.length === 5 ? true : undefined;
  });
  const waiting = await Promise.all(crowd.map((who) => api<QueueTicket>('GET', `${queuePath}/me`, { token: who.token })));
  assert.ok(waiting.some((a) => a.body.state === 'waiting'), 'buyers wait in the room');
  const flushedAt = Date.now();
  await redis.flushall();
  await Promise.all(crowd.map(shop));
  t.diagnostic(`${history.summary()}; ${rejoined} tickets joined again after the flush`);
  assert.ok(rejoined > 0, 'buyers waiting at the flush joined again');
  assert.equal(history.attempts.filter((a) => a.status !== undefined && a.status >= 500).length, 0, 'no 5xx');
  assert.ok(history.attempts.every((a) => a.error !== 'not_admitted'), 'buyers only ordered when admitted');
  const facts = await verify(t, sale.sale_id, history, REDIS_LOST);
  assert.equal(facts.live, stock, 'every unit sold: a buyer who already owns one gives up the admission they hold');

  // The sale ends; the log (the queue since the flush) and every order pass the admission checker.
  const endsAt = Date.now() + 200;
  const ended = await api('POST', '/sales/update', { token: await admin(), body: { sale_id: sale.sale_id, ends_at: new Date(endsAt).toISOString() } });
  assert.equal(ended.status, 200);
  await sleep(Math.max(0, endsAt - Date.now()) + 50);
  const log = await api<QueueLog>('GET', `${queuePath}/log`);
  assert.equal(log.status, 200, JSON.stringify(log.body));
  const { rows: orders } = await database().query<OrderSpan>(
    `SELECT floor(extract(epoch FROM created_at) * 1000)::float8 AS taken_ms,
            CASE WHEN status IN ('failed', 'expired', 'cancelled') THEN floor(extract(epoch FROM updated_at) * 1000)::float8 END AS released_ms
       FROM orders WHERE sale_id = $1`,
    [sale.sale_id],
  );
  // The five orders before the flush used admissions of the lost queue: `above` leaves them uncounted here.
  const violations = checkAdmissionLog(log.body, orders, { mode: 'above', stock, admissionSeconds: 30 });
  t.diagnostic(`log since the flush: ${log.body.entries.length} places, ${log.body.entries.filter((e) => e.admitted).length} admitted; ${JSON.stringify(violations)}`);
  assert.deepEqual(violations, noAdmissionViolations(), 'admissions in queue order, never more admitted and unserved than units left');
  const after = orders.filter((o) => o.taken_ms > flushedAt).length;
  assert.ok(after <= log.body.entries.filter((e) => e.served_at).length, 'every order after the flush used an admission of the new queue');
});

// ---- npm run check: the checker as an operator's command, on sales broken on purpose ----
// Here, with the sweeper held off, so that nothing repairs a break before the command sees it;
// each test undoes its break after, so that no later sweep finds a drift to repair.

/** `npm run check -- <args>` against this stack's PostgreSQL and Redis, as an operator runs it. */
async function runCheck(...args: string[]): Promise<{ code: number; output: string }> {
  const env = { ...process.env, DATABASE_URL: stack.env.DATABASE_URL, REDIS_URL: stack.env.REDIS_URL, REDIS_KEY_PREFIX: KEY_PREFIX };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/check.ts', ...args], { cwd: ROOT, env });
    const output: string[] = [];
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, output: output.join('') }));
  });
}

/** A sale of `stock` with `sold` units confirmed, quiet, and held by the checker. */
async function healthySale(t: { diagnostic(message: string): void }, stock: number, sold: number, holdSeconds?: number) {
  const sale = await createSale({ stock, holdSeconds });
  const crowd = await buyers(sold);
  const history = new History();
  await burst({ productId: sale.product.product_id, crowd, history });
  await verify(t, sale.sale_id, history, { holdGraceMs: 0, undersell: false });
  return { sale, crowd, history };
}

test('check: a healthy sale holds every invariant, exit 0', { timeout: 60_000 }, async (t) => {
  const { sale } = await healthySale(t, 5, 3);
  const { code, output } = await runCheck('--sale', sale.sale_id);
  t.diagnostic(output);
  assert.equal(code, 0, output);
  for (const invariant of ['1. no oversell', '2. one per user', '3. nothing lost', '4. conservation']) {
    assert.match(output, new RegExp(`✓ ${invariant.replace('.', '\\.')}: held`));
  }
});

test('check: oversold (a live order more than the stock, written to PostgreSQL)', { timeout: 60_000 }, async (t) => {
  const { sale } = await healthySale(t, 2, 2);
  const [extra] = await seedUsers(1);
  await database().query(
    `INSERT INTO orders (order_id, user_id, product_id, sale_id, status, created_at) VALUES (gen_random_uuid(), $1, $2, $3, 'confirmed', now())`,
    [extra, sale.product.product_id, sale.sale_id],
  );
  t.after(() => database().query('DELETE FROM orders WHERE user_id = $1', [extra]));
  const { code, output } = await runCheck('--sale', sale.sale_id);
  t.diagnostic(output);
  assert.equal(code, 1, output);
  assert.match(output, /✗ 1\. no oversell: violated \(oversold: 1 \(3 reserved or confirmed of 2\)/);
});

test('check: a user with two live orders of the sale', { timeout: 60_000 }, async (t) => {
  const { sale, crowd } = await healthySale(t, 3, 1);
  // PostgreSQL's unique index is on (user, product): the second order names another product,
  // as a bad migration or a hand-made fix could, and the checker looks at the sale's orders.
  const token = await admin();
  const other = await api<{ product_id: string }>('POST', '/products', { token, body: { name: 'other', price_in_cent: 1 } });
  await database().query(
    `INSERT INTO orders (order_id, user_id, product_id, sale_id, status, created_at) VALUES (gen_random_uuid(), $1, $2, $3, 'confirmed', now())`,
    [crowd[0]?.userId, other.body.product_id, sale.sale_id],
  );
  t.after(() => database().query('DELETE FROM orders WHERE product_id = $1', [other.body.product_id]));
  const { code, output } = await runCheck('--sale', sale.sale_id);
  t.diagnostic(output);
  assert.equal(code, 1, output);
  assert.match(output, /✗ 2\. one per user: violated \(two_live_orders: 1\)/);
});

test('check: a stuck pending order (in Redis for an hour) and a hold past its end', { timeout: 60_000 }, async (t) => {
  const { sale } = await healthySale(t, 3, 1, 3600);
  const [user] = await seedUsers(1);
  const keys = saleKeys(sale.sale_id);
  const orderId = randomUUID();
  await redis.hset(keys.orders, orderId, JSON.stringify({ user_id: user, status: 'pending', taken_ms: Date.now() - 3600_000 }));
  await redis.hset(keys.buyers, user ?? '', orderId);
  await redis.decr(keys.stock);
  const pending = await runCheck('--sale', sale.sale_id, '--wait', '0');
  t.diagnostic(pending.output);
  assert.equal(pending.code, 1, pending.output);
  assert.match(pending.output, /✗ 3\. nothing lost: violated \(stuck_pending: 1\)/);
  assert.match(pending.output, /\? 4\. conservation: not checked \(not quiet: 1 orders pending/);

  await redis.hdel(keys.orders, orderId);
  await redis.hdel(keys.buyers, user ?? '');
  await redis.incr(keys.stock);
  await database().query(`UPDATE orders SET expires_at = now() - interval '1 hour' WHERE sale_id = $1 AND status = 'reserved'`, [sale.sale_id]);
  const overdue = await runCheck('--sale', sale.sale_id);
  t.diagnostic(overdue.output);
  assert.equal(overdue.code, 1, overdue.output);
  assert.match(overdue.output, /✗ 3\. nothing lost: violated \(hold_overdue: 1\)/);
});

test('check: drifted counters (a unit more in Redis), and --all names every sale', { timeout: 60_000 }, async (t) => {
  const { sale } = await healthySale(t, 4, 2);
  await redis.incr(saleKeys(sale.sale_id).stock);
  t.after(() => redis.decr(saleKeys(sale.sale_id).stock));
  const { code, output } = await runCheck('--sale', sale.sale_id);
  t.diagnostic(output);
  assert.equal(code, 1, output);
  assert.match(output, /✗ 4\. conservation: violated \(not_conserved: 1 \(Redis has 3 left; stock - live = 2\)\)/);

  const all = await runCheck('--all', '--wait', '0');
  assert.equal(all.code, 1, all.output);
  const { rows } = await database().query<{ n: string }>('SELECT count(*) AS n FROM flash_sales');
  assert.match(all.output, new RegExp(`${rows[0]?.n} sale\\(s\\) checked, [1-9]\\d* with a violation`));
  assert.ok(all.output.includes(`sale ${sale.sale_id}:`));

  const usage = await runCheck();
  assert.equal(usage.code, 2, 'no sale named: a usage error');
});
