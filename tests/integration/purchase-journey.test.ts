// The whole purchase path through the gateway: sign up, log in, an admin's sale, buy, confirmed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { admin, api, closeHelpers, eventually, listAllSales, type OrderBody, type SaleBody } from '../helpers.ts';

after(closeHelpers);

test('a buyer signs up, logs in, sees the sale, buys one unit and sees it confirmed', async () => {
  const email = `Buyer-${randomUUID()}@Example.com`;
  const signup = await api<{ user_id: string; email: string }>('POST', '/users', {
    body: { email, password: 'a good password' },
  });
  assert.equal(signup.status, 201);
  assert.equal(signup.body.email, email, 'the stored email keeps the case given');
  assert.match(signup.body.user_id, /^[0-9a-f-]{36}$/);

  const login = await api<{ token: string; token_type: string; expires_in: number; user_id: string }>(
    'POST',
    '/users/authenticate',
    { body: { email: email.toLowerCase(), password: 'a good password' } },
  );
  assert.equal(login.status, 200, 'emails compare case-insensitively');
  assert.equal(login.body.token_type, 'Bearer');
  assert.equal(login.body.user_id, signup.body.user_id);
  assert.ok(login.body.expires_in > 0);
  const token = login.body.token;

  const adminToken = await admin();
  const product = await api<{ product_id: string; name: string; price_in_cent: number }>('POST', '/products', {
    token: adminToken,
    body: { name: 'Limited sneaker', price_in_cent: 12999 },
  });
  assert.equal(product.status, 201);
  assert.deepEqual({ name: product.body.name, price: product.body.price_in_cent }, { name: 'Limited sneaker', price: 12999 });

  const startsAt = new Date(Date.now() - 1000).toISOString();
  const endsAt = new Date(Date.now() + 3_600_000).toISOString();
  const sale = await api<SaleBody>('POST', '/sales', {
    token: adminToken,
    body: { product_id: product.body.product_id, starts_at: startsAt, ends_at: endsAt, stock: 3 },
  });
  assert.equal(sale.status, 201);
  assert.equal(sale.body.state, 'active');
  assert.equal(sale.body.stock_total, 3);
  assert.equal(sale.body.stock_remaining, 3);
  assert.equal(sale.body.hold_seconds, 0);
  assert.equal(sale.body.product.product_id, product.body.product_id);

  const list = await api<{ sales: SaleBody[]; server_time: string }>('GET', '/sales');
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('cache-control'), 'public, max-age=1');
  assert.ok(!Number.isNaN(Date.parse(list.body.server_time)));
  // The list is paged: the other tests' sales may put this one on a later page.
  assert.ok((await listAllSales()).some((s) => s.sale_id === sale.body.sale_id), 'the new sale is listed');

  const order = await api<OrderBody>('POST', '/orders', { token, body: { product_id: product.body.product_id } });
  assert.equal(order.status, 202);
  assert.equal(order.body.status, 'pending');
  assert.equal(order.body.user_id, signup.body.user_id);
  assert.equal(order.body.sale_id, sale.body.sale_id);
  assert.equal(order.body.failure_reason, null);

  const confirmed = await eventually('order confirmed', async () => {
    const seen = await api<OrderBody>('GET', `/orders/${order.body.order_id}`, { token });
    assert.equal(seen.status, 200);
    return seen.body.status === 'confirmed' ? seen.body : undefined;
  });
  assert.equal(confirmed.order_id, order.body.order_id);
  assert.equal(confirmed.expires_at, null);

  const mine = await api<{ orders: OrderBody[] }>('GET', `/orders?product_id=${product.body.product_id}`, { token });
  assert.equal(mine.status, 200);
  assert.deepEqual(
    mine.body.orders.map((o) => [o.order_id, o.status]),
    [[order.body.order_id, 'confirmed']],
  );

  // GET /sales/{id} is served from a cache of at most a second.
  await eventually('stock_remaining counts the sale', async () => {
    const seen = await api<SaleBody>('GET', `/sales/${sale.body.sale_id}`);
    assert.equal(seen.status, 200);
    assert.ok(seen.body.stock_remaining >= 2, `stock_remaining ${seen.body.stock_remaining}`);
    return seen.body.stock_remaining === 2 ? true : undefined;
  }, 5000);
});

test('a pending order is visible to its buyer before the worker has written it', async () => {
  // GET /orders merges Redis's pending records with PostgreSQL's rows; both paths answer.
  const adminToken = await admin();
  const product = await api<{ product_id: string }>('POST', '/products', {
    token: adminToken,
    body: { name: 'Poster', price_in_cent: 500 },
  });
  const sale = await api<SaleBody>('POST', '/sales', {
    token: adminToken,
    body: {
      product_id: product.body.product_id,
      starts_at: new Date(Date.now() - 1000).toISOString(),
      ends_at: new Date(Date.now() + 60_000).toISOString(),
      stock: 1,
    },
  });
  assert.equal(sale.status, 201);
  const email = `p-${randomUUID()}@example.com`;
  await api('POST', '/users', { body: { email, password: 'password-123' } });
  const login = await api<{ token: string }>('POST', '/users/authenticate', { body: { email, password: 'password-123' } });
  const order = await api<OrderBody>('POST', '/orders', {
    token: login.body.token,
    body: { product_id: product.body.product_id },
  });
  assert.equal(order.status, 202);
  const list = await api<{ orders: OrderBody[] }>('GET', '/orders', { token: login.body.token });
  assert.equal(list.status, 200);
  assert.equal(list.body.orders.length, 1);
  assert.equal(list.body.orders[0]?.order_id, order.body.order_id);
  assert.ok(['pending', 'confirmed'].includes(list.body.orders[0]?.status ?? ''));
});
