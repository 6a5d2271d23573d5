// A sale's state from the clock, which sale an attempt is about, and the listing order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareForListing, currentSale, saleState } from '../../functions/src/lib/sale-state.ts';

const at = (iso: string) => Date.parse(iso);

test('saleState: upcoming before starts_at, active from its first ms to before ends_at, then ended', () => {
  const starts = at('2026-01-01T10:00:00.000Z');
  const ends = at('2026-01-01T11:00:00.000Z');
  assert.equal(saleState(starts, ends, starts - 1), 'upcoming');
  assert.equal(saleState(starts, ends, starts), 'active');
  assert.equal(saleState(starts, ends, ends - 1), 'active');
  assert.equal(saleState(starts, ends, ends), 'ended');
});

const sale = (id: string, starts: string, ends: string) => ({ id, starts_at: starts, ends_at: ends });

test('currentSale: the active one, else the next to start, else the last to end', () => {
  const past = sale('past', '2026-01-01T08:00:00Z', '2026-01-01T09:00:00Z');
  const older = sale('older', '2026-01-01T06:00:00Z', '2026-01-01T07:00:00Z');
  const now = sale('now', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00Z');
  const next = sale('next', '2026-01-01T12:00:00Z', '2026-01-01T13:00:00Z');
  const later = sale('later', '2026-01-01T14:00:00Z', '2026-01-01T15:00:00Z');
  const t = at('2026-01-01T10:30:00Z');
  assert.equal(currentSale([past, next, now, later], t)?.id, 'now');
  assert.equal(currentSale([later, past, next], t)?.id, 'next');
  assert.equal(currentSale([older, past], t)?.id, 'past');
  assert.equal(currentSale([], t), undefined);
});

test('compareForListing: active and upcoming first, soonest first; then ended, newest first', () => {
  const t = at('2026-01-01T10:30:00Z');
  const list = [
    sale('ended-old', '2026-01-01T06:00:00Z', '2026-01-01T07:00:00Z'),
    sale('upcoming', '2026-01-01T12:00:00Z', '2026-01-01T13:00:00Z'),
    sale('ended-new', '2026-01-01T08:00:00Z', '2026-01-01T09:00:00Z'),
    sale('active', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00Z'),
  ];
  assert.deepEqual(
    list.sort((a, b) => compareForListing(a, b, t)).map((s) => s.id),
    ['active', 'upcoming', 'ended-new', 'ended-old'],
  );
});
