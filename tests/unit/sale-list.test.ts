// GET /sales's body as rendered text (sales/list.ts, salePageJson): byte for byte what
// JSON.stringify made of the page before, for every page of a walk, at moments on both sides of
// a sale's start and end, while pages rendered for one copy of the list are reused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { salePageBody, salePageJson } from '../../functions/src/sales/list.ts';
import type { LiveSale } from '../../functions/src/lib/sale-store.ts';

const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const MIN = 60_000;

function sale(i: number, startsMin: number, endsMin: number): LiveSale {
  return {
    sale_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    // Names a JSON writer must escape, and one that looks like the text around the server time.
    product: { product_id: `p${i}`, name: i % 3 === 0 ? `quote " and \\ and é ${i}` : `},"server_time":"x ${i}`, price_in_cent: 100 + i },
    starts_at: new Date(T0 + startsMin * MIN).toISOString(),
    ends_at: new Date(T0 + endsMin * MIN).toISOString(),
    stock_total: 10 * i,
    hold_seconds: i % 2 === 0 ? 0 : 600,
    stock_remaining: i,
    stock_held: i % 4,
    waiting_room:
      i % 2 === 0
        ? { mode: 'always', admit_per_second: 5 * i, admission_seconds: 60, proof_of_work_bits: i % 3, seed_hash: `${i}`.repeat(64).slice(0, 64) }
        : { mode: 'off', admit_per_second: 0, admission_seconds: 0, proof_of_work_bits: 0, seed_hash: null },
    room_counts: { length: 3 * i, admitted: i },
  };
}

// Ended, active, upcoming; two starting at the same moment (the id breaks the tie).
const copy: readonly LiveSale[] = [
  sale(1, -120, -60),
  sale(2, -50, 10),
  sale(3, -5, 5),
  sale(4, 5, 20),
  sale(5, 5, 30),
  sale(6, 40, 50),
  sale(7, -300, -200),
];

/** Every page of a walk as the old handler wrote it, and as salePageJson writes it, the clock moving between pages. */
function walk(limit: number, clock: (page: number) => number): void {
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const nowMs = clock(page);
    const expected = JSON.stringify(salePageBody(copy, nowMs, { limit, cursor }));
    assert.equal(salePageJson(copy, nowMs, { limit, cursor }), expected, `limit ${limit}, page ${page}, at ${new Date(nowMs).toISOString()}`);
    // Asked again at once: the rendered page is reused, and says the same.
    assert.equal(salePageJson(copy, nowMs, { limit, cursor }), expected);
    cursor = (JSON.parse(expected) as { next_cursor?: string }).next_cursor;
    if (!cursor) return;
  }
  assert.fail('the walk did not end');
}

test('salePageJson: the same text as JSON.stringify of the page, at every moment around every start and end', () => {
  const moments = [-400, -300, -200, -120, -60, -50, -5, 0, 5, 10, 20, 30, 40, 50, 60].flatMap((m) => [T0 + m * MIN - 1, T0 + m * MIN, T0 + m * MIN + 1]);
  for (const nowMs of moments) {
    for (const limit of [1, 2, 3, 50]) {
      assert.equal(salePageJson(copy, nowMs, { limit }), JSON.stringify(salePageBody(copy, nowMs, { limit })));
    }
  }
  assert.equal(salePageJson([], T0, { limit: 50 }), JSON.stringify(salePageBody([], T0, { limit: 50 })));
});

test('salePageJson: a walk whose pages cross sales starting and ending matches the old pages, cursors included', () => {
  for (const limit of [1, 2, 3]) {
    walk(limit, () => T0);
    // Each page a little later, crossing the starts and ends at T0+5 min and T0+10 min.
    walk(limit, (page) => T0 + 4 * MIN + page * 61_000);
  }
});

test('salePageJson: a first page reused within one interval still carries its own request\'s clock in its cursor', () => {
  const first = JSON.parse(salePageJson(copy, T0, { limit: 2 })) as { next_cursor: string; server_time: string };
  const later = JSON.parse(salePageJson(copy, T0 + 1000, { limit: 2 })) as { next_cursor: string; server_time: string };
  const clockOf = (cursor: string) => (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { n: number }).n;
  assert.equal(clockOf(first.next_cursor), T0);
  assert.equal(clockOf(later.next_cursor), T0 + 1000);
  assert.equal(later.server_time, new Date(T0 + 1000).toISOString());
});

test('salePageJson: a new copy of the list is rendered anew (its counts), and a bad cursor is refused as before', () => {
  const before = JSON.parse(salePageJson(copy, T0, { limit: 50 })) as { sales: { stock_remaining: number }[] };
  const changed = copy.map((s) => ({ ...s, stock_remaining: 0 }));
  const after = JSON.parse(salePageJson(changed, T0, { limit: 50 })) as { sales: { stock_remaining: number }[] };
  assert.ok(before.sales.some((s) => s.stock_remaining > 0));
  assert.ok(after.sales.every((s) => s.stock_remaining === 0));
  assert.throws(() => salePageJson(copy, T0, { limit: 50, cursor: 'not-a-cursor' }), (err: { code?: string }) => err.code === 'invalid_request');
});
