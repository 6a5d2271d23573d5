import { describe, expect, test } from 'vitest';
import { canBuy, clockOffset, formatCountdown, pollEveryMs, resultOfOrder, resultOfPurchase, saleShows, serverNow, tokenClaims } from './logic';

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
