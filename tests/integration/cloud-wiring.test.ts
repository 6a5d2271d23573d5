// The wiring the cloud deployment relies on, through the local gateway: the jwks function
// serves the keys (the users function no longer does), every function's GET /health.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { signingKeyFromSetting } from '../../functions/src/lib/keys.ts';
import { api, closeHelpers, functionUrl } from '../helpers.ts';

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
  for (const name of ['users', 'sales', 'orders', 'order-worker', 'sweeper', 'jwks'] as const) {
    const answer = await api('GET', '/health', { base: functionUrl(name) });
    assert.equal(answer.status, 200, name);
    assert.deepEqual(answer.body, { status: 'ok' }, name);
    assert.equal((await api('GET', '/healthz', { base: functionUrl(name) })).status, 404, name);
  }
  assert.equal((await api('GET', '/health')).status, 200, 'through the gateway');
});
