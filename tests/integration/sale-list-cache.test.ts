// An instance's copy of the sale list (lib/sale-store.ts), against the test stack's Redis: the
// hot path reads it without a promise, and a busy instance re-reads it in the background
// before it expires, so that a sale created meanwhile shows up without any buyer waiting.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cachedSaleIndex, invalidateSaleIndex, readSaleIndex } from '../../functions/src/lib/sale-store.ts';
import { redis } from '../../functions/src/lib/redis.ts';
import { closeHelpers, createSale, eventually } from '../helpers.ts';

after(async () => {
  await closeHelpers();
  await redis().quit();
});

test('the sale list: a fresh copy without a promise, replaced in the background by the readers of the copy alone', async () => {
  invalidateSaleIndex();
  assert.equal(cachedSaleIndex(), undefined, 'nothing read yet: the caller must read');
  const first = await readSaleIndex();
  assert.equal(cachedSaleIndex(), first, 'right after a read, the same copy, synchronously');

  const sale = await createSale({ stock: 3 });
  assert.ok(!first.some((s) => s.sale_id === sale.sale_id), 'the copy predates the sale');

  // From here only cachedSaleIndex() is called, as the hot path does when its copy is fresh:
  // the new sale can reach the copy only through the background re-read.
  const seen = await eventually('the new sale in the copy', async () => {
    await new Promise((r) => setTimeout(r, 20));
    return cachedSaleIndex()?.find((s) => s.sale_id === sale.sale_id);
  }, 10_000);
  assert.equal(seen.stock_remaining, 3);
});

test('the sale list: a fresh read (maxAgeMs 0) sees a sale created a moment ago, and so does the copy after it', async () => {
  await readSaleIndex();
  const sale = await createSale({ stock: 2 });
  const fresh = await readSaleIndex({ maxAgeMs: 0 });
  assert.ok(fresh.some((s) => s.sale_id === sale.sale_id));
  assert.ok(cachedSaleIndex()?.some((s) => s.sale_id === sale.sale_id));
});
