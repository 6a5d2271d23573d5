// Idempotency keys and rate limits on POST /orders and POST /users/authenticate, through the gateway.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { api, buyer, closeHelpers, createSale, database, seedLoginUsers, type OrderBody } from '../helpers.ts';

after(closeHelpers);

test('the same Idempotency-Key and body answer the first answer again: same status, same body', async () => {
  const sale = await createSale({ stock: 5 });
  const { token } = await buyer();
  const body = { product_id: sale.product.product_id };
  const headers = { 'Idempotency-Key': `click-${randomUUID()}` };
  const first = await api<OrderBody>('POST', '/orders', { token, body, headers });
  assert.equal(first.status, 202);
  const again = await api<OrderBody>('POST', '/orders', { token, body, headers });
  assert.equal(again.status, 202);
  assert.deepEqual(again.body, first.body);
  const alias = await api<OrderBody>('POST', '/orders', { token, body, headers: { 'x-idempotency-key': headers['Idempotency-Key'] } });
  assert.deepEqual([alias.status, alias.body], [202, first.body], 'x-idempotency-key is the same header');
  const fresh = await api('POST', '/orders', { token, body, headers: { 'Idempotency-Key': `click-${randomUUID()}` } });
  assert.deepEqual([fresh.status, fresh.body.error], [409, 'already_purchased'], 'a new key is a new attempt');
});

test('a refusal is replayed too', async () => {
  const sale = await createSale({ stock: 0 });
  const { token } = await buyer();
  const headers = { 'Idempotency-Key': randomUUID() };
  const body = { product_id: sale.product.product_id };
  const first = await api('POST', '/orders', { token, body, headers });
  const again = await api('POST', '/orders', { token, body, headers });
  assert.deepEqual([first.status, first.body.error], [409, 'sold_out']);
  assert.deepEqual(again.body, first.body);
});

test('the same key with a different body is 422 idempotency_key_reused; a bad key is 400', async () => {
  const a = await createSale({ stock: 5 });
  const b = await createSale({ stock: 5 });
  const { token } = await buyer();
  const headers = { 'Idempotency-Key': randomUUID() };
  assert.equal((await api('POST', '/orders', { token, body: { product_id: a.product.product_id }, headers })).status, 202);
  const reused = await api('POST', '/orders', { token, body: { product_id: b.product.product_id }, headers });
  assert.deepEqual([reused.status, reused.body.error], [422, 'idempotency_key_reused']);
  const other = await buyer();
  const theirs = await api('POST', '/orders', { token: other.token, body: { product_id: b.product.product_id }, headers });
  assert.equal(theirs.status, 202, 'keys are scoped per user');
  const bad = await api('POST', '/orders', { token, body: { product_id: a.product.product_id }, headers: { 'Idempotency-Key': 'x'.repeat(201) } });
  assert.deepEqual([bad.status, bad.body.error], [400, 'invalid_request']);
});

test('one buyer sending the same key 20 times at once gets one unit and one answer', async () => {
  const sale = await createSale({ stock: 5 });
  const { token, userId } = await buyer();
  const headers = { 'Idempotency-Key': randomUUID() };
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => api<OrderBody>('POST', '/orders', { token, body: { product_id: sale.product.product_id }, headers })),
  );
  assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([202]));
  assert.equal(new Set(answers.map((a) => JSON.stringify(a.body))).size, 1);
  const { rows } = await database().query('SELECT 1 FROM orders WHERE user_id = $1', [userId]);
  assert.ok(rows.length <= 1);
});

test('a buyer hammering POST /orders is 429 rate_limited with Retry-After', async () => {
  const sale = await createSale({ stock: 5 });
  const { token } = await buyer();
  const answers = [];
  for (let i = 0; i < 12; i++) answers.push(await api('POST', '/orders', { token, body: { product_id: sale.product.product_id } }));
  const limited = answers.filter((a) => a.status === 429);
  assert.ok(limited.length > 0, answers.map((a) => a.status).join(','));
  assert.equal(limited[0]?.body.error, 'rate_limited');
  assert.match(limited[0]?.headers.get('retry-after') ?? '', /^\d+$/);
});

test('password guessing on one email is 429 rate_limited with Retry-After', async () => {
  const email = `guess-${randomUUID()}@example.com`;
  await api('POST', '/users', { body: { email, password: 'the-right-one' } });
  const statuses: number[] = [];
  let limited;
  for (let i = 0; i < 15 && !limited; i++) {
    const answer = await api('POST', '/users/authenticate', { body: { email, password: `wrong-${i}` } });
    statuses.push(answer.status);
    if (answer.status === 429) limited = answer;
  }
  assert.ok(limited, statuses.join(','));
  assert.equal(limited.body.error, 'rate_limited');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.ok(statuses.slice(0, 10).every((s) => s === 401), 'the first tries are answered');
});

test('wrong passwords spend only the email limit: the owner still logs in, the guesses stay refused', async () => {
  // A cheap hash keeps the whole test well inside one email interval (6 s), so no try is refilled.
  const [owner0] = await seedLoginUsers(1, 'the-right-one');
  assert.ok(owner0);
  const { email } = owner0;
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await api('POST', '/users/authenticate', { body: { email, password: `wrong-${i}` } })).status);
  assert.equal(statuses.at(-1), 429, statuses.join(','));
  const owner = await api<{ token: string }>('POST', '/users/authenticate', { body: { email, password: 'the-right-one' } });
  assert.equal(owner.status, 200, 'the right password passes a spent email limit');
  assert.ok(owner.body.token);
  const guess = await api('POST', '/users/authenticate', { body: { email, password: 'wrong-again' } });
  assert.equal(guess.status, 429);
  assert.equal(guess.body.error, 'rate_limited');
  assert.ok(Number(guess.headers.get('retry-after')) >= 1);
});

test('the local stack does not limit logins per IP: 150 buyers sign in from 127.0.0.1', async () => {
  const password = 'crowd-password';
  const buyers = await seedLoginUsers(150, password);
  const statuses: number[] = [];
  for (let i = 0; i < buyers.length; i += 15) {
    const batch = buyers.slice(i, i + 15).map(({ email }) => api('POST', '/users/authenticate', { body: { email, password } }));
    statuses.push(...(await Promise.all(batch)).map((a) => a.status));
  }
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'every sign-in answered 200',
  );
});
