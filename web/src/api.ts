// The client's only door to the system: the gateway, with the bearer token of the session.

export const API_URL: string = import.meta.env.VITE_API_URL ?? '/api';

export interface Answer<T> {
  status: number;
  body: T & { error?: string; message?: string };
  /** Retry-After of a 429 or 503, in seconds, when the answer carried one. */
  retryAfterS?: number;
}

// The answers' shapes are the API's, shared with the functions (types only).
import type { Order, Sale } from '@flash-sale/contract';
import { followPages, withCursor } from './logic';
export type { Metrics, Order, OrderStatus, QueueTicket, Sale, WaitingRoom } from '@flash-sale/contract';

export async function call<T>(
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const answer = await fetch(`${API_URL}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await answer.text();
    let body: Answer<T>['body'];
    try {
      body = (text ? JSON.parse(text) : {}) as Answer<T>['body'];
    } catch {
      // A front end's own page (an HTML 502 or 503) is no JSON: keep the status, say what it was.
      body = { error: answer.status >= 500 ? 'unavailable' : 'invalid_answer', message: text.slice(0, 200) } as Answer<T>['body'];
    }
    const retryAfter = Number(answer.headers.get('retry-after'));
    return { status: answer.status, body, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterS: retryAfter } : {}) };
  } catch {
    // No answer at all (offline, the gateway down): the caller shows it as "try again".
    return { status: 0, body: { error: 'unavailable', message: 'No connection to the shop.' } as Answer<T>['body'] };
  }
}

/** Every sale, page after page while the API gives a next_cursor (at most `maxPages`). */
export function allSales(maxPages?: number): Promise<Answer<{ sales: Sale[]; server_time?: string }>> {
  return followPages<'sales', Sale>((cursor) => call('GET', withCursor('/sales', cursor)), 'sales', maxPages);
}

/** The caller's orders (of one product, when given), newest first, page after page. */
export function allOrders(token: string, productId?: string, maxPages?: number): Promise<Answer<{ orders: Order[] }>> {
  const path = productId ? `/orders?product_id=${encodeURIComponent(productId)}` : '/orders';
  return followPages<'orders', Order>((cursor) => call('GET', withCursor(path, cursor), { token }), 'orders', maxPages);
}
