// The Lua scripts as typed calls: one wrapper per script (its keys built here, its arguments in
// the order its header lists them) and its answer codes named once, as BullMQ names its own.
import { randomUUID } from 'node:crypto';
import type { QueueLog, QueueLogEntry } from '@flash-sale/contract';
import type { SettledStatus } from './order-row.js';
import { attemptKeys, idempotencyClaimKey, loginRateKeys, redis, saleKeys, signupRateKey, type FlashRedis, type ScriptName } from './redis.js';

/** A script's code as its answer; a code the script does not have is a bug, never an answer. */
function answerOf<A extends string>(script: ScriptName, answers: readonly A[], code: unknown): A {
  const answer = answers[Number(code)];
  if (answer === undefined) throw new Error(`${script} returned unknown code ${String(code)}`);
  return answer;
}

/** take-n.lua's codes. What each means to a buyer is decided in orders/take.ts. */
export const TAKE_CODES = {
  taken: 0,
  soldOut: 1,
  alreadyPurchased: 2,
  notStarted: 3,
  ended: 4,
  notLoaded: 5,
  rateLimited: 6,
  notAdmitted: 7,
} as const;
export type TakeCode = (typeof TAKE_CODES)[keyof typeof TAKE_CODES];

/** One answer of take-n.lua; `replayed` is 1 for the stored first answer to an Idempotency-Key. */
export type TakeReply = [code: TakeCode, orderId: string, nowMs: number, retryAfterMs: number, replayed: 0 | 1];
/** take-n.lua answers a group in one flat array, this many values per attempt. */
const TAKE_REPLY_LENGTH = 5;

export interface TakeAttempt {
  saleId: string;
  userId: string;
  orderId: string;
  clientIp: string;
  idempotencyKey?: string;
}

/** The settings of a take, the same for every attempt of an instance. */
export interface TakePolicy {
  idempotencyTtlSeconds: number;
  /** ms between a user's attempts (0: no limit), and the user's burst. */
  userIntervalMs: number;
  userBurst: number;
  ipIntervalMs: number;
  ipBurst: number;
}

/**
 * One call of take-n.lua: a group of attempts on ONE sale (every key in its hash slot),
 * decided in the order given, one answer each.
 */
export function takeTokens(attempts: readonly TakeAttempt[], policy: TakePolicy, client: FlashRedis = redis()): Promise<TakeReply[]> {
  const saleId = attempts[0]?.saleId ?? '';
  const k = saleKeys(saleId);
  const keys = [k.meta, k.stock, k.buyers, k.orders, k.room, k.admissions];
  const args: (string | number)[] = [policy.idempotencyTtlSeconds, policy.userIntervalMs, policy.userBurst, policy.ipIntervalMs, policy.ipBurst];
  for (const attempt of attempts) {
    if (attempt.saleId !== saleId) throw new Error('a take groups the attempts of one sale');
    const a = attemptKeys(saleId, attempt.userId, attempt.clientIp, attempt.idempotencyKey);
    keys.push(a.idempotency, a.userRate, a.ipRate);
    args.push(attempt.userId, attempt.orderId, attempt.idempotencyKey ? 1 : 0);
  }
  return client.runScript('take', keys, args).then((flat) => {
    const values = flat as TakeReply[number][];
    const replies: TakeReply[] = [];
    for (let i = 0; i < values.length; i += TAKE_REPLY_LENGTH) replies.push(values.slice(i, i + TAKE_REPLY_LENGTH) as TakeReply);
    return replies;
  });
}

/** A group of one: the one-by-one take. */
export function takeToken(attempt: TakeAttempt, policy: TakePolicy, client: FlashRedis = redis()): Promise<TakeReply> {
  return takeTokens([attempt], policy, client).then((replies) => replies[0] as TakeReply);
}

/** settle-4.lua's answers, each at the index of its code; `moved`: rebuilt since the caller's epoch. */
export const SETTLE_ANSWERS = ['changed', 'already_recorded', 'not_loaded', 'moved'] as const;
export type SettleResult = (typeof SETTLE_ANSWERS)[number];

/** What settle-4.lua needs of an order: its sale, its buyer and when its unit was taken. */
export interface SettledOrder {
  sale_id: string;
  order_id: string;
  user_id: string;
  taken_ms: number;
}

/**
 * One call of settle-4.lua: a failed, expired or cancelled order gives its token back at most
 * once. With `epoch` (the sweeper's snapshot), nothing is written to keys rebuilt since.
 */
export async function settleOrder(
  order: SettledOrder,
  status: SettledStatus,
  client: FlashRedis = redis(),
  epoch?: string,
): Promise<SettleResult> {
  const k = saleKeys(order.sale_id);
  const args: (string | number)[] = [order.order_id, status, order.user_id, order.taken_ms];
  if (epoch !== undefined) args.push(epoch);
  const code = await client.runScript('settle', [k.meta, k.stock, k.buyers, k.orders], args);
  return answerOf('settle', SETTLE_ANSWERS, code);
}

/** rebuild-4.lua's answers, each at the index of its code. */
export const REBUILD_ANSWERS = ['already_loaded', 'wrote'] as const;

/** A sale's keys as PostgreSQL's facts make them (rebuild-4.lua's arguments). */
export interface SaleFromPostgres {
  startsMs: number;
  endsMs: number;
  stockTotal: number;
  holdSeconds: number;
  productId: string;
  /** stock - sold in PostgreSQL. */
  tokensLeft: number;
  /** Unix seconds at which the keys may be dropped. */
  expireAt: number;
  /** The waiting room's settings; none is a sale without one. */
  room?: RoomSettings;
}

/** A waiting room's settings as the scripts keep them in the sale's meta (includes/admission.lua). */
export interface RoomSettings {
  mode: 'off' | 'always' | 'above';
  /** Admitted per second. */
  rate: number;
  /** How long an admission lasts. */
  secs: number;
  /** Attempts per second that turn an `above` room on. */
  above: number;
  seed: string;
  seed_hash: string;
}

export interface LiveOrderFact {
  user_id: string;
  order_id: string;
  status: string;
  taken_ms: number;
}

/** One call of rebuild-4.lua; true when this call wrote the keys, false when another had. */
export async function rebuildSale(saleId: string, sale: SaleFromPostgres, live: LiveOrderFact[], client: FlashRedis = redis()): Promise<boolean> {
  const k = saleKeys(saleId);
  const epoch = randomUUID();
  const room = sale.room ? JSON.stringify(sale.room) : '';
  const args: (string | number)[] = [sale.startsMs, sale.endsMs, sale.stockTotal, sale.holdSeconds, sale.productId, sale.tokensLeft, sale.expireAt, epoch, room];
  for (const o of live) args.push(o.user_id, o.order_id, o.status, o.taken_ms);
  return answerOf('rebuild', REBUILD_ANSWERS, await client.runScript('rebuild', [k.meta, k.stock, k.buyers, k.orders], args)) === 'wrote';
}

/** resize-2.lua's answers, each at the index of its code. */
export const RESIZE_ANSWERS = ['applied', 'below_taken', 'not_loaded'] as const;
export type ResizeResult = (typeof RESIZE_ANSWERS)[number];

/** How resize-2.lua treats a stock below the units taken: refuse it, only ask, or follow PostgreSQL's commit. */
export type ResizeMode = 'guard' | 'check' | 'follow';

/** One call of resize-2.lua; `taken` is the units sold, held or pending when it ran. */
export async function resizeSale(
  saleId: string,
  change: { startsMs: number; endsMs: number; stockTotal: number; expireAt: number; room?: RoomSettings },
  client: FlashRedis = redis(),
  mode: ResizeMode = 'guard',
): Promise<{ result: ResizeResult; taken: number }> {
  const k = saleKeys(saleId);
  const args = [change.startsMs, change.endsMs, change.stockTotal, change.expireAt, mode, change.room ? JSON.stringify(change.room) : ''];
  const [code, taken] = (await client.runScript('resize', [k.meta, k.stock], args)) as [number, number];
  return { result: answerOf('resize', RESIZE_ANSWERS, code), taken };
}

/** room-4.lua's codes, each at its index. */
export const ROOM_ANSWERS = ['ok', 'no_ticket', 'not_loaded', 'room_off', 'ended', 'not_ended', 'kept'] as const;
export type RoomAnswer = (typeof ROOM_ANSWERS)[number];

/** A ticket as room-4.lua answers it: -1, 0 and '' read as none. */
export interface RoomTicket {
  ticketId: string;
  state: 'waiting' | 'admitted' | 'sold_out' | 'ended';
  place: number | null;
  ahead: number | null;
  waitMs: number | null;
  admittedUntilMs: number | null;
  orderId: string | null;
  nowMs: number;
}

/** One call of room-4.lua's join or status: the caller's ticket, or why there is none. */
export async function roomTicket(
  op: 'join' | 'status',
  saleId: string,
  userId: string,
  fresh: { ticketId: string; ticketHash: string } = { ticketId: '', ticketHash: '' },
  client: FlashRedis = redis(),
): Promise<RoomTicket | Exclude<RoomAnswer, 'ok'>> {
  const k = saleKeys(saleId);
  const reply = (await client.runScript('room', [k.meta, k.stock, k.room, k.admissions], [op, userId, fresh.ticketId, fresh.ticketHash])) as (
    | string
    | number
  )[];
  const answer = answerOf('room', ROOM_ANSWERS, reply[0]);
  if (answer !== 'ok') return answer;
  const [, ticketId, state, place, ahead, wait, until, orderId, nowMs] = reply;
  const orNull = (v: unknown) => (Number(v) < 0 ? null : Number(v));
  return {
    ticketId: String(ticketId),
    state: state as RoomTicket['state'],
    place: orNull(place),
    ahead: orNull(ahead),
    waitMs: orNull(wait),
    admittedUntilMs: Number(until) > 0 ? Number(until) : null,
    orderId: orderId ? String(orderId) : null,
    nowMs: Number(nowMs),
  };
}

/**
 * One call of room-4.lua's give_back: the queue refused this order's task and its unit went
 * back, so the admission it used is the buyer's again (`ok`), or stays used (`kept`).
 */
export async function roomGiveBack(saleId: string, userId: string, orderId: string, client: FlashRedis = redis()): Promise<RoomAnswer> {
  const k = saleKeys(saleId);
  const reply = (await client.runScript('room', [k.meta, k.stock, k.room, k.admissions], ['give_back', userId, orderId, ''])) as number[];
  return answerOf('room', ROOM_ANSWERS, reply[0]);
}

/** One call of room-4.lua's log: the seed and every place as GET /sales/{id}/queue/log answers them, or why not. */
export async function roomLog(saleId: string, client: FlashRedis = redis()): Promise<QueueLog | Exclude<RoomAnswer, 'ok'>> {
  const k = saleKeys(saleId);
  const reply = (await client.runScript('room', [k.meta, k.stock, k.room, k.admissions], ['log', '', '', ''])) as (string | number)[];
  const answer = answerOf('room', ROOM_ANSWERS, reply[0]);
  if (answer !== 'ok') return answer;
  const iso = (ms: unknown) => (Number(ms) > 0 ? new Date(Number(ms)).toISOString() : null);
  const entries: QueueLogEntry[] = [];
  for (let i = 3; i + 5 < reply.length; i += 6) {
    const [place, hash, admitted, pre, at, served] = reply.slice(i, i + 6);
    entries.push({ place: Number(place), ticket_hash: String(hash), admitted: Number(admitted) === 1, pre_queue: Number(pre) === 1, admitted_at: iso(at), served_at: iso(served) });
  }
  return { seed: String(reply[1]), seed_hash: String(reply[2]), entries };
}

/** repair-2.lua's answers, each at the index of its code. */
export const REPAIR_ANSWERS = ['counts_moved', 'repaired'] as const;

/** Where a sale's Redis keys stood when they were read: a rebuild's epoch, and changes since. */
export interface SaleVersion {
  epoch: string;
  version: string;
}

/** One call of repair-2.lua; true when it repaired, false when the sale moved since `seen`. */
export async function repairCounts(
  saleId: string,
  seen: SaleVersion,
  expected: { left: number; confirmed: number },
  client: FlashRedis = redis(),
): Promise<boolean> {
  const k = saleKeys(saleId);
  const code = await client.runScript('repair', [k.meta, k.stock], [seen.epoch, seen.version, expected.left, expected.confirmed]);
  return answerOf('repair', REPAIR_ANSWERS, code) === 'repaired';
}

/** idempotency-claim-1.lua's answers, each at the index of its code. */
export const IDEMPOTENCY_CLAIM_ANSWERS = ['claimed', 'reused'] as const;

/** One call of idempotency-claim-1.lua; true when the key was first used with another request. */
export async function claimIdempotency(
  userId: string,
  idempotencyKey: string,
  fingerprint: string,
  ttlSeconds: number,
  client: FlashRedis = redis(),
): Promise<boolean> {
  const code = await client.runScript('idempotency-claim', [idempotencyClaimKey(userId, idempotencyKey)], [fingerprint, ttlSeconds]);
  return answerOf('idempotency-claim', IDEMPOTENCY_CLAIM_ANSWERS, code) === 'reused';
}

/** One call of rate-limit-2.lua on a login; the ms to wait, 0 when allowed. */
export async function limitLogin(
  email: string,
  clientIp: string,
  limits: { emailIntervalMs: number; emailBurst: number; ipIntervalMs: number; ipBurst: number },
  client: FlashRedis = redis(),
): Promise<number> {
  const k = loginRateKeys(email, clientIp);
  return Number(await client.runScript('rate-limit', [k.email, k.ip], [limits.emailIntervalMs, limits.emailBurst, limits.ipIntervalMs, limits.ipBurst]));
}

/** One call of rate-limit-2.lua on a sign-up: its client IP is the only subject; the ms to wait, 0 when allowed. */
export async function limitSignup(clientIp: string, limits: { intervalMs: number; burst: number }, client: FlashRedis = redis()): Promise<number> {
  const key = signupRateKey(clientIp);
  return Number(await client.runScript('rate-limit', [key, key], [limits.intervalMs, limits.burst, 0, 1]));
}
