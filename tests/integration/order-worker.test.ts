// The order-worker as the queue calls it: PostgreSQL's word on sold out and one per user,
// and duplicate deliveries (one after another, or at once) that change nothing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { api, buyer, closeHelpers, createSale, database, eventually, functionUrl, type OrderBody } from '../helpers.ts';

after(closeHelpers);

function deliver(task: Record<string, unknown>, retry = 0) {
  return api<{ order_id?: string; status?: string; failure_reason?: string | null; error?: string }>('POST', '/tasks/persist-order', {
    base: functionUrl('order-worker'),
    body: task,
    headers: {
      'x-cloudtasks-queuename': 'orders',
      'x-cloudtasks-taskname': `persist-order-${String(task.order_id)}`,
      'x-cloudtasks-taskretrycount': String(retry),
    },
  });
}

async function orderRow(orderId: string) {
  const { rows } = await database().query<{ status: string; failure_reason: string | null }>(
    'SELECT status, failure_reason FROM orders WHERE order_id = $1',
    [orderId],
  );
  return rows[0];
}

async function soldOf(saleId: string): Promise<number> {
  const { rows } = await database().query<{ sold: number }>('SELECT sold FROM flash_sales WHERE sale_id = $1', [saleId]);
  return rows[0]?.sold ?? -1;
}

test('a task delivered twice, and five times at once, is written and counted once', async () => {
  const sale = await createSale({ stock: 10 });
  const { userId } = await buyer();
  const task = { order_id: randomUUID(), user_id: userId, product_id: sale.product.product_id, sale_id: sale.sale_id, taken_ms: Date.now() };
  const first = await deliver(task);
  assert.equal(first.status, 200);
  assert.equal(first.body.status, 'confirmed');
  const again = await deliver(task, 1);
  assert.deepEqual(again.body, first.body);
  assert.equal(await soldOf(sale.sale_id), 1);

  const { userId: other } = await buyer();
  const concurrent = { ...task, order_id: randomUUID(), user_id: other };
  const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => deliver(concurrent, i)));
  assert.deepEqual(new Set(answers.map((a) => `${a.status} ${a.body.status}`)), new Set(['200 confirmed']));
  assert.equal(await soldOf(sale.sale_id), 2);
});

test('PostgreSQL has the last word: a token Redis gave out beyond the stock ends failed (sold_out)', async () => {
  const sale = await createSale({ stock: 1 });
  const first = await buyer();
  const order = await api<OrderBody>('POST', '/orders', { token: first.token, body: { product_id: sale.product.product_id } });
  assert.equal(order.status, 202);
  await eventually('first order confirmed', async () => ((await orderRow(order.body.order_id))?.status === 'confirmed' ? true : undefined));

  // As if Redis had lost its keys and handed out a second token for the last unit.
  const { userId } = await buyer();
  const orphan = { order_id: randomUUID(), user_id: userId, product_id: sale.product.product_id, sale_id: sale.sale_id, taken_ms: Date.now() };
  const answer = await deliver(orphan);
  const orphanSettledAt = new Date().toISOString();
  assert.equal(answer.status, 200);
  assert.deepEqual([answer.body.status, answer.body.failure_reason], ['failed', 'sold_out']);
  assert.deepEqual(await orderRow(orphan.order_id), { status: 'failed', failure_reason: 'sold_out' });
  assert.equal(await soldOf(sale.sale_id), 1);
  // Redis itself, not the sale view's one-second cache: no token came back for an order that never held one.
  const left = await eventually('sale view refreshed', async () => {
    const view = await api<{ stock_remaining: number }>('GET', `/sales/${sale.sale_id}`);
    return Date.now() - Date.parse(orphanSettledAt) > 1000 ? view.body.stock_remaining : undefined;
  });
  assert.equal(left, 0, 'no token was released for an order that never held one');
});

test('PostgreSQL has the last word: a second live order of one user ends failed (already_purchased)', async () => {
  const sale = await createSale({ stock: 5 });
  const { userId } = await buyer();
  const base = { user_id: userId, product_id: sale.product.product_id, sale_id: sale.sale_id, taken_ms: Date.now() };
  const one = await deliver({ ...base, order_id: randomUUID() });
  assert.equal(one.body.status, 'confirmed');
  const twoId = randomUUID();
  const two = await deliver({ ...base, order_id: twoId });
  assert.equal(two.status, 200);
  assert.deepEqual([two.body.status, two.body.failure_reason], ['failed', 'already_purchased']);
  assert.deepEqual(await orderRow(twoId), { status: 'failed', failure_reason: 'already_purchased' });
  assert.equal(await soldOf(sale.sale_id), 1);
});

test('a malformed task is refused with 400, and writes nothing', async () => {
  const answer = await deliver({ order_id: 'nope' });
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error, 'invalid_request');
});

test('ten tasks at once for three units (batched by the worker): three confirmed, seven sold out', async () => {
  const sale = await createSale({ stock: 3 });
  const users = await Promise.all(Array.from({ length: 10 }, () => buyer()));
  const base = Date.now();
  const tasks = users.map(({ userId }, i) => ({
    order_id: randomUUID(),
    user_id: userId,
    product_id: sale.product.product_id,
    sale_id: sale.sale_id,
    taken_ms: base + i,
  }));
  const answers = await Promise.all(tasks.map((t) => deliver(t)));
  assert.equal(answers.filter((a) => a.body.status === 'confirmed').length, 3);
  assert.equal(answers.filter((a) => a.body.status === 'failed' && a.body.failure_reason === 'sold_out').length, 7);
  for (const [i, t] of tasks.entries()) assert.equal((await orderRow(t.order_id))?.status, answers[i]?.body.status, 'each answer is what was written');
  assert.equal(await soldOf(sale.sale_id), 3);
});

// Tasks of several orders (task-queue-group.ts): the orders one instance accepted in one turn.
type GroupAnswer = { orders?: { order_id: string; status: string; failure_reason: string | null }[]; error?: string };
function deliverGroup(orders: Record<string, unknown>[], retry = 0) {
  return api<GroupAnswer>('POST', '/tasks/persist-order', {
    base: functionUrl('order-worker'),
    body: { orders },
    headers: { 'x-cloudtasks-queuename': 'orders', 'x-cloudtasks-taskname': 'persist-orders-test', 'x-cloudtasks-taskretrycount': String(retry) },
  });
}

async function ordersFor(sale: Awaited<ReturnType<typeof createSale>>, n: number, base = Date.now()) {
  const users = await Promise.all(Array.from({ length: n }, () => buyer()));
  return users.map(({ userId }, i) => ({ order_id: randomUUID(), user_id: userId, product_id: sale.product.product_id, sale_id: sale.sale_id, taken_ms: base + i }));
}

test('a task of several orders delivered again, twice at once, and an order in two tasks: each order written once, sold moved once', async () => {
  const sale = await createSale({ stock: 3 });
  const orders = await ordersFor(sale, 4);
  const first = await deliverGroup(orders);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(
    first.body.orders?.map((o) => [o.order_id, o.status, o.failure_reason]),
    orders.map((o, i) => [o.order_id, i < 3 ? 'confirmed' : 'failed', i < 3 ? null : 'sold_out']),
    'first taken first: the last one finds no room',
  );
  // A retry (the answer was lost), then a duplicate delivery of the same task at once.
  assert.deepEqual((await deliverGroup(orders, 1)).body, first.body);
  const twice = await Promise.all([deliverGroup(orders, 2), deliverGroup(orders, 2)]);
  for (const answer of twice) assert.deepEqual([answer.status, answer.body], [200, first.body]);
  assert.equal(await soldOf(sale.sale_id), 3);

  // An order in two tasks (a task of its own, as the sweeper's resend, and another group): a duplicate.
  const [late] = await ordersFor(sale, 1, Date.now() + 1000);
  assert.equal((await deliver(orders[1] ?? {})).body.status, 'confirmed');
  const overlap = await deliverGroup([orders[1] ?? {}, late ?? {}]);
  assert.deepEqual(overlap.body.orders?.map((o) => o.status), ['confirmed', 'failed']);
  assert.equal(await soldOf(sale.sale_id), 3);
  const { rows } = await database().query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE sale_id = $1', [sale.sale_id]);
  assert.equal(Number(rows[0]?.n), 5, 'five orders, one row each');
});

test('a partly failing task (one sale of two locked past the lock timeout): the rest written, the failed ones queued again on their own and written once', async () => {
  const [a, b] = await Promise.all([createSale({ stock: 5 }), createSale({ stock: 5 })]);
  if (!a || !b) assert.fail('sales');
  const [ordersA, ordersB] = await Promise.all([ordersFor(a, 2), ordersFor(b, 2)]);
  const task = [ordersA[0], ordersB[0], ordersA[1], ordersB[1]].map((o) => o ?? {});
  // An admin's transaction holding sale A's row: A's batch waits for it, then gives up (lock_timeout).
  const locker = await database().connect();
  let partly: Awaited<ReturnType<typeof deliverGroup>>;
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM flash_sales WHERE sale_id = $1 FOR UPDATE', [a.sale_id]);
    partly = await deliverGroup(task);
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
  assert.equal(partly.status, 200, JSON.stringify(partly.body));
  assert.deepEqual(partly.body.orders?.map((o) => o.order_id), ordersB.map((o) => o.order_id), "sale B's orders are done");
  assert.deepEqual((partly.body as { requeued?: string[] }).requeued, ordersA.map((o) => o.order_id), "sale A's are queued again, in a task of their own");
  for (const o of ordersB) assert.equal((await orderRow(o.order_id))?.status, 'confirmed');
  // The stack's queue delivers that task (retried with backoff while the lock was still held).
  await eventually('sale A written', async () => ((await soldOf(a.sale_id)) === 2 ? true : undefined), 30_000);
  for (const o of ordersA) assert.equal((await orderRow(o.order_id))?.status, 'confirmed');

  // The whole task delivered again (at least once): every order a duplicate, nothing moves.
  const again = await deliverGroup(task, 1);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.deepEqual(again.body.orders?.map((o) => o.status), Array(4).fill('confirmed'));
  assert.deepEqual([await soldOf(a.sale_id), await soldOf(b.sale_id)], [2, 2], 'each order counted once');
});
