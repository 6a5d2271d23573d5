// The waiting room's checker (functions/src/checker/admission-log.ts): a clean log passes, and
// each violation is found, one test each. The log it reads is made for real by
// tests/integration/waiting-room.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { QueueLog, QueueLogEntry } from '@flash-sale/contract';
import { admissionDetails, checkAdmissionLog, noAdmissionViolations, type OrderSpan, type RoomFacts } from '../../functions/src/checker/admission-log.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const room: RoomFacts = { mode: 'always', stock: 2, admissionSeconds: 60 };

/**
 * Four pre-queued tickets drawn by the seed, then one after the opening; places 1 and 2
 * admitted (stock 2) and both served; the others never, the stock being gone.
 */
function cleanLog(): { log: QueueLog; orders: OrderSpan[] } {
  const seed = 'a'.repeat(64);
  const pre = ['t1', 't2', 't3', 't4'].map((t) => sha256(t)).sort((a, b) => sha1(seed + a).localeCompare(sha1(seed + b)));
  const entries: QueueLogEntry[] = pre.map((ticket_hash, i) => ({
    place: i + 1,
    ticket_hash,
    admitted: false,
    pre_queue: true,
    admitted_at: null,
    served_at: null,
  }));
  entries.push({ place: 5, ticket_hash: sha256('t5'), admitted: false, pre_queue: false, admitted_at: null, served_at: null });
  Object.assign(entries[0] as QueueLogEntry, { admitted: true, admitted_at: at(100), served_at: at(500) });
  Object.assign(entries[1] as QueueLogEntry, { admitted: true, admitted_at: at(200), served_at: at(600) });
  return { log: { seed, seed_hash: sha256(seed), entries }, orders: [{ taken_ms: T0 + 500, released_ms: null }, { taken_ms: T0 + 600, released_ms: null }] };
}

test('a clean log: no violation', () => {
  const { log, orders } = cleanLog();
  assert.deepEqual(checkAdmissionLog(log, orders, room), noAdmissionViolations());
});

test('a seed that is not the committed one', () => {
  const { log, orders } = cleanLog();
  assert.deepEqual(admissionDetails(checkAdmissionLog({ ...log, seed: 'b'.repeat(64) }, orders, room)).slice(0, 1), ['seed_mismatch: 1']);
});

test('a pre-queue whose places are not the draw of the seed', () => {
  const { log, orders } = cleanLog();
  const [a, b] = log.entries as [QueueLogEntry, QueueLogEntry];
  [a.ticket_hash, b.ticket_hash] = [b.ticket_hash, a.ticket_hash];
  assert.equal(checkAdmissionLog(log, orders, room).shuffle_mismatch, 2);
});

test('an admission that skips a place', () => {
  const { log, orders } = cleanLog();
  Object.assign(log.entries[1] as QueueLogEntry, { admitted: false, admitted_at: null, served_at: null });
  Object.assign(log.entries[2] as QueueLogEntry, { admitted: true, admitted_at: at(200), served_at: at(600) });
  assert.equal(checkAdmissionLog(log, orders, room).out_of_order, 1);
});

test('a later place admitted before an earlier one', () => {
  const { log, orders } = cleanLog();
  Object.assign(log.entries[1] as QueueLogEntry, { admitted_at: at(50), served_at: at(600) });
  assert.equal(checkAdmissionLog(log, orders, room).out_of_order, 1);
});

test('more admitted and unserved than units that could still sell', () => {
  const { log, orders } = cleanLog();
  // Place 3 let in while places 1 and 2 still hold their admissions and both units: three for two.
  Object.assign(log.entries[2] as QueueLogEntry, { admitted: true, admitted_at: at(300) });
  assert.equal(checkAdmissionLog(log, orders, room).over_admitted, 1);
  // After a unit came back (a cancel at 700), one more admission is within the stock.
  Object.assign(log.entries[2] as QueueLogEntry, { admitted_at: at(800) });
  assert.equal(checkAdmissionLog(log, [orders[0] as OrderSpan, { taken_ms: T0 + 600, released_ms: T0 + 700 }], room).over_admitted, 0);
});

test('an admission used after it lapsed', () => {
  const { log, orders } = cleanLog();
  Object.assign(log.entries[1] as QueueLogEntry, { served_at: at(200 + 60_000) });
  assert.equal(checkAdmissionLog(log, orders, room).served_outside, 1);
});

test('an order of an always-on room that no admission accounts for', () => {
  const { log, orders } = cleanLog();
  const third = { taken_ms: T0 + 700, released_ms: T0 + 900 };
  assert.equal(checkAdmissionLog(log, [...orders, third], room).orders_without_admission, 1);
  assert.equal(checkAdmissionLog(log, [...orders, third], { ...room, mode: 'above' }).orders_without_admission, 0, 'an above room lets buyers through while off');
});
