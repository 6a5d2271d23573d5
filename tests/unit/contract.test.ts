// The answers the web client types (@flash-sale/contract) are the ones the functions build: a
// type-level check that fails `npm run typecheck` when one side changes alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Order, Sale } from '@flash-sale/contract';
import type { Order as FunctionsOrder } from '../../functions/src/lib/order-row.ts';
import { saleResponse } from '../../functions/src/sales/index.ts';

/** True only when A and B are assignable both ways. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

test("GET /sales/{id}'s answer is the contract's Sale, and an order's is its Order", () => {
  const saleIsContract: Same<ReturnType<typeof saleResponse>, Sale> = true;
  const orderIsContract: Same<FunctionsOrder, Order> = true;
  const answer = saleResponse(
    {
      sale_id: 's',
      product: { product_id: 'p', name: 'Sneaker', price_in_cent: 100 },
      starts_at: '2026-01-01T10:00:00.000Z',
      ends_at: '2026-01-01T11:00:00.000Z',
      stock_total: 3,
      hold_seconds: 0,
      stock_remaining: 2,
      stock_held: 1,
      waiting_room: { mode: 'always', admit_per_second: 10, admission_seconds: 60, proof_of_work_bits: 0, seed_hash: 'ab' },
      room_counts: { length: 4, admitted: 2 },
    },
    Date.parse('2026-01-01T10:30:00.000Z'),
  );
  assert.ok(saleIsContract && orderIsContract);
  assert.deepEqual(Object.keys(answer).sort(), ['ends_at', 'hold_seconds', 'product', 'sale_id', 'server_time', 'starts_at', 'state', 'stock_held', 'stock_remaining', 'stock_total', 'waiting_room']);
  assert.deepEqual(answer.waiting_room, { mode: 'always', admit_per_second: 10, admission_seconds: 60, proof_of_work_bits: 0, seed_hash: 'ab', length: 4, admitted: 2 });
});
