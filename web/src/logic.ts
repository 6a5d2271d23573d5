// The client's state logic, pure so that it is tested without a browser: the server's clock,
// countdowns, what a sale shows, and the five words a buyer knows for a result.
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
export type ResultWord = 'success' | 'sold out' | 'sale ended' | 'already purchased' | 'in progress' | 'held' | 'not yet open' | 'failed' | 'try again';

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
    case 'rate_limited':
      return { word: 'try again', text: 'Too many tries: wait a moment and try again.', following: false };
    default:
      return { word: 'try again', text: 'Something went wrong; try again.', following: false };
  }
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
