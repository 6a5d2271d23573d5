// Reservation holds through the gateway: checkout, cancel and expiry, each deciding the
// order exactly once by PostgreSQL, and the unit going back on sale when the hold ends unpaid.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { api, buyer, closeHelpers, createSale, database, eventually, functionUrl, mintToken, seedUsers, type OrderBody, type SaleBody } from '../helpers.ts';

after(closeHelpers);

async function holdFor(sale: SaleBody, token: string): Promise<OrderBody> {
  const order = await api<OrderBody>('POST', '/orders', { token, body: { product_id: sale.product.product_id } });
  assert.equal(order.status, 202, JSON.stringify(order.body));
  return eventually('order reserved', async () => {
    const seen = await api<OrderBody>('GET', `/orders/${order.body.order_id}`, { token });
    return seen.body.status === 'reserved' ? seen.body : undefined;
  });
}

async function saleView(saleId: string): Promise<SaleBody & { stock_held: number }> {
  return (await api<SaleBody & { stock_held: number }>('GET', `/sales/${saleId}`)).body;
}

async function redisStock(saleId: string): Promise<number> {
  // What a buyer would be told: eventually equal to Redis's count once the view's cache turns.
  return (await saleView(saleId)).stock_remaining;
}

test('reserve → checkout → confirmed, with the payment token recorded', async () => {
  const sale = await createSale({ stock: 3, holdSeconds: 60 });
  const { token } = await buyer();
  const held = await holdFor(sale, token);
  assert.ok(held.expires_at);
  const expected = Date.parse(held.created_at) + 60_000;
  assert.equal(Date.parse(held.expires_at ?? ''), expected, 'expires_at = taken_at + hold_seconds');
  await eventually('the view counts the hold', async () => ((await saleView(sale.sale_id)).stock_held === 1 ? true : undefined));

  const paid = await api<OrderBody>('POST', `/orders/${held.order_id}/checkout`, { token, body: { payment_token: 'tok_visa' } });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  assert.equal(paid.body.status, 'confirmed');
  const { rows } = await database().query('SELECT payment_token, payment_reference FROM orders WHERE order_id = $1', [held.order_id]);
  assert.equal(rows[0]?.payment_token, 'tok_visa');
  assert.match(String(rows[0]?.payment_reference), /^fake-/);
  await eventually('held becomes sold', async () => {
    const view = await saleView(sale.sale_id);
    return view.stock_held === 0 && view.stock_remaining === 2 ? true : undefined;
  });

  const again = await api('POST', `/orders/${held.order_id}/checkout`, { token, body: {} });
  assert.equal(again.status, 409);
  assert.equal(again.body.error, 'not_checkoutable');
  const cancel = await api('DELETE', `/orders/${held.order_id}`, { token });
  assert.equal(cancel.status, 409);
  assert.equal(cancel.body.error, 'not_cancellable');
});

test('reserve → cancel: the unit is back on sale and another buyer gets it at once; the first may buy again', async () => {
  const sale = await createSale({ stock: 1, holdSeconds: 60 });
  const first = await buyer();
  const held = await holdFor(sale, first.token);
  const second = await buyer();
  const soldOut = await api('POST', '/orders', { token: second.token, body: { product_id: sale.product.product_id } });
  assert.equal(soldOut.body.error, 'sold_out');

  const cancelled = await api<OrderBody>('DELETE', `/orders/${held.order_id}`, { token: first.token });
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.body.status, 'cancelled');
  const taken = await api('POST', '/orders', { token: second.token, body: { product_id: sale.product.product_id } });
  assert.equal(taken.status, 202, 'the unit is back at once');

  const otherSale = await createSale({ stock: 2, holdSeconds: 60 });
  const again = await holdFor(otherSale, first.token);
  assert.equal((await api('DELETE', `/orders/${again.order_id}`, { token: first.token })).status, 200);
  const rebuy = await api('POST', '/orders', { token: first.token, body: { product_id: otherSale.product.product_id } });
  assert.equal(rebuy.status, 202, 'after cancel the same user may buy again');
});

test('reserve → wait → expired within 2 s of expires_at; the unit comes back; checkout is 409 hold_expired', async () => {
  const sale = await createSale({ stock: 1, holdSeconds: 2 });
  const { token } = await buyer();
  const held = await holdFor(sale, token);
  const expiresAt = Date.parse(held.expires_at ?? '');
  const expired = await eventually(
    'hold expired',
    async () => {
      const seen = await api<OrderBody>('GET', `/orders/${held.order_id}`, { token });
      return seen.body.status === 'expired' ? Date.now() : undefined;
    },
    10_000,
  );
  assert.ok(expired - expiresAt < 2000, `expired ${expired - expiresAt} ms after expires_at`);
  await eventually('unit back on sale', async () => ((await redisStock(sale.sale_id)) === 1 ? true : undefined), 5000);

  const late = await api('POST', `/orders/${held.order_id}/checkout`, { token, body: {} });
  assert.equal(late.status, 409);
  assert.equal(late.body.error, 'hold_expired');
  const rebuy = await api('POST', '/orders', { token, body: { product_id: sale.product.product_id } });
  assert.equal(rebuy.status, 202, 'after expiry the same user may buy again');
});

test('a checkout after expires_at is 409 hold_expired even before the expiry task has run', async () => {
  const sale = await createSale({ stock: 1, holdSeconds: 60 });
  const { token } = await buyer();
  const held = await holdFor(sale, token);
  // Move the hold's end into the past behind the queue's back: only PostgreSQL's clock counts.
  await database().query(`UPDATE orders SET expires_at = now() - interval '1 second' WHERE order_id = $1`, [held.order_id]);
  const late = await api('POST', `/orders/${held.order_id}/checkout`, { token, body: {} });
  assert.equal(late.status, 409);
  assert.equal(late.body.error, 'hold_expired');
  const { rows } = await database().query('SELECT status FROM orders WHERE order_id = $1', [held.order_id]);
  assert.equal(rows[0]?.status, 'expired', 'the checkout that found it lapsed expired it');
  await eventually('unit back on sale', async () => ((await redisStock(sale.sale_id)) === 1 ? true : undefined), 5000);
});

test('checkout of a confirmed, cancelled or failed order is 409 not_checkoutable; of another user’s, 404', async () => {
  const plain = await createSale({ stock: 2 });
  const owner = await buyer();
  const order = await api<OrderBody>('POST', '/orders', { token: owner.token, body: { product_id: plain.product.product_id } });
  await eventually('confirmed', async () =>
    (await api<OrderBody>('GET', `/orders/${order.body.order_id}`, { token: owner.token })).body.status === 'confirmed' ? true : undefined,
  );
  const confirmed = await api('POST', `/orders/${order.body.order_id}/checkout`, { token: owner.token, body: {} });
  assert.deepEqual([confirmed.status, confirmed.body.error], [409, 'not_checkoutable']);

  const held = await createSale({ stock: 2, holdSeconds: 60 });
  const h = await holdFor(held, owner.token);
  await api('DELETE', `/orders/${h.order_id}`, { token: owner.token });
  const cancelled = await api('POST', `/orders/${h.order_id}/checkout`, { token: owner.token, body: {} });
  assert.deepEqual([cancelled.status, cancelled.body.error], [409, 'not_checkoutable']);

  // A failed order: the worker's "one per user" refusal of a second live order.
  const failedId = randomUUID();
  const again = await holdFor(held, owner.token);
  const task = { order_id: failedId, user_id: owner.userId, product_id: held.product.product_id, sale_id: held.sale_id, taken_ms: Date.now() };
  const failed = await api('POST', '/tasks/persist-order', { base: functionUrl('order-worker'), body: task });
  assert.equal(failed.body.status, 'failed');
  const onFailed = await api('POST', `/orders/${failedId}/checkout`, { token: owner.token, body: {} });
  assert.deepEqual([onFailed.status, onFailed.body.error], [409, 'not_checkoutable']);

  const stranger = await buyer();
  const theirs = await api('POST', `/orders/${again.order_id}/checkout`, { token: stranger.token, body: {} });
  assert.deepEqual([theirs.status, theirs.body.error], [404, 'not_found']);
  const theirsCancel = await api('DELETE', `/orders/${again.order_id}`, { token: stranger.token });
  assert.deepEqual([theirsCancel.status, theirsCancel.body.error], [404, 'not_found']);
  const bad = await api('POST', `/orders/${again.order_id}/checkout`, { token: owner.token, body: { card: '4242' } });
  assert.deepEqual([bad.status, bad.body.error], [400, 'invalid_request']);
});

async function liveCount(saleId: string): Promise<number> {
  const { rows } = await database().query<{ n: string }>(
    `SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status IN ('reserved', 'confirmed')`,
    [saleId],
  );
  return Number(rows[0]?.n ?? 0);
}

test('200 holds end while a checkout for each arrives at that moment: each ends confirmed xor expired', { timeout: 120_000 }, async (t) => {
  const STOCK = 200;
  const sale = await createSale({ stock: STOCK, holdSeconds: 4 });
  const users = await seedUsers(STOCK);
  const tokens = await Promise.all(users.map((u) => mintToken(u)));
  const orders = await Promise.all(
    tokens.map(async (token) => {
      const answer = await api<OrderBody>('POST', '/orders', { token, body: { product_id: sale.product.product_id } });
      assert.equal(answer.status, 202);
      return { token, orderId: answer.body.order_id };
    }),
  );
  const db = database();
  // Every order written as a hold. On a loaded machine the worker can take longer than the
  // hold to write all 200, so the first may already have expired: wait for none pending, not
  // for all reserved at once (their checkouts are then answered hold_expired, as they must be).
  const { rows: holds } = await eventually('all written as holds', async () => {
    const r = await db.query<{ expires_at: Date }>(
      `SELECT expires_at FROM orders WHERE sale_id = $1 AND status IN ('reserved', 'expired')`,
      [sale.sale_id],
    );
    return r.rows.length === STOCK ? r : undefined;
  });
  const lastEnd = Math.max(...holds.map((h) => h.expires_at.getTime()));
  const ends = holds.map((h) => h.expires_at.getTime()).sort((a, b) => a - b);
  // Fire every checkout as the first holds run out, so they are in flight while the rest do.
  await new Promise((r) => setTimeout(r, Math.max(0, (ends[0] ?? lastEnd) - Date.now() - 100)));
  const answers = await Promise.all(
    orders.map(({ token, orderId }) => api<OrderBody>('POST', `/orders/${orderId}/checkout`, { token, body: {} })),
  );
  for (const a of answers) {
    assert.ok(
      (a.status === 200 && a.body.status === 'confirmed') || (a.status === 409 && (a.body as { error?: string }).error === 'hold_expired'),
      `${a.status} ${JSON.stringify(a.body)}`,
    );
  }
  await new Promise((r) => setTimeout(r, Math.max(0, lastEnd - Date.now())));
  const final = await eventually('every hold ended', async () => {
    const r = await db.query<{ order_id: string; status: string }>('SELECT order_id, status FROM orders WHERE sale_id = $1', [sale.sale_id]);
    return r.rows.every((o) => o.status === 'confirmed' || o.status === 'expired') ? r.rows : undefined;
  });
  const byId = new Map(final.map((o) => [o.order_id, o.status]));
  for (const [i, { orderId }] of orders.entries()) {
    const answer = answers[i];
    assert.equal(byId.get(orderId), answer?.status === 200 ? 'confirmed' : 'expired', 'the answer the buyer got is what happened');
  }
  const confirmed = final.filter((o) => o.status === 'confirmed').length;
  t.diagnostic(`${confirmed} confirmed, ${STOCK - confirmed} expired`);
  const { rows: saleRows } = await db.query<{ sold: number }>('SELECT sold FROM flash_sales WHERE sale_id = $1', [sale.sale_id]);
  assert.equal(saleRows[0]?.sold, confirmed, 'sold equals the confirmed count');
  await eventually('Redis stock = stock - live orders', async () => {
    const left = await redisStock(sale.sale_id);
    return left === STOCK - (await liveCount(sale.sale_id)) ? true : undefined;
  }, 5000);
});

test('a burst on a hold sale: half pay, a quarter cancel, a quarter let it run out; a second wave sells out the rest', { timeout: 120_000 }, async () => {
  const STOCK = 50;
  // Holds of 15 s: the first wave's thousand attempts must all be answered before any hold can
  // run out, or a unit given back mid-wave is rightly sold again (seen at 3 s on a loaded host).
  const sale = await createSale({ stock: STOCK, holdSeconds: 15 });
  const users = await seedUsers(1000);
  const tokens = await Promise.all(users.map((u) => mintToken(u)));
  const body = { product_id: sale.product.product_id };
  const first = await Promise.all(tokens.map((token) => api<OrderBody>('POST', '/orders', { token, body }).then((a) => ({ a, token }))));
  const holders = first.filter(({ a }) => a.status === 202);
  assert.equal(holders.length, STOCK);
  const db = database();
  await eventually('all reserved', async () => {
    const r = await db.query(`SELECT 1 FROM orders WHERE sale_id = $1 AND status = 'reserved'`, [sale.sale_id]);
    return r.rows.length === STOCK ? true : undefined;
  });
  const payers = holders.slice(0, 25);
  const cancellers = holders.slice(25, 38);
  await Promise.all([
    ...payers.map(({ a, token }) => api('POST', `/orders/${a.body.order_id}/checkout`, { token, body: {} })),
    ...cancellers.map(({ a, token }) => api('DELETE', `/orders/${a.body.order_id}`, { token })),
  ]);
  // The rest let their holds run out. The second wave keeps buying, and pays as soon as its
  // units are held (for 15 s too), until every unit is confirmed.
  const wave = await seedUsers(200);
  const waveTokens = await Promise.all(wave.map((u) => mintToken(u)));
  const confirmedCount = async () =>
    Number(
      (await db.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'confirmed'`, [sale.sale_id]))
        .rows[0]?.n,
    );
  const deadline = Date.now() + 60_000;
  while ((await confirmedCount()) < STOCK && Date.now() < deadline) {
    const tries = await Promise.all(waveTokens.map((token) => api<OrderBody>('POST', '/orders', { token, body }).then((a) => ({ a, token }))));
    await Promise.all(
      tries
        .filter(({ a }) => a.status === 202)
        .map(async ({ a, token }) => {
          const held = await eventually(
            'held or ended',
            async () => {
              const status = (await api<OrderBody>('GET', `/orders/${a.body.order_id}`, { token })).body.status;
              return status === 'pending' ? undefined : status;
            },
            5000,
          );
          if (held === 'reserved') await api('POST', `/orders/${a.body.order_id}/checkout`, { token, body: {} });
        }),
    );
    await new Promise((r) => setTimeout(r, 200));
  }
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'confirmed'`, [sale.sale_id]);
  assert.equal(Number(rows[0]?.n), STOCK, 'the final count of confirmed orders equals the stock');
  const { rows: s } = await db.query<{ sold: number }>('SELECT sold FROM flash_sales WHERE sale_id = $1', [sale.sale_id]);
  assert.equal(s[0]?.sold, STOCK);
});

test('the sweeper expires a hold whose expiry task is lost, and gives its unit back', async () => {
  const sale = await createSale({ stock: 1, holdSeconds: 600 });
  const { token } = await buyer();
  const held = await holdFor(sale, token);
  // The expiry task is ten minutes away; pretend the hold ended long ago and its task was lost.
  await database().query(`UPDATE orders SET expires_at = now() - interval '1 minute' WHERE order_id = $1`, [held.order_id]);
  await eventually('swept', async () =>
    (await api<OrderBody>('GET', `/orders/${held.order_id}`, { token })).body.status === 'expired' ? true : undefined,
  10_000);
  await eventually('unit back on sale', async () => ((await redisStock(sale.sale_id)) === 1 ? true : undefined), 5000);
});
