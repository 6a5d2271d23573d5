import { describe, expect, test } from 'vitest';
import type { Order } from './api';
import { joinChallenge, leadingZeroBits, meetsDifficulty, solveChallenge } from './proof-of-work';
import {
  formatWait,
  isFinalStep,
  laterOrder,
  measuredAdmissionRate,
  nextQueuePollMs,
  progressOf,
  QUEUE_POLL_MAX_MS,
  QUEUE_POLL_MIN_MS,
  roomOf,
  roomOffer,
  roomStep,
  roomWithRate,
  type QueueTicket,
  type WaitingRoom,
} from './waiting-room';

const NOW = Date.parse('2026-01-01T10:00:00.000Z');
const at = (ms: number) => new Date(NOW + ms).toISOString();

const ticket = (change: Partial<QueueTicket> = {}): QueueTicket => ({
  ticket_id: 't1',
  sale_id: 's1',
  state: 'waiting',
  place: 12,
  ahead: 11,
  estimated_wait_seconds: 5,
  admitted_until: null,
  order: null,
  ...change,
});

const order = (change: Partial<Order> = {}): Order => ({
  order_id: 'o1',
  user_id: 'u1',
  product_id: 'p1',
  sale_id: 's1',
  status: 'pending',
  failure_reason: null,
  created_at: at(0),
  expires_at: null,
  ...change,
});

const ROOM: WaitingRoom = { mode: 'always', admit_per_second: 10, admission_seconds: 60, proof_of_work_bits: 0, length: 40, admitted: 3, seed_hash: 'ab' };

describe('whether a sale has a room', () => {
  test('off, absent or null is no room; always and above are', () => {
    const sale = (waiting_room: WaitingRoom | null | undefined) => ({ waiting_room }) as { waiting_room: WaitingRoom };
    expect(roomOf(sale(undefined))).toBeNull();
    expect(roomOf(sale(null))).toBeNull();
    expect(roomOf(sale({ ...ROOM, mode: 'off' }))).toBeNull();
    expect(roomOf(sale(ROOM))).toBe(ROOM);
    expect(roomOf(sale({ ...ROOM, mode: 'above', above_attempts_per_second: 500 }))?.mode).toBe('above');
    expect(roomOf(null)).toBeNull();
  });
});

describe('the buyer\'s journey from queue/me', () => {
  test('the ticket\'s own states: pre-queue (no place yet), waiting, admitted, its end, sold out, ended', () => {
    expect(roomStep(ticket({ place: null, ahead: null }), NOW)).toBe('pre-queue');
    expect(roomStep(ticket(), NOW)).toBe('waiting');
    expect(roomStep(ticket({ state: 'admitted', admitted_until: at(30_000) }), NOW)).toBe('admitted');
    expect(roomStep(ticket({ state: 'admitted', admitted_until: at(0) }), NOW)).toBe('admission ran out');
    expect(roomStep(ticket({ state: 'sold_out' }), NOW)).toBe('sold out');
    expect(roomStep(ticket({ state: 'ended' }), NOW)).toBe('ended');
    expect(roomStep(ticket({ state: 'ended' }), NOW, NOW + 1)).toBe('admission ran out');
    expect(roomStep(ticket({ state: 'ended' }), NOW, NOW)).toBe('ended');
  });

  test('the order, when there is one, says the most: in progress, holding until expires_at, confirmed, expired, cancelled, failed', () => {
    const admitted = { state: 'admitted' as const, admitted_until: at(30_000) };
    expect(roomStep(ticket({ ...admitted, order: order() }), NOW)).toBe('in progress');
    expect(roomStep(ticket({ ...admitted, order: order({ status: 'reserved', expires_at: at(60_000) }) }), NOW)).toBe('holding');
    expect(roomStep(ticket({ ...admitted, order: order({ status: 'reserved', expires_at: at(-1) }) }), NOW)).toBe('hold ran out');
    expect(roomStep(ticket({ ...admitted, order: order({ status: 'confirmed' }) }), NOW)).toBe('confirmed');
    expect(roomStep(ticket({ state: 'sold_out', order: order({ status: 'confirmed' }) }), NOW)).toBe('confirmed');
    expect(roomStep(ticket({ order: order({ status: 'expired' }) }), NOW)).toBe('expired');
    expect(roomStep(ticket({ order: order({ status: 'cancelled' }) }), NOW)).toBe('cancelled');
    expect(roomStep(ticket({ order: order({ status: 'failed', failure_reason: 'sold_out' }) }), NOW)).toBe('sold out');
    expect(roomStep(ticket({ order: order({ status: 'failed', failure_reason: 'internal' }) }), NOW)).toBe('failed');
  });

  test('the journey is over when bought, expired, cancelled, failed, ended or the turn passed; a queue closed as sold out may reopen', () => {
    for (const step of ['confirmed', 'expired', 'cancelled', 'failed', 'ended', 'admission ran out'] as const) expect(isFinalStep(step)).toBe(true);
    for (const step of ['pre-queue', 'waiting', 'admitted', 'in progress', 'holding', 'hold ran out', 'sold out'] as const) expect(isFinalStep(step)).toBe(false);
  });

  test('"Buy now" only while admitted and the sale is open; then the order\'s own offers; nothing while waiting', () => {
    expect(roomOffer('admitted', 'active', null, NOW)).toBe('buy');
    expect(roomOffer('admitted', 'sold out', null, NOW)).toBe('nothing');
    expect(roomOffer('waiting', 'active', null, NOW)).toBe('nothing');
    expect(roomOffer('pre-queue', 'upcoming', null, NOW)).toBe('nothing');
    expect(roomOffer('admission ran out', 'active', null, NOW)).toBe('nothing');
    expect(roomOffer('expired', 'active', order({ status: 'expired' }), NOW)).toBe('nothing');
    expect(roomOffer(null, 'active', null, NOW)).toBe('nothing');
    expect(roomOffer('holding', 'active', order({ status: 'reserved', expires_at: at(60_000) }), NOW)).toBe('pay or cancel');
    expect(roomOffer('confirmed', 'sold out', order({ status: 'confirmed' }), NOW)).toBe('bought');
    expect(roomOffer('in progress', 'active', order(), NOW)).toBe('in progress');
  });

  test('the page\'s own answer (a buy, a payment) is not undone by a poll that left before it', () => {
    const pending = order();
    const confirmed = order({ status: 'confirmed' });
    expect(laterOrder(pending, confirmed)).toBe(confirmed);
    expect(laterOrder(confirmed, pending)).toBe(confirmed);
    expect(laterOrder(null, pending)).toBe(pending);
    expect(laterOrder(pending, null)).toBe(pending);
    expect(laterOrder(order({ status: 'reserved' }), order({ status: 'reserved' }))?.status).toBe('reserved');
    const other = order({ order_id: 'o0', status: 'confirmed' });
    expect(laterOrder(pending, other)).toBe(pending);
  });
});

describe('progress and the estimate in a buyer\'s words', () => {
  test('progress runs from the most people ever seen ahead to none', () => {
    expect(progressOf(10, 10)).toBe(0);
    expect(progressOf(5, 10)).toBe(0.5);
    expect(progressOf(0, 10)).toBe(1);
    expect(progressOf(0, 0)).toBe(1);
    expect(progressOf(3, 0)).toBe(0);
    expect(progressOf(null, 10)).toBe(0);
    expect(progressOf(12, 10)).toBe(0);
  });

  test('waits are rounded as a person says them', () => {
    expect(formatWait(null)).toBe('working it out…');
    expect(formatWait(0)).toBe('any moment now');
    expect(formatWait(3)).toBe('about 5 s');
    expect(formatWait(12)).toBe('about 15 s');
    expect(formatWait(59)).toBe('about 60 s');
    expect(formatWait(150)).toBe('about 3 min');
    expect(formatWait(3 * 3600 + 5 * 60)).toBe('about 3 h 05 min');
  });
});

describe('when to ask queue/me again', () => {
  const seen = { visible: true, nowMs: NOW, random: 0.5 };

  test('waiting: half the estimate is the interval, within [1 s, 10 s]', () => {
    expect(nextQueuePollMs(ticket({ estimated_wait_seconds: 8 }), seen)).toBe(4000);
    expect(nextQueuePollMs(ticket({ estimated_wait_seconds: 0 }), seen)).toBe(QUEUE_POLL_MIN_MS);
    expect(nextQueuePollMs(ticket({ estimated_wait_seconds: 3600 }), seen)).toBe(QUEUE_POLL_MAX_MS);
    expect(nextQueuePollMs(ticket({ estimated_wait_seconds: null }), seen)).toBe(QUEUE_POLL_MIN_MS);
  });

  test('a crowd\'s polls are spread by ±10%', () => {
    expect(nextQueuePollMs(ticket({ estimated_wait_seconds: 10 }), { ...seen, random: 0 })).toBe(4500);
    expect(nextQueuePollMs(ticket({ estimated_wait_seconds: 10 }), { ...seen, random: 1 })).toBe(5500);
  });

  test('a hidden page asks less often, but often enough not to miss its admission', () => {
    const hidden = { ...seen, visible: false };
    expect(nextQueuePollMs(ticket({ estimated_wait_seconds: 3600 }), { ...hidden, admissionSeconds: 600 })).toBe(30_000);
    expect(nextQueuePollMs(ticket({ estimated_wait_seconds: 3600 }), { ...hidden, admissionSeconds: 30 })).toBe(10_000);
  });

  test('the pre-queue asks again just after the opening, spread over 5 s (a quarter of a short admission), or within the bound', () => {
    const pre = ticket({ place: null, ahead: null, estimated_wait_seconds: null });
    expect(nextQueuePollMs(pre, { ...seen, startsAtMs: NOW + 3000, random: 0 })).toBe(3250);
    expect(nextQueuePollMs(pre, { ...seen, startsAtMs: NOW + 3000, random: 1 })).toBe(8250);
    expect(nextQueuePollMs(pre, { ...seen, startsAtMs: NOW + 3000, random: 1, admissionSeconds: 8 })).toBe(5250);
    expect(nextQueuePollMs(pre, { ...seen, startsAtMs: NOW + 3_600_000 })).toBe(QUEUE_POLL_MAX_MS);
    expect(nextQueuePollMs(pre, { ...seen, startsAtMs: NOW - 5000, random: 0 })).toBe(QUEUE_POLL_MIN_MS);
  });

  test('admitted: by the admission\'s end; in progress: every second; holding: by the hold\'s end, at most 5 s', () => {
    expect(nextQueuePollMs(ticket({ state: 'admitted', admitted_until: at(2000) }), seen)).toBe(2250);
    expect(nextQueuePollMs(ticket({ state: 'admitted', admitted_until: at(60_000) }), seen)).toBe(5000);
    expect(nextQueuePollMs(ticket({ state: 'admitted', order: order() }), seen)).toBe(1000);
    expect(nextQueuePollMs(ticket({ state: 'admitted', order: order({ status: 'reserved', expires_at: at(120_000) }) }), seen)).toBe(5000);
  });

  test('a queue closed as sold out is asked about slowly (a unit given back reopens it)', () => {
    expect(nextQueuePollMs(ticket({ state: 'sold_out' }), seen)).toBe(QUEUE_POLL_MAX_MS);
    expect(nextQueuePollMs(ticket({ state: 'sold_out' }), { ...seen, visible: false, admissionSeconds: 600 })).toBe(30_000);
  });

  test('nothing more once the journey is over', () => {
    expect(nextQueuePollMs(ticket({ state: 'ended' }), seen)).toBeNull();
    expect(nextQueuePollMs(ticket({ state: 'ended' }), { ...seen, endsAtMs: NOW + 60_000 })).toBeNull();
    expect(nextQueuePollMs(ticket({ state: 'sold_out', order: order({ status: 'failed', failure_reason: 'sold_out' }) }), seen)).toBeNull();
    expect(nextQueuePollMs(ticket({ state: 'admitted', order: order({ status: 'confirmed' }) }), seen)).toBeNull();
  });
});

describe('the admin\'s figures', () => {
  test('admitted per second between two readings, none on the first or a reset', () => {
    expect(measuredAdmissionRate(undefined, { admitted: 10, atMs: 1000 })).toBeNull();
    expect(measuredAdmissionRate({ admitted: 10, atMs: 0 }, { admitted: 30, atMs: 2000 })).toBe(10);
    expect(measuredAdmissionRate({ admitted: 10, atMs: 0 }, { admitted: 5, atMs: 2000 })).toBeNull();
    expect(measuredAdmissionRate({ admitted: 10, atMs: 0 }, { admitted: 12, atMs: 100 })).toBeNull();
  });

  test('a new rate keeps the room\'s mode and admission time, and leaves out the figures', () => {
    expect(roomWithRate(ROOM, 25)).toEqual({ mode: 'always', admit_per_second: 25, admission_seconds: 60, proof_of_work_bits: 0 });
    expect(roomWithRate({ ...ROOM, proof_of_work_bits: 12 }, 25)).toEqual({ mode: 'always', admit_per_second: 25, admission_seconds: 60, proof_of_work_bits: 12 });
    expect(roomWithRate({ ...ROOM, mode: 'above', above_attempts_per_second: 500 }, 5)).toEqual({ mode: 'above', admit_per_second: 5, admission_seconds: 60, above_attempts_per_second: 500, proof_of_work_bits: 0 });
  });
});

describe('proof-of-work', () => {
  test('leading zero bits', () => {
    expect(leadingZeroBits(new Uint8Array([0xff]))).toBe(0);
    expect(leadingZeroBits(new Uint8Array([0x0f]))).toBe(4);
    expect(leadingZeroBits(new Uint8Array([0, 0x01]))).toBe(15);
    expect(leadingZeroBits(new Uint8Array([0, 0]))).toBe(16);
  });

  test('the nonce found meets the difficulty, and work is done in chunks that give the page its turn', async () => {
    let pauses = 0;
    const challenge = { challenge: 'sale-1:abc', difficulty: 10 };
    const nonce = await solveChallenge(challenge, { batch: 64, pause: async () => void pauses++ });
    expect(await meetsDifficulty(challenge, nonce)).toBe(true);
    expect(pauses).toBe(Math.floor(Number(nonce) / 64));
  });

  test('an aborted solve stops', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(solveChallenge({ challenge: 'x', difficulty: 30 }, { signal: abort.signal })).rejects.toThrow('aborted');
  });

  test('the work is bound to the sale and the buyer: SHA-256 of "<sale_id>:<user_id>:<proof_of_work>" (docs/api.md)', async () => {
    const challenge = joinChallenge('sale-9', 'user-7', 8);
    expect(challenge).toEqual({ challenge: 'sale-9:user-7', difficulty: 8 });
    const nonce = await solveChallenge(challenge);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`sale-9:user-7:${nonce}`)));
    expect(leadingZeroBits(digest)).toBeGreaterThanOrEqual(8);
  });
});
