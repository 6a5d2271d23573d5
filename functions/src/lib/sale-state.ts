// A sale's state from the clock: upcoming before starts_at, active in [starts_at, ends_at), ended after.
import type { SaleState } from '@flash-sale/contract';

export type { SaleState };

export function saleState(startsAtMs: number, endsAtMs: number, nowMs: number): SaleState {
  if (nowMs < startsAtMs) return 'upcoming';
  if (nowMs < endsAtMs) return 'active';
  return 'ended';
}

interface Windowed {
  starts_at: string;
  ends_at: string;
}

/**
 * The sale a purchase attempt is about: the one whose window holds `nowMs`, else the next
 * to start, else the last to end. The take script re-checks the window with Redis's clock.
 */
export function currentSale<S extends Windowed>(sales: readonly S[], nowMs: number): S | undefined {
  let next: S | undefined;
  let last: S | undefined;
  for (const sale of sales) {
    const starts = Date.parse(sale.starts_at);
    const ends = Date.parse(sale.ends_at);
    const state = saleState(starts, ends, nowMs);
    if (state === 'active') return sale;
    if (state === 'upcoming' && (!next || starts < Date.parse(next.starts_at))) next = sale;
    if (state === 'ended' && (!last || ends > Date.parse(last.ends_at))) last = sale;
  }
  return next ?? last;
}

/** Active and upcoming first (soonest first), then ended (newest first), as docs/api.md lists them. */
export function compareForListing(a: Windowed, b: Windowed, nowMs: number): number {
  const aEnded = Date.parse(a.ends_at) <= nowMs;
  const bEnded = Date.parse(b.ends_at) <= nowMs;
  if (aEnded !== bEnded) return aEnded ? 1 : -1;
  if (!aEnded) return Date.parse(a.starts_at) - Date.parse(b.starts_at);
  return Date.parse(b.ends_at) - Date.parse(a.ends_at);
}
