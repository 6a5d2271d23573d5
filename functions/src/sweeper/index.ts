// The sweeper function: Cloud Scheduler calls it every minute (the local stack every few
// seconds) to finish what a crash or a lost task left behind, and to repair drift between
// Redis and PostgreSQL. Each pass is bounded and idempotent; two passes at once do no harm.
import { config } from '../lib/config.js';
import { db } from '../lib/db.js';
import { healthRoute } from '../lib/health.js';
import { endHold } from '../lib/holds.js';
import { httpFunction, type RouteContext } from '../lib/http.js';
import { publishSales } from '../lib/live-view.js';
import { errorFields, type Logger } from '../lib/log.js';
import { parseOrderRecord, redis, saleKeys } from '../lib/redis.js';
import { repairCounts, settleOrder } from '../lib/scripts.js';
import { writeFailedOrders } from '../lib/failed-orders.js';
import type { SettledStatus } from '../lib/order-row.js';
import { readSaleIndex, reconcileSales, type LiveSale } from '../lib/sale-store.js';
import { taskQueue } from '../lib/task-queue.js';

/** How many orders one pass handles of each kind, so a pass stays short. */
export const SWEEP_BATCH = 500;

/** Sales whose orders may still need the sweeper: not ended more than a day ago. */
const SWEEP_AFTER_END_MS = 24 * 3600 * 1000;

/** The failure_reason of an order the sweeper gave up on. */
export const GAVE_UP = 'not_persisted';

export interface SweepReport {
  holds_expired: number;
  redriven: number;
  gave_up: number;
  settled: number;
  repaired: number;
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

interface PendingRecord {
  order_id: string;
  user_id: string;
  taken_ms: number;
}

/**
 * Orders Redis still calls pending after a while: written but not settled (settle them),
 * never queued (the order function died after the take: queue them again, same task name),
 * or hopeless (mark them failed in PostgreSQL and give the token back, exactly once).
 */
async function finishPending(sale: LiveSale, pending: PendingRecord[], report: SweepReport, log: Logger): Promise<void> {
  const cfg = config();
  const now = Date.now();
  const stale = pending.filter((p) => now - p.taken_ms >= cfg.PENDING_REDRIVE_AFTER_MS).slice(0, SWEEP_BATCH);
  if (stale.length === 0) return;
  const { rows } = await db().query<{ order_id: string; status: SettledStatus }>(
    'SELECT order_id, status FROM orders WHERE order_id = ANY($1::uuid[])',
    [stale.map((p) => p.order_id)],
  );
  const written = new Map(rows.map((r) => [r.order_id, r.status]));
  const queue = await taskQueue();
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
        log.warn('gave up on a pending order', { order_id: p.order_id, sale_id: sale.sale_id });
      }
    }
    if (status) {
      await settleOrder(order, status);
      report.settled++;
    } else {
      await queue.enqueue({
        kind: 'persist-order',
        payload: { ...order, product_id: sale.product.product_id },
      });
      report.redriven++;
    }
  }
}

/**
 * On a quiet sale (nothing pending), checks Redis's counts against PostgreSQL and repairs a
 * drift unless a take or settle moved the counts meanwhile (repair-2.lua checks that).
 */
async function checkDrift(sale: LiveSale, observed: { left: string | null; confirmed: string | null }, log: Logger) {
  if (observed.left === null) return false;
  const { rows } = await db().query<{ stock: number; live: string; confirmed: string }>(
    `SELECT s.stock,
            count(o.order_id) FILTER (WHERE o.status IN ('reserved', 'confirmed')) AS live,
            count(o.order_id) FILTER (WHERE o.status = 'confirmed') AS confirmed
       FROM flash_sales s LEFT JOIN orders o ON o.sale_id = s.sale_id
      WHERE s.sale_id = $1 GROUP BY s.stock`,
    [sale.sale_id],
  );
  const truth = rows[0];
  if (!truth) return false;
  const expectedLeft = truth.stock - Number(truth.live);
  const expectedConfirmed = Number(truth.confirmed);
  if (Number(observed.left) === expectedLeft && Number(observed.confirmed ?? 0) === expectedConfirmed) return false;
  const repaired = await repairCounts(
    sale.sale_id,
    { left: observed.left, confirmed: observed.confirmed ?? '0' },
    { left: expectedLeft, confirmed: expectedConfirmed },
  );
  if (repaired) {
    log.warn('repaired drift between Redis and PostgreSQL', {
      sale_id: sale.sale_id,
      left: { was: Number(observed.left), now: expectedLeft },
      confirmed: { was: Number(observed.confirmed ?? 0), now: expectedConfirmed },
    });
  }
  return repaired;
}

async function sweepSale(sale: LiveSale, report: SweepReport, log: Logger): Promise<void> {
  const keys = saleKeys(sale.sale_id);
  // Counts first, records after: a change in between shows in the counts, and repair skips.
  const [left, confirmed] = await Promise.all([redis().get(keys.stock), redis().hget(keys.meta, 'confirmed')]);
  const records = await redis().hgetall(keys.orders);
  const pending: PendingRecord[] = [];
  for (const [orderId, raw] of Object.entries(records)) {
    const record = parseOrderRecord(raw);
    if (record.status === 'pending') pending.push({ order_id: orderId, user_id: record.user_id, taken_ms: record.taken_ms });
  }
  if (pending.length > 0) {
    await finishPending(sale, pending, report, log);
    return; // the counts move as pending orders settle: check drift on a quiet pass
  }
  if (await checkDrift(sale, { left, confirmed }, log)) report.repaired++;
}

export async function sweep({ log }: Pick<RouteContext, 'log'>): Promise<SweepReport> {
  const report: SweepReport = { holds_expired: await expireLapsedHolds(), redriven: 0, gave_up: 0, settled: 0, repaired: 0 };
  // Redis follows PostgreSQL's sales: a change whose Redis side failed after its commit, a sale past its keeping.
  const reconciled = await reconcileSales().catch((err: unknown) => log.warn('sale list reconcile failed', errorFields(err)));
  if (reconciled) log.warn('sale list reconciled with PostgreSQL', { sales: reconciled });
  const now = Date.now();
  const sales = (await readSaleIndex({ maxAgeMs: 0 })).filter((s) => now - Date.parse(s.ends_at) < SWEEP_AFTER_END_MS);
  for (const sale of sales) await sweepSale(sale, report, log);
  await publishSales(sales.map((s) => s.sale_id));
  // Anything but expiring holds means something went wrong upstream: say it louder.
  if (report.redriven + report.gave_up + report.settled + report.repaired > 0) log.warn('sweep finished what was left', { ...report });
  else if (report.holds_expired > 0) log.info('sweep', { ...report });
  return report;
}

export const sweeperHandler = httpFunction('sweeper', [
  { method: 'POST', path: '/', handler: async (ctx) => ({ status: 200, body: await sweep(ctx) }) },
  healthRoute({ postgres: true, redis: true }),
]);
