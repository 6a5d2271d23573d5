// Configuration validated at cold start, and password hashing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../functions/src/lib/config.ts';
import { hashPassword, verifyPassword } from '../../functions/src/lib/passwords.ts';

test('every setting has a default; admin emails are a lower-cased list', () => {
  const cfg = parseConfig({ ADMIN_EMAILS: ' Boss@Example.com, ops@example.com ,' });
  assert.deepEqual(cfg.ADMIN_EMAILS, ['boss@example.com', 'ops@example.com']);
  assert.equal(cfg.AUTH_MODE, 'bearer', 'functions verify tokens themselves unless told the gateway did');
  assert.equal(cfg.TASK_QUEUE, 'local');
});

test('a bad setting fails at cold start, naming the variable', () => {
  assert.throws(() => parseConfig({ AUTH_MODE: 'trust-me' }), /AUTH_MODE/);
  assert.throws(() => parseConfig({ REDIS_URL: 'not a url' }), /REDIS_URL/);
  assert.throws(() => parseConfig({ SALES_CACHE_MS: '5000' }), /SALES_CACHE_MS/);
});

test('scrypt hashes verify the right password only, salted each time', async () => {
  const a = await hashPassword('correct horse battery');
  const b = await hashPassword('correct horse battery');
  assert.notEqual(a, b);
  assert.match(a, /^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/);
  assert.equal(await verifyPassword('correct horse battery', a), true);
  assert.equal(await verifyPassword('correct horse battery!', a), false);
  assert.equal(await verifyPassword('anything', 'garbage'), false);
});
