// GET /sales, one page at a time: the listing order (active and upcoming soonest first, then
// ended newest first) depends on the clock, so a cursor carries the moment its walk began and
// every page of that walk is ordered as of then — a sale that ends mid-walk keeps its place,
// and a sale added mid-walk lands before the cursor (not shown) or after it (shown once).
import { z } from 'zod';
import { decodeCursor, pageOf, pageQueryShape } from '../lib/pages.js';
import { compareForListing } from '../lib/sale-state.js';
import type { LiveSale } from '../lib/sale-store.js';

export const saleListQuerySchema = z.strictObject(pageQueryShape);

const salePositionSchema = z.strictObject({
  /** When the walk began (ms): the clock the listing order is computed with. */
  n: z.number().int().nonnegative(),
  s: z.number().int(),
  e: z.number().int(),
  id: z.string().min(1).max(100),
});

interface Listed {
  sale_id: string;
  starts_at: string;
  ends_at: string;
}

/** The listing order as of `asOfMs`, sale ids breaking ties so that the order is total. */
function listingOrder(asOfMs: number) {
  return (a: Listed, b: Listed) => compareForListing(a, b, asOfMs) || (a.sale_id < b.sale_id ? -1 : a.sale_id > b.sale_id ? 1 : 0);
}

/** The page of `sales` after `cursor` (or the first), and the cursor of the next if there is one. */
export function salePage(sales: readonly LiveSale[], nowMs: number, page: { limit: number; cursor?: string }): { sales: LiveSale[]; next_cursor?: string } {
  const after = page.cursor ? decodeCursor(page.cursor, salePositionSchema) : undefined;
  const asOf = after?.n ?? nowMs;
  const order = listingOrder(asOf);
  const last: Listed | undefined = after && {
    sale_id: after.id,
    starts_at: new Date(after.s).toISOString(),
    ends_at: new Date(after.e).toISOString(),
  };
  const rest = [...sales].sort(order).filter((s) => !last || order(s, last) > 0);
  const { items, next_cursor } = pageOf(rest, page.limit, (s) => ({
    n: asOf,
    s: Date.parse(s.starts_at),
    e: Date.parse(s.ends_at),
    id: s.sale_id,
  }));
  return { sales: items, ...(next_cursor ? { next_cursor } : {}) };
}
