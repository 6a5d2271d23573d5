// Request shapes: strict zod schemas reject unknown fields and say which field is wrong.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ApiError } from '../../functions/src/lib/errors.ts';
import { parseInput } from '../../functions/src/lib/http.ts';
import { orderSchema } from '../../functions/src/orders/schemas.ts';
import { createSaleSchema, productSchema, updateSaleSchema } from '../../functions/src/sales/schemas.ts';
import { loginSchema, signupSchema } from '../../functions/src/users/schemas.ts';

function problems(schema: Parameters<typeof parseInput>[0], input: unknown): { field: string; problem: string }[] {
  try {
    parseInput(schema, input);
  } catch (err) {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 'invalid_request');
    assert.equal(err.status, 400);
    return err.details ?? [];
  }
  assert.fail('expected a validation error');
}

test('an email address is at most 254 characters, on sign-up and on login', () => {
  const longest = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.co`;
  assert.equal(longest.length, 254);
  assert.equal(parseInput(signupSchema, { email: longest, password: '12345678' }).email, longest);
  const tooLong = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(40)}.co`;
  assert.ok(tooLong.length > 254 && tooLong.length <= 320);
  assert.deepEqual(problems(signupSchema, { email: tooLong, password: '12345678' }).map((d) => d.field), ['email']);
  assert.deepEqual(problems(loginSchema, { email: tooLong, password: 'x' }).map((d) => d.field), ['email']);
  const threeHundred = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(48)}.com`;
  assert.equal(threeHundred.length, 300);
  assert.deepEqual(problems(signupSchema, { email: threeHundred, password: '12345678' }).map((d) => d.field), ['email']);
});

test('signup: email and a password of 8..128 characters; nothing else', () => {
  assert.deepEqual(parseInput(signupSchema, { email: 'a@b.co', password: '12345678' }), { email: 'a@b.co', password: '12345678' });
  assert.deepEqual(problems(signupSchema, { email: 'a@b.co', password: '1234567' }).map((d) => d.field), ['password']);
  assert.deepEqual(problems(signupSchema, { email: 'a@b.co', password: 'x'.repeat(129) }).map((d) => d.field), ['password']);
  assert.deepEqual(problems(signupSchema, { email: 'nope', password: '12345678' }).map((d) => d.field), ['email']);
  assert.deepEqual(problems(signupSchema, { email: 'a@b.co', password: '12345678', role: 'admin' }), [
    { field: 'role', problem: 'unknown field' },
  ]);
  assert.deepEqual(problems(signupSchema, []).map((d) => d.field), ['(body)']);
  assert.deepEqual(problems(loginSchema, { email: 'a@b.co' }).map((d) => d.field), ['password']);
});

test('sale: a window that starts before it ends, a whole non-negative stock', () => {
  const base = { product_id: randomUUID(), starts_at: '2026-01-01T10:00:00Z', ends_at: '2026-01-01T11:00:00+01:00', stock: 5 };
  assert.deepEqual(problems(createSaleSchema, base).map((d) => d.field), ['ends_at'], 'same instant is not a window');
  const ok = parseInput(createSaleSchema, { ...base, ends_at: '2026-01-01T11:00:00Z' });
  assert.equal(ok.hold_seconds, 0);
  assert.ok(ok.starts_at instanceof Date);
  assert.deepEqual(problems(createSaleSchema, { ...base, ends_at: '2026-01-01T11:00:00Z', stock: 1.5 }).map((d) => d.field), ['stock']);
  assert.deepEqual(problems(createSaleSchema, { ...base, ends_at: '2026-01-01T11:00:00Z', stock: -1 }).map((d) => d.field), ['stock']);
  assert.deepEqual(problems(createSaleSchema, { ...base, starts_at: 'tomorrow' }).map((d) => d.field), ['starts_at']);
  assert.deepEqual(problems(updateSaleSchema, { sale_id: randomUUID(), sold: 3 }), [{ field: 'sold', problem: 'unknown field' }]);
});

test('product and order bodies', () => {
  assert.deepEqual(problems(productSchema, { name: '  ', price_in_cent: 10 }).map((d) => d.field), ['name']);
  assert.deepEqual(problems(productSchema, { name: 'x', price_in_cent: '10' }).map((d) => d.field), ['price_in_cent']);
  assert.deepEqual(problems(orderSchema, { product_id: 'abc' }).map((d) => d.field), ['product_id']);
  assert.deepEqual(problems(orderSchema, { product_id: randomUUID(), user_id: randomUUID() }), [
    { field: 'user_id', problem: 'unknown field' },
  ]);
});
