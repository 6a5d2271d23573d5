// Reading after (and during) a sale: keyset pagination of GET /orders, GET /sales and a sale's
// orders, each walk seeing every item once while items are added; the CSV export of exactly the
// confirmed orders; the operator's numbers; admin reads refused to anyone else.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { admin, api, buyer, closeHelpers, createSale, database, eventually, mintToken, seedUsers, walkPages, type OrderBody, type SaleBody } from '../helpers.ts';

after(closeHelpers);

/** Orders accepted and written to PostgreSQL for `count` fresh buyers of `sale`. */
async function buyAll(sale: SaleBody, userIds: string[]): Promise<string[]> {
  const ids = await Promise.all(
    userIds.map(async (userId) => {
      const answer = await api<OrderBody>('POST', '/orders', { token: await mintToken(userId), body: { product_id: sale.product.product_id } });
      assert.equal(answer.status, 202);
      return answer.body.order_id;
    }),
  );
  await eventually('the orders written', async () => {
    const { rows } = await database().query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE order_id = ANY($1::uuid[])', [ids]);
    return Number(rows[0]?.n) === ids.length ? true : undefined;
  });
  return ids;
}

test("a walk of a sale's orders sees every order once while buyers keep buying", async () => {
  const token = await admin();
  const sale = await createSale({ stock: 200 });
  const users = await seedUsers(120);
  const first = await buyAll(sale, users.slice(0, 60));
  const later = users.slice(60);
  const added: Promise<unknown>[] = [];
  const { seen, pages } = await walkPages<OrderBody & { buyer_email: string }>(`/sales/${sale.sale_id}/orders?limit=7`, 'orders', token, async () => {
    // Six more buyers between every two pages, written or not when the next page is read.
    const batch = later.splice(0, 6);
    if (batch.length > 0) added.push(buyAll(sale, batch));
  });
  await Promise.all(added);
  assert.ok(pages >= 9, `${pages} pages`);
  const ids = seen.map((o) => o.order_id);
  assert.equal(new Set(ids).size, ids.length, 'no order twice');
  for (const id of first) assert.ok(ids.includes(id), `order ${id}, there before the walk, is seen`);
  assert.ok(seen.every((o) => o.sale_id === sale.sale_id && o.buyer_email.endsWith('@test.local')));
  const created = seen.map((o) => Date.parse(o.created_at));
  assert.deepEqual(created, [...created].sort((a, b) => b - a), 'newest first');

  const confirmed = await walkPages<OrderBody>(`/sales/${sale.sale_id}/orders?status=confirmed&limit=100`, 'orders', token);
  assert.ok(confirmed.seen.length >= 60 && confirmed.seen.every((o) => o.status === 'confirmed'));
  const failedOnly = await api<{ orders: OrderBody[] }>('GET', `/sales/${sale.sale_id}/orders?status=failed`, { token });
  assert.deepEqual(failedOnly.body.orders, []);
});

test("GET /orders walks the caller's orders once each, also while the caller buys more", async () => {
  const me = await buyer();
  const sales = await Promise.all(Array.from({ length: 6 }, () => createSale({ stock: 5 })));
  const bought: string[] = [];
  for (const sale of sales.slice(0, 5)) {
    const answer = await api<OrderBody>('POST', '/orders', { token: me.token, body: { product_id: sale.product.product_id } });
    assert.equal(answer.status, 202);
    bought.push(answer.body.order_id);
  }
  const sixth = sales[5] as SaleBody;
  let boughtDuringWalk = false;
  const { seen } = await walkPages<OrderBody>('/orders?limit=2', 'orders', me.token, async () => {
    if (boughtDuringWalk) return;
    boughtDuringWalk = true;
    const answer = await api<OrderBody>('POST', '/orders', { token: me.token, body: { product_id: sixth.product.product_id } });
    assert.equal(answer.status, 202);
  });
  const ids = seen.map((o) => o.order_id);
  assert.equal(new Set(ids).size, ids.length, 'no order twice');
  assert.deepEqual(ids.filter((id) => bought.includes(id)).sort(), [...bought].sort(), 'every order there before the walk, once');
  assert.ok(seen.every((o) => o.user_id === me.userId));

  const whole = await api<{ orders: OrderBody[]; next_cursor?: string }>('GET', '/orders', { token: me.token });
  assert.equal(whole.body.orders.length, 6, 'without limit: the first 50, the old answer');
  assert.equal(whole.body.next_cursor, undefined, 'no next_cursor on the last page');
  for (const bad of ['limit=0', 'limit=101', 'limit=x', 'cursor=not-a-cursor']) {
    const answer = await api('GET', `/orders?${bad}`, { token: me.token });
    assert.equal(answer.status, 400, bad);
    assert.equal(answer.body.error, 'invalid_request', bad);
  }
});

test('GET /sales walks every sale once while sales are created', async () => {
  for (let i = 0; i < 4; i++) await createSale({ stock: 1 });
  const before = await walkPages<SaleBody>('/sales?limit=100', 'sales', undefined);
  const created: string[] = [];
  const { seen } = await walkPages<SaleBody>('/sales?limit=3', 'sales', undefined, async () => {
    if (created.length < 3) created.push((await createSale({ stock: 1 })).sale_id);
  });
  const ids = seen.map((s) => s.sale_id);
  assert.equal(new Set(ids).size, ids.length, 'no sale twice');
  for (const sale of before.seen) assert.ok(ids.includes(sale.sale_id), `sale ${sale.sale_id} is seen`);
  const bad = await api('GET', '/sales?limit=500');
  assert.equal(bad.status, 400);
});

/** RFC 4180 parsing, enough for the export. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

test('the CSV export lists exactly the confirmed orders, with the buyer and when', async () => {
  const token = await admin();
  const sale = await createSale({ stock: 5, holdSeconds: 300 });
  const users = await seedUsers(4);
  const orders = await Promise.all(
    users.map(async (userId) => {
      const t = await mintToken(userId);
      const answer = await api<OrderBody>('POST', '/orders', { token: t, body: { product_id: sale.product.product_id } });
      assert.equal(answer.status, 202);
      await eventually('the hold', async () => ((await api<OrderBody>('GET', `/orders/${answer.body.order_id}`, { token: t })).body.status === 'reserved' ? true : undefined));
      return { id: answer.body.order_id, token: t, userId };
    }),
  );
  const [a, b, c] = orders as [(typeof orders)[0], (typeof orders)[0], (typeof orders)[0]];
  assert.equal((await api('POST', `/orders/${a.id}/checkout`, { token: a.token, body: {} })).status, 200);
  assert.equal((await api('POST', `/orders/${b.id}/checkout`, { token: b.token, body: {} })).status, 200);
  assert.equal((await api('DELETE', `/orders/${c.id}`, { token: c.token })).status, 200);

  const answer = await fetch(`${process.env.TEST_GATEWAY_URL}/sales/${sale.sale_id}/orders.csv`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(answer.status, 200);
  assert.match(answer.headers.get('content-type') ?? '', /^text\/csv/);
  const rows = parseCsv(await answer.text());
  assert.deepEqual(rows[0], ['order_id', 'buyer_email', 'confirmed_at']);
  const { rows: emails } = await database().query<{ user_id: string; email: string }>('SELECT user_id, email FROM users WHERE user_id = ANY($1::uuid[])', [users]);
  const emailOf = new Map(emails.map((e) => [e.user_id, e.email]));
  const body = rows.slice(1).sort((x, y) => (x[0] ?? '').localeCompare(y[0] ?? ''));
  const expected = [a, b].map((o) => [o.id, emailOf.get(o.userId)]).sort((x, y) => (x[0] ?? '').localeCompare(y[0] ?? ''));
  assert.deepEqual(body.map((r) => r.slice(0, 2)), expected, 'exactly the two confirmed orders');
  for (const r of body) assert.ok(!Number.isNaN(Date.parse(r[2] ?? '')), 'a confirmed time');

  const empty = await fetch(`${process.env.TEST_GATEWAY_URL}/sales/${(await createSale({ stock: 1 })).sale_id}/orders.csv`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(await empty.text(), 'order_id,buyer_email,confirmed_at\r\n', 'a sale without confirmed orders: the header alone');
});

test("the operator's numbers count attempts by answer and the orders' final outcomes", async () => {
  const token = await admin();
  const sale = await createSale({ stock: 1 });
  const [first, second] = await seedUsers(2);
  const take = async (userId: string | undefined) =>
    (await api('POST', '/orders', { token: await mintToken(userId ?? ''), body: { product_id: sale.product.product_id } })).status;
  const before = await api<{ attempts: Record<string, number>; final_latency_ms: { count: number } }>('GET', '/admin/metrics', { token });
  assert.equal(before.status, 200);
  assert.equal(await take(first), 202);
  assert.equal(await take(second), 409);
  await eventually('the counts in the metrics', async () => {
    const now = await api<{ attempts: Record<string, number>; final_latency_ms: { count: number; p99_at_most: number | null } }>('GET', '/admin/metrics', { token });
    const grew = (k: string) => (now.body.attempts[k] ?? 0) > (before.body.attempts[k] ?? 0);
    return grew('accepted') && grew('sold_out') && now.body.final_latency_ms.count > before.body.final_latency_ms.count ? true : undefined;
  });
});

test('a non-admin is 403 on every admin read, and no token is 401', async () => {
  const sale = await createSale({ stock: 1 });
  const user = await buyer();
  for (const path of [`/sales/${sale.sale_id}/orders`, `/sales/${sale.sale_id}/orders.csv`, '/admin/metrics']) {
    const asUser = await api('GET', path, { token: user.token });
    assert.equal(asUser.status, 403, path);
    assert.equal(asUser.body.error, 'forbidden', path);
    const anonymous = await api('GET', path);
    assert.equal(anonymous.status, 401, path);
  }
  const unknown = await api('GET', `/sales/${randomUUID()}/orders`, { token: await admin() });
  assert.equal(unknown.status, 404);
});
