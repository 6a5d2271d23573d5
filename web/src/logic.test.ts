import { describe, expect, test } from 'vitest';
import type { Answer } from './api';
import {
  canBuy,
  clockOffset,
  followPages,
  formatCountdown,
  holdLeftMs,
  holdsShown,
  offerOf,
  orderStateLabel,
  pollEveryMs,
  problemOf,
  resultOfOrder,
  resultOfPurchase,
  safeNext,
  saleShows,
  serverNow,
  sessionFromLogin,
  signInPath,
  storedSession,
  tokenClaims,
  withCursor,
} from './logic';

describe('countdown from the server clock', () => {
  test('the offset is the server ahead of the browser, and counts', () => {
    const offset = clockOffset('2026-01-01T10:00:05.000Z', Date.parse('2026-01-01T10:00:00.000Z'));
    expect(offset).toBe(5000);
    expect(serverNow(offset, Date.parse('2026-01-01T10:00:00.000Z'))).toBe(Date.parse('2026-01-01T10:00:05.000Z'));
  });

  test('formats minutes and seconds, hours when there are any, never below zero', () => {
    expect(formatCountdown(9_000)).toBe('0:09');
    expect(formatCountdown(245_000)).toBe('4:05');
    expect(formatCountdown(3_723_000)).toBe('1:02:03');
    expect(formatCountdown(-5_000)).toBe('0:00');
    expect(formatCountdown(1)).toBe('0:01');
  });
});

describe('what a sale shows', () => {
  const sale = { starts_at: '2026-01-01T10:00:00Z', ends_at: '2026-01-01T11:00:00Z', stock_remaining: 3 };
  test('upcoming, active, sold out, ended — by the server clock', () => {
    expect(saleShows(sale, Date.parse('2026-01-01T09:59:59.999Z'))).toBe('upcoming');
    expect(saleShows(sale, Date.parse('2026-01-01T10:00:00Z'))).toBe('active');
    expect(saleShows({ ...sale, stock_remaining: 0 }, Date.parse('2026-01-01T10:30:00Z'))).toBe('sold out');
    expect(saleShows(sale, Date.parse('2026-01-01T11:00:00Z'))).toBe('ended');
  });

  test('buying is possible only while active', () => {
    expect(canBuy('active')).toBe(true);
    for (const s of ['upcoming', 'sold out', 'ended'] as const) expect(canBuy(s)).toBe(false);
  });
});

describe('results in the words buyers know', () => {
  test('answers to POST /orders', () => {
    expect(resultOfPurchase({ status: 202, body: { status: 'pending' } }).word).toBe('in progress');
    expect(resultOfPurchase({ status: 409, body: { error: 'sold_out' } }).word).toBe('sold out');
    expect(resultOfPurchase({ status: 409, body: { error: 'sale_ended' } }).word).toBe('sale ended');
    expect(resultOfPurchase({ status: 409, body: { error: 'already_purchased' } }).word).toBe('already purchased');
    // A room on above a rate of attempts, or a turn that ran out: the buyer is put in the queue.
    expect(resultOfPurchase({ status: 403, body: { error: 'not_admitted' } })).toMatchObject({ word: 'in the queue', following: true });
    expect(resultOfPurchase({ status: 0, body: { error: 'unavailable' } }).word).toBe('try again');
  });

  test('orders followed to the end', () => {
    expect(resultOfOrder({ status: 'confirmed', failure_reason: null })).toMatchObject({ word: 'success', following: false });
    expect(resultOfOrder({ status: 'pending', failure_reason: null }).following).toBe(true);
    expect(resultOfOrder({ status: 'reserved', failure_reason: null })).toMatchObject({ word: 'held', following: true });
    expect(resultOfOrder({ status: 'failed', failure_reason: 'sold_out' }).word).toBe('sold out');
    expect(resultOfOrder({ status: 'expired', failure_reason: null }).following).toBe(false);
  });
});

test('token claims for the UI; garbage is no claims', () => {
  const payload = btoa(JSON.stringify({ sub: 'u1', role: 'admin' })).replace(/=+$/, '');
  expect(tokenClaims(`h.${payload}.s`)).toEqual({ sub: 'u1', role: 'admin' });
  expect(tokenClaims('nonsense')).toEqual({});
});

test('polls about once a second while visible and backs off while hidden', () => {
  expect(pollEveryMs(true)).toBe(1000);
  expect(pollEveryMs(false)).toBeGreaterThan(1000);
});

describe('trouble in a buyer\'s words', () => {
  test('no connection, 429 with its Retry-After, 503 and 5xx; none for a 2xx', () => {
    expect(problemOf({ status: 200 })).toBeNull();
    expect(problemOf({ status: 0 })).toMatch(/No connection/);
    expect(problemOf({ status: 429, retryAfterS: 7 })).toBe('Too many tries: try again in 7 s.');
    expect(problemOf({ status: 503 })).toMatch(/busy/);
    expect(problemOf({ status: 500 })).toMatch(/Try again/);
  });

  test('a purchase refused for load says when to try again, and that nothing was taken', () => {
    expect(resultOfPurchase({ status: 429, body: { error: 'rate_limited' }, retryAfterS: 3 }).text).toBe('Too many tries: try again in 3 s. Nothing was taken.');
    expect(resultOfPurchase({ status: 503, body: { error: 'unavailable' } })).toMatchObject({ word: 'try again', following: false });
    expect(resultOfPurchase({ status: 503, body: { error: 'unavailable' } }).text).toMatch(/Nothing was taken/);
    expect(resultOfPurchase({ status: 500, body: { error: 'internal' } }).text).toMatch(/Nothing was taken/);
    // No answer at all: it may have arrived; the buyer is told so, and that a retry never buys twice.
    expect(resultOfPurchase({ status: 0, body: { error: 'unavailable' } }).text).toMatch(/cannot tell yet/);
    expect(resultOfPurchase({ status: 401, body: { error: 'unauthenticated' } }).text).toMatch(/sign in again/);
  });
});

describe('the session', () => {
  const token = (claims: object) => `h.${btoa(JSON.stringify(claims)).replace(/=+$/, '')}.s`;

  test('a login becomes a session that expires after expires_in by this browser\'s clock', () => {
    const s = sessionFromLogin({ token: token({ sub: 'u1', role: 'admin' }), expires_in: 3600, user_id: 'u1' }, 'a@example.com', 1_000);
    expect(s).toMatchObject({ userId: 'u1', role: 'admin', email: 'a@example.com', expiresAtMs: 3_601_000 });
  });

  test('a stored session is kept until it expires; garbage and expired ones are none', () => {
    const raw = JSON.stringify({ token: token({ sub: 'u1', role: 'user' }), expiresAtMs: 10_000, userId: 'u1', email: 'a@example.com' });
    expect(storedSession(raw, 9_999)).toMatchObject({ userId: 'u1', role: 'user' });
    expect(storedSession(raw, 10_000)).toBeNull();
    expect(storedSession('{not json', 0)).toBeNull();
    expect(storedSession(JSON.stringify({ token: 1 }), 0)).toBeNull();
    expect(storedSession(null, 0)).toBeNull();
  });

  test('the role comes from the token, not from what was stored beside it', () => {
    const raw = JSON.stringify({ token: token({ sub: 'u1', role: 'user' }), expiresAtMs: 10_000, role: 'admin' });
    expect(storedSession(raw, 0)?.role).toBe('user');
  });

  test('sign-in returns only to a page of this site', () => {
    expect(safeNext('/sales/abc')).toBe('/sales/abc');
    expect(safeNext('//evil.example/x')).toBe('/');
    expect(safeNext('/\\evil.example')).toBe('/');
    expect(safeNext('https://evil.example')).toBe('/');
    expect(safeNext(null)).toBe('/');
    expect(signInPath('/sales/abc?x=1')).toBe('/signin?next=%2Fsales%2Fabc%3Fx%3D1');
    expect(signInPath('/', 'signup')).toBe('/signup');
  });
});

describe('what the sale page offers', () => {
  const now = Date.parse('2026-01-01T10:00:00Z');
  const held = { status: 'reserved' as const, expires_at: '2026-01-01T10:02:00Z' };

  test('a visitor is asked to sign in, only while buying is or will be possible', () => {
    expect(offerOf('active', false, null, now)).toBe('sign in to buy');
    expect(offerOf('upcoming', false, null, now)).toBe('sign in to buy');
    expect(offerOf('sold out', false, null, now)).toBe('nothing');
    expect(offerOf('ended', false, null, now)).toBe('nothing');
  });

  test('a signed-in buyer can buy while active, waits while upcoming', () => {
    expect(offerOf('active', true, null, now)).toBe('buy');
    expect(offerOf('upcoming', true, null, now)).toBe('opens soon');
    expect(offerOf('sold out', true, null, now)).toBe('nothing');
  });

  test('after a purchase: what was bought, never "buy" again', () => {
    expect(offerOf('active', true, { status: 'confirmed', expires_at: null }, now)).toBe('bought');
    expect(offerOf('sold out', true, { status: 'confirmed', expires_at: null }, now)).toBe('bought');
    expect(offerOf('active', true, { status: 'pending', expires_at: null }, now)).toBe('in progress');
    expect(offerOf('active', true, held, now)).toBe('pay or cancel');
    expect(offerOf('active', true, held, Date.parse('2026-01-01T10:02:00Z'))).toBe('hold ran out');
  });

  test('a buyer may try again after an order that holds nothing', () => {
    for (const status of ['failed', 'expired', 'cancelled'] as const) expect(offerOf('active', true, { status, expires_at: null }, now)).toBe('buy');
  });

  test('the buyer\'s own hold is theirs, the rest are other people\'s', () => {
    expect(holdsShown(1, { status: 'reserved' })).toEqual({ own: 1, others: 0 });
    expect(holdsShown(3, { status: 'pending' })).toEqual({ own: 1, others: 2 });
    expect(holdsShown(2, { status: 'confirmed' })).toEqual({ own: 0, others: 2 });
    expect(holdsShown(2, null)).toEqual({ own: 0, others: 2 });
    // Figures a moment older than the buyer's own order: never "-1 in other carts".
    expect(holdsShown(0, { status: 'reserved' })).toEqual({ own: 1, others: 0 });
    expect(holdsShown(undefined, null)).toEqual({ own: 0, others: 0 });
  });
});

describe('my orders', () => {
  const now = Date.parse('2026-01-01T10:00:00Z');
  test('each state as a short phrase', () => {
    expect(orderStateLabel({ status: 'confirmed', failure_reason: null, expires_at: null }, now)).toBe('Bought');
    expect(orderStateLabel({ status: 'reserved', failure_reason: null, expires_at: '2026-01-01T10:01:00Z' }, now)).toMatch(/^Held for you/);
    expect(orderStateLabel({ status: 'reserved', failure_reason: null, expires_at: '2026-01-01T09:59:00Z' }, now)).toBe('Hold ran out');
    expect(orderStateLabel({ status: 'failed', failure_reason: 'sold_out', expires_at: null }, now)).toMatch(/^Sold out/);
    expect(orderStateLabel({ status: 'failed', failure_reason: 'not_persisted', expires_at: null }, now)).toMatch(/nothing was charged/);
  });

  test('time left on a hold, none on anything else or after it ran out', () => {
    expect(holdLeftMs({ status: 'reserved', expires_at: '2026-01-01T10:01:30Z' }, now)).toBe(90_000);
    expect(holdLeftMs({ status: 'reserved', expires_at: '2026-01-01T09:59:00Z' }, now)).toBeNull();
    expect(holdLeftMs({ status: 'confirmed', expires_at: null }, now)).toBeNull();
  });
});

describe('pages of a list', () => {
  type Page = Answer<{ items: number[]; next_cursor?: string | null }>;
  const pages = (answers: Page[]) => {
    const asked: (string | undefined)[] = [];
    return { asked, fetch: async (cursor: string | undefined) => (asked.push(cursor), answers[asked.length - 1] as Page) };
  };

  test('an API without pagination: one answer is the whole list', async () => {
    const p = pages([{ status: 200, body: { items: [1, 2] } }]);
    expect((await followPages(p.fetch, 'items')).body.items).toEqual([1, 2]);
    expect(p.asked).toEqual([undefined]);
  });

  test('follows next_cursor until a page has none', async () => {
    const p = pages([
      { status: 200, body: { items: [1], next_cursor: 'a' } },
      { status: 200, body: { items: [2], next_cursor: 'b' } },
      { status: 200, body: { items: [3] } },
    ]);
    expect((await followPages(p.fetch, 'items')).body.items).toEqual([1, 2, 3]);
    expect(p.asked).toEqual([undefined, 'a', 'b']);
  });

  test('a failing page is the answer; a cap stops an endless walk', async () => {
    const failing = pages([{ status: 200, body: { items: [1], next_cursor: 'a' } }, { status: 429, body: { items: [] }, retryAfterS: 2 }]);
    expect(await followPages(failing.fetch, 'items')).toMatchObject({ status: 429, retryAfterS: 2 });
    const endless = { fetch: async () => ({ status: 200, body: { items: [0], next_cursor: 'again' } }) as Page };
    expect((await followPages(endless.fetch, 'items', 3)).body.items).toEqual([0, 0, 0]);
  });

  test('the cursor joins the query', () => {
    expect(withCursor('/sales', undefined)).toBe('/sales');
    expect(withCursor('/sales', 'a b')).toBe('/sales?cursor=a%20b');
    expect(withCursor('/orders?product_id=p', 'c')).toBe('/orders?product_id=p&cursor=c');
  });
});
