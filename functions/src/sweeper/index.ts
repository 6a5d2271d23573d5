// The sweeper function: Cloud Scheduler calls it every minute (the local stack every few
// seconds) to finish what a crash or a lost task left behind, and to repair drift between
// Redis and PostgreSQL. Each pass is bounded and idempotent; two passes at once do no harm.
//
// A pass: expire lapsed holds; then, sale by sale (reconcileSale), from one atomic snapshot of
// the sale's Redis keys and one PostgreSQL snapshot read after it:
//   1. finish orders still pending in Redis after a while (settle, queue again, or give up);
//   2. settle every order whose Redis record disagrees with PostgreSQL (a settle that failed
//      after a commit, a record a rebuild missed) — settle-4.lua acts at most once per order;
//   3. only on a quiet sale (nothing pending, every record agreeing), repair counts that still
//      differ from PostgreSQL's, unless the sale moved since the snapshot (repair-2.lua).
// Each repair is one log line, `sweeper repair`, with its kind (design.md §6).
import { config } from '../lib/config.js';
import { db } from '../lib/db.js';
import { writeFailedOrders } from '../lib/failed-orders.js';
import { healthRoute } from '../lib/health.js';
import { endHold } from '../lib/holds.js';
import { httpFunction, type RouteContext } from '../lib/http.js';
import { publishSales } from '../lib/live-view.js';
import { errorFields, type Logger } from '../lib/log.js';
import { countMetric, setGauges } from '../lib/metrics.js';
import type { SettledStatus } from '../lib/order-row.js';
import { parseOrderRecord, redis, saleKeys, type OrderRecord } from '../lib/redis.js';
import { readSaleIndex, reconcileSales, type LiveSale } from '../lib/sale-store.js';
import { repairCounts, settleOrder } from '../lib/scripts.js';
import type { OrderTask } from '../lib/task-queue-port.js';
import { enqueueOrder } from '../lib/task-queue.js';

/** How many orders one pass handles of each kind, so a pass stays short. */
export const SWEEP_BATCH = 500;

/** Sales whose orders may still need the sweeper: not ended more than a day ago. */
const SWEEP_AFTER_END_MS = 24 * 3600 * 1000;

/** The failure_reason of an order the sweeper gave up on. */
export const GAVE_UP = 'not_persisted';

export interface SweepReport {
  holds_expired: number;
  /** Pending orders queued again (the task may have been lost). */
  redriven: number;
  /** Pending orders written `failed` (`not_persisted`) after PENDING_GIVE_UP_AFTER_MS. */
  gave_up: number;
  /** Pending orders PostgreSQL had decided, told to Redis. */
  settled: number;
  /** Orders whose Redis record disagreed with PostgreSQL, settled (step 2). */
  reconciled: number;
  /** Sales whose counts were repaired (step 3). */
  repaired: number;
  /** Pending orders older than PENDING_REDRIVE_AFTER_MS found by this pass (what the "stuck pending" alert watches). */
  pending_stale: number;
}

/** The kinds of `sweeper repair` log lines. */
export type RepairKind = 'pending_settled' | 'redriven' | 'gave_up' | 'record_behind' | 'record_missing' | 'counts';

function logRepair(log: Logger, kind: RepairKind, fields: Record<string, unknown>): void {
  log.warn('sweeper repair', { kind, ...fields });
}

/** Holds past their end whose expiry task never came (lost, or the queue is behind). */
async function expireLapsedHolds(): Promise<number> {
  const { rows } = await db().query<{ order_id: string }>(
    `SELECT order_id FROM orders WHERE status = 'reserved' AND expires_at <= now() ORDER BY expires_at LIMIT $1`,
    [SWEEP_BATCH],
  );
  let expired = 0;
  for (const { order_id } of rows) {
    if ((await endHold(order_id, 'expire')).result === 'expired') expired++;
  }
  return expired;
}

/** A sale's Redis keys as one atomic read: the counts, where they stand, and every record. */
interface RedisSnapshot {
  stockTotal: number;
  left: number;
  confirmed: number;
  epoch: string;
  version: string;
  records: Map<string, OrderRecord>;
  /** Redis's clock when it was read: an order taken later cannot be in `records`. */
  atMs: number;
}

async function readRedis(saleId: string): Promise<RedisSnapshot | undefined> {
  const keys = saleKeys(saleId);
  const replies = await redis()
    .multi()
    .hmget(keys.meta, 'stock_total', 'confirmed', 'epoch', 'version')
    .get(keys.stock)
    .hgetall(keys.orders)
    .time()
    .exec();
  if (!replies) throw new Error(`the snapshot of sale ${saleId} was aborted`);
  for (const [err] of replies) if (err) throw err;
  const [meta, left, records, time] = replies.map(([, value]) => value) as [(string | null)[], string | null, Record<string, string>, [string, string]];
  const [stockTotal, confirmed, epoch, version] = meta;
  if (stockTotal === null || stockTotal === undefined || left === null) return undefined; // not loaded: the next read rebuilds it
  return {
    stockTotal: Number(stockTotal),
    left: Number(left),
    confirmed: Number(confirmed ?? 0),
    epoch: epoch ?? '',
    version: version ?? '0',
    records: new Map(Object.entries(records).map(([orderId, raw]) => [orderId, parseOrderRecord(raw)])),
    atMs: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000),
  };
}

/** What PostgreSQL knows of a sale, in one statement (one snapshot). */
interface PostgresSnapshot {
  stock: number;
  /** Reserved or confirmed orders, and any other order asked about. */
  orders: Map<string, { user_id: string; status: SettledStatus; taken_ms: number }>;
}

async function readPostgres(saleId: string, askedAbout: string[]): Promise<PostgresSnapshot | undefined> {
  const { rows } = await db().query<{ stock: number; order_id: string | null; user_id: string; status: SettledStatus; created_at: Date }>(
    `SELECT s.stock, o.order_id, o.user_id, o.status, o.created_at
       FROM flash_sales s
       LEFT JOIN orders o ON o.sale_id = s.sale_id
        AND (o.status IN ('reserved', 'confirmed') OR o.order_id = ANY($2::uuid[]))
      WHERE s.sale_id = $1`,
    [saleId, askedAbout],
  );
  const first = rows[0];
  if (!first) return undefined;
  const orders: PostgresSnapshot['orders'] = new Map();
  for (const r of rows) if (r.order_id) orders.set(r.order_id, { user_id: r.user_id, status: r.status, taken_ms: r.created_at.getTime() });
  return { stock: first.stock, orders };
}

const isLive = (status: string) => status === 'reserved' || status === 'confirmed';

interface PendingRecord {
  order_id: string;
  user_id: string;
  taken_ms: number;
}

/**
 * Orders Redis still calls pending after a while: written but not settled (settle them),
 * never queued (the order function died after the take, or its enqueue's outcome stayed
 * unknown: queue them again, same task name), or hopeless (mark them failed in PostgreSQL and
 * give the token back, exactly once).
 */
async function finishPending(sale: LiveSale, pending: PendingRecord[], epoch: string, report: SweepReport, log: Logger): Promise<void> {
  const cfg = config();
  const now = Date.now();
  const stale = pending.filter((p) => now - p.taken_ms >= cfg.PENDING_REDRIVE_AFTER_MS).slice(0, SWEEP_BATCH);
  if (stale.length === 0) return;
  const { rows } = await db().query<{ order_id: string; status: SettledStatus }>(
    'SELECT order_id, status FROM orders WHERE order_id = ANY($1::uuid[])',
    [stale.map((p) => p.order_id)],
  );
  const written = new Map(rows.map((r) => [r.order_id, r.status]));
  const resend: OrderTask[] = [];
  for (const p of stale) {
    const order = { ...p, sale_id: sale.sale_id };
    let status = written.get(p.order_id);
    if (!status && now - p.taken_ms >= cfg.PENDING_GIVE_UP_AFTER_MS) {
      await writeFailedOrders(db(), { sale_id: sale.sale_id, product_id: sale.product.product_id }, [p], GAVE_UP);
      // The worker may have won the race for the row; whatever is there now is the outcome.
      const now2 = await db().query<{ status: SettledStatus; failure_reason: string | null }>(
        'SELECT status, failure_reason FROM orders WHERE order_id = $1',
        [p.order_id],
      );
      status = now2.rows[0]?.status;
      if (now2.rows[0]?.failure_reason === GAVE_UP) {
        report.gave_up++;
        logRepair(log, 'gave_up', { sale_id: sale.sale_id, order_id: p.order_id, failure_reason: GAVE_UP });
      }
    }
    if (status) {
      if ((await settleOrder(order, status, redis(), epoch)) === 'changed') {
        report.settled++;
        logRepair(log, 'pending_settled', { sale_id: sale.sale_id, order_id: p.order_id, status });
      }
      continue;
    }
    resend.push({ ...order, product_id: sale.product.product_id });
  }
  // Queued again together, as the orders function queues them (task-queue-group.ts): one task
  // per group, named by its orders, so the same stale orders next pass make no second task.
  const outcomes = await Promise.all(resend.map((o) => enqueueOrder(o).catch((error: unknown) => ({ outcome: 'unknown' as const, error }))));
  for (const [i, queued] of outcomes.entries()) {
    const orderId = resend[i]?.order_id;
    if (queued.outcome === 'queued') {
      report.redriven++;
      logRepair(log, 'redriven', { sale_id: sale.sale_id, order_id: orderId });
    } else {
      // The queue is down or slow: this order waits for the next pass; the others go on.
      log.warn('sweeper could not queue a pending order again', { sale_id: sale.sale_id, order_id: orderId, outcome: queued.outcome, ...errorFields(queued.error) });
    }
  }
}

/**
 * Step 2: every order whose Redis record disagrees with PostgreSQL is settled with PostgreSQL's
 * status — a hold that ended (checkout, cancel, expiry) or an order the worker wrote, whose
 * update of Redis failed; a live order a rebuild did not see. settle-4.lua acts at most once
 * per order, so the late update itself, or another pass, finds nothing left to do; `epoch`
 * keeps a stale decision off keys rebuilt since the snapshot. Returns how many disagreed.
 */
async function settleDisagreements(sale: LiveSale, seen: RedisSnapshot, truth: PostgresSnapshot, report: SweepReport, log: Logger): Promise<number> {
  const behind: { order_id: string; user_id: string; taken_ms: number; status: SettledStatus; kind: RepairKind; was: string | null }[] = [];
  for (const [orderId, record] of seen.records) {
    if (record.status === 'pending' || record.released) continue;
    const actual = truth.orders.get(orderId);
    if (actual && actual.status !== record.status) behind.push({ order_id: orderId, ...actual, kind: 'record_behind', was: record.status });
  }
  for (const [orderId, actual] of truth.orders) {
    // Taken after the snapshot, its record is simply newer than it: not missing.
    if (isLive(actual.status) && !seen.records.has(orderId) && actual.taken_ms < seen.atMs) {
      behind.push({ order_id: orderId, ...actual, kind: 'record_missing', was: null });
    }
  }
  for (const o of behind.slice(0, SWEEP_BATCH)) {
    const result = await settleOrder({ sale_id: sale.sale_id, order_id: o.order_id, user_id: o.user_id, taken_ms: o.taken_ms }, o.status, redis(), seen.epoch);
    if (result !== 'changed') continue;
    report.reconciled++;
    logRepair(log, o.kind, { sale_id: sale.sale_id, order_id: o.order_id, redis_status: o.was, status: o.status });
  }
  return behind.length;
}

/**
 * Step 3, on a quiet sale whose records all agree with PostgreSQL: counts that still differ
 * are a drift no order explains. PostgreSQL's snapshot was read after Redis's, so a change in
 * flight either shows as a disagreeing record (no repair this pass) or comes later and moves
 * the counts from the repaired values; repair-2.lua refuses if the sale moved since the snapshot.
 */
async function repairCountDrift(sale: LiveSale, seen: RedisSnapshot, truth: PostgresSnapshot, report: SweepReport, log: Logger): Promise<void> {
  if (seen.stockTotal !== truth.stock) return; // a change of stock on its way to Redis
  const live = [...truth.orders.values()].filter((o) => isLive(o.status));
  const expected = { left: truth.stock - live.length, confirmed: live.filter((o) => o.status === 'confirmed').length };
  if (seen.left === expected.left && seen.confirmed === expected.confirmed) return;
  if (!(await repairCounts(sale.sale_id, { epoch: seen.epoch, version: seen.version }, expected))) return;
  report.repaired++;
  logRepair(log, 'counts', {
    sale_id: sale.sale_id,
    left: { was: seen.left, now: expected.left },
    confirmed: { was: seen.confirmed, now: expected.confirmed },
  });
}

/** Steps 1–3 for one sale. */
export async function reconcileSale(sale: LiveSale, report: SweepReport, log: Logger): Promise<void> {
  const seen = await readRedis(sale.sale_id);
  if (!seen) return;
  const pending: PendingRecord[] = [];
  const settledInRedis: string[] = [];
  for (const [orderId, record] of seen.records) {
    if (record.status === 'pending') pending.push({ order_id: orderId, user_id: record.user_id, taken_ms: record.taken_ms });
    else if (!record.released) settledInRedis.push(orderId);
  }
  const redriveBefore = Date.now() - config().PENDING_REDRIVE_AFTER_MS;
  report.pending_stale += pending.filter((p) => p.taken_ms <= redriveBefore).length;
  if (pending.length > 0) await finishPending(sale, pending, seen.epoch, report, log);
  const truth = await readPostgres(sale.sale_id, settledInRedis);
  if (!truth) return;
  const disagreeing = await settleDisagreements(sale, seen, truth, report, log);
  // The counts move as these settle: repair them only on a pass that finds the sale quiet.
  if (pending.length > 0 || disagreeing > 0) return;
  await repairCountDrift(sale, seen, truth, report, log);
}

export async function sweep({ log }: Pick<RouteContext, 'log'>): Promise<SweepReport> {
  const report: SweepReport = { holds_expired: await expireLapsedHolds(), redriven: 0, gave_up: 0, settled: 0, reconciled: 0, repaired: 0, pending_stale: 0 };
  // Redis follows PostgreSQL's sales: a change whose Redis side failed after its commit, a sale past its keeping.
  const reconciled = await reconcileSales().catch((err: unknown) => log.warn('sale list reconcile failed', errorFields(err)));
  if (reconciled) log.warn('sale list reconciled with PostgreSQL', { sales: reconciled });
  const now = Date.now();
  const sales = (await readSaleIndex({ maxAgeMs: 0 })).filter((s) => now - Date.parse(s.ends_at) < SWEEP_AFTER_END_MS);
  let failed: unknown;
  for (const sale of sales) {
    try {
      await reconcileSale(sale, report, log);
    } catch (err) {
      // One sale's trouble (Redis or PostgreSQL failing mid-pass) leaves the others swept.
      log.warn('sweeper could not reconcile a sale', { sale_id: sale.sale_id, ...errorFields(err) });
      failed ??= err;
    }
  }
  await publishSales(sales.map((s) => s.sale_id));
  // Anything but expiring holds means something went wrong upstream: say it louder.
  // One outcome line a pass, whatever it found: the "stuck pending" metric reads pending_stale from it.
  if (report.redriven + report.gave_up + report.settled + report.reconciled + report.repaired > 0) log.warn('sweep finished what was left', { ...report });
  else log.info('sweep', { ...report });
  await recordSweep(report, log);
  if (failed) throw failed;
  return report;
}

/** The pass's figures for the admin page: counters added, the stale-pending gauge replaced. */
async function recordSweep(report: SweepReport, log: Logger): Promise<void> {
  if (report.redriven > 0) countMetric('redriven', report.redriven);
  if (report.gave_up > 0) countMetric('gave_up', report.gave_up);
  if (report.gave_up > 0) countMetric(`failed:${GAVE_UP}`, report.gave_up);
  if (report.repaired > 0) countMetric('drift_repaired', report.repaired);
  await setGauges({ pending_stale: report.pending_stale, pending_stale_at: new Date().toISOString() }).catch((err: unknown) =>
    log.warn('could not record the sweep for the admin page', errorFields(err)),
  );
}

export const sweeperHandler = httpFunction('sweeper', [
  { method: 'POST', path: '/', handler: async (ctx) => ({ status: 200, body: await sweep(ctx) }) },
  healthRoute({ postgres: true, redis: true }),
]);
