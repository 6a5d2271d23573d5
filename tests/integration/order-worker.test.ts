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
