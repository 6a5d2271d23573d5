// The verdicts npm run check prints (functions/src/checker/invariants.ts): one per invariant,
// the violations that broke it named, conservation "not checked" on a sale not quiet or not
// loaded rather than held or violated. The checks themselves run on real stores in
// tests/faults/faults.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noViolations, verdicts, violated, type SaleFacts, type Violations } from '../../functions/src/checker/invariants.ts';

const none: Violations = noViolations();
const facts: SaleFacts = { stock: 2, sold: 2, live: 2, confirmed: 2, failed: 0, redisLeft: 0, redisConfirmed: 2, redisPending: 0, conservation: 'checked' };

test('a clean sale: the four invariants an operator can judge, each held', () => {
  const list = verdicts(none, facts, { history: false });
  assert.deepEqual(list.map((v) => `${v.invariant}: ${v.verdict}`), ['1. no oversell: held', '2. one per user: held', '3. nothing lost: held', '4. conservation: held']);
  assert.equal(violated(list), false);
});

test('with a history, what buyers were told is judged too', () => {
  const list = verdicts({ ...none, told_no_but_sold: 1 }, facts, { history: true });
  assert.deepEqual(list.at(-1), { invariant: '6. idempotency', verdict: 'violated', details: ['told_no_but_sold: 1'] });
});

test('an oversold sale names the violation and the counts', () => {
  const list = verdicts({ ...none, oversold: 1, sold_mismatch: 1 }, { ...facts, live: 3 }, { history: false });
  assert.equal(list[0]?.verdict, 'violated');
  assert.deepEqual(list[0]?.details, ['oversold: 1 (3 reserved or confirmed of 2)', 'sold_mismatch: 1 (sold = 2, reserved + confirmed = 3)']);
  assert.equal(violated(list), true);
});

test('conservation on a sale not quiet, or not in Redis, is not checked, not violated', () => {
  for (const conservation of ['not_quiet', 'not_loaded'] as const) {
    const list = verdicts({ ...none, not_conserved: 1 }, { ...facts, conservation, redisPending: 1 }, { history: false });
    assert.equal(list.find((v) => v.invariant === '4. conservation')?.verdict, 'not checked');
    assert.equal(violated(list), false);
  }
  const drifted = verdicts({ ...none, not_conserved: 1, blocked_buyers: 2 }, { ...facts, redisLeft: 1 }, { history: false });
  assert.deepEqual(drifted.find((v) => v.invariant === '4. conservation')?.details, ['not_conserved: 1 (Redis has 1 left; stock - live = 0)', 'blocked_buyers: 2']);
});
