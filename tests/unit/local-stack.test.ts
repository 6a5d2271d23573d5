// The local stand-ins for the cloud: the gateway's routing from openapi.yaml and the
// dispatcher's Cloud Tasks headers.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { mock, test } from 'node:test';
import { FUNCTION_NAMES, localFunctionPort } from '../../functions/src/function-names.ts';
import { FUNCTION_TARGETS } from '../../functions/src/targets.ts';
import { MAX_BODY_BYTES } from '../../functions/src/lib/http.ts';
import { createGateway, fillTemplate, loadGatewayConfig, rememberingVerified } from '../../scripts/gateway.ts';
import { ApiError } from '../../functions/src/lib/errors.ts';
import { taskHeaders } from '../../scripts/task-dispatcher.ts';

const variables = {
  users_url: 'http://127.0.0.1:1',
  sales_url: 'http://127.0.0.1:2',
  orders_url: 'http://127.0.0.1:3',
  jwt_issuer: 'http://issuer',
  jwt_audience: 'aud',
  jwks_url: 'http://127.0.0.1:6',
  managed_service: 'flash-sale.local',
};

test('openapi.yaml routes every call of the contract to its function, static paths before templates', async () => {
  const { router, operations } = await loadGatewayConfig({
    openapiFile: path.join(import.meta.dirname, '../../openapi.yaml'),
    variables,
  });
  const route = (method: string, p: string) => {
    const op = router.matchOperation({ method, path: p, headers: {} });
    return op?.operationId ? [op.operationId, operations.get(op.operationId)?.['x-google-backend']?.address] : undefined;
  };
  assert.deepEqual(route('post', '/users'), ['createUser', variables.users_url]);
  assert.deepEqual(route('post', '/users/authenticate'), ['authenticateUser', variables.users_url]);
  assert.deepEqual(route('get', '/.well-known/jwks.json'), ['getJwks', variables.jwks_url]);
  assert.deepEqual(route('post', '/sales/update'), ['updateSale', variables.sales_url]);
  assert.deepEqual(route('get', '/sales/abc'), ['getSale', variables.sales_url]);
  assert.deepEqual(route('post', '/orders'), ['createOrder', variables.orders_url]);
  assert.deepEqual(route('get', '/orders/abc'), ['getOrder', variables.orders_url]);
  assert.equal(route('delete', '/sales'), undefined);
  for (const [id, op] of operations) {
    assert.ok(op['x-google-backend']?.address, `${id} has a backend`);
  }
});

test('a placeholder without a value is an error, not an empty address', () => {
  assert.equal(fillTemplate('a ${x} b', { x: '1' }), 'a 1 b');
  assert.throws(() => fillTemplate('${missing}', {}), /missing/);
});

test('the dispatcher sends the headers Cloud Tasks sends', () => {
  const headers = taskHeaders({ id: 'order-1', attemptsMade: 2, timestamp: 1_000_000, delay: 500 }, 'orders');
  assert.equal(headers['x-cloudtasks-queuename'], 'orders');
  assert.equal(headers['x-cloudtasks-taskname'], 'order-1');
  assert.equal(headers['x-cloudtasks-taskretrycount'], '2');
  assert.equal(headers['x-cloudtasks-tasketa'], '1000.500000');
});

test("each function's local port follows the gateway's in FUNCTION_NAMES order, as the README lists them (8081 … 8086)", () => {
  assert.deepEqual(
    Object.fromEntries(FUNCTION_NAMES.map((name) => [name, localFunctionPort(8080, name)])),
    { users: 8081, sales: 8082, orders: 8083, 'order-worker': 8084, sweeper: 8085, jwks: 8086 },
  );
  assert.deepEqual(Object.keys(FUNCTION_TARGETS), [...FUNCTION_NAMES], 'the Functions Framework registers the targets in the same order');
});

test("the gateway refuses a body over the functions' limit itself, and passes one at the limit on", async () => {
  const backend = http.createServer((req, res) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ size })));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const usersUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const gateway = await createGateway({ openapiFile: path.join(import.meta.dirname, '../../openapi.yaml'), variables: { ...variables, users_url: usersUrl } });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  const send = (bytes: number) =>
    fetch(`http://127.0.0.1:${(gateway.address() as AddressInfo).port}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(bytes) });
  try {
    const atLimit = await send(MAX_BODY_BYTES);
    assert.equal(atLimit.status, 201);
    assert.deepEqual(await atLimit.json(), { size: MAX_BODY_BYTES });
    const over = await send(MAX_BODY_BYTES + 1);
    assert.equal(over.status, 413);
    assert.deepEqual(await over.json(), { error: 'payload_too_large', message: 'The body is too large.' });
  } finally {
    gateway.close();
    backend.close();
    gateway.closeAllConnections();
    backend.closeAllConnections();
  }
});

test('the gateway verifies a token once until its exp, a minute at most, and never keeps a failure', async () => {
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  try {
    const checked: string[] = [];
    const verify = rememberingVerified(async (token) => {
      checked.push(token);
      if (token === 'bad') throw new ApiError('unauthenticated', 'The token is not valid.');
      const exp = token === 'short' ? 1_000 + 5 : 1_000 + 3600; // seconds: 5 s, an hour
      return { principal: { userId: token, role: 'user' }, claims: { sub: token, exp } };
    });
    await verify('short');
    await verify('long');
    await verify('short');
    await verify('long');
    assert.deepEqual(checked, ['short', 'long'], 'each verified once');
    await assert.rejects(verify('bad'));
    await assert.rejects(verify('bad'));
    assert.equal(checked.filter((t) => t === 'bad').length, 2, 'a failure is checked every time');
    mock.timers.tick(5_000); // 'short' reaches its exp
    await verify('short');
    await verify('long');
    assert.deepEqual(checked.slice(-1), ['short'], 'checked again at its exp; the other still kept');
    mock.timers.tick(55_000); // a minute since 'long' was checked
    await verify('long');
    assert.deepEqual(checked.slice(-1), ['long'], 'checked again after a minute');
  } finally {
    mock.timers.reset();
  }
});
