// The Lua scripts against a real Redis, each test under its own random key prefix, cleaned after.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, test } from 'node:test';
import { attemptKeys, createRedis, saleKeys, type FlashRedis } from '../../functions/src/lib/redis.ts';
import type { SettledStatus } from '../../functions/src/lib/order-row.ts';
import { rebuildSale, resizeSale, settleOrder, takeToken } from '../../functions/src/lib/scripts.ts';

let redis: FlashRedis;
let prefix: string;

beforeEach(() => {
  prefix = `test:lua:${randomUUID()}:`;
  redis = createRedis({ keyPrefix: prefix });
});

afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  // KEYS returns full names; the client adds its prefix again, so strip it before DEL.
  if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  await redis.quit();
});


async function redisNowMs(): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

async function install(options: { stock: number; startsMs?: number; endsMs?: number; live?: [string, string][] }) {
  const saleId = randomUUID();
  const keys = saleKeys(saleId);
  const now = await redisNowMs();
  const sale = {
    startsMs: options.startsMs ?? now - 60_000,
    endsMs: options.endsMs ?? now + 3_600_000,
    stockTotal: options.stock,
    holdSeconds: 0,
    productId: randomUUID(),
    tokensLeft: options.stock - (options.live?.length ?? 0),
    expireAt: Math.ceil(now / 1000) + 3600,
  };
  const live = (options.live ?? []).map(([user_id, order_id]) => ({ user_id, order_id, status: 'confirmed', taken_ms: now }));
  assert.equal(await rebuildSale(saleId, sale, live, redis), true);
  return { saleId, keys };
}

type Keys = ReturnType<typeof saleKeys>;

interface TakeOptions {
  idempotencyKey?: string;
  ip?: string;
  /** [ms between attempts, burst] per user and per IP; [0, 1] is no limit. */
  userRate?: [number, number];
  ipRate?: [number, number];
}

async function take(saleId: string, userId: string, orderId = randomUUID(), options: TakeOptions = {}) {
  const [userIntervalMs, userBurst] = options.userRate ?? [0, 1];
  const [ipIntervalMs, ipBurst] = options.ipRate ?? [0, 1];
  const attempt = { saleId, userId, orderId, clientIp: options.ip ?? '127.0.0.1', idempotencyKey: options.idempotencyKey };
  const [code, id, now, retryAfter, replayed] = await takeToken(attempt, { idempotencyTtlSeconds: 3600, userIntervalMs, userBurst, ipIntervalMs, ipBurst }, redis);
  return { code: code as number, id, now, retryAfter, replayed: replayed as number };
}

async function settle(saleId: string, orderId: string, status: SettledStatus, userId: string) {
  return settleOrder({ sale_id: saleId, order_id: orderId, user_id: userId, taken_ms: Date.now() }, status, redis);
}

const stockOf = async (keys: Keys) => Number(await redis.get(keys.stock));

test('take: stock 1 and 50 concurrent buyers: exactly one gets it', async () => {
  const { saleId, keys } = await install({ stock: 1 });
  const results = await Promise.all(Array.from({ length: 50 }, () => take(saleId, randomUUID())));
  assert.equal(results.filter((r) => r.code === 0).length, 1);
  assert.equal(results.filter((r) => r.code === 1).length, 49);
  assert.equal(await stockOf(keys), 0);
  assert.equal(await redis.hlen(keys.buyers), 1);
});

test('take: stock 0 is sold out and changes nothing', async () => {
  const { saleId, keys } = await install({ stock: 0 });
  assert.equal((await take(saleId, randomUUID())).code, 1);
  assert.equal(await stockOf(keys), 0);
  assert.equal(await redis.hlen(keys.orders), 0);
});

test('take: the same buyer twice at once gets one unit; the other call names that order', async () => {
  const { saleId, keys } = await install({ stock: 5 });
  const user = randomUUID();
  const [a, b] = await Promise.all([take(saleId, user), take(saleId, user)]);
  const codes = [a?.code, b?.code].sort();
  assert.deepEqual(codes, [0, 2]);
  const winner = a?.code === 0 ? a : b;
  const loser = a?.code === 0 ? b : a;
  assert.equal(loser?.id, winner?.id);
  assert.equal(await stockOf(keys), 4);
});

test('take: a buyer whose live order was rebuilt from PostgreSQL is already in', async () => {
  const user = randomUUID();
  const { saleId, keys } = await install({ stock: 3, live: [[user, randomUUID()]] });
  assert.equal((await take(saleId, user)).code, 2);
  assert.equal(await stockOf(keys), 2);
});

/**
 * Calls take on one sale as fast as one connection allows, from before `boundaryMs` until
 * Redis's clock is past it, checking each answer against the millisecond the script ran on.
 * Returns the codes seen on the millisecond before the boundary and on the boundary itself.
 */
async function spinAcross(saleId: string, boundaryMs: number, expected: (nowMs: number) => number) {
  const seen = new Map<number, number>();
  for (;;) {
    const r = await take(saleId, randomUUID());
    const now = Number(r.now);
    assert.equal(r.code, expected(now), `now=${now} boundary=${boundaryMs}`);
    if (now === boundaryMs - 1 || now === boundaryMs) seen.set(now - boundaryMs, r.code);
    if (now > boundaryMs) return { before: seen.get(-1), on: seen.get(0) };
  }
}

test('take: the window opens on its first millisecond and closes after its last', async () => {
  // Each boundary is crossed by a loop of takes; every answer must agree with
  // [starts_ms, ends_ms) on the millisecond it ran, and the test goes on until a take ran on
  // each side of each boundary. A loaded machine only makes it cross more boundaries.
  let sawBefore = false;
  let sawFirst = false;
  for (let i = 0; i < 500 && !(sawBefore && sawFirst); i++) {
    const startsMs = (await redisNowMs()) + 20;
    const { saleId } = await install({ stock: 100_000, startsMs });
    const { before, on } = await spinAcross(saleId, startsMs, (now) => (now < startsMs ? 3 : 0));
    if (before === 3) sawBefore = true;
    if (on === 0) sawFirst = true;
  }
  assert.ok(sawBefore && sawFirst, 'both sides of the opening millisecond were tried');

  let sawLast = false;
  let sawEnd = false;
  for (let i = 0; i < 500 && !(sawLast && sawEnd); i++) {
    const t = await redisNowMs();
    const endsMs = t + 20;
    const { saleId } = await install({ stock: 100_000, startsMs: t - 1000, endsMs });
    const { before, on } = await spinAcross(saleId, endsMs, (now) => (now < endsMs ? 0 : 4));
    if (before === 0) sawLast = true;
    if (on === 4) sawEnd = true;
  }
  assert.ok(sawLast && sawEnd, 'both sides of the closing millisecond were tried');
});

test('take: a sale whose keys are missing answers "not loaded" and takes nothing', async () => {
  const saleId = randomUUID();
  const keys = saleKeys(saleId);
  assert.equal((await take(saleId, randomUUID())).code, 5);
  assert.equal(await redis.exists(keys.stock), 0);
});

test('settle: a failed order gives its token back exactly once; a confirmed one keeps it', async () => {
  const { saleId, keys } = await install({ stock: 2 });
  const user = randomUUID();
  const taken = await take(saleId, user);
  assert.equal(taken.code, 0);
  assert.equal(await stockOf(keys), 1);
  assert.equal(await settle(saleId, taken.id, 'failed', user), 'changed');
  assert.equal(await stockOf(keys), 2);
  assert.equal(await redis.hget(keys.buyers, user), null, 'the buyer may try again');
  assert.equal(await settle(saleId, taken.id, 'failed', user), 'already_recorded', 'a second release is a no-op');
  assert.equal(await stockOf(keys), 2);

  const other = randomUUID();
  const kept = await take(saleId, other);
  assert.equal(await settle(saleId, kept.id, 'confirmed', other), 'changed');
  assert.equal(await settle(saleId, kept.id, 'confirmed', other), 'already_recorded');
  assert.equal(await stockOf(keys), 1);
  assert.equal(await redis.hget(keys.buyers, other), kept.id);
});

test('settle: an order Redis lost counts against stock when live, and releases nothing when failed', async () => {
  const { saleId, keys } = await install({ stock: 5 });
  assert.equal(await settle(saleId, randomUUID(), 'confirmed', randomUUID()), 'changed');
  assert.equal(await stockOf(keys), 4);
  assert.equal(await settle(saleId, randomUUID(), 'failed', randomUUID()), 'changed');
  assert.equal(await stockOf(keys), 4);
});

test('rebuild: of many concurrent rebuilds exactly one writes', async () => {
  const saleId = randomUUID();
  const now = await redisNowMs();
  const sale = { startsMs: now - 1000, endsMs: now + 60_000, stockTotal: 10, holdSeconds: 0, productId: randomUUID(), tokensLeft: 10, expireAt: Math.ceil(now / 1000) + 3600 };
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => rebuildSale(saleId, { ...sale, tokensLeft: 10 - (i % 3) }, [], redis)));
  assert.equal(results.filter((wrote) => wrote).length, 1);
});

test('resize: stock may go down to the units taken, never below', async () => {
  const { saleId, keys } = await install({ stock: 5 });
  await take(saleId, randomUUID());
  await take(saleId, randomUUID());
  const meta = await redis.hgetall(keys.meta);
  const change = (stockTotal: number) => ({ startsMs: Number(meta.starts_ms), endsMs: Number(meta.ends_ms), stockTotal, expireAt: 2_000_000_000 });
  assert.deepEqual(await resizeSale(saleId, change(1), redis), { result: 'below_taken', taken: 2 });
  assert.equal(await stockOf(keys), 3);
  assert.deepEqual(await resizeSale(saleId, change(2), redis), { result: 'applied', taken: 2 });
  assert.equal(await stockOf(keys), 0);
  assert.deepEqual(await resizeSale(saleId, change(10), redis), { result: 'applied', taken: 2 });
  assert.equal(await stockOf(keys), 8);
  assert.deepEqual(await resizeSale(randomUUID(), change(10), redis), { result: 'not_loaded', taken: 0 });
});

test('take with an Idempotency-Key: twenty at once take one unit and all get the same answer', async () => {
  const { saleId, keys } = await install({ stock: 5 });
  const user = randomUUID();
  const results = await Promise.all(Array.from({ length: 20 }, () => take(saleId, user, randomUUID(), { idempotencyKey: 'k-1' })));
  assert.equal(await stockOf(keys), 4);
  assert.equal(new Set(results.map((r) => `${r.code}:${r.id}:${r.now}`)).size, 1, 'one answer, replayed');
  assert.equal(results.filter((r) => r.replayed === 0).length, 1);
  const refusal = await take(saleId, randomUUID(), randomUUID(), { idempotencyKey: 'k-1' });
  assert.equal(refusal.code, 0, 'keys are per user');
});

test('take with an Idempotency-Key replays a refusal too, even after a unit came back', async () => {
  const { saleId, keys } = await install({ stock: 0 });
  const user = randomUUID();
  assert.equal((await take(saleId, user, randomUUID(), { idempotencyKey: 'k' })).code, 1);
  await redis.set(keys.stock, 1);
  const again = await take(saleId, user, randomUUID(), { idempotencyKey: 'k' });
  assert.deepEqual([again.code, again.replayed], [1, 1]);
  assert.equal((await take(saleId, user, randomUUID(), { idempotencyKey: 'k2' })).code, 0);
});

test('take rate limits: a burst per user, then one per interval; per IP across users', async () => {
  const { saleId } = await install({ stock: 100 });
  const user = randomUUID();
  const limited = { userRate: [60_000, 3] as [number, number] };
  const codes = [];
  for (let i = 0; i < 5; i++) codes.push((await take(saleId, user, randomUUID(), limited)).code);
  assert.deepEqual(codes, [0, 2, 2, 6, 6], 'three attempts pass (one takes, two are already in), then 429');
  const wait = await take(saleId, user, randomUUID(), limited);
  assert.ok(wait.retryAfter > 0 && wait.retryAfter <= 60_000, `retry after ${wait.retryAfter} ms`);

  const ipLimited = { ipRate: [60_000, 2] as [number, number], ip: '10.1.2.3' };
  const byIp = [];
  for (let i = 0; i < 4; i++) byIp.push((await take(saleId, randomUUID(), randomUUID(), ipLimited)).code);
  assert.deepEqual(byIp, [0, 0, 6, 6]);
  assert.equal((await take(saleId, randomUUID(), randomUUID(), { ...ipLimited, ip: '10.9.9.9' })).code, 0, 'another IP is not limited');
});

test('take: sold out and a closed window are answered at once, never rate limited', async () => {
  const { saleId } = await install({ stock: 0 });
  const user = randomUUID();
  const limited = { userRate: [60_000, 1] as [number, number], ipRate: [60_000, 1] as [number, number] };
  const codes = [];
  for (let i = 0; i < 5; i++) codes.push((await take(saleId, user, randomUUID(), limited)).code);
  assert.deepEqual(codes, [1, 1, 1, 1, 1]);
  assert.equal(await redis.exists(attemptKeys(saleId, user, '127.0.0.1', undefined).userRate), 0, 'no rate key written');
});

test('every key of a sale expires, of one created with stock 0 too, after it is resized and sold', async () => {
  const { saleId, keys } = await install({ stock: 0 });
  const expiresAt = Number(await redis.expiretime(keys.meta));
  // A sale without a waiting room has no room keys (room-4.lua gives them the meta's expiry).
  const sold = Object.entries(keys).filter(([name]) => name !== 'room' && name !== 'admissions');
  const ttls = async () => Object.fromEntries(await Promise.all(sold.map(async ([name, key]) => [name, await redis.ttl(key)] as const)));
  for (const [name, ttl] of Object.entries(await ttls())) {
    // -2: the key does not exist (buyers and orders of a sale nobody bought yet), fine.
    assert.ok(ttl > 0 || ttl === -2, `${name}: TTL ${ttl}`);
  }
  const now = await redisNowMs();
  assert.equal((await resizeSale(saleId, { startsMs: now - 60_000, endsMs: now + 3_600_000, stockTotal: 2, expireAt: expiresAt }, redis)).result, 'applied');
  const user = randomUUID();
  assert.equal((await take(saleId, user)).code, 0);
  for (const [name, ttl] of Object.entries(await ttls())) assert.ok(ttl > 0, `${name}: TTL ${ttl} after the first take`);
  // The buyers hash empties when its one buyer's order fails, and is made anew by the next take.
  const first = await redis.hget(keys.buyers, user);
  assert.ok(first);
  await settle(saleId, first, 'failed', user);
  assert.equal((await take(saleId, randomUUID())).code, 0);
  for (const [name, ttl] of Object.entries(await ttls())) assert.ok(ttl > 0, `${name}: TTL ${ttl} after a take on a fresh buyers hash`);

  // A settle of an order Redis lost writes the buyers and orders hashes of a sale that had none.
  const other = await install({ stock: 2 });
  const lostUser = randomUUID();
  await settle(other.saleId, randomUUID(), 'reserved', lostUser);
  for (const key of [other.keys.buyers, other.keys.orders]) assert.ok((await redis.ttl(key)) > 0, `${key} after a settle`);
});
