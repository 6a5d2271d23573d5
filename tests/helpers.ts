// What the tests share: the API through the gateway, tokens minted with the local key, seeded
// users and sales, and polling. The stack itself comes from scripts/test.ts (npm test).
import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Order, Sale } from '@flash-sale/contract';
import pg from 'pg';
import type { FunctionTarget } from '../functions/src/function-names.ts';
import type { Role } from '../functions/src/lib/auth.ts';
import { signingKeyFromSetting } from '../functions/src/lib/keys.ts';
import { hashPassword } from '../functions/src/lib/passwords.ts';
import { signAccessToken } from '../functions/src/lib/tokens.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with npm test, which starts the stack`);
  return value;
}

export const gatewayUrl = () => required('TEST_GATEWAY_URL');
export const functionUrl = (name: FunctionTarget) =>
  (JSON.parse(required('TEST_FUNCTION_URLS')) as Record<string, string>)[name] as string;

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; base?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const answer = await fetch(`${options.base ?? gatewayUrl()}${path}`, { method, headers, body });
  const text = await answer.text();
  return { status: answer.status, headers: answer.headers, body: (text ? JSON.parse(text) : {}) as T };
}

let pool: pg.Pool | undefined;
export function database(): pg.Pool {
  pool ??= new pg.Pool({ connectionString: required('DATABASE_URL'), max: 4 });
  return pool;
}

export async function closeHelpers(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

/** A token for `userId`, signed with the stack's own key, as POST /users/authenticate issues. */
export async function mintToken(userId: string, role: Role = 'user', ttlSeconds = 600): Promise<string> {
  const key = await signingKeyFromSetting(required('JWT_PRIVATE_KEY'));
  return signAccessToken(key, { userId, role }, {
    issuer: required('JWT_ISSUER'),
    audience: required('JWT_AUDIENCE'),
    ttlSeconds,
  });
}

/** `count` users written straight to PostgreSQL (they buy with minted tokens, never log in). */
export async function seedUsers(count: number): Promise<string[]> {
  return (await seedUsersWithEmails(count, 'seeded-no-login')).map((u) => u.userId);
}

/**
 * `count` users who can log in with `password`: one hash shared by all, at a cost far below the
 * real one (the stored hash carries its parameters), so that many logins stay fast.
 */
export async function seedLoginUsers(count: number, password: string): Promise<{ userId: string; email: string }[]> {
  return seedUsersWithEmails(count, await hashPassword(password, { N: 2 ** 10, r: 8, p: 1 }));
}

async function seedUsersWithEmails(count: number, passwordHash: string): Promise<{ userId: string; email: string }[]> {
  const emails = Array.from({ length: count }, () => `buyer-${randomUUID()}@test.local`);
  const { rows } = await database().query<{ user_id: string; email: string }>(
    `INSERT INTO users (email, password_hash) SELECT e, $2 FROM unnest($1::text[]) AS e RETURNING user_id, email`,
    [emails, passwordHash],
  );
  return rows.map((r) => ({ userId: r.user_id, email: r.email }));
}

export async function buyer(): Promise<{ userId: string; token: string }> {
  const [userId] = await seedUsers(1);
  if (!userId) throw new Error('no user seeded');
  return { userId, token: await mintToken(userId) };
}

let adminToken: Promise<string> | undefined;
/** The stack's admin account (scripts/stack.ts makes it as `npm run admin` would), logged in through the API. */
export function admin(): Promise<string> {
  adminToken ??= (async () => {
    const credentials = { email: required('TEST_ADMIN_EMAIL'), password: required('TEST_ADMIN_PASSWORD') };
    const login = await api<{ token: string }>('POST', '/users/authenticate', { body: credentials });
    if (login.status !== 200) throw new Error(`admin login: ${login.status}`);
    return login.body.token;
  })();
  return adminToken;
}

/** The API's answers, as the functions and the web client type them (@flash-sale/contract). */
export type SaleBody = Sale;

/** Every item of a paginated list (`next_cursor`), page by page, calling `between` after each page. */
export async function walkPages<T>(path: string, key: string, token?: string, between: () => Promise<void> = async () => {}) {
  const seen: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const answer = await api<Record<string, unknown> & { next_cursor?: string }>('GET', cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path, { token });
    if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    seen.push(...(answer.body[key] as T[]));
    pages++;
    if (!answer.body.next_cursor) return { seen, pages };
    if (pages >= 1000) throw new Error(`GET ${path}: a walk of 1000 pages has not ended`);
    cursor = answer.body.next_cursor;
    await between();
  }
}

/**
 * Every sale GET /sales lists: the list is paged, so a sale a test looks for, or checks is
 * gone, may be on any page.
 */
export async function listAllSales(): Promise<SaleBody[]> {
  return (await walkPages<SaleBody>('/sales?limit=100', 'sales')).seen;
}
export type OrderBody = Order;

/** A new product with one sale; the window defaults to "started a minute ago, open an hour". */
export async function createSale(
  options: { stock: number; startsInMs?: number; durationMs?: number; holdSeconds?: number; waitingRoom?: Record<string, unknown> } = { stock: 10 },
): Promise<SaleBody> {
  const token = await admin();
  const product = await api<{ product_id: string }>('POST', '/products', {
    token,
    body: { name: `Product ${randomUUID().slice(0, 8)}`, price_in_cent: 1999 },
  });
  if (product.status !== 201) throw new Error(`create product: ${product.status} ${JSON.stringify(product.body)}`);
  const startsAt = Date.now() + (options.startsInMs ?? -60_000);
  const sale = await api<SaleBody>('POST', '/sales', {
    token,
    body: {
      product_id: product.body.product_id,
      starts_at: new Date(startsAt).toISOString(),
      ends_at: new Date(startsAt + (options.durationMs ?? 3_600_000)).toISOString(),
      stock: options.stock,
      ...(options.holdSeconds !== undefined ? { hold_seconds: options.holdSeconds } : {}),
      ...(options.waitingRoom ? { waiting_room: options.waitingRoom } : {}),
    },
  });
  if (sale.status !== 201) throw new Error(`create sale: ${sale.status} ${JSON.stringify(sale.body)}`);
  return sale.body;
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One request through `agent` (a kept-alive one reuses its socket unless the server closed it):
 * status, headers and body; a socket error (ECONNRESET) rejects.
 */
export function sendThrough(
  agent: http.Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? 'GET', agent, headers: options.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body: Buffer.concat(chunks).toString('utf8') }));
      answer.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}
