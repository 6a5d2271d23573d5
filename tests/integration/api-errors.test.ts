// Every error code of docs/api.md that the purchase path has, through the gateway: status and body.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { admin, api, buyer, closeHelpers, createSale, eventually, listAllSales, type Answer, type OrderBody } from '../helpers.ts';

after(closeHelpers);

function assertError(answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.error, code);
  assert.equal(typeof answer.body.message, 'string');
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  assert.ok(answer.headers.get('x-request-id'), 'every response carries x-request-id');
}

function fieldsIn(answer: Answer): string[] {
  return ((answer.body.details ?? []) as { field: string }[]).map((d) => d.field);
}

describe('users', () => {
  test('400 invalid_request with details: bad email, short password, unknown field (role)', async () => {
    const bad = await api('POST', '/users', { body: { email: 'not-an-email', password: 'short' } });
    assertError(bad, 400, 'invalid_request');
    assert.deepEqual(fieldsIn(bad).sort(), ['email', 'password']);

    const role = await api('POST', '/users', {
      body: { email: `r-${randomUUID()}@example.com`, password: 'long enough', role: 'admin' },
    });
    assertError(role, 400, 'invalid_request');
    assert.deepEqual(role.body.details, [{ field: 'role', problem: 'unknown field' }]);

    const tooLong = await api('POST', '/users', { body: { email: `l-${randomUUID()}@example.com`, password: 'x'.repeat(129) } });
    assertError(tooLong, 400, 'invalid_request');
  });

  test('400 on a malformed JSON body, never a 500', async () => {
    const answer = await api('POST', '/users', { rawBody: '{"email": "a@b.c", ' });
    assertError(answer, 400, 'invalid_request');
    const notObject = await api('POST', '/users', { rawBody: '[1, 2]' });
    assertError(notObject, 400, 'invalid_request');
    // A body that is not sent as JSON is refused by its Content-Type, before any parsing.
    const textBody = await api('POST', '/users', { rawBody: 'hello', headers: { 'content-type': 'text/plain' } });
    assertError(textBody, 415, 'unsupported_media_type');
  });

  test('409 email_taken, compared case-insensitively', async () => {
    const email = `taken-${randomUUID()}@example.com`;
    assert.equal((await api('POST', '/users', { body: { email, password: 'password-1' } })).status, 201);
    const again = await api('POST', '/users', { body: { email: email.toUpperCase(), password: 'password-2' } });
    assertError(again, 409, 'email_taken');
  });

  test('401 invalid_credentials for a wrong password and for an unknown email; 400 for a bad body', async () => {
    const email = `login-${randomUUID()}@example.com`;
    await api('POST', '/users', { body: { email, password: 'password-1' } });
    assertError(await api('POST', '/users/authenticate', { body: { email, password: 'password-2' } }), 401, 'invalid_credentials');
    assertError(
      await api('POST', '/users/authenticate', { body: { email: `nobody-${randomUUID()}@example.com`, password: 'password-1' } }),
      401,
      'invalid_credentials',
    );
    assertError(await api('POST', '/users/authenticate', { body: { email } }), 400, 'invalid_request');
  });

  test('the JWKS lists the public key and never the private part', async () => {
    const jwks = await api<{ keys: Record<string, string>[] }>('GET', '/.well-known/jwks.json');
    assert.equal(jwks.status, 200);
    assert.equal(jwks.body.keys.length, 1);
    const [key] = jwks.body.keys;
    assert.equal(key?.kty, 'EC');
    assert.equal(key?.alg, 'ES256');
    assert.equal(key?.d, undefined);
  });
});

describe('products and sales', () => {
  test('401 without a token, 403 with a user token, 400 on bad input', async () => {
    const { token } = await buyer();
    assertError(await api('POST', '/products', { body: { name: 'x', price_in_cent: 1 } }), 401, 'unauthenticated');
    assertError(await api('POST', '/products', { token, body: { name: 'x', price_in_cent: 1 } }), 403, 'forbidden');
    assertError(await api('POST', '/sales', { token, body: {} }), 403, 'forbidden');
    assertError(await api('POST', '/sales/update', { token, body: { sale_id: randomUUID() } }), 403, 'forbidden');
    const adminToken = await admin();
    const bad = await api('POST', '/products', { token: adminToken, body: { name: '', price_in_cent: -1 } });
    assertError(bad, 400, 'invalid_request');
    assert.deepEqual(fieldsIn(bad).sort(), ['name', 'price_in_cent']);
  });

  test('POST /sales: 404 for an unknown product, 400 for an empty window, 409 sale_overlaps', async () => {
    const adminToken = await admin();
    const now = Date.now();
    const window = { starts_at: new Date(now + 3_600_000).toISOString(), ends_at: new Date(now + 7_200_000).toISOString() };
    assertError(
      await api('POST', '/sales', { token: adminToken, body: { product_id: randomUUID(), ...window, stock: 1 } }),
      404,
      'not_found',
    );
    const sale = await createSale({ stock: 5, startsInMs: 3_600_000, durationMs: 3_600_000 });
    const productId = sale.product.product_id;
    const reversed = await api('POST', '/sales', {
      token: adminToken,
      body: { product_id: productId, starts_at: window.ends_at, ends_at: window.starts_at, stock: 1 },
    });
    assertError(reversed, 400, 'invalid_request');
    assert.deepEqual(fieldsIn(reversed), ['ends_at']);
    const overlapping = await api('POST', '/sales', {
      token: adminToken,
      body: { product_id: productId, starts_at: new Date(now + 5_400_000).toISOString(), ends_at: new Date(now + 9_000_000).toISOString(), stock: 1 },
    });
    assertError(overlapping, 409, 'sale_overlaps');
    const after = await api('POST', '/sales', {
      token: adminToken,
      body: { product_id: productId, starts_at: sale.ends_at, ends_at: new Date(now + 10_800_000).toISOString(), stock: 1 },
    });
    assert.equal(after.status, 201, 'a sale may start the moment the previous one ends');
  });

  test('POST /sales/update: raises stock and moves the window; 409 stock_below_sold; 404', async () => {
    const adminToken = await admin();
    const sale = await createSale({ stock: 2 });
    const { token } = await buyer();
    assert.equal((await api('POST', '/orders', { token, body: { product_id: sale.product.product_id } })).status, 202);

    const raised = await api('POST', '/sales/update', { token: adminToken, body: { sale_id: sale.sale_id, stock: 5 } });
    assert.equal(raised.status, 200);
    assert.equal(raised.body.stock_total, 5);
    assert.equal(raised.body.stock_remaining, 4);

    assertError(
      await api('POST', '/sales/update', { token: adminToken, body: { sale_id: sale.sale_id, stock: 0 } }),
      409,
      'stock_below_sold',
    );
    const lowered = await api('POST', '/sales/update', { token: adminToken, body: { sale_id: sale.sale_id, stock: 1 } });
    assert.equal(lowered.status, 200, 'down to the units already taken is allowed');
    assert.equal(lowered.body.stock_remaining, 0);

    const newEnd = new Date(Date.now() + 120_000).toISOString();
    const moved = await api('POST', '/sales/update', { token: adminToken, body: { sale_id: sale.sale_id, ends_at: newEnd } });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.ends_at, newEnd);

    assertError(await api('POST', '/sales/update', { token: adminToken, body: { sale_id: randomUUID(), stock: 1 } }), 404, 'not_found');
    assertError(
      await api('POST', '/sales/update', { token: adminToken, body: { sale_id: sale.sale_id, status: 'x' } }),
      400,
      'invalid_request',
    );
  });

  test('GET /sales/{id}: 404 for an unknown or malformed id', async () => {
    assertError(await api('GET', `/sales/${randomUUID()}`), 404, 'not_found');
    assertError(await api('GET', '/sales/not-a-uuid'), 404, 'not_found');
  });

  test('GET /sales lists active and upcoming first (soonest first), then ended (newest first)', async () => {
    const upcoming = await createSale({ stock: 1, startsInMs: 60_000, durationMs: 60_000 });
    const ended = await createSale({ stock: 1, startsInMs: -120_000, durationMs: 60_000 });
    const active = await createSale({ stock: 1 });
    const list = await eventually('sales listed', async () => {
      const sales = await listAllSales();
      const ids = sales.map((s) => s.sale_id);
      return [upcoming, ended, active].every((s) => ids.includes(s.sale_id)) ? sales : undefined;
    });
    const states = list.map((s) => s.state);
    const firstEnded = states.indexOf('ended');
    assert.ok(firstEnded === -1 || states.slice(firstEnded).every((s) => s === 'ended'), states.join(','));
    assert.equal(list.find((s) => s.sale_id === upcoming.sale_id)?.state, 'upcoming');
    assert.equal(list.find((s) => s.sale_id === ended.sale_id)?.state, 'ended');
    assert.equal(list.find((s) => s.sale_id === active.sale_id)?.state, 'active');
  });
});

describe('orders', () => {
  test('400 invalid_request: missing product_id, unknown field, malformed JSON', async () => {
    const { token } = await buyer();
    const missing = await api('POST', '/orders', { token, body: {} });
    assertError(missing, 400, 'invalid_request');
    assert.deepEqual(fieldsIn(missing), ['product_id']);
    const extra = await api('POST', '/orders', { token, body: { product_id: randomUUID(), status: 'confirmed' } });
    assertError(extra, 400, 'invalid_request');
    assertError(await api('POST', '/orders', { token, rawBody: '{"product_id":' }), 400, 'invalid_request');
  });

  test('401 unauthenticated without a token; 404 not_found for a product without a sale', async () => {
    assertError(await api('POST', '/orders', { body: { product_id: randomUUID() } }), 401, 'unauthenticated');
    assertError(await api('GET', '/orders'), 401, 'unauthenticated');
    const { token } = await buyer();
    assertError(await api('POST', '/orders', { token, body: { product_id: randomUUID() } }), 404, 'not_found');
  });

  test('409 sale_not_started and 409 sale_ended', async () => {
    const upcoming = await createSale({ stock: 5, startsInMs: 3_600_000 });
    const ended = await createSale({ stock: 5, startsInMs: -7_200_000, durationMs: 3_600_000 });
    const { token } = await buyer();
    assertError(await api('POST', '/orders', { token, body: { product_id: upcoming.product.product_id } }), 409, 'sale_not_started');
    assertError(await api('POST', '/orders', { token, body: { product_id: ended.product.product_id } }), 409, 'sale_ended');
  });

  test('409 sold_out once the stock is gone, 409 already_purchased for a second try', async () => {
    const sale = await createSale({ stock: 1 });
    const first = await buyer();
    const second = await buyer();
    const body = { product_id: sale.product.product_id };
    assert.equal((await api('POST', '/orders', { token: first.token, body })).status, 202);
    assertError(await api('POST', '/orders', { token: first.token, body }), 409, 'already_purchased');
    assertError(await api('POST', '/orders', { token: second.token, body }), 409, 'sold_out');
  });

  test("404 for another user's order, for an unknown id and for a malformed id", async () => {
    const sale = await createSale({ stock: 2 });
    const owner = await buyer();
    const other = await buyer();
    const order = await api<OrderBody>('POST', '/orders', { token: owner.token, body: { product_id: sale.product.product_id } });
    assert.equal(order.status, 202);
    assertError(await api('GET', `/orders/${order.body.order_id}`, { token: other.token }), 404, 'not_found');
    await eventually('order written', async () => {
      const seen = await api<OrderBody>('GET', `/orders/${order.body.order_id}`, { token: owner.token });
      return seen.body.status === 'confirmed' ? true : undefined;
    });
    assertError(await api('GET', `/orders/${order.body.order_id}`, { token: other.token }), 404, 'not_found');
    const list = await api<{ orders: OrderBody[] }>('GET', '/orders', { token: other.token });
    assert.deepEqual(list.body.orders, []);
    assertError(await api('GET', `/orders/${randomUUID()}`, { token: other.token }), 404, 'not_found');
    assertError(await api('GET', '/orders/12345', { token: other.token }), 404, 'not_found');
  });

  test('the caller’s x-request-id is echoed; an unknown route is 404 not_found', async () => {
    const answer = await api('GET', '/sales', { headers: { 'x-request-id': 'trace-me-123' } });
    assert.equal(answer.headers.get('x-request-id'), 'trace-me-123');
    assertError(await api('GET', '/no-such-route'), 404, 'not_found');
    assertError(await api('DELETE', '/sales'), 404, 'not_found');
  });
});
