// The client's only door to the system: the gateway, with the bearer token of the session.

export const API_URL: string = import.meta.env.VITE_API_URL ?? '/api';

export interface Answer<T> {
  status: number;
  body: T & { error?: string; message?: string };
}

// The answers' shapes are the API's, shared with the functions (types only).
export type { Metrics, Order, OrderStatus, Sale } from '@flash-sale/contract';

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
