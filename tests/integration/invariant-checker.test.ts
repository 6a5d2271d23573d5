// The invariant checker (functions/src/checker/) against the test stack's own PostgreSQL and
// Redis: a clean sale passes, and a unit Redis lost count of is reported, not missed. The
// command built on it (npm run check) is tested on sales broken on purpose in
// tests/faults/faults.test.ts, where the sweeper can be held off.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { check, checkWhenQuiet, History } from '../../functions/src/checker/invariants.ts';
import { saleKeys } from '../../functions/src/lib/redis.ts';
import { api, buyer, closeHelpers, createSale, database, eventually, type OrderBody } from '../helpers.ts';

const redis = new Redis(process.env.REDIS_URL ?? '', { keyPrefix: process.env.REDIS_KEY_PREFIX ?? '', lazyConnect: true });
after(async () => {
  redis.disconnect();
  await closeHelpers();
});

test('a sale of two with two buyers, once confirmed, shows no violation; a token more in Redis is not_conserved', async () => {
  const sale = await createSale({ stock: 2 });
  const history = new History();
  for (let i = 0; i < 2; i++) {
    const { userId, token } = await buyer();
    const answer = await api<OrderBody>('POST', '/orders', { token, body: { product_id: sale.product.product_id } });
    assert.equal(answer.status, 202);
    history.record({ userId, outcome: 'ok', status: 202, orderId: answer.body.order_id });
    await eventually('confirmed', async () => {
      const order = await api<OrderBody>('GET', `/orders/${answer.body.order_id}`, { token });
      return order.body.status === 'confirmed' ? true : undefined;
    });
  }
  const { violations, facts } = await checkWhenQuiet(database(), redis, sale.sale_id, history, 30_000);
  assert.deepEqual(facts, { stock: 2, sold: 2, live: 2, confirmed: 2, failed: 0, redisLeft: 0, redisConfirmed: 2, redisPending: 0, conservation: 'checked' });
  assert.ok(Object.values(violations).every((n) => n === 0), JSON.stringify(violations));

  // Through the same key builder the functions use: the checker must read the keys they write.
  await redis.incr(saleKeys(sale.sale_id).stock);
  assert.equal((await check(database(), redis, sale.sale_id, history)).violations.not_conserved, 1);
});
