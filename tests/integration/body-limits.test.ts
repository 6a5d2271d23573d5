// The local gateway's body limit, as the functions': an oversized body is 413 and its kept-alive
// connection is closed cleanly, so the client's next request is answered (never ECONNRESET).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import { closeHelpers, gatewayUrl, sendThrough } from '../helpers.ts';

after(() => closeHelpers());

const send = (agent: http.Agent, options: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer }) =>
  sendThrough(agent, `${gatewayUrl()}${options.path}`, options);

test('through the gateway a 2 MB sign-up is 413 payload_too_large, and the next request on the same agent is answered', async () => {
  // One socket at most: the next request reuses the connection unless the gateway closed it.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const big = Buffer.from(JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(2 * 1024 * 1024) }));
    const refused = await send(agent, { method: 'POST', path: '/users', headers: { 'content-type': 'application/json' }, body: big });
    assert.equal(refused.status, 413);
    assert.equal((JSON.parse(refused.body) as { error: string }).error, 'payload_too_large');
    assert.equal(refused.headers.connection, 'close');
    const next = await send(agent, { path: '/sales' });
    assert.equal(next.status, 200);
  } finally {
    agent.destroy();
  }
});

test('through the gateway a form-encoded body reaches the function and is 415 unsupported_media_type', async () => {
  const answer = await fetch(`${gatewayUrl()}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'email=form%40example.com&password=long-enough-password',
  });
  assert.equal(answer.status, 415);
  assert.equal(((await answer.json()) as { error: string }).error, 'unsupported_media_type');
});
