// The numbers an operator watches during a sale, counted where they happen and summed in Redis
// for the admin page (GET /admin/metrics). In the cloud the same numbers are log-based metrics
// over the log lines that record each event (terraform/modules/monitoring), so nothing here is
// on the purchase path's critical section: a count is a Map increment, flushed once a second.
import type { Metrics } from '@flash-sale/contract';
import { errorFields, log } from './log.js';
import { redis } from './redis.js';

/** One hash of counters and gauges; the admin page reads it whole. */
export const METRICS_KEY = 'fs:metrics';

/** How often an instance adds its counts to Redis. */
const FLUSH_EVERY_MS = 1000;

/** Upper bounds (ms) of the 202→final latency buckets; the last bucket is everything above. */
export const FINAL_LATENCY_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 15_000, 60_000] as const;

/** Functions that never use Redis are not counted (jwks runs without it). */
const UNCOUNTED_FUNCTIONS = new Set(['jwks']);

const counts = new Map<string, number>();
let timer: NodeJS.Timeout | undefined;

function flush(): void {
  if (counts.size === 0) return;
  const batch = [...counts];
  counts.clear();
  const multi = redis().multi();
  for (const [field, by] of batch) multi.hincrby(METRICS_KEY, field, by);
  multi.exec().catch((err: unknown) => {
    // Best effort: put them back for the next flush (Redis down mid-sale is logged elsewhere).
    for (const [field, by] of batch) counts.set(field, (counts.get(field) ?? 0) + by);
    log.debug('metrics flush failed', errorFields(err));
  });
}

/** Adds `by` to a counter; the sum reaches Redis within FLUSH_EVERY_MS. */
export function countMetric(field: string, by = 1): void {
  counts.set(field, (counts.get(field) ?? 0) + by);
  if (!timer) {
    timer = setInterval(flush, FLUSH_EVERY_MS);
    timer.unref();
  }
}

/** Sets a gauge at once (the sweeper's view of pending orders, once a pass). */
export async function setGauges(values: Record<string, number | string>): Promise<void> {
  await redis().hset(METRICS_KEY, values);
}

/** What the access line of a request counts: purchase attempts by answer, requests and 5xx by function. */
export function countAnswer(fn: string, method: string, route: string, status: number, error: string | undefined): void {
  if (UNCOUNTED_FUNCTIONS.has(fn)) return;
  countMetric(`requests:${fn}`);
  if (status >= 500) countMetric(`5xx:${fn}`);
  if (fn === 'orders' && method === 'POST' && route === '/orders') {
    countMetric(`attempt:${status === 202 ? 'accepted' : (error ?? String(status))}`);
  }
}

/** An order's final outcome as the worker wrote it, and the time from its 202 to that moment. */
export function countFinalOutcome(status: string, failureReason: string | null, finalLatencyMs: number): void {
  countMetric(`final:${status}`);
  if (failureReason) countMetric(`failed:${failureReason}`);
  const bound = FINAL_LATENCY_BUCKETS_MS.find((b) => finalLatencyMs <= b);
  countMetric(`final_ms_le:${bound ?? 'inf'}`);
}

/** GET /admin/metrics's answer but its time. */
export type MetricsView = Metrics;

function percentileBound(buckets: Map<string, number>, total: number, share: number): number | null {
  if (total === 0) return null;
  let seen = 0;
  for (const bound of FINAL_LATENCY_BUCKETS_MS) {
    seen += buckets.get(String(bound)) ?? 0;
    if (seen >= total * share) return bound;
  }
  return Number.POSITIVE_INFINITY;
}

/** The hash as the admin page shows it. */
export function metricsView(hash: Record<string, string>): MetricsView {
  const byPrefix = (prefix: string) => {
    const out: Record<string, number> = {};
    for (const [field, value] of Object.entries(hash)) if (field.startsWith(prefix)) out[field.slice(prefix.length)] = Number(value);
    return out;
  };
  const buckets = new Map(Object.entries(byPrefix('final_ms_le:')));
  const total = [...buckets.values()].reduce((a, b) => a + b, 0);
  const num = (field: string) => Number(hash[field] ?? 0);
  // JSON has no infinity: null with a count says "above the last bucket".
  const finite = (bound: number | null) => (bound === Number.POSITIVE_INFINITY ? null : bound);
  return {
    attempts: byPrefix('attempt:'),
    finals: byPrefix('final:'),
    final_latency_ms: {
      count: total,
      p50_at_most: finite(percentileBound(buckets, total, 0.5)),
      p99_at_most: finite(percentileBound(buckets, total, 0.99)),
      buckets: Object.fromEntries(buckets),
    },
    tasks_retried: num('tasks_retried'),
    failed_by_reason: byPrefix('failed:'),
    pending_stale: num('pending_stale'),
    pending_stale_at: hash.pending_stale_at ?? null,
    redriven: num('redriven'),
    gave_up: num('gave_up'),
    drift_repaired: num('drift_repaired'),
    requests: byPrefix('requests:'),
    errors_5xx: byPrefix('5xx:'),
  };
}

export async function readMetrics(): Promise<MetricsView> {
  return metricsView(await redis().hgetall(METRICS_KEY));
}
