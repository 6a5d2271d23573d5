// GET /sales, one page at a time: the listing order (active and upcoming soonest first, then
// ended newest first) depends on the clock, so a cursor carries the moment its walk began and
// every page of that walk is ordered as of then — a sale that ends mid-walk keeps its place,
// and a sale added mid-walk lands before the cursor (not shown) or after it (shown once).
//
// A page is rendered once per copy of the sale list (lib/sale-store.ts) and clock interval,
// then served as text: see salePageJson.
import { z } from 'zod';
import { decodeCursor, encodeCursor, pageOf, pageQueryShape } from '../lib/pages.js';
import { compareForListing, saleState } from '../lib/sale-state.js';
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

/** A sale as the API answers it (docs/api.md, Sale), as of `nowMs`. */
export function saleResponse(sale: LiveSale, nowMs: number) {
  return { ...saleFields(sale, nowMs), server_time: new Date(nowMs).toISOString() };
}

/** All of a sale's answer but its last field, server_time. */
function saleFields(sale: LiveSale, nowMs: number) {
  return {
    sale_id: sale.sale_id,
    product: sale.product,
    starts_at: sale.starts_at,
    ends_at: sale.ends_at,
    state: saleState(Date.parse(sale.starts_at), Date.parse(sale.ends_at), nowMs),
    stock_total: sale.stock_total,
    stock_remaining: sale.stock_remaining,
    stock_held: sale.stock_held,
    hold_seconds: sale.hold_seconds,
    waiting_room: { ...sale.waiting_room, ...sale.room_counts },
  };
}

/** The body of GET /sales as the handler answers it: one page, every sale as of `nowMs`. */
export function salePageBody(sales: readonly LiveSale[], nowMs: number, page: { limit: number; cursor?: string }) {
  const { sales: items, next_cursor } = salePage(sales, nowMs, page);
  return { sales: items.map((s) => saleResponse(s, nowMs)), server_time: new Date(nowMs).toISOString(), ...(next_cursor ? { next_cursor } : {}) };
}

/**
 * A page rendered once: its text but for the server time, which goes between the pieces of
 * `head` (once per sale, then the page's own) and the end; `last` is the position the next
 * cursor names when the page walked from the clock (no cursor), since its `n` is the request's.
 */
interface RenderedPage {
  head: string[];
  last?: { s: number; e: number; id: string };
  /** The next cursor, when the request's cursor fixed the walk's clock. */
  nextCursor?: string;
}

interface CopyPages {
  /** Every starts_at and ends_at of the copy, sorted: between two of them no state and no order changes. */
  boundaries: number[];
  pages: Map<string, RenderedPage>;
}

/** Pages kept per copy (a copy lives SALES_CACHE_MS): enough for the first pages of every limit a client uses. */
const PAGES_PER_COPY = 64;
const renderedPages = new WeakMap<readonly LiveSale[], CopyPages>();

/** How many boundaries are at or before `ms`: the same for two moments iff no state or order differs between them. */
function intervalOf(boundaries: readonly number[], ms: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((boundaries[mid] ?? 0) <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function render(sales: readonly LiveSale[], nowMs: number, page: { limit: number; cursor?: string }): RenderedPage {
  const { sales: items, next_cursor } = salePage(sales, nowMs, page);
  // saleResponse's last field is server_time: each sale's text up to it, the time comes per request.
  const head: string[] = [];
  let open = '{"sales":[';
  for (const item of items) {
    head.push(`${open}${JSON.stringify(saleFields(item, nowMs)).slice(0, -1)},"server_time":`);
    open = '},';
  }
  head.push(items.length > 0 ? '}],"server_time":' : '{"sales":[],"server_time":');
  const lastItem = items.at(-1);
  if (!next_cursor || !lastItem) return { head };
  if (page.cursor) return { head, nextCursor: next_cursor };
  return { head, last: { s: Date.parse(lastItem.starts_at), e: Date.parse(lastItem.ends_at), id: lastItem.sale_id } };
}

/**
 * GET /sales's body as text, exactly JSON.stringify(salePageBody(...)), at a fraction of its
 * cost: a page is rendered once per copy of the list and interval of the clock between two of
 * its sales' starts or ends (within one, no sale's state and no listing order changes), then
 * each request only puts its server time (and, on a first page, its cursor's clock) in.
 * Freshness is the copy's: a new copy (SALES_CACHE_MS) renders anew.
 */
export function salePageJson(sales: readonly LiveSale[], nowMs: number, page: { limit: number; cursor?: string }): string {
  let copy = renderedPages.get(sales);
  if (!copy) {
    const boundaries = sales.flatMap((s) => [Date.parse(s.starts_at), Date.parse(s.ends_at)]).sort((a, b) => a - b);
    copy = { boundaries, pages: new Map() };
    renderedPages.set(sales, copy);
  }
  const asOf = page.cursor ? decodeCursor(page.cursor, salePositionSchema).n : nowMs;
  const key = `${intervalOf(copy.boundaries, nowMs)} ${intervalOf(copy.boundaries, asOf)} ${page.limit} ${page.cursor ?? ''}`;
  let rendered = copy.pages.get(key);
  if (!rendered) {
    rendered = render(sales, nowMs, page);
    if (copy.pages.size >= PAGES_PER_COPY) copy.pages.clear();
    copy.pages.set(key, rendered);
  }
  const time = `"${new Date(nowMs).toISOString()}"`;
  const next = rendered.nextCursor ?? (rendered.last ? encodeCursor({ n: asOf, ...rendered.last }) : undefined);
  return `${rendered.head.join(time)}${time}${next ? `,"next_cursor":"${next}"` : ''}}`;
}
