// The grouped take (take-n.lua, orders/take.ts) against a real Redis: a group decides each of
// its attempts as the one-by-one take does, in arrival order; the instance groups the attempts
// of one turn per sale, at most ORDER_TAKE_GROUP_MAX to a call.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, beforeEach, test } from 'node:test';
import { ApiError } from '../../functions/src/lib/errors.ts';
import { createRedis, redis as sharedRedis, saleKeys, type FlashRedis } from '../../functions/src/lib/redis.ts';
import { rebuildSale, takeToken, takeTokens, TAKE_CODES, type TakeAttempt, type TakePolicy } from '../../functions/src/lib/scripts.ts';
import { takeStockToken } from '../../functions/src/orders/take.ts';

// This file's instance groups at most 4 attempts to a call (config() reads it at first use).
process.env.ORDER_TAKE_GROUP_MAX = '4';

type Redis = FlashRedis;

let redis: Redis;
let prefix: string;

beforeEach(() => {
  prefix = `test:take-group:${randomUUID()}:`;
  redis = createRedis({ keyPrefix: prefix });
});

afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  await redis.quit();
});

// The instance's own client (orders/take.ts uses it), closed so that the file can end.
after(() => sharedRedis().quit());

async function redisNowMs(client: Redis): Promise<number> {
  const [s, us] = await client.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** A sale's keys as a rebuild writes them; `window` 'open', 'not-started', 'ended', 'missing' (no keys), or 'room' (open, a waiting room always on that nobody joined). */
async function install(stock: number, window: 'open' | 'not-started' | 'ended' | 'missing' | 'room' = 'open', client: Redis = redis): Promise<string> {
  const saleId = randomUUID();
  if (window === 'missing') return saleId;
  const now = await redisNowMs(client);
  const [startsMs, endsMs]: readonly [number, number] = ({ open: [now - 60_000, now + 3_600_000], room: [now - 60_000, now + 3_600_000], 'not-started': [now + 3_600_000, now + 7_200_000], ended: [now - 7_200_000, now - 3_600_000] } as const)[window];
  const room = window === 'room' ? { mode: 'always' as const, rate: 10, secs: 60, above: 0, seed: 'seed', seed_hash: 'hash' } : undefined;
  const sale = { startsMs, endsMs, stockTotal: stock, holdSeconds: 0, productId: randomUUID(), tokensLeft: stock, expireAt: Math.ceil(now / 1000) + 3 * 3600, room };
  assert.equal(await rebuildSale(saleId, sale, [], client), true);
  return saleId;
}

/** Limits tight enough that a short sequence meets them: 3 per user, 6 per IP, per minute. */
const POLICY: TakePolicy = { idempotencyTtlSeconds: 3600, userIntervalMs: 60_000, userBurst: 3, ipIntervalMs: 60_000, ipBurst: 6 };

/** [user, ip, idempotency key]: a sequence of attempts meant to meet every answer of the take. */
type Step = [user: string, ip: string, key?: string];
const SEQUENCE: Step[] = [
  ['u1', 'a'], // taken
  ['u1', 'a'], // already purchased
  ['u2', 'a', 'k1'], // taken, its answer stored
  ['u2', 'a', 'k1'], // the same answer replayed
  ['u1', 'a'], // already purchased: u1's third counted attempt
  ['u1', 'a'], // rate limited (user)
  ['u1', 'a', 'k9'], // rate limited (user), and that answer stored…
  ['u1', 'a', 'k9'], // …and replayed
  ['u3', 'a'], // taken: the IP's fifth
  ['u4', 'a'], // taken: the IP's sixth
  ['u5', 'a'], // rate limited (IP)
  ['u5', 'b'], // taken from another IP: the last unit
  ['u6', 'b'], // sold out
  ['u6', 'b', 'k2'], // sold out, stored…
  ['u6', 'b', 'k2'], // …and replayed
  ['u2', 'b'], // already purchased
  ['u2', 'b', 'k1'], // replayed: still the first answer
];
/** Stock for five takes: the sequence spans the last unit. */
const SEQUENCE_STOCK = 5;

function attemptsOf(saleId: string, steps: Step[], orderIds: string[]): TakeAttempt[] {
  return steps.map(([user, ip, key], i) => ({ saleId, userId: `user-${user}`, orderId: orderIds[i] ?? '', clientIp: `10.0.0.${ip === 'a' ? 1 : 2}`, idempotencyKey: key }));
}

/** An answer with its clock left out: one-by-one and grouped calls run at different times. */
const comparable = ([code, orderId, , retryAfter, replayed]: readonly unknown[]) => ({ code, orderId, limited: Number(retryAfter) > 0, replayed });

test('a group answers exactly as one-by-one calls do, for every answer of the take (differential)', async () => {
  const orderIds = SEQUENCE.map(() => randomUUID());
  const seen = new Set<number>();
  for (const window of ['open', 'not-started', 'ended', 'missing', 'room'] as const) {
    const alone = await install(SEQUENCE_STOCK, window);
    const grouped = await install(SEQUENCE_STOCK, window);
    const oneByOne = [];
    for (const attempt of attemptsOf(alone, SEQUENCE, orderIds)) oneByOne.push(await takeToken(attempt, POLICY, redis));
    const together = await takeTokens(attemptsOf(grouped, SEQUENCE, orderIds), POLICY, redis);
    assert.deepEqual(together.map(comparable), oneByOne.map(comparable), `${window}: the group's answers are the one-by-one answers`);
    for (const [code] of together) seen.add(code);
    if (window === 'open') {
      // Both sales end alike: the same units taken, the same buyers, the same stock left.
      for (const saleId of [alone, grouped]) {
        const k = saleKeys(saleId);
        assert.equal(await redis.get(k.stock), '0', `${window}: the last unit is taken, never more`);
        assert.deepEqual(Object.keys(await redis.hgetall(k.buyers)).sort(), ['user-u1', 'user-u2', 'user-u3', 'user-u4', 'user-u5']);
        assert.equal(await redis.hlen(k.orders), SEQUENCE_STOCK);
      }
      const ttl = await redis.pttl(saleKeys(grouped).orders);
      assert.ok(ttl > 0, `the orders hash a group made expires with its sale (PTTL ${ttl})`);
      // The retry-after of a limited attempt is the one-by-one one, up to the clock between calls.
      const limited = together.findIndex(([code]) => code === TAKE_CODES.rateLimited);
      assert.ok(Math.abs(Number(together[limited]?.[3]) - Number(oneByOne[limited]?.[3])) < 1000);
    }
  }
  assert.deepEqual([...seen].sort(), Object.values(TAKE_CODES).sort(), 'the sequences met every code of the take');
});

test('a group decides in arrival order: the first attempts take the last units', async () => {
  const saleId = await install(3);
  const attempts = Array.from({ length: 8 }, (_, i) => ({ saleId, userId: `buyer-${i}`, orderId: randomUUID(), clientIp: '127.0.0.1' }));
  const replies = await takeTokens(attempts, POLICY, redis);
  assert.deepEqual(replies.map(([code]) => code), [0, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual(replies.slice(0, 3).map(([, orderId]) => orderId), attempts.slice(0, 3).map((a) => a.orderId));
  assert.equal(await redis.get(saleKeys(saleId).stock), '0');
});

test('one Idempotency-Key many times in one group: one unit, one answer', async () => {
  const saleId = await install(5);
  const attempts = Array.from({ length: 6 }, () => ({ saleId, userId: 'u', orderId: randomUUID(), clientIp: '127.0.0.1', idempotencyKey: 'k' }));
  const replies = await takeTokens(attempts, POLICY, redis);
  assert.deepEqual(replies.map(([code, orderId, , , replayed]) => [code, orderId, replayed]), [
    [0, attempts[0]?.orderId, 0],
    ...attempts.slice(1).map(() => [0, attempts[0]?.orderId, 1]),
  ]);
  assert.ok(replies.every(([, , nowMs]) => nowMs === replies[0]?.[2]), 'a replay answers with the time of the first take');
  assert.equal(await redis.get(saleKeys(saleId).stock), '4');
});

/** The instance's take (shared client, this file's bound of 4), counting its calls of take-n.lua. */
async function instanceTakes(saleIds: string[], count: number) {
  const client = sharedRedis();
  const calls: number[] = [];
  const run = client.runScript;
  client.runScript = (name, keys, args) => {
    if (name === 'take') calls.push((args.length - 5) / 3); // 5 arguments of policy, then 3 per attempt
    return run(name, keys, args);
  };
  try {
    const settled = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => takeStockToken({ saleId: saleIds[i % saleIds.length] ?? '', userId: `buyer-${i}`, orderId: randomUUID(), clientIp: '127.0.0.1' })),
    );
    return { settled, calls };
  } finally {
    client.runScript = run;
  }
}

test('an instance sends the attempts of one turn as one call per sale, at most ORDER_TAKE_GROUP_MAX each, in arrival order', async () => {
  const shared = sharedRedis();
  const saleId = await install(5, 'open', shared);
  const { settled, calls } = await instanceTakes([saleId], 10);
  assert.deepEqual(calls, [4, 4, 2], 'ten attempts of one turn: two full groups at once, the rest at the end of the turn');
  assert.deepEqual(settled.map((s) => (s.status === 'fulfilled' ? s.value.outcome : (s.reason as ApiError).code)), [
    ...Array.from({ length: 5 }, () => 'taken'),
    ...Array.from({ length: 5 }, () => 'sold_out'),
  ]);
  assert.equal(await shared.get(saleKeys(saleId).stock), '0');

  // Two sales in one turn: one call each (a call's keys are all in its sale's slot).
  const [a, b] = [await install(5, 'open', shared), await install(5, 'open', shared)];
  const two = await instanceTakes([a ?? '', b ?? ''], 6);
  assert.deepEqual(two.calls, [3, 3]);
  assert.ok(two.settled.every((s) => s.status === 'fulfilled' && s.value.outcome === 'taken'));

  // A lone attempt goes in a call of its own.
  const lone = await instanceTakes([await install(1, 'open', shared)], 1);
  assert.deepEqual(lone.calls, [1]);
  for (const id of [saleId, a, b]) await shared.del(...Object.values(saleKeys(id ?? '')));
});

test('a failed call fails every attempt of its group with its error', async () => {
  const shared = sharedRedis();
  const saleId = await install(5, 'open', shared);
  // The stock key of the wrong type: the script fails, as a store fault would fail the call.
  await shared.del(saleKeys(saleId).stock);
  await shared.hset(saleKeys(saleId).stock, 'x', '1');
  const { settled, calls } = await instanceTakes([saleId], 3);
  assert.deepEqual(calls, [3]);
  const reasons = settled.map((s) => (s.status === 'rejected' ? (s.reason as Error) : undefined));
  assert.ok(reasons.every((r) => r?.name === 'ReplyError' && /WRONGTYPE/.test(r.message)), 'each attempt rejected with the call\'s error');
  assert.ok(reasons.every((r) => r === reasons[0]), 'the one error of the one call');
  await shared.del(...Object.values(saleKeys(saleId)));
});
