// A crowd at once: 2,000 distinct buyers and 200 repeats against a stock of 100.
// Exactly 100 units are sold, once each, one per buyer (docs/design.md §5 invariants 1, 2, 4).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { api, closeHelpers, createSale, database, eventually, mintToken, seedUsers, type SaleBody } from '../helpers.ts';

after(closeHelpers);

const BUYERS = 2000;
const REPEATS = 200;
const STOCK = 100;

test('2,000 buyers and 200 repeats at a stock of 100: exactly 100 sold, one per buyer', { timeout: 180_000 }, async () => {
  const sale = await createSale({ stock: STOCK });
  const userIds = await seedUsers(BUYERS);
  const tokens = await Promise.all(userIds.map((id) => mintToken(id)));
  const body = { product_id: sale.product.product_id };

  // Every buyer once, and the first REPEATS buyers a second time, all in flight together.
  const attempts = [...userIds.map((id, i) => ({ id, i })), ...userIds.slice(0, REPEATS).map((id, i) => ({ id, i }))];
  const answers = await Promise.all(
    attempts.map(async ({ id, i }) => {
      const answer = await api<{ error?: string; order_id?: string }>('POST', '/orders', { token: tokens[i], body });
      return { userId: id, status: answer.status, error: answer.body.error };
    }),
  );

  const accepted = answers.filter((a) => a.status === 202);
  const refused = answers.filter((a) => a.status !== 202);
  const refusalCodes = new Set(refused.map((a) => `${a.status} ${a.error}`));
  assert.equal(accepted.length, STOCK, 'exactly the stock is accepted');
  assert.deepEqual(
    [...refusalCodes].filter((c) => c !== '409 sold_out' && c !== '409 already_purchased'),
    [],
    'every other answer is 409 sold_out or already_purchased',
  );
  assert.equal(new Set(accepted.map((a) => a.userId)).size, STOCK, 'no buyer got two units');

  const db = database();
  const confirmed = await eventually(
    'every accepted order confirmed in PostgreSQL',
    async () => {
      const { rows } = await db.query<{ user_id: string }>(
        `SELECT user_id FROM orders WHERE sale_id = $1 AND status = 'confirmed'`,
        [sale.sale_id],
      );
      return rows.length === STOCK ? rows : undefined;
    },
    30_000,
  );
  assert.deepEqual(new Set(confirmed.map((r) => r.user_id)), new Set(accepted.map((a) => a.userId)));
  const { rows: saleRows } = await db.query<{ sold: number; stock: number }>(
    'SELECT sold, stock FROM flash_sales WHERE sale_id = $1',
    [sale.sale_id],
  );
  assert.deepEqual(saleRows[0], { sold: STOCK, stock: STOCK });
  const { rows: doubles } = await db.query(
    `SELECT user_id FROM orders WHERE sale_id = $1 AND status IN ('pending', 'reserved', 'confirmed')
      GROUP BY user_id HAVING count(*) > 1`,
    [sale.sale_id],
  );
  assert.deepEqual(doubles, [], 'no user has two live orders');
  const { rows: others } = await db.query(`SELECT status FROM orders WHERE sale_id = $1 AND status <> 'confirmed'`, [
    sale.sale_id,
  ]);
  assert.deepEqual(others, [], 'no order failed');

  const view = await eventually('GET /sales/{id} shows 0 remaining', async () => {
    const answer = await api<SaleBody>('GET', `/sales/${sale.sale_id}`);
    return answer.body.stock_remaining === 0 ? answer.body : undefined;
  });
  assert.equal(view.stock_total, STOCK);
});
