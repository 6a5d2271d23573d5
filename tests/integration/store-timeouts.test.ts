// Every call to a store is bounded (issue 15): a Redis that stops answering (CLIENT PAUSE on the
// test stack's real Redis) or a sale row another connection keeps locked makes a request answer
// `503 unavailable` with Retry-After, never hang nor answer 500; and POST /sales/update never
// holds the sale's row lock while it waits for Redis.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { admin, api, buyer, closeHelpers, createSale, database, eventually, functionUrl } from '../helpers.ts';

const control = new Redis(process.env.REDIS_URL ?? '');

after(async () => {
  await closeHelpers();
  control.disconnect();
});

/** Every client of the test stack's Redis waits for `ms`, as if Redis were stuck. */
async function pauseRedis(ms: number): Promise<void> {
  await control.call('CLIENT', 'PAUSE', String(ms), 'ALL');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function assertUnavailable(answer: { status: number; headers: Headers; body: Record<string, unknown> }, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.error, 'unavailable', what);
  assert.ok(answer.headers.get('retry-after'), `${what}: Retry-After`);
}

test('a Redis that stops answering: POST /orders, GET /sales and /health answer 503 unavailable, and all is back after', async () => {
  const sale = await createSale({ stock: 5 });
  const first = await buyer();
  const second = await buyer();
  await api('GET', '/sales'); // the functions' clients are connected and their copies fresh
  await pauseRedis(8000);
  await sleep(700); // past SALES_CACHE_MS: no copy can answer for Redis
  const [order, list, health] = await Promise.all([
    api('POST', '/orders', { token: first.token, body: { product_id: sale.product.product_id } }),
    api('GET', '/sales'),
    api('GET', '/health', { base: functionUrl('orders') }),
  ]);
  assertUnavailable(order, 'POST /orders');
  assertUnavailable(list, 'GET /sales');
  assertUnavailable(health, 'GET /health');

  const back = await eventually('POST /orders accepted once Redis answers', async () => {
    const answer = await api('POST', '/orders', { token: second.token, body: { product_id: sale.product.product_id } });
    return answer.status === 202 ? answer : undefined;
  }, 20_000);
  assert.equal(back.body.status, 'pending');
  assert.equal((await api('GET', '/health', { base: functionUrl('orders') })).status, 200);
});

test('a sale row locked by another connection: POST /sales/update answers 503 once its lock wait runs out', async () => {
  const token = await admin();
  const sale = await createSale({ stock: 5 });
  const holder = await database().connect();
  let release: NodeJS.Timeout | undefined;
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM flash_sales WHERE sale_id = $1 FOR UPDATE', [sale.sale_id]);
    // Unbounded, the update would wait for this.
    release = setTimeout(() => void holder.query('ROLLBACK').catch(() => undefined), 30_000);
    const answer = await api('POST', '/sales/update', { token, body: { sale_id: sale.sale_id, stock: 6 } });
    assertUnavailable(answer, 'POST /sales/update');
  } finally {
    clearTimeout(release);
    await holder.query('ROLLBACK').catch(() => undefined);
    holder.release();
  }
  const retried = await api<{ stock_total: number }>('POST', '/sales/update', { token, body: { sale_id: sale.sale_id, stock: 6 } });
  assert.equal(retried.status, 200);
  assert.equal(retried.body.stock_total, 6);
});

test('POST /sales/update never holds the sale row while it waits for Redis', async () => {
  const token = await admin();
  const sale = await createSale({ stock: 5 });
  const probe = await database().connect();
  let lockedWhileWaiting = 0;
  try {
    await pauseRedis(8000);
    let done = false;
    const update = api('POST', '/sales/update', { token, body: { sale_id: sale.sale_id, stock: 8 } }).finally(() => {
      done = true;
    });
    while (!done) {
      await probe.query('BEGIN');
      try {
        await probe.query('SELECT 1 FROM flash_sales WHERE sale_id = $1 FOR UPDATE NOWAIT', [sale.sale_id]);
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03') throw err;
        lockedWhileWaiting++;
      } finally {
        await probe.query('ROLLBACK');
      }
      await sleep(100);
    }
    const answer = await update;
    assert.equal(lockedWhileWaiting, 0, 'the row was locked while Redis did not answer');
    assertUnavailable(answer, 'POST /sales/update');
  } finally {
    probe.release();
  }
  const retried = await eventually('the update once Redis answers', async () => {
    const answer = await api<{ stock_total: number }>('POST', '/sales/update', { token, body: { sale_id: sale.sale_id, stock: 8 } });
    return answer.status === 200 ? answer : undefined;
  }, 20_000);
  assert.equal(retried.body.stock_total, 8);
});
