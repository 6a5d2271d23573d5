// The client's address from X-Forwarded-For, counted from the right: the entries a client sends
// itself come first, the ones our front ends append come last, so only the right end is trusted.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { forwardedHop } from '../../functions/src/lib/client.ts';
import { forwardedFor } from '../../scripts/gateway.ts';

test('the hop is counted from the right, spaces trimmed', () => {
  assert.equal(forwardedHop('203.0.113.9', 1), '203.0.113.9');
  assert.equal(forwardedHop('1.1.1.1, 203.0.113.9', 1), '203.0.113.9', 'a forged first entry is ignored');
  assert.equal(forwardedHop('1.1.1.1,203.0.113.9 , 10.0.0.1', 2), '203.0.113.9', "Google's front ends: <client>, <lb>");
  assert.equal(forwardedHop('203.0.113.9, 10.0.0.1', 2), '203.0.113.9');
  assert.equal(forwardedHop('2001:db8::1, 10.0.0.1', 2), '2001:db8::1');
});

test('fewer entries than the hop, none, or an empty entry: no answer (the caller falls back to the socket)', () => {
  assert.equal(forwardedHop('10.0.0.1', 2), undefined);
  assert.equal(forwardedHop(undefined, 1), undefined);
  assert.equal(forwardedHop('', 1), undefined);
  assert.equal(forwardedHop('1.1.1.1, ', 1), undefined);
});

test('the local gateway appends the socket address to what the client sent, as Google does', () => {
  assert.equal(forwardedFor(undefined, '127.0.0.1'), '127.0.0.1');
  assert.equal(forwardedFor('6.6.6.6', '127.0.0.1'), '6.6.6.6, 127.0.0.1');
  assert.equal(forwardedFor(['6.6.6.6', '7.7.7.7'], '127.0.0.1'), '6.6.6.6, 7.7.7.7, 127.0.0.1');
  assert.equal(forwardedHop(forwardedFor('6.6.6.6', '127.0.0.1'), 1), '127.0.0.1');
});

test('clientIp reads FORWARDED_FOR_HOP (default 1)', async () => {
  const { clientIp } = await import('../../functions/src/lib/client.ts');
  const req = { headers: { 'x-forwarded-for': '6.6.6.6, 127.0.0.1' }, socket: { remoteAddress: '::1' } } as unknown as IncomingMessage;
  assert.equal(clientIp(req), '127.0.0.1');
});
