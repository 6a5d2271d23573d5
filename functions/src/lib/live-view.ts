// The sales' live view (docs/design.md, The live view): one Firestore document per sale,
// `sales/{sale_id}`, that browsers subscribe to instead of polling GET /sales/{id}. A
// projection only: the stock is decided by Redis and PostgreSQL, never read back from here.
//
// Called after a commit that moves a sale's figures (sale created or changed, the worker's
// orders written, a hold ended, the sweeper's pass), never on POST /orders' path. Each write
// is whole (the sale's figures as Redis has them now), so a lost or failed one is repaired by
// the next. At most one write per sale per second across all instances (Firestore's sustained
// limit per document): a writer takes `fs:{sale}:live` in Redis for 1 s, in the same MULTI
// that reads the figures and Redis's clock; an instance that finds it taken writes after it
// lapses, with the figures of that moment. A write whose figures are older than the
// document's (it was slow) is dropped, in a transaction. Off when FIRESTORE_PROJECT_ID is empty.
import type { Firestore } from '@google-cloud/firestore';
import { config } from './config.js';
import { errorFields, log } from './log.js';
import { redis, SALE_INDEX_KEY, saleKeys } from './redis.js';
import { saleState } from './sale-state.js';
import { roomCounts, type SaleView } from './sale-store.js';

/** The collection of the live view; its rules are firestore.rules (anyone reads, no client writes). */
export const LIVE_COLLECTION = 'sales';
/** The shortest gap between two writes of one sale's document. */
export const LIVE_WRITE_EVERY_MS = 1000;
/** How long the sweeper waits for its writes (a held lock, then the write): a slow Firestore never holds a pass. */
const AWAIT_AT_MOST_MS = 2_000;

/** A sale's document: the API's Sale (docs/api.md) but for server_time, plus when its figures were read. */
export interface LiveSaleDoc extends SaleView {
  state: 'upcoming' | 'active' | 'ended';
  stock_remaining: number;
  stock_held: number;
  /** Units confirmed (paid, or sold without a hold). */
  stock_sold: number;
  /** When Redis showed these figures, by Redis's clock (ISO 8601). */
  figures_at: string;
}

let client: Promise<Firestore> | undefined;

/** The Firestore client, loaded on first use: a function that never publishes never loads it. */
function firestore(): Promise<Firestore> {
  client ??= import('@google-cloud/firestore').then(({ Firestore }) => {
    const cfg = config();
    return new Firestore({ projectId: cfg.FIRESTORE_PROJECT_ID, databaseId: cfg.FIRESTORE_DATABASE_ID, ignoreUndefinedProperties: true });
  });
  return client;
}

export function liveViewEnabled(): boolean {
  return config().FIRESTORE_PROJECT_ID !== '';
}

/**
 * Loads the Firestore client now, if this instance publishes. Its first load evaluates the
 * client's whole module graph synchronously: measured 1.3–1.6 s here, and some 6 s on this
 * loaded 2-core machine, during which the event loop serves nothing. Left to the first
 * publish, that stall falls on a worker's first task of a sale, and every order in flight
 * waits behind it; startup.ts does it before the instance serves.
 */
export async function warmLiveView(): Promise<boolean> {
  if (!liveViewEnabled()) return false;
  await firestore();
  return true;
}

/** The lock that spaces one sale's writes, in the sale's hash slot. */
export function liveLockKey(saleId: string): string {
  return `${saleKeys(saleId).meta.slice(0, -':meta'.length)}:live`;
}

/**
 * One try: takes the sale's write lock and reads its figures in one MULTI. Answers how long to
 * wait when another writer holds the lock, else 0 once written (or found nothing to write).
 */
async function writeOnce(saleId: string): Promise<number> {
  const keys = saleKeys(saleId);
  const lock = liveLockKey(saleId);
  const [view, answers] = await Promise.all([
    redis().hget(SALE_INDEX_KEY, saleId),
    redis()
      .multi()
      .set(lock, '1', 'PX', LIVE_WRITE_EVERY_MS, 'NX')
      .pttl(lock)
      .get(keys.stock)
      .hget(keys.meta, 'confirmed')
      .hmget(keys.room, 'n', 'f', 'pre', 'opened')
      .time()
      .exec(),
  ]);
  if (!answers) throw new Error('the live view MULTI was discarded');
  const [taken, ttl, left, confirmed, room, time] = answers.map(([err, value]) => {
    if (err) throw err;
    return value;
  }) as [string | null, number, string | null, string | null, (string | null)[], [string, string]];
  if (taken !== 'OK') return Math.max(1, Number(ttl));
  // Not in Redis (a lost Redis, not rebuilt yet): the sweeper's pass rebuilds it and publishes.
  if (view === null || left === null) return 0;
  const sale = JSON.parse(view) as SaleView;
  const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const sold = Number(confirmed ?? 0);
  const doc: LiveSaleDoc = {
    sale_id: sale.sale_id,
    product: sale.product,
    starts_at: sale.starts_at,
    ends_at: sale.ends_at,
    stock_total: sale.stock_total,
    hold_seconds: sale.hold_seconds,
    waiting_room: { ...sale.waiting_room, ...roomCounts(room) },
    state: saleState(Date.parse(sale.starts_at), Date.parse(sale.ends_at), nowMs),
    stock_remaining: Math.max(0, Number(left)),
    stock_held: Math.max(0, sale.stock_total - Number(left) - sold),
    stock_sold: sold,
    figures_at: new Date(nowMs).toISOString(),
  };
  const db = await firestore();
  const ref = db.collection(LIVE_COLLECTION).doc(saleId);
  // A write that was slow (a cold client, a retry) must not land over later figures.
  await db.runTransaction(async (tx) => {
    const shown: unknown = (await tx.get(ref)).get('figures_at');
    if (typeof shown === 'string' && shown > doc.figures_at) return;
    tx.set(ref, doc);
  });
  return 0;
}

interface Slot {
  /** A change not yet covered by a write that read the figures after it. */
  dirty: boolean;
  running: boolean;
  waiters: (() => void)[];
}

const slots = new Map<string, Slot>();

async function drain(saleId: string, slot: Slot): Promise<void> {
  slot.running = true;
  try {
    while (slot.dirty) {
      slot.dirty = false;
      const waiters = slot.waiters.splice(0);
      let waitMs = 0;
      try {
        waitMs = await writeOnce(saleId);
      } catch (err) {
        // The next change, or the sweeper's next pass, writes the whole document again.
        log.warn('live view write failed', { sale_id: saleId, ...errorFields(err) });
      }
      if (waitMs > 0) {
        slot.dirty = true;
        slot.waiters.unshift(...waiters);
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      } else for (const done of waiters) done();
    }
  } finally {
    slot.running = false;
    slots.delete(saleId);
  }
}

/**
 * Brings the sale's document up to date with what Redis shows from now on: at once when no
 * write of it happened in the last second, else as soon as one may. Never throws; the promise
 * settles once a write that read the figures after this call is done or failed (callers that
 * answer at once ignore it; the sweeper awaits it, bounded).
 */
export function publishSale(saleId: string): Promise<void> {
  if (!liveViewEnabled()) return Promise.resolve();
  let slot = slots.get(saleId);
  if (!slot) {
    slot = { dirty: false, running: false, waiters: [] };
    slots.set(saleId, slot);
  }
  slot.dirty = true;
  const written = new Promise<void>((resolve) => slot.waiters.push(resolve));
  if (!slot.running) void drain(saleId, slot);
  return written;
}

/** The sweeper rewrites a sale's document at most this often (Cloud Scheduler calls it every minute). */
export const REPAIR_EVERY_MS = 10_000;
const repairedAt = new Map<string, number>();

/**
 * The sweeper's pass: every sale's document written again (a deleted or stale one repaired),
 * each at most every REPAIR_EVERY_MS (the local stack sweeps every second or three).
 */
export async function publishSales(saleIds: readonly string[]): Promise<void> {
  if (!liveViewEnabled()) return;
  const now = Date.now();
  const due = saleIds.filter((id) => now - (repairedAt.get(id) ?? -Infinity) >= REPAIR_EVERY_MS);
  for (const id of due) repairedAt.set(id, now);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, AWAIT_AT_MOST_MS)));
  await Promise.race([Promise.all(due.map((id) => publishSale(id))), late]);
  clearTimeout(timer);
}
