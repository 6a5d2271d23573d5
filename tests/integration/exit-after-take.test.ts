// The fault suite's crash between the take and the enqueue (tests/faults/exit-after-take.mjs):
// preloaded, a process that takes through the functions' own Redis client dies right after a
// new unit is handed out, and not on a refusal or a replayed answer; without it, nothing dies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, test } from 'node:test';
import { createRedis, saleKeys, type FlashRedis } from '../../functions/src/lib/redis.ts';
import { rebuildSale, TAKE_CODES } from '../../functions/src/lib/scripts.ts';

/** The built functions, as the fault suite runs them. */
const DIST = new URL('../../functions/dist/lib/', import.meta.url).href;
const PRELOAD = new URL('../faults/exit-after-take.mjs', import.meta.url).href;

let redis: FlashRedis;
let prefix: string;

beforeEach(() => {
  prefix = `test:exit-after-take:${randomUUID()}:`;
  redis = createRedis({ keyPrefix: prefix });
});

afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  await redis.quit();
});

async function saleOfOne(): Promise<string> {
  const saleId = randomUUID();
  const [s] = await redis.time();
  const nowMs = Number(s) * 1000;
  const sale = { startsMs: nowMs - 60_000, endsMs: nowMs + 3_600_000, stockTotal: 1, holdSeconds: 0, productId: randomUUID(), tokensLeft: 1, expireAt: Number(s) + 3600 };
  assert.equal(await rebuildSale(saleId, sale, [], redis), true);
  return saleId;
}

/** One take in a child process of the built functions, with or without the preload. */
function takeInChild(saleId: string, userId: string, options: { preload: boolean; idempotencyKey?: string }) {
  const script = `
    import { createRedis } from '${DIST}redis.js';
    import { takeToken } from '${DIST}scripts.js';
    const client = createRedis({ keyPrefix: ${JSON.stringify(prefix)} });
    const attempt = { saleId: ${JSON.stringify(saleId)}, userId: ${JSON.stringify(userId)}, orderId: crypto.randomUUID(), clientIp: '127.0.0.1', idempotencyKey: ${JSON.stringify(options.idempotencyKey)} };
    const policy = { idempotencyTtlSeconds: 60, userIntervalMs: 0, userBurst: 1, ipIntervalMs: 0, ipBurst: 1 };
    const reply = await takeToken(attempt, policy, client);
    process.stdout.write(JSON.stringify(reply));
    client.disconnect();
  `;
  const env = { ...process.env, NODE_OPTIONS: options.preload ? `--import ${PRELOAD}` : '' };
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 30_000 });
  return { exitCode: child.status, reply: child.stdout ? (JSON.parse(child.stdout) as number[]) : undefined, stderr: child.stderr };
}

test('preloaded: the process exits with 70 right after a new take, the unit taken and its record pending', async () => {
  const saleId = await saleOfOne();
  const user = randomUUID();
  const taken = takeInChild(saleId, user, { preload: true, idempotencyKey: 'k' });
  assert.equal(taken.exitCode, 70, taken.stderr);
  assert.equal(taken.reply, undefined, 'it died before answering');
  const keys = saleKeys(saleId);
  assert.equal(await redis.get(keys.stock), '0');
  const orderId = await redis.hget(keys.buyers, user);
  assert.ok(orderId);
  assert.match((await redis.hget(keys.orders, orderId)) ?? '', /"status":"pending"/);

  const replayed = takeInChild(saleId, user, { preload: true, idempotencyKey: 'k' });
  assert.equal(replayed.exitCode, 0, replayed.stderr);
  assert.deepEqual([replayed.reply?.[0], replayed.reply?.[4]], [TAKE_CODES.taken, 1], 'a replayed answer is no new take');

  const refused = takeInChild(saleId, randomUUID(), { preload: true });
  assert.equal(refused.exitCode, 0, refused.stderr);
  assert.equal(refused.reply?.[0], TAKE_CODES.soldOut);
});

test('without the preload the same take answers and the process lives', async () => {
  const saleId = await saleOfOne();
  const taken = takeInChild(saleId, randomUUID(), { preload: false });
  assert.equal(taken.exitCode, 0, taken.stderr);
  assert.equal(taken.reply?.[0], TAKE_CODES.taken);
});
