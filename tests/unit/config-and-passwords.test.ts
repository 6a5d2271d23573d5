// Configuration validated at cold start, and password hashing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../functions/src/lib/config.ts';
import { ApiError } from '../../functions/src/lib/errors.ts';
import { HashLimiter, hashPassword, isWeaker, scryptParams, storedParams, verifyPassword } from '../../functions/src/lib/passwords.ts';

test('every setting has a default; passwords are hashed at OWASP\'s scrypt floor unless told otherwise', () => {
  const cfg = parseConfig({});
  assert.deepEqual(scryptParams(cfg.PASSWORD_SCRYPT_LOG2N), { N: 2 ** 17, r: 8, p: 1 });
  assert.equal(cfg.SIGNUP_RATE_IP_PER_MINUTE > 0, true, 'sign-ups are limited per IP');
  assert.equal('ADMIN_EMAILS' in cfg, false, 'no setting makes admins: npm run admin does');
  assert.equal(cfg.AUTH_MODE, 'bearer', 'functions verify tokens themselves unless told the gateway did');
  assert.equal(cfg.TASK_QUEUE, 'local');
});

test('a bad setting fails at cold start, naming the variable', () => {
  assert.throws(() => parseConfig({ AUTH_MODE: 'trust-me' }), /AUTH_MODE/);
  assert.throws(() => parseConfig({ REDIS_URL: 'not a url' }), /REDIS_URL/);
  assert.throws(() => parseConfig({ SALES_CACHE_MS: '5000' }), /SALES_CACHE_MS/);
});

test('scrypt hashes verify the right password only, salted each time', async () => {
  const a = await hashPassword('correct horse battery', scryptParams(12));
  const b = await hashPassword('correct horse battery', scryptParams(12));
  assert.notEqual(a, b);
  assert.match(a, /^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/);
  assert.equal(await verifyPassword('correct horse battery', a), true);
  assert.equal(await verifyPassword('correct horse battery!', a), false);
  assert.equal(await verifyPassword('anything', 'garbage'), false);
});

test('a stored hash weaker than the target in any parameter is due for a rehash; an equal or stronger one is not', async () => {
  const cheap = await hashPassword('pw', { N: 2 ** 10, r: 8, p: 1 });
  assert.deepEqual(storedParams(cheap), { N: 1024, r: 8, p: 1 });
  assert.equal(isWeaker(cheap, scryptParams(15)), true);
  assert.equal(isWeaker(cheap, { N: 1024, r: 8, p: 1 }), false);
  assert.equal(isWeaker(cheap, { N: 512, r: 8, p: 1 }), false, 'never downgraded');
  assert.equal(isWeaker(cheap, { N: 1024, r: 8, p: 2 }), true);
  assert.equal(isWeaker('garbage', scryptParams(15)), false);
});

test('the hash limiter runs `concurrency` at once, queues the next in order, and refuses beyond its queue with 503 and Retry-After', async () => {
  const limiter = new HashLimiter(2, 2);
  const releases: (() => void)[] = [];
  const started: number[] = [];
  const job = (n: number) => () =>
    new Promise<number>((resolve) => {
      started.push(n);
      releases.push(() => resolve(n));
    });
  const runs = [1, 2, 3, 4].map((n) => limiter.run(job(n)));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [1, 2], 'two at once');
  assert.equal(limiter.queued, 2);
  const refused = await limiter.run(job(5)).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(refused instanceof ApiError && refused.status === 503 && refused.code === 'unavailable', String(refused));
  assert.match(refused.headers?.['retry-after'] ?? '', /^[1-9]\d*$/);
  assert.equal(limiter.runIfIdle(job(6)), undefined, 'background work waits for an idle slot');
  releases.shift()?.();
  assert.equal(await runs[0], 1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [1, 2, 3], 'the first waiting one takes the freed slot');
  while (releases.length > 0 || started.length < 4) {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await Promise.all(runs), [1, 2, 3, 4]);
  assert.equal(limiter.inFlight, 0);
  assert.equal(limiter.queued, 0);
  const idle = limiter.runIfIdle(job(7));
  assert.ok(idle);
  releases.shift()?.();
  assert.equal(await idle, 7);
});
