// The functions as the Functions Framework hosts them, without a network: errors the
// framework raises before our code (malformed JSON) still answer in the catalogue's shape.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import http, { type Server } from 'node:http';
import { after, before, test } from 'node:test';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import '../../functions/src/index.ts';
import { FUNCTION_TARGETS } from '../../functions/src/index.ts';
import { httpFunction } from '../../functions/src/lib/http.ts';
import { sendThrough } from '../helpers.ts';

// A probe function: what the framework's per-request domain looks like from inside a route.
functions.http(
  'domain-probe',
  httpFunction('domain-probe', [
    {
      method: 'GET',
      path: '/',
      handler: async () => {
        const inDomainAtOnce = Boolean((process as { domain?: unknown }).domain);
        await Promise.resolve();
        return { status: 200, body: { inDomainAtOnce, inDomainAfterAwait: Boolean((process as { domain?: unknown }).domain) } };
      },
    },
  ]),
);

const servers = new Map<string, Server>();

before(async () => {
  for (const name of Object.keys(FUNCTION_TARGETS)) {
    const server = getTestServer(name);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.set(name, server);
  }
});

after(async () => {
  for (const server of servers.values()) await new Promise((resolve) => server.close(resolve));
});

function url(name: string, path: string): string {
  const server = servers.get(name);
  assert.ok(server, name);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
}

test('every target answers a malformed JSON body with 400 invalid_request as JSON, never HTML', async () => {
  for (const name of Object.keys(FUNCTION_TARGETS)) {
    const answer = await fetch(url(name, '/'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' },
      body: '{"product_id": ',
    });
    assert.equal(answer.status, 400, name);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/, name);
    assert.equal(answer.headers.get('x-request-id'), 'req-1', name);
    assert.deepEqual(await answer.json(), { error: 'invalid_request', message: 'The body is not valid JSON.' }, name);
  }
});

test('a route runs outside the framework\'s per-request domain (each promise in it would cost ~4×)', async () => {
  const server = getTestServer('domain-probe');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { inDomainAtOnce: false, inDomainAfterAwait: false });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('an unknown route is 404 not_found with a request id', async () => {
  const answer = await fetch(url('sales', '/nowhere'));
  assert.equal(answer.status, 404);
  assert.equal(((await answer.json()) as { error: string }).error, 'not_found');
  assert.ok(answer.headers.get('x-request-id'));
});

test('in gateway mode a call without the verified-claims header is 401, with a forged one too', async () => {
  assert.equal(process.env.AUTH_MODE, 'gateway', 'npm test runs the functions as the gateway calls them');
  const bare = await fetch(url('orders', '/orders'));
  assert.equal(bare.status, 401);
  const garbage = await fetch(url('orders', '/orders'), { headers: { 'x-apigateway-api-userinfo': 'not-json' } });
  assert.equal(garbage.status, 401);
  const noRole = Buffer.from(JSON.stringify({ sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
  const partial = await fetch(url('orders', '/orders'), { headers: { 'x-apigateway-api-userinfo': noRole } });
  assert.equal(partial.status, 401);
});

// The lean host (lean-host.ts): the same handlers on a bare node:http server, which reads the
// body itself (httpFunction does, for any host that left it unread).
test('on node:http the body is read by the handler: malformed, oversized, chunked and missing bodies', async () => {
  const server = http.createServer((req, res) => FUNCTION_TARGETS.users(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const post = (body: BodyInit | undefined, init: RequestInit = {}) =>
      fetch(`${base}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, ...init });

    const malformed = await post('{"email": ');
    assert.equal(malformed.status, 400);
    assert.deepEqual(await malformed.json(), { error: 'invalid_request', message: 'The body is not valid JSON.' });

    const oversized = await post(JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(70 * 1024) }));
    assert.equal(oversized.status, 413);
    assert.deepEqual(await oversized.json(), { error: 'payload_too_large', message: 'The body is too large.' });

    // A chunked body (no content-length), in several pieces: read whole, then validated.
    const pieces = ['{"email": "not-an-email",', ' "password": "short"}'];
    const chunked = await post(
      new ReadableStream({
        start(controller) {
          for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
          controller.close();
        },
      }),
      { duplex: 'half' } as RequestInit,
    );
    assert.equal(chunked.status, 400);
    const details = ((await chunked.json()) as { details?: { field: string }[] }).details ?? [];
    assert.deepEqual(details.map((d) => d.field).sort(), ['email', 'password']);

    // No body at all is `{}`: every required field is missing, and it is said so.
    const none = await fetch(`${base}/users`, { method: 'POST' });
    assert.equal(none.status, 400);
    const missing = ((await none.json()) as { details?: { field: string }[] }).details ?? [];
    assert.deepEqual(missing.map((d) => d.field).sort(), ['email', 'password']);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

/** One request on `agent` to `base` (POST /users unless said otherwise). */
function send(
  agent: http.Agent,
  base: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
) {
  return sendThrough(agent, `${base}${options.path ?? '/users'}`, { method: 'POST', ...options });
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** Each host the functions run on: the Functions Framework (as deployed) and the lean node:http one. */
async function onBothHosts(check: (host: string, base: string) => Promise<void>): Promise<void> {
  await check('functions framework', url('users', '').replace(/\/$/, ''));
  const lean = http.createServer((req, res) => FUNCTION_TARGETS.users(req, res));
  await new Promise<void>((resolve) => lean.listen(0, '127.0.0.1', resolve));
  try {
    await check('node:http', `http://127.0.0.1:${(lean.address() as AddressInfo).port}`);
  } finally {
    lean.closeAllConnections();
    await new Promise((resolve) => lean.close(resolve));
  }
}

test('on both hosts a body must be JSON: form-encoded, text and untyped bodies are 415 unsupported_media_type', async () => {
  await onBothHosts(async (host, base) => {
    const agent = new http.Agent();
    try {
      for (const headers of [
        { 'content-type': 'application/x-www-form-urlencoded' },
        { 'content-type': 'text/plain' },
        {} as Record<string, string>,
      ]) {
        const body = headers['content-type'] === 'application/x-www-form-urlencoded' ? 'email=a%40example.com&password=long-enough' : '{"email":"a@example.com","password":"long-enough"}';
        const answer = await send(agent, base, { headers, body });
        assert.equal(answer.status, 415, `${host}: ${JSON.stringify(headers)}`);
        assert.equal((JSON.parse(answer.body) as { error: string }).error, 'unsupported_media_type', host);
      }
      // JSON with a charset, and the +json family, are JSON.
      for (const type of ['application/json; charset=utf-8', 'application/merge-patch+json']) {
        const answer = await send(agent, base, { headers: { 'content-type': type }, body: '{"email": "not-an-email"}' });
        assert.equal(answer.status, 400, `${host}: ${type}`);
        assert.equal((JSON.parse(answer.body) as { error: string }).error, 'invalid_request', host);
      }
    } finally {
      agent.destroy();
    }
  });
});

test('on both hosts one body limit: over 64 KiB is 413 payload_too_large, and the kept-alive connection is not left half-read', async () => {
  await onBothHosts(async (host, base) => {
    // One socket at most: the request after the refusal goes on the same connection unless
    // the server closed it, and must then be answered on a new one — never ECONNRESET.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const size of [70 * 1024, 2 * 1024 * 1024]) {
        const big = Buffer.from(JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(size) }));
        const refused = await send(agent, base, { headers: JSON_TYPE, body: big });
        assert.equal(refused.status, 413, `${host}: ${size}`);
        assert.deepEqual(JSON.parse(refused.body), { error: 'payload_too_large', message: 'The body is too large.' }, host);
        assert.equal(refused.headers.connection, 'close', `${host}: the refused connection is closed`);
        const next = await send(agent, base, { method: 'GET', path: '/nowhere' });
        assert.equal(next.status, 404, `${host}: the next request after ${size} bytes`);
      }
      // Chunked (no content-length): refused while being read, the same way.
      const chunked = await send(agent, base, { headers: { ...JSON_TYPE, 'transfer-encoding': 'chunked' }, body: Buffer.alloc(200 * 1024, 0x20) });
      assert.equal(chunked.status, 413, `${host}: chunked`);
      const after = await send(agent, base, { method: 'GET', path: '/nowhere' });
      assert.equal(after.status, 404, `${host}: after the chunked refusal`);
    } finally {
      agent.destroy();
    }
  });
});
