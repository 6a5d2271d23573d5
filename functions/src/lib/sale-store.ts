// A sale's life in Redis: its keys rebuilt from PostgreSQL (race-safe, one rebuild wins),
// its public view published, and the in-process copy of the sale list that every instance reads.
import type { Sale } from '@flash-sale/contract';
import { config } from './config.js';
import { db, type Queryable } from './db.js';
import { errorFields, log } from './log.js';
import { redis, SALE_INDEX_KEY, saleKeys } from './redis.js';
import { rebuildSale } from './scripts.js';

/** The parts of a sale that change only when an admin changes them. */
export type SaleView = Pick<Sale, 'sale_id' | 'product' | 'starts_at' | 'ends_at' | 'stock_total' | 'hold_seconds'>;

/** The view with its counts from Redis: the API's Sale but for the clock's state and time. */
export type LiveSale = SaleView & Pick<Sale, 'stock_remaining' | 'stock_held'>;

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
}

export const SALE_SELECT = `
  SELECT s.sale_id, s.product_id, s.starts_at, s.ends_at, s.stock, s.sold, s.hold_seconds,
         p.name, p.price_in_cent
    FROM flash_sales s JOIN products p USING (product_id)`;

/** Keys outlive their sale by a week, for late order look-ups, then Redis drops them. */
const KEEP_AFTER_END_SECONDS = 7 * 24 * 3600;

export function keysExpireAt(endsAt: Date): number {
  return Math.ceil(endsAt.getTime() / 1000) + KEEP_AFTER_END_SECONDS;
}

export function saleViewOf(row: SaleRow): SaleView {
  return {
    sale_id: row.sale_id,
    product: { product_id: row.product_id, name: row.name, price_in_cent: Number(row.price_in_cent) },
    starts_at: row.starts_at.toISOString(),
    ends_at: row.ends_at.toISOString(),
    stock_total: row.stock,
    hold_seconds: row.hold_seconds,
  };
}

/**
 * Loads a sale's keys from PostgreSQL unless they exist, and publishes its view.
 * Tokens left = stock - sold: orders still pending when Redis lost them are not counted,
 * and PostgreSQL's conditional `sold` update refuses them if the stock is gone.
 */
export async function loadSaleIntoRedis(saleId: string, client: Queryable = db()): Promise<SaleView | null> {
  const { rows } = await client.query<SaleRow>(`${SALE_SELECT} WHERE s.sale_id = $1`, [saleId]);
  const row = rows[0];
  if (!row) return null;
  const live = await client.query<{ user_id: string; order_id: string; status: string; created_at: Date }>(
    `SELECT user_id, order_id, status, created_at FROM orders
      WHERE sale_id = $1 AND status IN ('reserved', 'confirmed')`,
    [saleId],
  );
  const sale = {
    startsMs: row.starts_at.getTime(),
    endsMs: row.ends_at.getTime(),
    stockTotal: row.stock,
    holdSeconds: row.hold_seconds,
    productId: row.product_id,
    tokensLeft: row.stock - row.sold,
    expireAt: keysExpireAt(row.ends_at),
  };
  await rebuildSale(saleId, sale, live.rows.map((o) => ({ ...o, taken_ms: o.created_at.getTime() })));
  const view = saleViewOf(row);
  await publishSaleView(view);
  return view;
}

export async function publishSaleView(view: SaleView): Promise<void> {
  await redis().hset(SALE_INDEX_KEY, view.sale_id, JSON.stringify(view));
  invalidateSaleIndex();
}

/** How many sales the published index is rebuilt with after Redis lost it. */
const INDEX_REBUILD_LIMIT = 500;

async function rebuildIndex(): Promise<SaleView[]> {
  const { rows } = await db().query<{ sale_id: string }>(
    'SELECT sale_id FROM flash_sales ORDER BY ends_at DESC LIMIT $1',
    [INDEX_REBUILD_LIMIT],
  );
  const views: SaleView[] = [];
  for (const { sale_id } of rows) {
    const view = await loadSaleIntoRedis(sale_id);
    if (view) views.push(view);
  }
  return views;
}

async function fetchSaleIndex(): Promise<LiveSale[]> {
  const raw = await redis().hvals(SALE_INDEX_KEY);
  const views: SaleView[] = raw.length > 0 ? raw.map((v) => JSON.parse(v) as SaleView) : await rebuildIndex();
  const counts = await Promise.all(views.map((v) => readCounts(v.sale_id)));
  const sales: LiveSale[] = [];
  for (const [i, view] of views.entries()) {
    let count = counts[i];
    if (!count) {
      // The sale's keys are gone (Redis restarted): rebuild them before anyone reads a count.
      await loadSaleIntoRedis(view.sale_id);
      count = await readCounts(view.sale_id);
    }
    const left = Math.max(0, count?.left ?? 0);
    const taken = view.stock_total - (count?.left ?? 0);
    sales.push({ ...view, stock_remaining: left, stock_held: Math.max(0, taken - (count?.confirmed ?? 0)) });
  }
  return sales;
}

async function readCounts(saleId: string): Promise<{ left: number; confirmed: number } | undefined> {
  const keys = saleKeys(saleId);
  const [left, confirmed] = await Promise.all([redis().get(keys.stock), redis().hget(keys.meta, 'confirmed')]);
  if (left === null) return undefined;
  return { left: Number(left), confirmed: Number(confirmed ?? 0) };
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
  if (age >= maxAgeMs) return undefined;
  if (age >= maxAgeMs / 2 && !inFlight) refresh().catch((err: unknown) => log.warn('sale list refresh failed', errorFields(err)));
  return cache.sales;
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
