// A sale's life in Redis: its keys rebuilt from PostgreSQL (race-safe, one rebuild wins), an
// admin's committed change followed, its public view published until its keys expire, and
// the in-process copy of the sale list that every instance reads.
import type { Sale } from '@flash-sale/contract';
import { config } from './config.js';
import { db, type Queryable } from './db.js';
import { errorFields, log } from './log.js';
import { redis, SALE_INDEX_KEY, saleKeys } from './redis.js';
import { rebuildSale, resizeSale, type LiveOrderFact, type RoomSettings } from './scripts.js';

/** A waiting room's settings as an admin set them (the queue's counts come from Redis). */
export type RoomView = Omit<Sale['waiting_room'], 'length' | 'admitted'>;

/** The parts of a sale that change only when an admin changes them. */
export type SaleView = Pick<Sale, 'sale_id' | 'product' | 'starts_at' | 'ends_at' | 'stock_total' | 'hold_seconds'> & { waiting_room: RoomView };

/** The view with its counts from Redis: the API's Sale but for the clock's state and time. */
export type LiveSale = SaleView & Pick<Sale, 'stock_remaining' | 'stock_held'> & { room_counts: { length: number; admitted: number } };

export interface SaleRow {
  sale_id: string;
  product_id: string;
  starts_at: Date;
  ends_at: Date;
  stock: number;
  sold: number;
  hold_seconds: number;
  name: string;
  price_in_cent: string | number;
  room_mode: RoomView['mode'];
  room_admit_per_second: number;
  room_admission_seconds: number;
  room_above_attempts_per_second: number | null;
  room_pow_bits: number;
  room_seed: string | null;
  room_seed_hash: string | null;
}

/** The waiting room's columns of flash_sales (migration 0003). */
const ROOM_COLUMNS = `s.room_mode, s.room_admit_per_second, s.room_admission_seconds, s.room_above_attempts_per_second,
         s.room_pow_bits, s.room_seed, s.room_seed_hash`;

export const SALE_SELECT = `
  SELECT s.sale_id, s.product_id, s.starts_at, s.ends_at, s.stock, s.sold, s.hold_seconds,
         p.name, p.price_in_cent, ${ROOM_COLUMNS}
    FROM flash_sales s JOIN products p USING (product_id)`;

/** Keys outlive their sale by a week, for late order look-ups, then Redis drops them. */
export const KEEP_AFTER_END_SECONDS = 7 * 24 * 3600;

export function keysExpireAt(endsAt: Date): number {
  return Math.ceil(endsAt.getTime() / 1000) + KEEP_AFTER_END_SECONDS;
}

/**
 * True once a sale's keys are past their expiry: it leaves the published list then, and is
 * never loaded again (its keys would be born expired). Its orders stay in PostgreSQL.
 */
export function pastKeeping(endsAt: string | Date, nowMs: number = Date.now()): boolean {
  return keysExpireAt(new Date(endsAt)) * 1000 <= nowMs;
}

export function saleViewOf(row: SaleRow): SaleView {
  return {
    sale_id: row.sale_id,
    product: { product_id: row.product_id, name: row.name, price_in_cent: Number(row.price_in_cent) },
    starts_at: row.starts_at.toISOString(),
    ends_at: row.ends_at.toISOString(),
    stock_total: row.stock,
    hold_seconds: row.hold_seconds,
    waiting_room: {
      mode: row.room_mode,
      admit_per_second: row.room_admit_per_second,
      admission_seconds: row.room_admission_seconds,
      ...(row.room_mode === 'above' ? { above_attempts_per_second: row.room_above_attempts_per_second ?? 0 } : {}),
      proof_of_work_bits: row.room_pow_bits,
      seed_hash: row.room_seed_hash,
    },
  };
}

/** The room's settings as the scripts keep them in the sale's meta (the seed too, never published before the end). */
export function roomSettingsOf(row: SaleRow): RoomSettings {
  return {
    mode: row.room_mode,
    rate: row.room_admit_per_second,
    secs: row.room_admission_seconds,
    above: row.room_above_attempts_per_second ?? 0,
    seed: row.room_seed ?? '',
    seed_hash: row.room_seed_hash ?? '',
  };
}

/**
 * A sale and its live orders in ONE statement, so one snapshot: `sold` and the orders it
 * counts are read at the same moment, whatever the worker commits meanwhile.
 */
const SALE_WITH_LIVE_ORDERS = `
  SELECT s.sale_id, s.product_id, s.starts_at, s.ends_at, s.stock, s.sold, s.hold_seconds,
         p.name, p.price_in_cent, ${ROOM_COLUMNS},
         COALESCE((SELECT json_agg(json_build_object(
                     'user_id', o.user_id, 'order_id', o.order_id, 'status', o.status,
                     'taken_ms', floor(extract(epoch FROM o.created_at) * 1000)::bigint))
                     FROM orders o
                    WHERE o.sale_id = s.sale_id AND o.status IN ('reserved', 'confirmed')), '[]'::json) AS live
    FROM flash_sales s JOIN products p USING (product_id)
   WHERE s.sale_id = $1`;

/**
 * Loads a sale's keys from PostgreSQL unless they exist; its view, or null for no such sale.
 * Tokens left = stock - sold: orders still pending when Redis lost them are not counted,
 * and PostgreSQL's conditional `sold` update refuses them if the stock is gone. A sale past
 * its keeping is not loaded. Publishes nothing and leaves this instance's copy of the list
 * alone: a read that finds keys missing is filling that copy, and the view has not changed.
 */
export async function loadSaleIntoRedis(saleId: string, client: Queryable = db()): Promise<SaleView | null> {
  const { rows } = await client.query<SaleRow & { live: LiveOrderFact[] }>(SALE_WITH_LIVE_ORDERS, [saleId]);
  const row = rows[0];
  if (!row) return null;
  if (!pastKeeping(row.ends_at)) {
    const sale = {
      startsMs: row.starts_at.getTime(),
      endsMs: row.ends_at.getTime(),
      stockTotal: row.stock,
      holdSeconds: row.hold_seconds,
      productId: row.product_id,
      tokensLeft: row.stock - row.sold,
      expireAt: keysExpireAt(row.ends_at),
      room: roomSettingsOf(row),
    };
    await rebuildSale(saleId, sale, row.live.map((o) => ({ ...o, taken_ms: Number(o.taken_ms) })));
  }
  return saleViewOf(row);
}

/** An admin's change: the view published, and this instance's copy of the list dropped. */
export async function publishSaleView(view: SaleView): Promise<void> {
  await redis().hset(SALE_INDEX_KEY, view.sale_id, JSON.stringify(view));
  invalidateSaleIndex();
}

async function readSaleRow(saleId: string): Promise<SaleRow | undefined> {
  const { rows } = await db().query<SaleRow>(`${SALE_SELECT} WHERE s.sale_id = $1`, [saleId]);
  return rows[0];
}

/** The sale as PostgreSQL alone knows it (stock left = stock - sold): for when Redis cannot say. */
export async function saleFromPostgres(saleId: string): Promise<LiveSale | undefined> {
  const row = await readSaleRow(saleId);
  return row && { ...saleViewOf(row), stock_remaining: row.stock - row.sold, stock_held: 0, room_counts: { length: 0, admitted: 0 } };
}

/** Redis made to say what `row` says: window and stock (loading the keys if missing), then the view. */
async function applyToRedis(row: SaleRow): Promise<void> {
  if (pastKeeping(row.ends_at)) {
    await unpublish([row.sale_id]);
    return;
  }
  const change = {
    startsMs: row.starts_at.getTime(),
    endsMs: row.ends_at.getTime(),
    stockTotal: row.stock,
    expireAt: keysExpireAt(row.ends_at),
    room: roomSettingsOf(row),
  };
  const resized = await resizeSale(row.sale_id, change, redis(), 'follow');
  if (resized.result === 'not_loaded') {
    await loadSaleIntoRedis(row.sale_id);
    // A concurrent rebuild may have won with an older snapshot: apply this one over it.
    await resizeSale(row.sale_id, change, redis(), 'follow');
  }
  await publishSaleView(saleViewOf(row));
}

/** How often followSale applies a sale that keeps changing under it before it leaves it to the sweeper. */
const FOLLOW_ATTEMPTS = 5;

/**
 * Redis follows PostgreSQL's commit (POST /sales, POST /sales/update, the sweeper): the sale's
 * committed window and stock applied to its keys (resize-2.lua `follow`), its view published.
 * No lock is held meanwhile. Two changes committed one after the other may reach Redis in the
 * other order, so the row is read again after applying it, and applied again until it stands
 * still: the last to apply reads the last commit. Null when the sale does not exist.
 */
export async function followSale(saleId: string): Promise<SaleView | null> {
  let row = await readSaleRow(saleId);
  for (let attempt = 0; attempt < FOLLOW_ATTEMPTS && row; attempt++) {
    await applyToRedis(row);
    const applied = JSON.stringify(saleViewOf(row));
    row = await readSaleRow(saleId);
    if (row && JSON.stringify(saleViewOf(row)) === applied) return saleViewOf(row);
  }
  if (!row) {
    await unpublish([saleId]);
    return null;
  }
  throw new Error(`sale ${saleId} kept changing while Redis followed it; the sweeper will`);
}

async function unpublish(saleIds: string[]): Promise<void> {
  if (saleIds.length === 0) return;
  await redis().hdel(SALE_INDEX_KEY, ...saleIds);
  invalidateSaleIndex();
}

/**
 * The sweeper's repair of the published list: every sale PostgreSQL still keeps (ended less
 * than KEEP_AFTER_END_SECONDS ago) published as committed — a change whose Redis side failed
 * after its commit is applied now — and every other one unpublished. Returns how many changed.
 */
export async function reconcileSales(): Promise<number> {
  // The list first: whatever it holds was published after its commit, so before the query
  // below, which therefore sees it. Read the other way round, a sale created in between
  // would look unknown to PostgreSQL and be unpublished.
  const published = await redis().hgetall(SALE_INDEX_KEY);
  const { rows } = await db().query<SaleRow>(`${SALE_SELECT} WHERE s.ends_at > now() - make_interval(secs => $1)`, [
    KEEP_AFTER_END_SECONDS,
  ]);
  let changed = 0;
  for (const row of rows) {
    const view = JSON.stringify(saleViewOf(row));
    if (published[row.sale_id] === view) continue;
    // Asked again: a sale created after the list was read has been published by now, as a rule.
    if ((await redis().hget(SALE_INDEX_KEY, row.sale_id)) === view) continue;
    await followSale(row.sale_id);
    changed++;
  }
  const kept = new Set(rows.map((r) => r.sale_id));
  const gone = Object.keys(published).filter((id) => !kept.has(id));
  await unpublish(gone);
  return changed + gone.length;
}

/** How many sales the published index is rebuilt with after Redis lost it. */
const INDEX_REBUILD_LIMIT = 500;

/**
 * The list rebuilt from PostgreSQL after Redis lost it: the sales not past their keeping.
 * HSETNX: an admin's view published meanwhile is newer than what this read found.
 */
async function rebuildIndex(): Promise<SaleView[]> {
  const { rows } = await db().query<{ sale_id: string }>(
    'SELECT sale_id FROM flash_sales WHERE ends_at > now() - make_interval(secs => $2) ORDER BY ends_at DESC LIMIT $1',
    [INDEX_REBUILD_LIMIT, KEEP_AFTER_END_SECONDS],
  );
  const views: SaleView[] = [];
  for (const { sale_id } of rows) {
    const view = await loadSaleIntoRedis(sale_id);
    if (!view) continue;
    await redis().hsetnx(SALE_INDEX_KEY, view.sale_id, JSON.stringify(view));
    views.push(view);
  }
  return views;
}

async function fetchSaleIndex(): Promise<LiveSale[]> {
  const raw = await redis().hvals(SALE_INDEX_KEY);
  const nowMs = Date.now();
  // A sale past its keeping is not listed (the sweeper unpublishes it): its keys are gone for good.
  const views = (raw.length > 0 ? raw.map((v) => JSON.parse(v) as SaleView) : await rebuildIndex()).filter(
    (v) => !pastKeeping(v.ends_at, nowMs),
  );
  const counts = await Promise.all(views.map((v) => readCounts(v)));
  const sales: LiveSale[] = [];
  for (const [i, view] of views.entries()) {
    let count = counts[i];
    if (!count) {
      // The sale's keys are gone (Redis restarted): rebuild them before anyone reads a count.
      await loadSaleIntoRedis(view.sale_id);
      count = await readCounts(view);
    }
    const left = Math.max(0, count?.left ?? 0);
    const taken = view.stock_total - (count?.left ?? 0);
    const room_counts = count?.room ?? { length: 0, admitted: 0 };
    sales.push({ ...view, stock_remaining: left, stock_held: Math.max(0, taken - (count?.confirmed ?? 0)), room_counts });
  }
  return sales;
}

interface Counts {
  left: number;
  confirmed: number;
  room?: { length: number; admitted: number };
}

async function readCounts(view: SaleView): Promise<Counts | undefined> {
  const keys = saleKeys(view.sale_id);
  // A view published before rooms existed has none (the sweeper publishes it anew).
  const roomOn = (view.waiting_room as RoomView | undefined)?.mode !== undefined && view.waiting_room.mode !== 'off';
  const [left, confirmed, room] = await Promise.all([
    redis().get(keys.stock),
    redis().hget(keys.meta, 'confirmed'),
    roomOn ? redis().hmget(keys.room, 'n', 'f', 'pre', 'opened') : Promise.resolve(undefined),
  ]);
  if (left === null) return undefined;
  return { left: Number(left), confirmed: Number(confirmed ?? 0), ...(room ? { room: roomCounts(room) } : {}) };
}

/** The room hash's `n`, `f`, `pre` and `opened` as the sale view's counts (room-4.lua's header). */
export function roomCounts([n, f, pre, opened]: (string | null)[]): { length: number; admitted: number } {
  const admitted = Number(f ?? 0);
  return { length: opened ? Math.max(0, Number(n ?? 0) - admitted) : Number(pre ?? 0), admitted };
}

/** This instance's copy of the list, as read by a read that started at `at`. */
let cache: { at: number; sales: LiveSale[] } | undefined;
let inFlight: { read: Promise<LiveSale[]>; generation: number } | undefined;
/** Bumped when the list changes here: a read that started before must not install its copy. */
let generation = 0;

/** One read of the list at a time; its copy replaces an older one when it arrives. */
function refresh(): Promise<LiveSale[]> {
  if (inFlight?.generation === generation) return inFlight.read;
  const at = Date.now();
  const startedIn = generation;
  const done = () => {
    if (inFlight?.read === read) inFlight = undefined;
  };
  const read: Promise<LiveSale[]> = fetchSaleIndex().then(
    (sales) => {
      if (startedIn === generation && (!cache || cache.at <= at)) cache = { at, sales };
      done();
      return sales;
    },
    (err: unknown) => {
      done();
      throw err;
    },
  );
  inFlight = { read, generation: startedIn };
  return read;
}

/**
 * This instance's copy of the list if it is younger than `maxAgeMs` (SALES_CACHE_MS), without a
 * promise: the hot path's sale lookup. Past half its age a read starts in the background, so
 * that under steady traffic the copy is replaced before it expires and no buyer waits for it.
 */
export function cachedSaleIndex(maxAgeMs: number = config().SALES_CACHE_MS): LiveSale[] | undefined {
  if (!cache) return undefined;
  const age = Date.now() - cache.at;
  // Past half its age a read starts; past its age too (the caller then reads for itself, and
  // shares this read), so that a copy that outlived one slow read is replaced all the same.
  if (age >= maxAgeMs / 2 && !inFlight) refresh().catch((err: unknown) => log.warn('sale list refresh failed', errorFields(err)));
  return age < maxAgeMs ? cache.sales : undefined;
}

/**
 * Every published sale with its tokens left, shared by all requests of this instance for
 * SALES_CACHE_MS: about one Redis read per instance per half period, however many buyers ask.
 * `maxAgeMs: 0` asks for a fresh read (a sale created a moment ago by another instance);
 * concurrent fresh reads share one round trip.
 */
export function readSaleIndex(options: { maxAgeMs?: number } = {}): Promise<LiveSale[]> {
  const copy = options.maxAgeMs === 0 ? undefined : cachedSaleIndex(options.maxAgeMs);
  return copy ? Promise.resolve(copy) : refresh();
}

export function invalidateSaleIndex(): void {
  cache = undefined;
  generation += 1;
}
