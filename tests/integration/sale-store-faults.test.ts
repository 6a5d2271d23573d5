// The sale list and its keys against the test stack's real Redis and PostgreSQL (issue 15): a sale
// past its keeping leaves the list, a read never drops the copy it fills, a rebuild reads one
// snapshot, and Redis follows PostgreSQL's commit, whether the commit fails or Redis does.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
// The rebuild's connection, named so that its lock wait can be told from the stack's own.
process.env.PGAPPNAME = 'sale-store-faults';
// This process's own rebuild waits for the test's lock as long as the test holds it, however slow the host.
process.env.DATABASE_LOCK_TIMEOUT_MS = '60000';
const { db } = await import('../../functions/src/lib/db.ts');
const { redis, SALE_INDEX_KEY, saleKeys } = await import('../../functions/src/lib/redis.ts');
const { cachedSaleIndex, invalidateSaleIndex, loadSaleIntoRedis, readSaleIndex } = await import('../../functions/src/lib/sale-store.ts');
const { rebuildSale, resizeSale } = await import('../../functions/src/lib/scripts.ts');
const { admin, api, buyer, closeHelpers, createSale, database, eventually, listAllSales, seedUsers } = await import('../helpers.ts');

after(async () => {
  await closeHelpers();
  await redis().quit();
  await db().end();
});

const DAY_MS = 24 * 3600 * 1000;

function keysOf(saleId: string): string[] {
  const k = saleKeys(saleId);
  return [k.meta, k.stock, k.buyers, k.orders];
}

test('a sale a week past its end leaves the list, is never loaded again, and reading the list keeps the copy it fills', async () => {
  const sale = await createSale({ stock: 2 });
  // As the list is eight days after the sale ended: its view still published, its keys expired.
  const startsAt = new Date(Date.now() - 9 * DAY_MS);
  const endsAt = new Date(Date.now() - 8 * DAY_MS);
  await database().query('UPDATE flash_sales SET starts_at = $2, ends_at = $3 WHERE sale_id = $1', [sale.sale_id, startsAt, endsAt]);
  const view = { sale_id: sale.sale_id, product: sale.product, starts_at: startsAt.toISOString(), ends_at: endsAt.toISOString(), stock_total: sale.stock_total, hold_seconds: sale.hold_seconds };
  await redis().hset(SALE_INDEX_KEY, sale.sale_id, JSON.stringify(view));
  await redis().del(...keysOf(sale.sale_id));

  invalidateSaleIndex();
  const list = await readSaleIndex();
  assert.ok(!list.some((s) => s.sale_id === sale.sale_id), 'past its keeping: not listed');
  assert.equal(cachedSaleIndex(), list, 'the read installed its copy: nothing invalidated it from inside the read');
  assert.equal(await redis().exists(...keysOf(sale.sale_id)), 0, 'its keys are not loaded again');

  // The sales function's copy may still hold the sale as it was a moment ago (SALES_CACHE_MS).
  await eventually('GET /sales without it', async () => {
    return (await listAllSales()).some((s) => s.sale_id === sale.sale_id) ? undefined : true;
  }, 10_000);
  await eventually('the sweeper unpublishes it', async () => ((await redis().hexists(SALE_INDEX_KEY, sale.sale_id)) === 0 ? true : undefined), 15_000);
});

test('the rebuild reads the sale and its live orders in one snapshot, whatever commits between', async () => {
  const sale = await createSale({ stock: 10 });
  const [userId] = await seedUsers(1);
  const orderId = randomUUID();
  await redis().del(...keysOf(sale.sale_id)); // Redis lost the sale

  const writer = await database().connect();
  try {
    await writer.query('BEGIN');
    await writer.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
    const loading = loadSaleIntoRedis(sale.sale_id);
    await eventually('the rebuild waiting for the orders table', async () => {
      const { rowCount } = await database().query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'sale-store-faults' AND wait_event_type = 'Lock'",
      );
      return rowCount ? true : undefined;
    }, 10_000);
    // The worker's commit, landing in the middle of the rebuild's reading.
    await writer.query(
      `INSERT INTO orders (order_id, user_id, product_id, sale_id, status, created_at) VALUES ($1, $2, $3, $4, 'confirmed', now())`,
      [orderId, userId, sale.product.product_id, sale.sale_id],
    );
    await writer.query('UPDATE flash_sales SET sold = sold + 1 WHERE sale_id = $1', [sale.sale_id]);
    await writer.query('COMMIT');
    await loading;
  } finally {
    await writer.query('ROLLBACK').catch(() => undefined);
    writer.release();
  }
  const k = saleKeys(sale.sale_id);
  assert.equal(await redis().hget(k.buyers, userId ?? ''), orderId, 'the order is in the rebuilt keys');
  assert.equal(await redis().get(k.stock), '9', 'and so its unit is out: stock - sold from the same snapshot');
  assert.equal(await redis().hget(k.meta, 'confirmed'), '1');
});

test('POST /sales whose commit fails leaves nothing in Redis: the sale never sells', async () => {
  const token = await admin();
  await database().query(`CREATE OR REPLACE FUNCTION test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused at commit'; END $$`);
  await database().query('DROP TRIGGER IF EXISTS test_refuse_at_commit ON flash_sales');
  // Deferred: it fires at COMMIT, after every statement of the request succeeded.
  await database().query(`CREATE CONSTRAINT TRIGGER test_refuse_at_commit AFTER INSERT ON flash_sales
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.stock = 4242) EXECUTE FUNCTION test_refuse_at_commit()`);
  try {
    const product = await api<{ product_id: string }>('POST', '/products', { token, body: { name: 'Refused at commit', price_in_cent: 100 } });
    assert.equal(product.status, 201);
    const startsAt = Date.now() - 60_000;
    const created = await api('POST', '/sales', {
      token,
      body: { product_id: product.body.product_id, starts_at: new Date(startsAt).toISOString(), ends_at: new Date(startsAt + 3_600_000).toISOString(), stock: 4242 },
    });
    assert.equal(created.status, 500, JSON.stringify(created.body));
    const published = Object.values(await redis().hgetall(SALE_INDEX_KEY)).filter(
      (v) => (JSON.parse(v) as { product: { product_id: string } }).product.product_id === product.body.product_id,
    );
    assert.deepEqual(published, [], 'nothing published of a sale that does not exist');
    const b = await buyer();
    const order = await api('POST', '/orders', { token: b.token, body: { product_id: product.body.product_id } });
    assert.equal(order.status, 404, JSON.stringify(order.body));
  } finally {
    await database().query('DROP TRIGGER IF EXISTS test_refuse_at_commit ON flash_sales');
    await database().query('DROP FUNCTION IF EXISTS test_refuse_at_commit()');
  }
});

test('a committed change that never reached Redis is applied by the sweeper', async () => {
  const sale = await createSale({ stock: 3 });
  // As if POST /sales/update committed and Redis failed right after.
  await database().query('UPDATE flash_sales SET stock = 7 WHERE sale_id = $1', [sale.sale_id]);
  const seen = await eventually('the new stock on sale', async () => {
    const answer = await api<{ stock_total: number; stock_remaining: number }>('GET', `/sales/${sale.sale_id}`);
    return answer.body.stock_total === 7 ? answer.body : undefined;
  }, 15_000);
  assert.equal(seen.stock_remaining, 7);
  assert.equal(await redis().get(saleKeys(sale.sale_id).stock), '7');
});

test('resize: `check` only asks, `follow` applies what PostgreSQL committed even below the units taken', async () => {
  const saleId = randomUUID();
  const now = Date.now();
  const window = { startsMs: now - 60_000, endsMs: now + 3_600_000, expireAt: Math.ceil(now / 1000) + 3600 };
  await rebuildSale(saleId, { ...window, stockTotal: 5, holdSeconds: 0, productId: randomUUID(), tokensLeft: 3 }, []);
  const k = saleKeys(saleId);
  assert.deepEqual(await resizeSale(saleId, { ...window, stockTotal: 1 }, redis(), 'check'), { result: 'below_taken', taken: 2 });
  assert.deepEqual(await resizeSale(saleId, { ...window, stockTotal: 4 }, redis(), 'check'), { result: 'applied', taken: 2 });
  assert.equal(await redis().get(k.stock), '3', '`check` writes nothing');
  assert.equal(await redis().hget(k.meta, 'stock_total'), '5');
  // A take slipped in between the check and the commit: the units beyond the stock fail in
  // PostgreSQL and each gives its token back, which brings the count up to stock - live orders.
  assert.deepEqual(await resizeSale(saleId, { ...window, stockTotal: 1 }, redis(), 'follow'), { result: 'applied', taken: 2 });
  assert.equal(await redis().get(k.stock), '-1');
  assert.equal(await redis().hget(k.meta, 'stock_total'), '1');
  await redis().del(...keysOf(saleId));
});
