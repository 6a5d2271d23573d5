// The client's state logic, pure so that it is tested without a browser: the server's clock,
// countdowns, what a sale shows and offers, the words a buyer knows for a result, the session
// and the pages of a list.
import type { Answer, Order, Sale } from './api';

/** How far the server's clock is ahead of this browser's (ms); countdowns use the server's. */
export function clockOffset(serverTime: string, receivedAtMs: number): number {
  return Date.parse(serverTime) - receivedAtMs;
}

export function serverNow(offsetMs: number, localNowMs = Date.now()): number {
  return localNowMs + offsetMs;
}

/** "1:02:03", "4:05" or "0:09": hours only when there are any; never negative. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

export type SaleShows = 'upcoming' | 'active' | 'sold out' | 'ended';

/** What the sale page shows at server time `nowMs`: sold out is no state of the API, but a buyer's. */
export function saleShows(sale: Pick<Sale, 'starts_at' | 'ends_at' | 'stock_remaining'>, nowMs: number): SaleShows {
  if (nowMs < Date.parse(sale.starts_at)) return 'upcoming';
  if (nowMs >= Date.parse(sale.ends_at)) return 'ended';
  return sale.stock_remaining > 0 ? 'active' : 'sold out';
}

export function canBuy(shows: SaleShows): boolean {
  return shows === 'active';
}

/** The words buyers know, and "held" for a unit waiting for payment. */
export type ResultWord = 'success' | 'sold out' | 'sale ended' | 'already purchased' | 'in progress' | 'held' | 'not yet open' | 'in the queue' | 'failed' | 'try again';

export interface Result {
  word: ResultWord;
  /** A sentence a buyer understands. */
  text: string;
  /** Still to be followed (poll the order). */
  following: boolean;
}

export function resultOfOrder(order: Pick<Order, 'status' | 'failure_reason'>): Result {
  switch (order.status) {
    case 'confirmed':
      return { word: 'success', text: 'Success! It is yours.', following: false };
    case 'pending':
      return { word: 'in progress', text: 'In progress: we are writing your order down…', following: true };
    case 'reserved':
      return { word: 'held', text: 'Held for you: pay before the time runs out.', following: true };
    case 'expired':
      return { word: 'failed', text: 'Your hold ran out; the item went back on sale.', following: false };
    case 'cancelled':
      return { word: 'failed', text: 'You cancelled this order.', following: false };
    default:
      return order.failure_reason === 'sold_out'
        ? { word: 'sold out', text: 'Sold out: someone was faster.', following: false }
        : { word: 'failed', text: 'Your order could not be completed; nothing was charged.', following: false };
  }
}

/** The answer to POST /orders in a buyer's words. */
export function resultOfPurchase(answer: Answer<Partial<Order>>): Result {
  if (answer.status === 202 && answer.body.status) return resultOfOrder(answer.body as Order);
  switch (answer.body.error) {
    case 'sold_out':
      return { word: 'sold out', text: 'Sold out: every unit is gone.', following: false };
    case 'sale_ended':
      return { word: 'sale ended', text: 'The sale has ended.', following: false };
    case 'already_purchased':
      return { word: 'already purchased', text: 'You already have one of these.', following: false };
    case 'sale_not_started':
      return { word: 'not yet open', text: 'The sale has not started yet.', following: false };
    case 'not_found':
      return { word: 'failed', text: 'This sale no longer exists.', following: false };
    case 'not_admitted':
      return { word: 'in the queue', text: 'So many people are buying that there is a queue: you are in it now, and you can buy when it is your turn. Nothing was taken.', following: true };
  }
  if (answer.status === 401) return { word: 'try again', text: 'Your session has ended: sign in again to buy.', following: false };
  // No answer: the order may have arrived. Retrying with the same Idempotency-Key never buys twice.
  if (answer.status === 0) return { word: 'try again', text: 'No answer from the shop, so we cannot tell yet whether it worked. Try again: you will never buy twice.', following: false };
  // A 429 or 5xx takes nothing (docs/api.md: nothing was taken unless a 202 said so).
  return { word: 'try again', text: `${problemOf(answer) ?? 'That did not work; try again.'} Nothing was taken.`, following: false };
}

/** The claims of our own token, for the UI only (the server checks them). */
export function tokenClaims(token: string): { sub?: string; role?: string; exp?: number } {
  try {
    const payload = token.split('.')[1] ?? '';
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: string; role?: string; exp?: number };
  } catch {
    return {};
  }
}

export function formatPrice(cents: number): string {
  return `€${(cents / 100).toFixed(2)}`;
}

/** Poll about once a second while the page is seen, ten times slower while it is hidden. */
export function pollEveryMs(visible: boolean): number {
  return visible ? 1000 : 10_000;
}

/** A problem with an answer in a person's words, or null when the answer is fine (2xx). */
export function problemOf(answer: Pick<Answer<unknown>, 'status' | 'retryAfterS'>): string | null {
  if (answer.status >= 200 && answer.status < 300) return null;
  if (answer.status === 0) return 'No connection to the shop. Check your connection; we keep trying.';
  if (answer.status === 429) return `Too many tries: try again in ${answer.retryAfterS ?? 1} s.`;
  if (answer.status === 503) return 'The shop is very busy right now. Try again in a moment.';
  if (answer.status >= 500) return 'Something went wrong on our side. Try again in a moment.';
  return null;
}

// ---- The session: one token, kept across tabs until it expires ----

export interface Session {
  token: string;
  /** When the token stops working, by this browser's clock (from expires_in, so skew-proof). */
  expiresAtMs: number;
  userId: string;
  role: string;
  email: string;
}

export function sessionFromLogin(body: { token: string; expires_in: number; user_id?: string }, email: string, nowMs: number): Session {
  const claims = tokenClaims(body.token);
  return {
    token: body.token,
    expiresAtMs: nowMs + body.expires_in * 1000,
    userId: body.user_id ?? claims.sub ?? '',
    role: claims.role ?? 'user',
    email,
  };
}

/** The stored session, or null when there is none, it is garbage, or it has expired. */
export function storedSession(raw: string | null, nowMs: number): Session | null {
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token !== 'string' || typeof s.expiresAtMs !== 'number') return null;
    if (s.expiresAtMs <= nowMs) return null;
    const claims = tokenClaims(s.token);
    return { token: s.token, expiresAtMs: s.expiresAtMs, userId: s.userId ?? claims.sub ?? '', role: claims.role ?? 'user', email: s.email ?? '' };
  } catch {
    return null;
  }
}

/** Where to go after signing in: only a path of this site (no "//evil.example" open redirect). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

export function signInPath(next: string, mode: 'signin' | 'signup' = 'signin'): string {
  const back = safeNext(next);
  return back === '/' ? `/${mode}` : `/${mode}?next=${encodeURIComponent(back)}`;
}

// ---- The sale page: what the buyer may do, and whose holds are whose ----

/** A buyer's order that still holds a unit: written or not yet, paid or not yet. */
export function holdsUnit(order: Pick<Order, 'status'> | null): boolean {
  return order?.status === 'pending' || order?.status === 'reserved';
}

/** The sale's held units split into the buyer's own and other people's. */
export function holdsShown(stockHeld: number | undefined, own: Pick<Order, 'status'> | null): { own: number; others: number } {
  const mine = holdsUnit(own) ? 1 : 0;
  return { own: mine, others: Math.max(0, (stockHeld ?? 0) - mine) };
}

/** What the sale page offers: never a button for what cannot be done. */
export type Offer = 'buy' | 'sign in to buy' | 'opens soon' | 'in progress' | 'pay or cancel' | 'hold ran out' | 'bought' | 'nothing';

export function offerOf(shows: SaleShows, signedIn: boolean, own: Pick<Order, 'status' | 'expires_at'> | null, nowMs: number): Offer {
  if (own?.status === 'confirmed') return 'bought';
  if (own?.status === 'pending') return 'in progress';
  if (own?.status === 'reserved') return own.expires_at && Date.parse(own.expires_at) <= nowMs ? 'hold ran out' : 'pay or cancel';
  if (!signedIn) return shows === 'active' || shows === 'upcoming' ? 'sign in to buy' : 'nothing';
  if (shows === 'upcoming') return 'opens soon';
  return shows === 'active' ? 'buy' : 'nothing';
}

// ---- My orders ----

/** Where an order stands at `nowMs`: one decision for the order list and the waiting room. */
export type OrderStep = 'confirmed' | 'in progress' | 'holding' | 'hold ran out' | 'expired' | 'cancelled' | 'sold out' | 'failed';

export function orderStep(order: Pick<Order, 'status' | 'failure_reason' | 'expires_at'>, nowMs: number): OrderStep {
  switch (order.status) {
    case 'confirmed':
      return 'confirmed';
    case 'pending':
      return 'in progress';
    case 'reserved':
      return order.expires_at && Date.parse(order.expires_at) <= nowMs ? 'hold ran out' : 'holding';
    case 'expired':
      return 'expired';
    case 'cancelled':
      return 'cancelled';
    default:
      return order.failure_reason === 'sold_out' ? 'sold out' : 'failed';
  }
}

const ORDER_STATE_LABELS: Record<OrderStep, string> = {
  confirmed: 'Bought',
  'in progress': 'In progress',
  holding: 'Held for you: not paid yet',
  'hold ran out': 'Hold ran out',
  expired: 'Hold ran out',
  cancelled: 'Cancelled',
  'sold out': 'Sold out: someone was faster',
  failed: 'Not completed: nothing was charged',
};

/** An order's state as a short phrase for a list. */
export function orderStateLabel(order: Pick<Order, 'status' | 'failure_reason' | 'expires_at'>, nowMs: number): string {
  return ORDER_STATE_LABELS[orderStep(order, nowMs)];
}

/** Time left to pay a held order, or null when it holds nothing now. */
export function holdLeftMs(order: Pick<Order, 'status' | 'expires_at'>, nowMs: number): number | null {
  if (order.status !== 'reserved' || !order.expires_at) return null;
  const left = Date.parse(order.expires_at) - nowMs;
  return left > 0 ? left : null;
}

// ---- Pages of a list (GET /sales, GET /orders) ----

/**
 * Every item of a paginated list: follows `next_cursor` while the API gives one (an API
 * without pagination gives none, and its one answer is the whole list), at most `maxPages`.
 * The first failing page's answer is the answer.
 */
export async function followPages<K extends string, T>(
  fetchPage: (cursor: string | undefined) => Promise<Answer<{ [key in K]: T[] } & { next_cursor?: string | null }>>,
  key: K,
  maxPages = 20,
): Promise<Answer<{ [key in K]: T[] }>> {
  const items: T[] = [];
  let cursor: string | undefined;
  let first: Answer<{ [key in K]: T[] } & { next_cursor?: string | null }> | undefined;
  for (let page = 0; page < maxPages; page++) {
    const answer = await fetchPage(cursor);
    if (answer.status !== 200) return answer;
    first ??= answer;
    items.push(...(answer.body[key] ?? []));
    cursor = answer.body.next_cursor ?? undefined;
    if (!cursor) break;
  }
  return { status: 200, body: { ...(first?.body ?? {}), [key]: items } as { [key in K]: T[] } };
}

/** `path` with `cursor` added to its query, when there is one. */
export function withCursor(path: string, cursor: string | undefined): string {
  if (!cursor) return path;
  return `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`;
}
