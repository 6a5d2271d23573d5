// A Jepsen-style checker: the invariants of docs/design.md §5 checked against PostgreSQL and
// Redis, with counts per violation; given a history of purchase attempts (ok = 202, fail = a
// refusal, info = unknown: timeout, 5xx, dropped connection) it also checks what each buyer
// was told. Product code, not a test's: the fault suite, the stress run and `npm run check`
// (scripts/check.ts, an operator's command against any deployment) all use it.
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { parseOrderRecord, saleKeys } from '../lib/redis.js';

export type Outcome = 'ok' | 'fail' | 'info';

export interface Attempt {
  userId: string;
  idempotencyKey?: string;
  outcome: Outcome;
  status?: number;
  error?: string;
  orderId?: string;
}

export class History {
  readonly attempts: Attempt[] = [];

  record(attempt: Attempt): void {
    this.attempts.push(attempt);
  }

  count(outcome: Outcome): number {
    return this.attempts.filter((a) => a.outcome === outcome).length;
  }

  summary(): string {
    return `${this.attempts.length} attempts: ${this.count('ok')} ok, ${this.count('fail')} fail, ${this.count('info')} info`;
  }
}

export interface Violations {
  /** 1: more reserved + confirmed than stock, or `sold` not equal to them. */
  oversold: number;
  sold_mismatch: number;
  /** 2: users with more than one live order. */
  two_live_orders: number;
  /** 3: 202s that are not final in PostgreSQL (missing, or still pending). */
  lost: number;
  /** 3: orders pending (in Redis, never written or never settled) past their deadline. */
  stuck_pending: number;
  /** 3: holds still `reserved` past their `expires_at` and the grace. */
  hold_overdue: number;
  /** 4: Redis's tokens left differ from stock - live orders when quiet (or not quiet, or not loaded). */
  not_conserved: number;
  /** 4: Redis's count of confirmed orders differs from PostgreSQL's. */
  confirmed_drift: number;
  /** 4: buyers Redis still holds to an order that is not live: refused `already_purchased` for nothing. */
  blocked_buyers: number;
  /** 5: units unsold although demand exceeded stock and nothing failed for good. */
  undersold: number;
  /** 6: one Idempotency-Key answered with two different orders. */
  idempotency_broken: number;
  /** 6: buyers whose last answer was a refusal (not `already_purchased`) yet who own a live order. */
  told_no_but_sold: number;
}

/** Which invariant of docs/design.md §5 each violation breaks, in the order they are printed. */
export const INVARIANT_OF: Record<keyof Violations, string> = {
  oversold: '1. no oversell',
  sold_mismatch: '1. no oversell',
  two_live_orders: '2. one per user',
  lost: '3. nothing lost',
  stuck_pending: '3. nothing lost',
  hold_overdue: '3. nothing lost',
  not_conserved: '4. conservation',
  confirmed_drift: '4. conservation',
  blocked_buyers: '4. conservation',
  undersold: '5. no undersell',
  idempotency_broken: '6. idempotency',
  told_no_but_sold: '6. idempotency',
};

export interface SaleFacts {
  stock: number;
  sold: number;
  live: number;
  confirmed: number;
  failed: number;
  redisLeft: number | null;
  redisConfirmed: number | null;
  redisPending: number;
  /** Why conservation could not be judged: keys missing, or orders still pending in Redis. */
  conservation: 'checked' | 'not_loaded' | 'not_quiet';
}

export interface CheckOptions {
  /** How long an order may stay pending in Redis: PENDING_GIVE_UP_AFTER_MS plus the sweeper's period. */
  pendingDeadlineMs?: number;
  /** How long after `expires_at` a hold may still be `reserved` (the expiry task or the sweeper is due). */
  holdGraceMs?: number;
  /** Judge undersell (needs a history in which demand exceeded stock and no hold ended early). */
  undersell?: boolean;
  /**
   * Redis was lost mid-sale: the first answers to Idempotency-Keys are forgotten (README,
   * "What it does not promise"), so a buyer whose first outcome was unknown may be refused on
   * retry and still own the unit of the first attempt.
   */
  answersMayBeForgotten?: boolean;
}

const FINAL = new Set(['confirmed', 'reserved', 'expired', 'cancelled']);
const LIVE = new Set(['reserved', 'confirmed']);
export const DEFAULT_PENDING_DEADLINE_MS = 10 * 60_000 + 2 * 60_000;
export const DEFAULT_HOLD_GRACE_MS = 2 * 60_000;

interface RedisState {
  left: number | null;
  confirmed: number | null;
  records: Map<string, ReturnType<typeof parseOrderRecord>>;
  buyers: Record<string, string>;
}

async function readRedis(redis: Redis, saleId: string): Promise<RedisState> {
  const keys = saleKeys(saleId);
  // Counts first, records after (as the sweeper reads them): a take in between shows as pending.
  const [left, confirmed] = await Promise.all([redis.get(keys.stock), redis.hget(keys.meta, 'confirmed')]);
  const [rawRecords, buyers] = await Promise.all([redis.hgetall(keys.orders), redis.hgetall(keys.buyers)]);
  const records = new Map(Object.entries(rawRecords).map(([id, raw]) => [id, parseOrderRecord(raw)]));
  return { left: left === null ? null : Number(left), confirmed: left === null ? null : Number(confirmed ?? 0), records, buyers };
}

export async function saleFacts(db: pg.Pool, redis: Redis, saleId: string): Promise<SaleFacts> {
  return (await observe(db, redis, saleId)).facts;
}

async function observe(db: pg.Pool, redis: Redis, saleId: string) {
  const state = await readRedis(redis, saleId);
  const { rows } = await db.query<{ stock: number; sold: number; live: string; confirmed: string; failed: string }>(
    `SELECT s.stock, s.sold,
            count(o.order_id) FILTER (WHERE o.status IN ('reserved', 'confirmed')) AS live,
            count(o.order_id) FILTER (WHERE o.status = 'confirmed') AS confirmed,
            count(o.order_id) FILTER (WHERE o.status = 'failed') AS failed
       FROM flash_sales s LEFT JOIN orders o ON o.sale_id = s.sale_id
      WHERE s.sale_id = $1 GROUP BY s.stock, s.sold`,
    [saleId],
  );
  const row = rows[0];
  if (!row) throw new Error(`no sale ${saleId}`);
  // A take or settle between the reads above moves the count: the sale is not quiet then.
  const leftAfter = await redis.get(saleKeys(saleId).stock);
  const moved = (leftAfter === null ? null : Number(leftAfter)) !== state.left;
  const redisPending = [...state.records.values()].filter((r) => r.status === 'pending').length;
  const facts: SaleFacts = {
    stock: row.stock,
    sold: row.sold,
    live: Number(row.live),
    confirmed: Number(row.confirmed),
    failed: Number(row.failed),
    redisLeft: state.left,
    redisConfirmed: state.confirmed,
    redisPending,
    conservation: state.left === null ? 'not_loaded' : redisPending > 0 || moved ? 'not_quiet' : 'checked',
  };
  return { facts, state };
}

/** Every violation counted zero: a sale that breaks nothing. */
export function noViolations(): Violations {
  return {
    oversold: 0,
    sold_mismatch: 0,
    two_live_orders: 0,
    lost: 0,
    stuck_pending: 0,
    hold_overdue: 0,
    not_conserved: 0,
    confirmed_drift: 0,
    blocked_buyers: 0,
    undersold: 0,
    idempotency_broken: 0,
    told_no_but_sold: 0,
  };
}

/**
 * Every invariant of one sale, now. Without a history (an operator's check), the invariants
 * about what buyers were told are not judged. Conservation is a violation unless it was
 * judged and held: callers that accept "not quiet" or "not loaded" read `facts.conservation`.
 */
export async function check(
  db: pg.Pool,
  redis: Redis,
  saleId: string,
  history: History = new History(),
  options: CheckOptions = {},
): Promise<{ violations: Violations; facts: SaleFacts }> {
  const { facts, state } = await observe(db, redis, saleId);
  const violations: Violations = {
    ...noViolations(),
    oversold: facts.live > facts.stock ? facts.live - facts.stock : 0,
    sold_mismatch: facts.sold === facts.live ? 0 : 1,
  };

  const doubles = await db.query(
    `SELECT user_id FROM orders WHERE sale_id = $1 AND status IN ('pending', 'reserved', 'confirmed')
      GROUP BY user_id HAVING count(*) > 1`,
    [saleId],
  );
  violations.two_live_orders = doubles.rowCount ?? 0;

  // 3. Every order Redis handed a unit to, and every 202, ends in PostgreSQL within its deadlines.
  const now = Date.now();
  const pendingDeadline = options.pendingDeadlineMs ?? DEFAULT_PENDING_DEADLINE_MS;
  violations.stuck_pending = [...state.records.values()].filter((r) => r.status === 'pending' && now - r.taken_ms > pendingDeadline).length;
  const overdue = await db.query(
    `SELECT order_id FROM orders WHERE sale_id = $1 AND status = 'reserved' AND expires_at < now() - make_interval(secs => $2::float8 / 1000)`,
    [saleId, options.holdGraceMs ?? DEFAULT_HOLD_GRACE_MS],
  );
  violations.hold_overdue = overdue.rowCount ?? 0;
  const okIds = [...new Set(history.attempts.filter((a) => a.outcome === 'ok' && a.orderId).map((a) => a.orderId as string))];
  const { rows } = await db.query<{ order_id: string; status: string; failure_reason: string | null }>(
    'SELECT order_id, status, failure_reason FROM orders WHERE order_id = ANY($1::uuid[])',
    [okIds],
  );
  const written = new Map(rows.map((r) => [r.order_id, r]));
  for (const id of okIds) {
    const row = written.get(id);
    if (!row) violations.lost++;
    else if (!(FINAL.has(row.status) || (row.status === 'failed' && row.failure_reason))) violations.stuck_pending++;
  }

  // 4. Conservation, judged only on a quiet sale whose keys are loaded.
  if (facts.conservation !== 'checked' || facts.redisLeft !== facts.stock - facts.live) violations.not_conserved = 1;
  if (facts.conservation === 'checked' && facts.redisConfirmed !== facts.confirmed) violations.confirmed_drift = 1;
  const held = Object.entries(state.buyers).filter(([, orderId]) => state.records.get(orderId)?.status !== 'pending');
  if (held.length > 0) {
    const live = await db.query<{ user_id: string; order_id: string }>(
      `SELECT user_id, order_id FROM orders WHERE sale_id = $1 AND status IN ('reserved', 'confirmed') AND order_id = ANY($2::uuid[])`,
      [saleId, held.map(([, orderId]) => orderId)],
    );
    const liveIds = new Set(live.rows.map((r) => r.order_id));
    violations.blocked_buyers = held.filter(([, orderId]) => !liveIds.has(orderId)).length;
  }

  // 5.
  const distinctBuyers = new Set(history.attempts.map((a) => a.userId)).size;
  if ((options.undersell ?? true) && distinctBuyers > facts.stock && facts.failed === 0 && facts.live < facts.stock) {
    violations.undersold = facts.stock - facts.live;
  }

  // 6.
  const answersByKey = new Map<string, Set<string>>();
  for (const a of history.attempts) {
    if (!a.idempotencyKey || a.outcome !== 'ok' || !a.orderId) continue;
    const key = `${a.userId}/${a.idempotencyKey}`;
    answersByKey.set(key, (answersByKey.get(key) ?? new Set()).add(a.orderId));
  }
  violations.idempotency_broken = [...answersByKey.values()].filter((ids) => ids.size > 1).length;
  violations.told_no_but_sold = await toldNoButSold(db, saleId, history, options.answersMayBeForgotten ?? false);
  return { violations, facts };
}

/**
 * Buyers who own a live order although they never heard `202` and their last answer was a
 * refusal: not `already_purchased` (which says they own one) nor `rate_limited` (try later).
 */
async function toldNoButSold(db: pg.Pool, saleId: string, history: History, answersMayBeForgotten: boolean): Promise<number> {
  const byUser = new Map<string, Attempt[]>();
  for (const a of history.attempts) byUser.set(a.userId, [...(byUser.get(a.userId) ?? []), a]);
  const toldNo = [...byUser.entries()]
    .filter(([, attempts]) => {
      if (attempts.some((a) => a.outcome === 'ok' || a.error === 'already_purchased')) return false;
      if (answersMayBeForgotten && attempts.some((a) => a.outcome === 'info')) return false;
      const last = attempts.at(-1);
      return last?.outcome === 'fail' && last.error !== 'rate_limited';
    })
    .map(([userId]) => userId);
  if (toldNo.length === 0) return 0;
  const { rowCount } = await db.query(
    `SELECT DISTINCT user_id FROM orders WHERE sale_id = $1 AND status = ANY($2::text[]) AND user_id = ANY($3::uuid[])`,
    [saleId, [...LIVE], toldNo],
  );
  return rowCount ?? 0;
}

export function isClean(violations: Violations): boolean {
  return Object.values(violations).every((n) => n === 0);
}

/** Waits until the sale is quiet and the history settled (or the time is up), then checks. */
export async function checkWhenQuiet(
  db: pg.Pool,
  redis: Redis,
  saleId: string,
  history: History,
  timeoutMs = 60_000,
  options: CheckOptions & { between?: () => Promise<void> } = {},
): Promise<{ violations: Violations; facts: SaleFacts }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check(db, redis, saleId, history, options).catch(() => undefined);
    if ((result && isClean(result.violations)) || Date.now() > deadline) return result ?? check(db, redis, saleId, history, options);
    await options.between?.().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface Verdict {
  invariant: string;
  /** `held`, `violated`, or `not checked` (conservation on a sale not quiet or not loaded). */
  verdict: 'held' | 'violated' | 'not checked';
  details: string[];
}

/** One verdict per invariant of docs/design.md §5, with the violations that broke it. */
export function verdicts(violations: Violations, facts: SaleFacts, judged: { history: boolean }): Verdict[] {
  const byInvariant = new Map<string, Verdict>();
  for (const [kind, invariant] of Object.entries(INVARIANT_OF) as [keyof Violations, string][]) {
    if (!judged.history && (invariant.startsWith('5.') || invariant.startsWith('6.'))) continue;
    const verdict = byInvariant.get(invariant) ?? { invariant, verdict: 'held', details: [] };
    byInvariant.set(invariant, verdict);
    const n = violations[kind];
    if (kind === 'not_conserved' && facts.conservation !== 'checked') {
      if (verdict.verdict === 'held') verdict.verdict = 'not checked';
      verdict.details.push(
        facts.conservation === 'not_loaded'
          ? "the sale's keys are not in Redis (not loaded yet, lost, or expired after the sale)"
          : `not quiet: ${facts.redisPending} orders pending in Redis, or the count moved while read`,
      );
      continue;
    }
    if (n === 0) continue;
    verdict.verdict = 'violated';
    verdict.details.push(`${kind}: ${n}${describe(kind, facts)}`);
  }
  return [...byInvariant.values()];
}

function describe(kind: keyof Violations, facts: SaleFacts): string {
  switch (kind) {
    case 'oversold':
      return ` (${facts.live} reserved or confirmed of ${facts.stock})`;
    case 'sold_mismatch':
      return ` (sold = ${facts.sold}, reserved + confirmed = ${facts.live})`;
    case 'not_conserved':
      return ` (Redis has ${facts.redisLeft} left; stock - live = ${facts.stock - facts.live})`;
    case 'confirmed_drift':
      return ` (Redis counts ${facts.redisConfirmed} confirmed; PostgreSQL ${facts.confirmed})`;
    default:
      return '';
  }
}

/** Every violation that counts, given which verdicts the caller accepts as "not checked". */
export function violated(list: Verdict[]): boolean {
  return list.some((v) => v.verdict === 'violated');
}
