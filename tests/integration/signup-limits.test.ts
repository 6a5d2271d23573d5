// POST /users costs a large scrypt: sign-ups are limited per client IP, and every hash or verify
// of an instance waits in one bounded queue (503 beyond it). The stack's own users function has
// the per-IP limits out of reach (every local client is 127.0.0.1), so these cases start one of
// their own with real limits, behind a gateway of their own that appends the caller's address.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { createGateway } from '../../scripts/gateway.ts';
import { healthy, ROOT, spawnFunction } from '../../scripts/stack.ts';
import { waitFor } from '../../scripts/local/system.ts';
import { storedParams } from '../../functions/src/lib/passwords.ts';
import { api, closeHelpers, database, eventually, functionUrl, seedLoginUsers, sendThrough } from '../helpers.ts';

const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const stop of stops.reverse()) await stop();
  await closeHelpers();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/** A users function with `settings` over the stack's, and a gateway in front of it: the gateway's URL. */
async function usersBehindGateway(settings: Record<string, string>): Promise<string> {
  const port = await freePort();
  const logDir = path.join(ROOT, '.local/test/logs/signup-limits');
  mkdirSync(logDir, { recursive: true });
  const child: ChildProcess = spawnFunction('users', port, settings, logDir);
  stops.push(async () => {
    if (child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
  });
  const usersUrl = `http://127.0.0.1:${port}`;
  await waitFor('a users function of its own', () => healthy(usersUrl));
  const gateway = await createGateway({
    openapiFile: path.join(ROOT, 'openapi.yaml'),
    variables: {
      users_url: usersUrl,
      sales_url: functionUrl('sales'),
      orders_url: functionUrl('orders'),
      jwt_issuer: process.env.JWT_ISSUER ?? '',
      jwt_audience: process.env.JWT_AUDIENCE ?? '',
      jwks_url: functionUrl('jwks'),
      managed_service: 'flash-sale.local',
    },
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        gateway.close(() => resolve());
        gateway.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(gateway.address() as net.AddressInfo).port}`;
}

const signUp = (base: string, headers: Record<string, string> = {}) =>
  api('POST', '/users', { base, headers, body: { email: `new-${randomUUID()}@test.local`, password: 'long enough' } });

test('sign-ups are limited per client IP: 429 with Retry-After, a forged X-Forwarded-For changes nothing, another address is not limited', async () => {
  const base = await usersBehindGateway({ SIGNUP_RATE_IP_PER_MINUTE: '3', PASSWORD_SCRYPT_LOG2N: '10' });
  const forged = () => ({ 'x-forwarded-for': `198.51.100.${Math.floor(Math.random() * 250) + 1}` });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await signUp(base, forged())).status);
  assert.deepEqual(statuses, [201, 201, 201], 'the burst is answered');
  const limited = await signUp(base, forged());
  assert.equal(limited.status, 429, JSON.stringify(limited.body));
  assert.equal(limited.body.error, 'rate_limited');
  assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);

  // Another client (the gateway appends the socket's address: 127.0.0.2) has its own allowance.
  const agent = new http.Agent({ localAddress: '127.0.0.2' } as http.AgentOptions);
  try {
    const other = await sendThrough(agent, `${base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `other-${randomUUID()}@test.local`, password: 'long enough' }),
    });
    assert.equal(other.status, 201, other.body);
  } finally {
    agent.destroy();
  }
});

test('hashing is bounded per instance: sign-ups and logins beyond the running ones wait, beyond the queue they are 503 with Retry-After', async () => {
  // One hash at a time and two waiting, at 2^16 (a quarter second or more a hash here: long enough that a burst overlaps).
  const base = await usersBehindGateway({ PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '2', PASSWORD_SCRYPT_LOG2N: '16', SIGNUP_RATE_IP_PER_MINUTE: '0' });
  const three = await Promise.all([1, 2, 3].map(() => signUp(base)));
  assert.deepEqual(
    three.map((a) => a.status),
    [201, 201, 201],
    'one running and two waiting are all answered',
  );

  const burst = await Promise.all(Array.from({ length: 10 }, () => signUp(base)));
  const statuses = burst.map((a) => a.status);
  assert.ok(statuses.every((s) => s === 201 || s === 503), statuses.join(','));
  assert.ok(statuses.filter((s) => s === 201).length >= 3, `the running one and the queue are served: ${statuses.join(',')}`);
  const refused = burst.find((a) => a.status === 503);
  assert.ok(refused, `beyond the queue: 503 (${statuses.join(',')})`);
  assert.equal(refused.body.error, 'unavailable');
  assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);

  const email = `login-${randomUUID()}@test.local`;
  assert.equal((await api('POST', '/users', { base, body: { email, password: 'long enough' } })).status, 201);
  const logins = await Promise.all(Array.from({ length: 10 }, () => api('POST', '/users/authenticate', { base, body: { email, password: 'long enough' } })));
  const loginStatuses = logins.map((a) => a.status);
  assert.ok(loginStatuses.every((s) => s === 200 || s === 503), loginStatuses.join(','));
  assert.ok(loginStatuses.filter((s) => s === 200).length >= 3, loginStatuses.join(','));
  assert.ok(loginStatuses.includes(503), `a login's verify waits in the same queue: ${loginStatuses.join(',')}`);
});

test("a login with a hash weaker than today's parameters upgrades it in the background; the password still works", async () => {
  const [user] = await seedLoginUsers(1, 'upgrade-me');
  assert.ok(user);
  const storedHash = async () => (await database().query<{ password_hash: string }>('SELECT password_hash FROM users WHERE user_id = $1', [user.userId])).rows[0]?.password_hash ?? '';
  assert.equal(storedParams(await storedHash())?.N, 2 ** 10);
  const target = 2 ** Number(process.env.PASSWORD_SCRYPT_LOG2N);
  // A busy instance leaves the upgrade to a later login, so log in until it has happened.
  await eventually('the stored hash upgraded', async () => {
    const login = await api('POST', '/users/authenticate', { body: { email: user.email, password: 'upgrade-me' } });
    assert.equal(login.status, 200);
    await new Promise((r) => setTimeout(r, 300));
    return storedParams(await storedHash())?.N === target ? true : undefined;
  });
  assert.deepEqual(storedParams(await storedHash()), { N: target, r: 8, p: 1 });
  assert.equal((await api('POST', '/users/authenticate', { body: { email: user.email, password: 'upgrade-me' } })).status, 200);
  assert.equal((await api('POST', '/users/authenticate', { body: { email: user.email, password: 'not-it' } })).status, 401);
});
