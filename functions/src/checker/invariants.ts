// A Jepsen-style checker: a history of every purchase attempt (ok = 202, fail = a refusal,
// info = unknown: timeout, 5xx, dropped connection), checked after quiescence against
// PostgreSQL and Redis for the invariants of docs/design.md §5, with counts per violation.
// Product code, not a test's: the fault suite and the stress run use it, and an operator will.
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
  stuck_pending: number;
  /** 4: Redis's tokens left differ from stock - live orders when quiet. */
  not_conserved: number;
  /** 5: units unsold although demand exceeded stock and nothing failed for good. */
  undersold: number;
  /** 6: one Idempotency-Key answered with two different orders. */
  idempotency_broken: number;
}

export interface SaleFacts {
  stock: number;
  sold: number;
  live: number;
  failed: number;
  redisLeft: number | null;
  redisPending: number;
}

const FINAL = new Set(['confirmed', 'reserved', 'expired', 'cancelled']);

export async function saleFacts(db: pg.Pool, redis: Redis, saleId: string): Promise<SaleFacts> {
  const { rows } = await db.query<{ stock: number; sold: number; live: string; failed: string }>(
    `SELECT s.stock, s.sold,
            count(o.order_id) FILTER (WHERE o.status IN ('reserved', 'confirmed')) AS live,
            count(o.order_id) FILTER (WHERE o.status = 'failed') AS failed
       FROM flash_sales s LEFT JOIN orders o ON o.sale_id = s.sale_id
      WHERE s.sale_id = $1 GROUP BY s.stock, s.sold`,
    [saleId],
  );
  const row = rows[0];
  if (!row) throw new Error(`no sale ${saleId}`);
  const keys = saleKeys(saleId);
  const left = await redis.get(keys.stock);
  const records = await redis.hvals(keys.orders);
  const redisPending = records.filter((r) => parseOrderRecord(r).status === 'pending').length;
  return {
    stock: row.stock,
    sold: row.sold,
    live: Number(row.live),
    failed: Number(row.failed),
    redisLeft: left === null ? null : Number(left),
    redisPending,
  };
}

export async function check(db: pg.Pool, redis: Redis, saleId: string, history: History): Promise<{ violations: Violations; facts: SaleFacts }> {
  const facts = await saleFacts(db, redis, saleId);
  const violations: Violations = {
    oversold: facts.live > facts.stock ? facts.live - facts.stock : 0,
    sold_mismatch: facts.sold === facts.live ? 0 : 1,
    two_live_orders: 0,
    lost: 0,
    stuck_pending: 0,
    not_conserved: 0,
    undersold: 0,
    idempotency_broken: 0,
  };

  const doubles = await db.query(
    `SELECT user_id FROM orders WHERE sale_id = $1 AND status IN ('pending', 'reserved', 'confirmed')
      GROUP BY user_id HAVING count(*) > 1`,
    [saleId],
  );
  violations.two_live_orders = doubles.rowCount ?? 0;

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

  if (facts.redisLeft === null || facts.redisLeft !== facts.stock - facts.live || facts.redisPending > 0) violations.not_conserved = 1;

  const distinctBuyers = new Set(history.attempts.map((a) => a.userId)).size;
  if (distinctBuyers > facts.stock && facts.failed === 0 && facts.live < facts.stock) violations.undersold = facts.stock - facts.live;

  const answersByKey = new Map<string, Set<string>>();
  for (const a of history.attempts) {
    if (!a.idempotencyKey || a.outcome !== 'ok' || !a.orderId) continue;
    const key = `${a.userId}/${a.idempotencyKey}`;
    answersByKey.set(key, (answersByKey.get(key) ?? new Set()).add(a.orderId));
  }
  violations.idempotency_broken = [...answersByKey.values()].filter((ids) => ids.size > 1).length;
  return { violations, facts };
}

/** Waits until the sale is quiet and the history settled (or the time is up), then checks. */
export async function checkWhenQuiet(
  db: pg.Pool,
  redis: Redis,
  saleId: string,
  history: History,
  timeoutMs = 60_000,
): Promise<{ violations: Violations; facts: SaleFacts }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check(db, redis, saleId, history).catch(() => undefined);
    const clean = result && Object.values(result.violations).every((n) => n === 0);
    if (clean || Date.now() > deadline) return result ?? check(db, redis, saleId, history);
    await new Promise((r) => setTimeout(r, 500));
  }
}
