// The waiting room through the gateway (docs/api.md, Waiting room): the pre-queue's seeded draw
// that anyone can redo from the log, first come first served after the opening, admission no
// faster than its rate, no order without an admission, the room closing for everyone when the
// last unit goes and a unit that comes back letting exactly one more in, one ticket per buyer.
// High rates and short windows: the whole file takes seconds.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, test } from 'node:test';
import type { QueueLog, QueueTicket } from '@flash-sale/contract';
import { checkAdmissionLog, noAdmissionViolations, type OrderSpan } from '../../functions/src/checker/admission-log.ts';
import { admin, api, closeHelpers, createSale, database, eventually, mintToken, seedUsers, type OrderBody, type SaleBody } from '../helpers.ts';

after(closeHelpers);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Buyer = { userId: string; token: string };

async function join(sale: SaleBody, who: Buyer, body: unknown = {}): Promise<QueueTicket> {
  const answer = await api<QueueTicket>('POST', `/sales/${sale.sale_id}/queue`, { token: who.token, body });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

async function me(sale: SaleBody, who: Buyer): Promise<QueueTicket> {
  const answer = await api<QueueTicket>('GET', `/sales/${sale.sale_id}/queue/me`, { token: who.token });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

function order(sale: SaleBody, who: Buyer) {
  return api<OrderBody & { error?: string }>('POST', '/orders', { token: who.token, body: { product_id: sale.product.product_id } });
}

async function buyers(count: number): Promise<Buyer[]> {
  return Promise.all((await seedUsers(count)).map(async (userId) => ({ userId, token: await mintToken(userId) })));
}

test('pre-queue: arrival does not predict the place, and the revealed seed reproduces every place', async () => {
  const rate = 20;
  const people = await buyers(30);
  const upcoming = await createSale({
    stock: 100,
    startsInMs: 60_000,
    durationMs: 60_000,
    waitingRoom: { mode: 'always', admit_per_second: rate, admission_seconds: 60 },
  });
  assert.match(String(upcoming.waiting_room.seed_hash), /^[0-9a-f]{64}$/, 'the seed is committed before the opening');
  const tickets: QueueTicket[] = [];
  for (const who of people) tickets.push(await join(upcoming, who));
  for (const t of tickets) {
    assert.equal(t.state, 'waiting');
    assert.equal(t.place, null, 'no place before the draw');
  }
  const early = await api('GET', `/sales/${upcoming.sale_id}/queue/log`);
  assert.equal(early.status, 409);
  assert.equal(early.body.error, 'sale_not_ended');
  // The admin brings the opening forward: the test need not wait a minute.
  const startsAt = Date.now() + 300;
  const moved = await api<SaleBody>('POST', '/sales/update', {
    token: await admin(),
    body: { sale_id: upcoming.sale_id, starts_at: new Date(startsAt).toISOString(), ends_at: new Date(startsAt + 3_000).toISOString() },
  });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  const sale = moved.body;
  assert.equal(sale.waiting_room.seed_hash, upcoming.waiting_room.seed_hash, 'the committed seed never changes');

  await sleep(Math.max(0, Date.parse(sale.starts_at) - Date.now()));
  const placed = await eventually('every pre-queued buyer admitted', async () => {
    const seen = await Promise.all(people.map((who) => me(sale, who)));
    return seen.every((t) => t.state === 'admitted') ? seen : undefined;
  }, 10_000);
  const places = placed.map((t) => t.place);
  assert.deepEqual([...places].sort((a, b) => (a ?? 0) - (b ?? 0)), people.map((_, i) => i + 1), 'places 1..30, each once');
  assert.notDeepEqual(places, people.map((_, i) => i + 1), 'arriving first is no advantage');

  await sleep(Math.max(0, Date.parse(sale.ends_at) - Date.now()) + 50);
  const log = await api<QueueLog>('GET', `/sales/${sale.sale_id}/queue/log`);
  assert.equal(log.status, 200, JSON.stringify(log.body));
  assert.equal(sha256(log.body.seed), sale.waiting_room.seed_hash, 'the revealed seed is the committed one');
  // Anyone's check: sort the pre-queue by SHA-1(seed + ticket_hash) and compare with the places.
  const redrawn = [...log.body.entries].sort((a, b) => sha1(log.body.seed + a.ticket_hash).localeCompare(sha1(log.body.seed + b.ticket_hash)));
  assert.deepEqual(redrawn.map((e) => e.place), log.body.entries.map((_, i) => i + 1));
  for (const [i, t] of placed.entries()) {
    const row = log.body.entries[(t.place ?? 0) - 1];
    assert.equal(row?.ticket_hash, sha256(t.ticket_id), `buyer ${i} finds their row by their ticket`);
    assert.equal(row?.pre_queue, true);
  }
  // The rate, by Redis's clock: place k is never let in before k / rate seconds after the opening.
  const opened = Date.parse(sale.starts_at);
  for (const e of log.body.entries) {
    assert.ok(e.admitted && e.admitted_at, `place ${e.place} admitted`);
    assert.ok(Date.parse(e.admitted_at) >= opened + Math.floor((1000 * e.place) / rate) - 1, `place ${e.place} admitted no faster than the rate`);
  }
  assert.deepEqual(checkAdmissionLog(log.body, [], { mode: 'always', stock: 100, admissionSeconds: 60 }), noAdmissionViolations());
  const last = Math.max(...log.body.entries.map((e) => Date.parse(e.admitted_at ?? '')));
  console.log(`[measured] ${log.body.entries.length} admitted at ${((1000 * log.body.entries.length) / (last - opened)).toFixed(1)}/s (set: ${rate}/s)`);
});

test('after the opening: first come first served, one ticket per buyer, no order without an admission', async () => {
  const sale = await createSale({ stock: 5, waitingRoom: { mode: 'always', admit_per_second: 0.01, admission_seconds: 60 } });
  const people = await buyers(4);
  const tickets: QueueTicket[] = [];
  for (const who of people) tickets.push(await join(sale, who));
  assert.deepEqual(tickets.map((t) => t.place), [1, 2, 3, 4], 'places in order of arrival');
  assert.deepEqual(tickets.map((t) => t.ahead), [0, 1, 2, 3]);
  assert.ok(tickets.every((t) => t.state === 'waiting' && (t.estimated_wait_seconds ?? 0) > 0));

  const again = await join(sale, people[0] as Buyer);
  assert.equal(again.ticket_id, tickets[0]?.ticket_id, 'joining twice is one ticket');
  assert.equal(again.place, 1);
  assert.equal((await me(sale, people[0] as Buyer)).ticket_id, tickets[0]?.ticket_id);
  await eventually('the sale shows the queue', async () => {
    const view = (await api<SaleBody>('GET', `/sales/${sale.sale_id}`)).body;
    return view.waiting_room.length === 4 && view.waiting_room.admitted === 0 ? true : undefined;
  });

  const refused = await order(sale, people[0] as Buyer);
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.error, 'not_admitted');
  const stranger = await order(sale, (await buyers(1))[0] as Buyer);
  assert.equal(stranger.body.error, 'not_admitted', 'a buyer who never joined cannot buy either');
  const unjoined = await api('GET', `/sales/${sale.sale_id}/queue/me`, { token: (await buyers(1))[0]?.token });
  assert.equal(unjoined.status, 404);
});

test('the room closes for every waiting buyer when the last unit goes; a cancelled hold lets exactly one more in', async () => {
  const sale = await createSale({ stock: 2, holdSeconds: 60, waitingRoom: { mode: 'always', admit_per_second: 1000, admission_seconds: 60 } });
  const people = await buyers(5);
  const [first, second, third, fourth] = people as [Buyer, Buyer, Buyer, Buyer, Buyer];
  for (const who of people) await join(sale, who);
  const states = await Promise.all(people.map((who) => me(sale, who)));
  assert.deepEqual(states.map((t) => t.state), ['admitted', 'admitted', 'waiting', 'waiting', 'waiting'], 'no more admitted than units left');

  assert.equal((await order(sale, first)).status, 202);
  const last = await order(sale, second);
  assert.equal(last.status, 202);
  const lastTakenAt = performance.now();
  // Causal: the first status call after the last take already sees the room closed.
  const closed = await me(sale, third);
  const delayMs = performance.now() - lastTakenAt;
  assert.equal(closed.state, 'sold_out');
  const rest = await Promise.all(people.slice(3).map((who) => me(sale, who)));
  assert.deepEqual(rest.map((t) => t.state), ['sold_out', 'sold_out']);
  console.log(`[measured] the waiting buyer saw sold_out ${delayMs.toFixed(1)} ms after the last unit's 202`);

  const held = await eventually('the first hold written', async () => {
    const seen = await me(sale, first);
    return seen.order?.status === 'reserved' ? seen.order : undefined;
  });
  assert.equal((await me(sale, first)).state, 'admitted', 'the journey: admitted, with the order held');
  assert.ok(held.expires_at);
  const again = await order(sale, first);
  assert.equal(again.body.error, 'already_purchased');
  const cancelled = await api<OrderBody>('DELETE', `/orders/${held.order_id}`, { token: first.token });
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));

  const after = await Promise.all([third, fourth, people[4] as Buyer].map((who) => me(sale, who)));
  assert.deepEqual(after.map((t) => t.state), ['admitted', 'waiting', 'waiting'], 'exactly one more let in');
  assert.equal((await me(sale, first)).order?.status, 'cancelled');
  const bought = await order(sale, third);
  assert.equal(bought.status, 202, JSON.stringify(bought.body));
  const twice = await order(sale, third);
  assert.notEqual(twice.status, 202, 'one order per admission');

  // The sale ends (the admin brings the end forward): its log and its orders pass the checker.
  const endsAt = Date.now() + 200;
  const ended = await api('POST', '/sales/update', { token: await admin(), body: { sale_id: sale.sale_id, ends_at: new Date(endsAt).toISOString() } });
  assert.equal(ended.status, 200, JSON.stringify(ended.body));
  await sleep(Math.max(0, endsAt - Date.now()) + 50);
  const log = await api<QueueLog>('GET', `/sales/${sale.sale_id}/queue/log`);
  assert.equal(log.status, 200, JSON.stringify(log.body));
  assert.deepEqual(log.body.entries.map((e) => [e.place, e.admitted, e.served_at !== null]), [
    [1, true, true],
    [2, true, true],
    [3, true, true],
    [4, false, false],
    [5, false, false],
  ]);
  const orders = await eventually('the three orders written', async () => {
    const { rows } = await database().query<OrderSpan>(
      `SELECT floor(extract(epoch FROM created_at) * 1000)::float8 AS taken_ms,
              CASE WHEN status IN ('failed', 'expired', 'cancelled') THEN floor(extract(epoch FROM updated_at) * 1000)::float8 END AS released_ms
         FROM orders WHERE sale_id = $1`,
      [sale.sale_id],
    );
    return rows.length === 3 ? rows : undefined;
  });
  assert.deepEqual(checkAdmissionLog(log.body, orders, { mode: 'always', stock: 2, admissionSeconds: 60 }), noAdmissionViolations());
});

test('an expired hold lets exactly one more in', async () => {
  const sale = await createSale({ stock: 1, holdSeconds: 1, waitingRoom: { mode: 'always', admit_per_second: 1000, admission_seconds: 60 } });
  const people = await buyers(3);
  for (const who of people) await join(sale, who);
  const [first, second, third] = people as [Buyer, Buyer, Buyer];
  assert.equal((await order(sale, first)).status, 202);
  assert.equal((await me(sale, second)).state, 'sold_out');
  // PostgreSQL commits the expiry, then tells Redis, which gives the unit back and lets the next in.
  await eventually('the next buyer let in', async () => ((await me(sale, second)).state === 'admitted' ? true : undefined), 15_000);
  assert.equal((await me(sale, first)).order?.status, 'expired');
  assert.equal((await me(sale, third)).state, 'waiting', 'exactly one more');
});

test('an above room lets buyers through while attempts stay under its threshold', async () => {
  const sale = await createSale({ stock: 5, waitingRoom: { mode: 'above', admit_per_second: 10, admission_seconds: 60, above_attempts_per_second: 1000 } });
  const [who] = await buyers(1);
  assert.equal((await order(sale, who as Buyer)).status, 202, 'no one waits and attempts are few: the room is off');
  // A threshold of one attempt a second: the first attempt turns the room on.
  const busy = await createSale({ stock: 5, waitingRoom: { mode: 'above', admit_per_second: 1000, admission_seconds: 60, above_attempts_per_second: 1 } });
  const [late] = (await buyers(1)) as [Buyer];
  assert.equal((await order(busy, late)).body.error, 'not_admitted', 'attempts at the threshold: the room is on');
  assert.equal((await join(busy, late)).state, 'admitted');
  assert.equal((await order(busy, late)).status, 202, 'admitted, the buyer buys');
  const bad = await api<{ details: { field: string }[] }>('POST', '/sales/update', {
    token: await admin(),
    body: { sale_id: sale.sale_id, waiting_room: { mode: 'above' } },
  });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.details.map((d) => d.field), ['waiting_room.above_attempts_per_second']);
});

test('settings are validated, and the join asks for its proof of work when the room does', async () => {
  const missing = await createSale({ stock: 1, waitingRoom: { mode: 'always', admit_per_second: 10, admission_seconds: 60, proof_of_work_bits: 8 } });
  const [who] = (await buyers(1)) as [Buyer];
  const refused = await api('POST', `/sales/${missing.sale_id}/queue`, { token: who.token, body: {} });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error, 'proof_of_work_required');
  let nonce = 0;
  const zeroBits = (hex: string) => (parseInt(hex.slice(0, 2), 16) === 0 ? 8 : 0);
  while (zeroBits(sha256(`${missing.sale_id}:${who.userId}:${nonce}`)) < 8) nonce++;
  const joined = await join(missing, who, { proof_of_work: String(nonce) });
  assert.equal(joined.place, 1);

  const off = await createSale({ stock: 1 });
  assert.equal(off.waiting_room.mode, 'off');
  const noRoom = await api('POST', `/sales/${off.sale_id}/queue`, { token: who.token, body: {} });
  assert.equal(noRoom.body.error, 'waiting_room_off');
});
