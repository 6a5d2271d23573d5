// The wiring the cloud deployment relies on, through the local gateway: the jwks function
// serves the keys (the users function no longer does), every function's GET /health, CORS as
// API Gateway with allowCors passes it, and the client address behind X-Forwarded-For.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { FUNCTION_NAMES } from '../../functions/src/function-names.ts';
import { signingKeyFromSetting } from '../../functions/src/lib/keys.ts';
import { api, closeHelpers, functionUrl, gatewayUrl } from '../helpers.ts';

after(closeHelpers);

test('GET /.well-known/jwks.json through the gateway comes from the jwks function, kid = the thumbprint', async () => {
  const key = await signingKeyFromSetting(process.env.JWT_PRIVATE_KEY ?? '');
  const viaGateway = await api<{ keys: Record<string, string>[] }>('GET', '/.well-known/jwks.json');
  assert.equal(viaGateway.status, 200);
  assert.deepEqual(viaGateway.body.keys, [key.publicJwk]);
  assert.equal(viaGateway.body.keys[0]?.kid, key.kid);
  const direct = await api('GET', '/.well-known/jwks.json', { base: functionUrl('jwks') });
  assert.deepEqual(direct.body, viaGateway.body);
  const fromUsers = await api('GET', '/.well-known/jwks.json', { base: functionUrl('users') });
  assert.equal(fromUsers.status, 404, 'the users function no longer serves the JWKS');
});

test('every function answers GET /health; /healthz is gone', async () => {
  for (const name of FUNCTION_NAMES) {
    const answer = await api('GET', '/health', { base: functionUrl(name) });
    assert.equal(answer.status, 200, name);
    assert.deepEqual(answer.body, { status: 'ok' }, name);
    assert.equal((await api('GET', '/healthz', { base: functionUrl(name) })).status, 404, name);
  }
  assert.equal((await api('GET', '/health')).status, 200, 'through the gateway');
});

const allowedOrigin = () => (process.env.CORS_ALLOWED_ORIGINS ?? '').split(',')[0] ?? '';
const OTHER_ORIGIN = 'https://evil.example';

async function preflight(path: string, origin: string): Promise<Response> {
  const answer = await fetch(`${gatewayUrl()}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
  });
  await answer.arrayBuffer();
  return answer;
}

test('CORS preflight from an allowed origin, on any path, open or JWT-protected: 204 with the allow headers', async () => {
  const origin = allowedOrigin();
  assert.match(origin, /^http/, 'the stack sets CORS_ALLOWED_ORIGINS');
  for (const path of ['/orders', `/orders/${randomUUID()}/checkout`, '/sales', '/users/authenticate', '/.well-known/jwks.json']) {
    const answer = await preflight(path, origin);
    assert.equal(answer.status, 204, path);
    assert.equal(answer.headers.get('access-control-allow-origin'), origin, path);
    const methods = answer.headers.get('access-control-allow-methods') ?? '';
    for (const m of ['GET', 'POST', 'DELETE']) assert.ok(methods.includes(m), `${path}: ${m} in ${methods}`);
    const allowHeaders = answer.headers.get('access-control-allow-headers') ?? '';
    for (const h of ['authorization', 'content-type', 'idempotency-key', 'x-idempotency-key', 'x-request-id']) {
      assert.ok(allowHeaders.includes(h), `${path}: ${h} in ${allowHeaders}`);
    }
    assert.ok(Number(answer.headers.get('access-control-max-age')) > 0, path);
    assert.match(answer.headers.get('vary') ?? '', /origin/i, path);
  }
});

test('CORS preflight from another origin gets no access-control-allow-origin', async () => {
  for (const path of ['/orders', '/sales']) {
    const answer = await preflight(path, OTHER_ORIGIN);
    assert.ok([204, 403].includes(answer.status), `${path}: ${answer.status}`);
    assert.equal(answer.headers.get('access-control-allow-origin'), null, path);
  }
  assert.equal((await preflight('/no-such-path', allowedOrigin())).status, 404, 'only known paths');
});

test('a normal answer to an allowed origin carries allow-origin and exposes x-request-id and retry-after; to another, neither', async () => {
  const origin = allowedOrigin();
  const sales = await api('GET', '/sales', { headers: { origin } });
  assert.equal(sales.status, 200);
  assert.equal(sales.headers.get('access-control-allow-origin'), origin);
  const exposed = sales.headers.get('access-control-expose-headers') ?? '';
  assert.ok(exposed.includes('x-request-id') && exposed.includes('retry-after'), exposed);
  assert.match(sales.headers.get('vary') ?? '', /origin/i);
  const denied = await api('GET', '/orders', { headers: { origin } });
  assert.equal(denied.status, 401, 'the gateway refuses it');
  const refused = await api('GET', '/orders/not-an-id', { headers: { origin }, token: 'x.y.z' });
  assert.equal(refused.status, 401);
  const other = await api('GET', '/sales', { headers: { origin: OTHER_ORIGIN } });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  assert.equal(other.headers.get('access-control-expose-headers'), null);
});

test('a forged X-Forwarded-For through the gateway does not move the caller to another per-IP login bucket', async () => {
  const forged = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
  const redis = new Redis(process.env.REDIS_URL ?? '', { keyPrefix: process.env.REDIS_KEY_PREFIX ?? '', lazyConnect: true });
  try {
    const login = await api('POST', '/users/authenticate', {
      body: { email: `nobody-${randomUUID()}@test.local`, password: 'wrong-password' },
      headers: { 'x-forwarded-for': forged },
    });
    assert.equal(login.status, 401);
    assert.equal(await redis.exists(`fs:{login}:rate:ip:${forged}`), 0, 'no bucket for the forged address');
    assert.equal(await redis.exists('fs:{login}:rate:ip:127.0.0.1'), 1, 'the bucket of the address the gateway saw');
  } finally {
    redis.disconnect();
  }
});
