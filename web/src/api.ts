// The client's only door to the system: the gateway, with the bearer token of the session.

export const API_URL: string = import.meta.env.VITE_API_URL ?? '/api';

export interface Answer<T> {
  status: number;
  body: T & { error?: string; message?: string };
}

export interface Sale {
  sale_id: string;
  product: { product_id: string; name: string; price_in_cent: number };
  starts_at: string;
  ends_at: string;
  state: 'upcoming' | 'active' | 'ended';
  stock_total: number;
  stock_remaining: number;
  stock_held?: number;
  hold_seconds: number;
  server_time: string;
}

// An order's shape and statuses are the functions' own (a module of types only).
export type { Order, OrderStatus } from '../../functions/src/lib/order-row';

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
    return { status: answer.status, body: (text ? JSON.parse(text) : {}) as Answer<T>['body'] };
  } catch {
    // No answer at all (offline, the gateway down): the caller shows it as "try again".
    return { status: 0, body: { error: 'unavailable', message: 'No connection to the shop.' } as Answer<T>['body'] };
  }
}
