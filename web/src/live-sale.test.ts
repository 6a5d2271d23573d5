import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Answer, Sale } from './api';
import { firebaseSubscribe, followSale, type LiveSaleDoc, type LiveSaleState, type SubscribeSale } from './live-sale';

const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function sale(remaining: number, serverMs: number): Sale {
  return {
    sale_id: 's1',
    product: { product_id: 'p1', name: 'Sneaker', price_in_cent: 12999 },
    starts_at: at(-60_000),
    ends_at: at(3_600_000),
    state: 'active',
    stock_total: 10,
    stock_remaining: remaining,
    stock_held: 0,
    hold_seconds: 0,
    waiting_room: { mode: 'off', admit_per_second: 0, admission_seconds: 0, proof_of_work_bits: 0, length: 0, admitted: 0, seed_hash: null },
    server_time: at(serverMs),
  };
}

function doc(remaining: number, figuresMs: number, held = 0): LiveSaleDoc {
  const rest: Partial<Sale> = sale(remaining, 0);
  delete rest.server_time;
  return { ...(rest as Omit<Sale, 'server_time'>), stock_held: held, stock_sold: 10 - remaining - held, figures_at: at(figuresMs) };
}

/** A fake onSnapshot: the test pushes documents and errors through it. */
function fakeSnapshots() {
  const calls: { next: (d: LiveSaleDoc | null) => void; fail: (e: unknown) => void; unsubscribed: boolean }[] = [];
  const subscribe: SubscribeSale = (_saleId, next, fail) => {
    const call = { next, fail, unsubscribed: false };
    calls.push(call);
    return () => {
      call.unsubscribed = true;
    };
  };
  return { subscribe, calls };
}

function fetcher(answers: () => Answer<Sale>) {
  const fetchSale = vi.fn(async () => answers());
  return fetchSale;
}

let states: LiveSaleState[];
const last = () => states.at(-1) as LiveSaleState;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  states = [];
});
afterEach(() => vi.useRealTimers());

const opts = { onChange: (s: LiveSaleState) => states.push(s), everyMs: () => 1000, visible: () => true };

describe('the sale page follows a subscription when one is configured', () => {
  test('figures follow each snapshot, the clock follows the one GET, and nothing polls meanwhile', async () => {
    const { subscribe, calls } = fakeSnapshots();
    const fetchSale = fetcher(() => ({ status: 200, body: sale(10, 5_000) }));
    const stop = followSale('s1', { ...opts, subscribe, fetchSale });
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchSale).toHaveBeenCalledTimes(1);
    expect(last().sale?.stock_remaining).toBe(10);
    expect(last().offset).toBe(5_000); // the server is 5 s ahead: countdowns use its clock

    calls[0]?.next(doc(7, 6_000));
    expect(last()).toMatchObject({ live: true, sale: { stock_remaining: 7, server_time: at(6_000) } });
    calls[0]?.next(doc(3, 7_000, 1));
    expect(last()).toMatchObject({ live: true, sale: { stock_remaining: 3, stock_held: 1 } });
    expect(last().offset).toBe(5_000);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(fetchSale).toHaveBeenCalledTimes(1);
    stop();
    expect(calls[0]?.unsubscribed).toBe(true);
  });

  test('a snapshot older than the figures shown is not shown', async () => {
    const { subscribe, calls } = fakeSnapshots();
    const fetchSale = fetcher(() => ({ status: 200, body: sale(4, 10_000) }));
    followSale('s1', { ...opts, subscribe, fetchSale });
    await vi.advanceTimersByTimeAsync(0);
    calls[0]?.next(doc(6, 9_000));
    expect(last().sale?.stock_remaining).toBe(4);
    calls[0]?.next(doc(2, 11_000));
    expect(last().sale?.stock_remaining).toBe(2);
  });

  test('falls back to polling when the subscription fails', async () => {
    const { subscribe, calls } = fakeSnapshots();
    let remaining = 9;
    const fetchSale = fetcher(() => ({ status: 200, body: sale(remaining, Date.now() - T0) }));
    followSale('s1', { ...opts, subscribe, fetchSale });
    await vi.advanceTimersByTimeAsync(0);
    calls[0]?.next(doc(8, 100));
    expect(last().live).toBe(true);

    calls[0]?.fail(new Error('permission-denied'));
    expect(calls[0]?.unsubscribed).toBe(true);
    expect(last().live).toBe(false);
    remaining = 5;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fetchSale).toHaveBeenCalledTimes(2);
    expect(last()).toMatchObject({ live: false, sale: { stock_remaining: 5 } });
    remaining = 4;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fetchSale).toHaveBeenCalledTimes(3);
    expect(last().sale?.stock_remaining).toBe(4);
  });

  test('polls while the document does not exist, and stops once it does', async () => {
    const { subscribe, calls } = fakeSnapshots();
    const fetchSale = fetcher(() => ({ status: 200, body: sale(10, Date.now() - T0) }));
    followSale('s1', { ...opts, subscribe, fetchSale });
    await vi.advanceTimersByTimeAsync(0);
    calls[0]?.next(null);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fetchSale).toHaveBeenCalledTimes(3);
    calls[0]?.next(doc(6, 60_000));
    expect(last()).toMatchObject({ live: true, sale: { stock_remaining: 6 } });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fetchSale).toHaveBeenCalledTimes(3);
  });

  test('polls meanwhile when the subscription says nothing at all, and stops at its first document', async () => {
    const { subscribe, calls } = fakeSnapshots();
    const fetchSale = fetcher(() => ({ status: 200, body: sale(10, Date.now() - T0) }));
    followSale('s1', { ...opts, subscribe, fetchSale, firstSnapshotWithinMs: 5_000 });
    await vi.advanceTimersByTimeAsync(4_900);
    expect(fetchSale).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_200);
    expect(fetchSale).toHaveBeenCalledTimes(3);
    calls[0]?.next(doc(5, 60_000));
    expect(last()).toMatchObject({ live: true, sale: { stock_remaining: 5 } });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fetchSale).toHaveBeenCalledTimes(3);
  });
});

describe('without a subscription', () => {
  test('polls GET /sales/{id} every second, and says when the sale does not exist', async () => {
    let status = 200;
    const fetchSale = fetcher(() => (status === 200 ? { status, body: sale(10, Date.now() - T0) } : { status, body: {} as Sale }));
    const stop = followSale('s1', { ...opts, subscribe: null, fetchSale });
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchSale).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(fetchSale).toHaveBeenCalledTimes(4);
    status = 404;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(last().missing).toBe(true);
    stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fetchSale).toHaveBeenCalledTimes(5);
  });

  test('a build without VITE_FIREBASE_API_KEY and VITE_FIREBASE_PROJECT_ID has no subscription', () => {
    expect(firebaseSubscribe({})).toBeNull();
    expect(firebaseSubscribe({ VITE_FIREBASE_PROJECT_ID: 'p' })).toBeNull();
    expect(firebaseSubscribe({ VITE_FIREBASE_API_KEY: 'k', VITE_FIREBASE_PROJECT_ID: 'p' })).toBeTypeOf('function');
  });
});
