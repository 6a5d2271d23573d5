// What the functions log: one access line per request in Cloud Logging's httpRequest shape,
// carrying the trace of the request's traceparent or X-Cloud-Trace-Context, and never a
// secret of the run (tokens, passwords, payment tokens, the signing key, store passwords).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { admin, api, buyer, closeHelpers, createSale, eventually, type OrderBody } from '../helpers.ts';

after(closeHelpers);

const LOG_DIR = path.join(import.meta.dirname, '../../.local/test/logs');

type Line = Record<string, unknown> & { httpRequest?: Record<string, unknown>; request_id?: string };

function logLines(): Line[] {
  const lines: Line[] = [];
  for (const file of readdirSync(LOG_DIR).filter((f) => f.endsWith('.log'))) {
    for (const text of readFileSync(path.join(LOG_DIR, file), 'utf8').split('\n')) {
      if (!text.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(text) as Line);
      } catch {
        // a line cut by a crash: not ours to judge here
      }
    }
  }
  return lines;
}

const accessLinesOf = (requestId: string) => logLines().filter((l) => l.request_id === requestId && l.httpRequest);

/** The access lines of `requestId` once the function has written one, and a moment more for a duplicate to show. */
async function settledAccessLines(requestId: string): Promise<Line[]> {
  await eventually(`the access line of ${requestId}`, async () => (accessLinesOf(requestId).length > 0 ? true : undefined), 10_000);
  await new Promise((r) => setTimeout(r, 300));
  return accessLinesOf(requestId);
}

test('every request is logged once, with httpRequest, severity, the request id and the traceparent trace', async () => {
  const sale = await createSale({ stock: 5 });
  const { token } = await buyer();
  const requestId = `obs-${randomUUID()}`;
  const trace = randomBytes(16).toString('hex');
  const span = randomBytes(8).toString('hex');
  const order = await api<OrderBody>('POST', '/orders', {
    token,
    body: { product_id: sale.product.product_id },
    headers: { 'x-request-id': requestId, traceparent: `00-${trace}-${span}-01`, 'user-agent': 'observability-test' },
  });
  assert.equal(order.status, 202);

  const lines = await settledAccessLines(requestId);
  assert.equal(lines.length, 1, 'exactly one access line');
  const [line] = lines as [Line];
  assert.equal(line.severity, 'INFO');
  assert.equal(line.function, 'orders');
  assert.deepEqual(
    { ...line.httpRequest, latency: undefined, remoteIp: undefined, responseSize: undefined },
    { requestMethod: 'POST', requestUrl: '/orders', status: 202, protocol: 'HTTP/1.1', userAgent: 'observability-test', latency: undefined, remoteIp: undefined, responseSize: undefined },
  );
  assert.match(String(line.httpRequest?.latency), /^\d+\.\d+s$/, 'a duration string');
  assert.match(String(line['logging.googleapis.com/trace']), new RegExp(`^projects/[^/]+/traces/${trace}$`));
  assert.equal(line['logging.googleapis.com/spanId'], span);
  assert.equal(line['logging.googleapis.com/trace_sampled'], true);
});

test("a refusal's line names its error code and the path template, never the id in the path", async () => {
  const { token } = await buyer();
  const requestId = `obs-${randomUUID()}`;
  const orderId = randomUUID();
  const trace = randomBytes(16).toString('hex');
  const answer = await api('GET', `/orders/${orderId}`, {
    token,
    headers: { 'x-request-id': requestId, 'x-cloud-trace-context': `${trace}/12345;o=1` },
  });
  assert.equal(answer.status, 404);
  const lines = await settledAccessLines(requestId);
  assert.equal(lines.length, 1);
  const [line] = lines as [Line];
  assert.equal(line.httpRequest?.requestUrl, '/orders/{order_id}');
  assert.equal(line.httpRequest?.status, 404);
  assert.equal(line.error, 'not_found');
  assert.ok(!JSON.stringify(line).includes(orderId), 'the order id of the path is not logged');
  assert.match(String(line['logging.googleapis.com/trace']), new RegExp(`/traces/${trace}$`));
  assert.equal(line['logging.googleapis.com/spanId'], (12345).toString(16).padStart(16, '0'));
});

test('a body the Functions Framework refuses before our handler still gets its one access line', async () => {
  const requestId = `obs-${randomUUID()}`;
  const answer = await api('POST', '/users', { rawBody: '{"email": "x@example.com", "password": ', headers: { 'x-request-id': requestId } });
  assert.equal(answer.status, 400);
  const lines = await settledAccessLines(requestId);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.httpRequest?.status, 400);
  assert.equal(lines[0]?.error, 'invalid_request');
});

test('no token, password, payment token or key of the run is in any log', async () => {
  // Secrets travel every way they can: sign-up and login bodies (also malformed and refused),
  // tokens in the Authorization header (also a tampered one), a payment token, idempotency keys.
  const email = `secret-${randomUUID()}@example.com`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  assert.equal((await api('POST', '/users', { body: { email, password } })).status, 201);
  const login = await api<{ token: string }>('POST', '/users/authenticate', { body: { email, password } });
  assert.equal(login.status, 200);
  const token = login.body.token;
  await api('POST', '/users/authenticate', { body: { email, password: `${password}-wrong` } });
  await api('POST', '/users/authenticate', { rawBody: `{"email": "${email}", "password": "${password}"`, headers: {} });
  await api('POST', '/users', { body: { email, password, role: 'admin' } });
  await api('GET', '/orders', { token: `${token.slice(0, -4)}AAAA` });

  const sale = await createSale({ stock: 2, holdSeconds: 60 });
  const paymentToken = `tok_${randomBytes(12).toString('hex')}`;
  const idempotencyKey = `idem-${randomBytes(8).toString('hex')}`;
  const order = await api<OrderBody>('POST', '/orders', {
    token,
    body: { product_id: sale.product.product_id },
    headers: { 'idempotency-key': idempotencyKey },
  });
  assert.equal(order.status, 202);
  await eventually('the hold', async () => {
    const seen = await api<OrderBody>('GET', `/orders/${order.body.order_id}`, { token });
    return seen.body.status === 'reserved' ? true : undefined;
  });
  const paid = await api<OrderBody>('POST', `/orders/${order.body.order_id}/checkout`, { token, body: { payment_token: paymentToken } });
  assert.equal(paid.status, 200);
  const adminToken = await admin();
  await api('GET', `/sales/${sale.sale_id}/orders`, { token: adminToken });

  await new Promise((r) => setTimeout(r, 1000)); // the functions' pipes reach the files
  const logs = readdirSync(LOG_DIR)
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(path.join(LOG_DIR, f), 'utf8'))
    .join('\n');
  assert.ok(logs.length > 0, 'the run wrote logs');

  const signingKey = process.env.JWT_PRIVATE_KEY ?? '';
  const keyMaterial = signingKey.includes('BEGIN')
    ? signingKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))
    : [String((JSON.parse(signingKey || '{}') as { d?: string }).d ?? '')].filter(Boolean);
  assert.ok(keyMaterial.length > 0, 'the signing key of the run is known');
  const storePasswords = [process.env.DATABASE_URL, process.env.REDIS_URL]
    .map((u) => (u ? decodeURIComponent(new URL(u).password) : ''))
    .filter((p) => p.length >= 8);
  const secrets: Record<string, string> = {
    password: password,
    'admin password': 'admin-password-1',
    token,
    "token's signature": token.split('.')[2] ?? token,
    'admin token': adminToken,
    'payment token': paymentToken,
    ...Object.fromEntries(keyMaterial.map((k, i) => [`signing key line ${i}`, k])),
    ...Object.fromEntries(storePasswords.map((p, i) => [`store password ${i}`, p])),
  };
  for (const [what, secret] of Object.entries(secrets)) {
    assert.ok(!logs.includes(secret), `the ${what} is not logged`);
  }
});
