// Redis told of what PostgreSQL committed, whatever fails in between (design.md §6): a cancel
// or an expiry whose Redis update failed is repaired by a retry and by the sweeper, and the
// sweeper's repair never races an update in flight into a phantom or a lost unit.
// The functions' own code runs in this process against the stack's PostgreSQL and Redis, Redis
// reached through a proxy that really drops the connection (tests/fault-proxy.ts), under a key
// prefix of its own so that the stack's sweeper never touches these sales.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startFaultProxy, type FaultProxy } from '../fault-proxy.ts';
import { closeHelpers, database, seedUsers } from '../helpers.ts';

after(closeHelpers);

let proxy: FaultProxy;
// The functions' modules, imported once the environment points them at the proxy.
let m: {
  holds: typeof import('../../functions/src/lib/holds.ts');
  endHold: typeof import('../../functions/src/orders/end-hold.ts');
  sweeper: typeof import('../../functions/src/sweeper/index.ts');
  scripts: typeof import('../../functions/src/lib/scripts.ts');
  store: typeof import('../../functions/src/lib/sale-store.ts');
  persist: typeof import('../../functions/src/order-worker/persist.ts');
  redis: typeof import('../../functions/src/lib/redis.ts');
  log: typeof import('../../functions/src/lib/log.ts');
};

before(async () => {
  const target = new URL(process.env.REDIS_URL ?? '');
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  process.env.REDIS_URL = `redis://127.0.0.1:${proxy.port}`;
  process.env.REDIS_KEY_PREFIX = `test:repair-${randomUUID().slice(0, 8)}:`;
  m = {
    holds: await import('../../functions/src/lib/holds.ts'),
    endHold: await import('../../functions/src/orders/end-hold.ts'),
    sweeper: await import('../../functions/src/sweeper/index.ts'),
    scripts: await import('../../functions/src/lib/scripts.ts'),
    store: await import('../../functions/src/lib/sale-store.ts'),
    persist: await import('../../functions/src/order-worker/persist.ts'),
    redis: await import('../../functions/src/lib/redis.ts'),
    log: await import('../../functions/src/lib/log.ts'),
  };
});

after(async () => {
  const client = m.redis.redis();
  const prefix = process.env.REDIS_KEY_PREFIX ?? '';
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys.map((k) => k.slice(prefix.length)));
  client.disconnect();
  const { db } = await import('../../functions/src/lib/db.ts');
  await db().end();
  await proxy.close();
});

const POLICY = { idempotencyTtlSeconds: 60, userIntervalMs: 0, userBurst: 1, ipIntervalMs: 0, ipBurst: 1 };

/** A sale open for an hour, written to PostgreSQL and loaded into this test's Redis keys. */
async function openSale(stock: number, holdSeconds: number): Promise<{ saleId: string; productId: string }> {
  const product = await database().query<{ product_id: string }>(
    `INSERT INTO products (name, price_in_cent) VALUES ($1, 100) RETURNING product_id`,
    [`Repair ${randomUUID().slice(0, 8)}`],
  );
  const productId = product.rows[0]?.product_id ?? '';
  const sale = await database().query<{ sale_id: string }>(
    `INSERT INTO flash_sales (product_id, starts_at, ends_at, stock, hold_seconds)
     VALUES ($1, now() - interval '1 minute', now() + interval '1 hour', $2, $3) RETURNING sale_id`,
    [productId, stock, holdSeconds],
  );
  const saleId = sale.rows[0]?.sale_id ?? '';
  await m.store.loadSaleIntoRedis(saleId);
  return { saleId, productId };
}

/** A unit taken in Redis by a new buyer: the task the worker would get. */
async function take(sale: { saleId: string; productId: string }, userId?: string) {
  const user = userId ?? (await seedUsers(1))[0] ?? '';
  const [code, orderId, nowMs] = await m.scripts.takeToken({ saleId: sale.saleId, userId: user, orderId: randomUUID(), clientIp: '127.0.0.1' }, POLICY);
  return { code, task: { order_id: orderId, user_id: user, product_id: sale.productId, sale_id: sale.saleId, taken_ms: Number(nowMs) } };
}

/** What the worker does with a task: write it down, then tell Redis. */
async function workerWrites(task: Awaited<ReturnType<typeof take>>['task'], tellRedis = true) {
  const outcome = await m.persist.persistOrder(task);
  if (tellRedis) await m.scripts.settleOrder(task, outcome.status);
  return outcome;
}

async function redisState(saleId: string, orderId: string, userId: string) {
  const client = m.redis.redis();
  const keys = m.redis.saleKeys(saleId);
  const raw = await client.hget(keys.orders, orderId);
  return {
    left: Number(await client.get(keys.stock)),
    confirmed: Number((await client.hget(keys.meta, 'confirmed')) ?? 0),
    buyer: await client.hget(keys.buyers, userId),
    record: raw ? m.redis.parseOrderRecord(raw) : undefined,
  };
}

async function statusInPostgres(orderId: string): Promise<string | undefined> {
  const { rows } = await database().query<{ status: string }>('SELECT status FROM orders WHERE order_id = $1', [orderId]);
  return rows[0]?.status;
}

/** Runs `work` while Redis cannot be reached: the connection reset, reconnections refused. */
async function withRedisDown<T>(work: () => Promise<T>): Promise<T | Error> {
  await proxy.down();
  try {
    return await work();
  } catch (err) {
    return err as Error;
  } finally {
    await proxy.up();
  }
}

const sweep = () => m.sweeper.sweep({ log: m.log.log });

test('a cancel whose Redis update failed stands; a retry of it tells Redis again and the buyer may buy again', async () => {
  const sale = await openSale(1, 3600);
  const { task } = await take(sale);
  assert.equal((await workerWrites(task)).status, 'reserved');

  const first = await withRedisDown(() => m.endHold.cancel(task.order_id, task.user_id));
  assert.equal(await statusInPostgres(task.order_id), 'cancelled', 'the cancel committed');
  assert.equal((await redisState(sale.saleId, task.order_id, task.user_id)).left, 0, 'Redis was not told');

  // The buyer, seeing an error or nothing, cancels again: the order is no longer held, and
  // the retry must still tell Redis.
  await assert.rejects(m.endHold.cancel(task.order_id, task.user_id), (err: Error & { code?: string }) => err.code === 'not_cancellable');
  const after = await redisState(sale.saleId, task.order_id, task.user_id);
  assert.deepEqual([after.left, after.buyer, after.record?.status, after.record?.released], [1, null, 'cancelled', 1], 'the unit is back and the buyer free');
  const again = await take(sale, task.user_id);
  assert.equal(again.code, m.scripts.TAKE_CODES.taken, 'the buyer may buy again, not already_purchased');
  assert.ok(!(first instanceof Error), `the cancel committed, so its answer is the cancelled order: ${String(first)}`);
  assert.equal(first.status, 'cancelled');
});

test('an expiry whose Redis update failed is repaired by the sweeper: the unit is back, the buyer free', async () => {
  const sale = await openSale(1, 3600);
  const { task } = await take(sale);
  assert.equal((await workerWrites(task)).status, 'reserved');
  await database().query(`UPDATE orders SET expires_at = now() - interval '1 second' WHERE order_id = $1`, [task.order_id]);

  await withRedisDown(() => m.holds.endHold(task.order_id, 'expire'));
  assert.equal(await statusInPostgres(task.order_id), 'expired');
  assert.equal((await redisState(sale.saleId, task.order_id, task.user_id)).buyer, task.order_id, 'Redis was not told');

  await sweep();
  const after = await redisState(sale.saleId, task.order_id, task.user_id);
  assert.deepEqual([after.left, after.buyer, after.record?.status], [1, null, 'expired']);
  assert.equal((await take(sale, task.user_id)).code, m.scripts.TAKE_CODES.taken, 'the buyer may buy again');
});

test('a sweep between a cancel’s commit and its late Redis update puts the unit back once: no phantom unit', async () => {
  const sale = await openSale(1, 3600);
  const { task } = await take(sale);
  assert.equal((await workerWrites(task)).status, 'reserved');
  // The cancel commits; its update of Redis is in flight (here: failed, and sent again below).
  await withRedisDown(() => m.endHold.cancel(task.order_id, task.user_id));
  assert.equal(await statusInPostgres(task.order_id), 'cancelled');

  await sweep();
  // The cancel's own update arrives after the sweep (no other sweep in between).
  await m.scripts.settleOrder(task, 'cancelled');
  const after = await redisState(sale.saleId, task.order_id, task.user_id);
  assert.equal(after.left, 1, 'stock 1, nothing live: one unit left, not two');
  const buyers = await Promise.all([take(sale), take(sale)]);
  assert.deepEqual(buyers.map((b) => b.code).sort(), [m.scripts.TAKE_CODES.taken, m.scripts.TAKE_CODES.soldOut], 'one unit to sell, not two');
});

test('a sweep between a worker’s commit and its late Redis update on a rebuilt sale takes the unit once: none lost', async () => {
  const sale = await openSale(2, 0);
  const { task } = await take(sale);
  // Redis loses the sale's keys before the worker writes the order; the next read rebuilds
  // them from PostgreSQL, which does not have it yet.
  const keys = m.redis.saleKeys(sale.saleId);
  await m.redis.redis().del(keys.meta, keys.stock, keys.buyers, keys.orders);
  await m.store.loadSaleIntoRedis(sale.saleId);
  // The worker commits; its update of Redis is in flight.
  assert.equal((await workerWrites(task, false)).status, 'confirmed');

  await sweep();
  // The worker's own update arrives after the sweep (no other sweep in between).
  await m.scripts.settleOrder(task, 'confirmed');
  const after = await redisState(sale.saleId, task.order_id, task.user_id);
  assert.deepEqual([after.left, after.confirmed, after.record?.status], [1, 1, 'confirmed'], 'stock 2, one confirmed: one unit left, not none');
  assert.equal((await take(sale)).code, m.scripts.TAKE_CODES.taken, 'the second unit is still on sale');
});

test('counts that drift with every order agreeing are repaired, unless the sale moved since they were read', async () => {
  const sale = await openSale(3, 0);
  const { task } = await take(sale);
  await workerWrites(task);
  const keys = m.redis.saleKeys(sale.saleId);
  await m.redis.redis().set(keys.stock, 7); // a drift no order explains
  await sweep();
  assert.equal(Number(await m.redis.redis().get(keys.stock)), 2, 'stock 3 - 1 confirmed');

  // A repair computed from a snapshot that a take has since moved is refused.
  const [epoch, version] = await m.redis.redis().hmget(keys.meta, 'epoch', 'version');
  await take(sale);
  const repaired = await m.scripts.repairCounts(sale.saleId, { epoch: epoch ?? '', version: version ?? '0' }, { left: 2, confirmed: 1 });
  assert.equal(repaired, false);
  assert.equal(Number(await m.redis.redis().get(keys.stock)), 1, 'the take stands');
});
