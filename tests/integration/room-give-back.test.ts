// room-4.lua's give_back against a real Redis: when the queue refuses an order's task and its unit
// goes back (settle-4.lua), the admission the order used is the buyer's again, unless the unit
// already let the next in line in. Each test under its own key prefix, cleaned after.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, test } from 'node:test';
import { createRedis, type FlashRedis } from '../../functions/src/lib/redis.ts';
import { rebuildSale, roomGiveBack, roomTicket, settleOrder, takeToken, type RoomTicket } from '../../functions/src/lib/scripts.ts';

let redis: FlashRedis;
let prefix: string;

beforeEach(() => {
  prefix = `test:give-back:${randomUUID()}:`;
  redis = createRedis({ keyPrefix: prefix });
});

afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  await redis.quit();
});

/** An open sale whose room is always on and admits at once (1,000 a second). */
async function install(stock: number): Promise<string> {
  const saleId = randomUUID();
  const [s, us] = await redis.time();
  const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
  const room = { mode: 'always' as const, rate: 1000, secs: 60, above: 0, seed: 'seed', seed_hash: 'hash' };
  const sale = { startsMs: now - 60_000, endsMs: now + 3_600_000, stockTotal: stock, holdSeconds: 0, productId: randomUUID(), tokensLeft: stock, expireAt: Math.ceil(now / 1000) + 3600, room };
  assert.equal(await rebuildSale(saleId, sale, [], redis), true);
  return saleId;
}

async function ticket(op: 'join' | 'status', saleId: string, userId: string): Promise<RoomTicket> {
  const ticketId = randomUUID();
  const answer = await roomTicket(op, saleId, userId, { ticketId, ticketHash: createHash('sha256').update(ticketId).digest('hex') }, redis);
  assert.equal(typeof answer, 'object', `${op}: ${String(answer)}`);
  return answer as RoomTicket;
}

const NO_LIMIT = { idempotencyTtlSeconds: 3600, userIntervalMs: 0, userBurst: 1, ipIntervalMs: 0, ipBurst: 1 };

async function take(saleId: string, userId: string): Promise<{ code: number; orderId: string }> {
  const orderId = randomUUID();
  const [code] = await takeToken({ saleId, userId, orderId, clientIp: '127.0.0.1' }, NO_LIMIT, redis);
  return { code: Number(code), orderId };
}

/** As POST /orders does on a refused enqueue: the unit back, then the admission. */
async function refuse(saleId: string, userId: string, orderId: string) {
  assert.equal(await settleOrder({ sale_id: saleId, order_id: orderId, user_id: userId, taken_ms: Date.now() }, 'failed', redis), 'changed');
  return roomGiveBack(saleId, userId, orderId, redis);
}

test('a refused order gives its admission back: the buyer is admitted again and the retry takes the unit', async () => {
  const saleId = await install(2);
  const user = randomUUID();
  assert.equal((await ticket('join', saleId, user)).state, 'admitted');
  const first = await take(saleId, user);
  assert.equal(first.code, 0);
  assert.equal((await ticket('status', saleId, user)).orderId, first.orderId, 'the admission is used by the order');

  assert.equal(await refuse(saleId, user, first.orderId), 'ok');
  const again = await ticket('status', saleId, user);
  assert.equal(again.state, 'admitted');
  assert.equal(again.orderId, null);

  const retry = await take(saleId, user);
  assert.equal(retry.code, 0, 'the retry is admitted');
  assert.equal(await roomGiveBack(saleId, user, first.orderId, redis), 'kept', 'an admission another order now uses is not given back');
  assert.equal(await roomGiveBack(saleId, randomUUID(), first.orderId, redis), 'no_ticket');
});

test('a unit that already let the next in line in is theirs: the admission stays used, never one admitted too many', async () => {
  const saleId = await install(1);
  const [a, b] = [randomUUID(), randomUUID()];
  assert.equal((await ticket('join', saleId, a)).state, 'admitted');
  assert.equal((await ticket('join', saleId, b)).state, 'waiting', 'one unit, one admission');
  const taken = await take(saleId, a);
  assert.equal(taken.code, 0);
  assert.equal(await settleOrder({ sale_id: saleId, order_id: taken.orderId, user_id: a, taken_ms: Date.now() }, 'failed', redis), 'changed');
  // Before the give-back, B's status call lets B in with the unit that came back.
  assert.equal((await ticket('status', saleId, b)).state, 'admitted');
  assert.equal(await roomGiveBack(saleId, a, taken.orderId, redis), 'kept');
  assert.equal((await take(saleId, a)).code, 7, 'A is not admitted');
  assert.equal((await take(saleId, b)).code, 0, 'B buys the unit');
});

test('a sale without a room answers room_off', async () => {
  const saleId = randomUUID();
  const [s] = await redis.time();
  const now = Number(s) * 1000;
  const sale = { startsMs: now - 60_000, endsMs: now + 3_600_000, stockTotal: 1, holdSeconds: 0, productId: randomUUID(), tokensLeft: 1, expireAt: Math.ceil(now / 1000) + 3600 };
  assert.equal(await rebuildSale(saleId, sale, [], redis), true);
  assert.equal(await roomGiveBack(saleId, randomUUID(), randomUUID(), redis), 'room_off');
});
