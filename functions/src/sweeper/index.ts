// The sweeper function: Cloud Scheduler calls it every minute (the local stack every few
// seconds) to finish what a lost task left behind. Each pass is bounded and idempotent.
import { db } from '../lib/db.js';
import { healthRoute } from '../lib/health.js';
import { endHold } from '../lib/holds.js';
import { httpFunction, type RouteContext } from '../lib/http.js';

/** How many orders one pass handles of each kind, so a pass stays short. */
export const SWEEP_BATCH = 500;

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

export async function sweep({ log }: Pick<RouteContext, 'log'>) {
  const report = { holds_expired: await expireLapsedHolds() };
  if (report.holds_expired > 0) log.info('sweep', report);
  return report;
}

export const sweeperHandler = httpFunction('sweeper', [
  { method: 'POST', path: '/', handler: async (ctx) => ({ status: 200, body: await sweep(ctx) }) },
  healthRoute({ postgres: true, redis: true }),
]);
