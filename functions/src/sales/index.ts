// The sales function: products and sales for admins, and the sale list everyone reads from Redis.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { authenticateAdmin } from '../lib/auth.js';
import { sha256Hex } from '../lib/digest.js';
import { db, pgCode, PG_CHECK_VIOLATION, PG_EXCLUSION_VIOLATION, withTransaction } from '../lib/db.js';
import { ApiError, isStoreUnavailable } from '../lib/errors.js';
import { errorFields } from '../lib/log.js';
import { redis } from '../lib/redis.js';
import { healthRoute } from '../lib/health.js';
import { httpFunction, JsonText, parseBody, parseInput, type Reply } from '../lib/http.js';
import { adminReadRoutes } from './admin-reads.js';
import { saleListQuerySchema, salePageJson, saleResponse } from './list.js';
import { publishSale } from '../lib/live-view.js';
import { resizeSale } from '../lib/scripts.js';
import { queueRoutes } from './queue.js';
import { createSaleSchema, productSchema, updateSaleSchema, windowRule, type WaitingRoomInput } from './schemas.js';
import { cachedSaleIndex, followSale, readSaleIndex, SALE_SELECT, saleFromPostgres, type LiveSale, type SaleRow } from '../lib/sale-store.js';

/**
 * A room's columns for an INSERT or UPDATE: the seed drawn once, the first time the sale gets a
 * room, and never changed after (its hash is published before the opening).
 */
function roomColumns(room: WaitingRoomInput | undefined, seed: string | null) {
  const kept = room && room.mode !== 'off' && !seed ? randomBytes(32).toString('hex') : seed;
  return {
    mode: room?.mode ?? 'off',
    rate: room?.admit_per_second ?? 0,
    secs: room?.admission_seconds ?? 0,
    above: room?.above_attempts_per_second ?? null,
    powBits: room?.proof_of_work_bits ?? 0,
    seed: kept,
    seedHash: kept ? sha256Hex(kept) : null,
  };
}

function saleConflict(err: unknown): never {
  if (pgCode(err) === PG_EXCLUSION_VIOLATION) throw new ApiError('sale_overlaps');
  if (pgCode(err) === PG_CHECK_VIOLATION) throw new ApiError('stock_below_sold');
  throw err;
}

async function liveSale(saleId: string): Promise<LiveSale | undefined> {
  const find = async (maxAgeMs?: number) => (await readSaleIndex({ maxAgeMs })).find((s) => s.sale_id === saleId);
  return (await find()) ?? (await find(0));
}

async function saleReply(status: number, saleId: string): Promise<Reply> {
  const sale = await liveSale(saleId);
  if (!sale) throw new ApiError('not_found', 'No such sale.');
  return { status, body: saleResponse(sale, Date.now()) };
}

export { saleResponse };

/** GET /sales without a query: the schema's defaults, parsed once. */
const DEFAULT_SALE_PAGE = saleListQuerySchema.parse({});

export const salesHandler = httpFunction('sales', [
  {
    method: 'POST',
    path: '/products',
    handler: async ({ req }) => {
      await authenticateAdmin(req);
      const input = parseBody(req, productSchema);
      const { rows } = await db().query<{ product_id: string; name: string; price_in_cent: string }>(
        'INSERT INTO products (name, price_in_cent) VALUES ($1, $2) RETURNING product_id, name, price_in_cent',
        [input.name, input.price_in_cent],
      );
      const product = rows[0];
      if (!product) throw new Error('INSERT returned no product');
      return { status: 201, body: { ...product, price_in_cent: Number(product.price_in_cent) } };
    },
  },
  {
    method: 'POST',
    path: '/sales',
    handler: async ({ req, log }) => {
      await authenticateAdmin(req);
      const input = parseBody(req, createSaleSchema);
      const saleId = await withTransaction(async (client) => {
        const product = await client.query('SELECT 1 FROM products WHERE product_id = $1', [input.product_id]);
        if (product.rowCount === 0) throw new ApiError('not_found', 'No such product.');
        const room = roomColumns(input.waiting_room, null);
        const inserted = await client
          .query<{ sale_id: string }>(
            `INSERT INTO flash_sales (product_id, starts_at, ends_at, stock, hold_seconds, room_mode,
                                      room_admit_per_second, room_admission_seconds, room_above_attempts_per_second,
                                      room_pow_bits, room_seed, room_seed_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING sale_id`,
            [
              input.product_id, input.starts_at, input.ends_at, input.stock, input.hold_seconds,
              room.mode, room.rate, room.secs, room.above, room.powBits, room.seed, room.seedHash,
            ],
          )
          .catch(saleConflict);
        const id = inserted.rows[0]?.sale_id;
        if (!id) throw new Error('INSERT returned no sale');
        return id;
      });
      // Redis follows the commit: a sale that failed to commit is never on sale. The sale is
      // created now; if Redis cannot take it yet, the sweeper publishes it (design.md §6).
      let sale: LiveSale | undefined;
      try {
        await followSale(saleId);
        sale = await liveSale(saleId); // none for a sale ended more than a week ago: never listed
      } catch (err) {
        if (!isStoreUnavailable(err)) throw err;
        log.warn('sale created; Redis did not take it yet, the sweeper will publish it', { sale_id: saleId, ...errorFields(err) });
      }
      sale ??= await saleFromPostgres(saleId);
      if (!sale) throw new Error('a committed sale is missing');
      void publishSale(saleId);
      return { status: 201, body: saleResponse(sale, Date.now()) };
    },
  },
  {
    method: 'POST',
    path: '/sales/update',
    handler: async ({ req }) => {
      await authenticateAdmin(req);
      const input = parseBody(req, updateSaleSchema);
      if (input.stock !== undefined) {
        // Redis counts pending orders that PostgreSQL does not know yet: asked first, outside
        // any transaction. A take that slips in before the commit is settled by PostgreSQL's
        // conditional update (resize-2.lua, `follow`).
        const check = await resizeSale(input.sale_id, { startsMs: 0, endsMs: 0, stockTotal: input.stock, expireAt: 0 }, redis(), 'check');
        if (check.result === 'below_taken') throw new ApiError('stock_below_sold');
      }
      // The row lock is held for PostgreSQL's statements only, each bounded (lock_timeout,
      // statement_timeout): never across a Redis call.
      await withTransaction(async (client) => {
        const { rows } = await client.query<SaleRow>(`${SALE_SELECT} WHERE s.sale_id = $1 FOR UPDATE OF s`, [
          input.sale_id,
        ]);
        const current = rows[0];
        if (!current) throw new ApiError('not_found', 'No such sale.');
        const startsAt = input.starts_at ?? current.starts_at;
        const endsAt = input.ends_at ?? current.ends_at;
        const newStock = input.stock ?? current.stock;
        if (startsAt >= endsAt) {
          throw new ApiError('invalid_request', 'The request is not valid.', {
            details: [{ field: 'ends_at', problem: windowRule.message }],
          });
        }
        if (newStock < current.sold) throw new ApiError('stock_below_sold');
        const room = input.waiting_room
          ? roomColumns(input.waiting_room, current.room_seed)
          : {
              mode: current.room_mode,
              rate: current.room_admit_per_second,
              secs: current.room_admission_seconds,
              above: current.room_above_attempts_per_second,
              powBits: current.room_pow_bits,
              seed: current.room_seed,
              seedHash: current.room_seed_hash,
            };
        const updated = await client
          .query(
            `UPDATE flash_sales SET starts_at = $2, ends_at = $3, stock = $4, room_mode = $5, room_admit_per_second = $6,
                    room_admission_seconds = $7, room_above_attempts_per_second = $8, room_pow_bits = $9, room_seed = $10,
                    room_seed_hash = $11, updated_at = now()
              WHERE sale_id = $1`,
            [input.sale_id, startsAt, endsAt, newStock, room.mode, room.rate, room.secs, room.above, room.powBits, room.seed, room.seedHash],
          )
          .catch(saleConflict);
        if (updated.rowCount !== 1) throw new Error('UPDATE touched no sale');
      });
      // Redis follows the commit. If it cannot now, the change stands in PostgreSQL and the
      // sweeper applies it; sending the same change again is safe and applies it at once.
      try {
        await followSale(input.sale_id);
      } catch (err) {
        if (!isStoreUnavailable(err)) throw err;
        throw new ApiError('unavailable', 'The change is saved, but Redis has not taken it yet; sending it again is safe.');
      }
      void publishSale(input.sale_id);
      return saleReply(200, input.sale_id);
    },
  },
  {
    method: 'GET',
    path: '/sales',
    // Synchronous while this instance's copy of the list is fresh (no promise), and the page
    // served as text rendered once per copy (list.ts, salePageJson).
    handler: ({ query }) => {
      const page = query.size === 0 ? DEFAULT_SALE_PAGE : parseInput(saleListQuerySchema, Object.fromEntries(query));
      const answer = (sales: readonly LiveSale[]): Reply => ({
        status: 200,
        body: new JsonText(salePageJson(sales, Date.now(), page)),
        headers: { 'cache-control': 'public, max-age=1' },
      });
      const copy = cachedSaleIndex();
      return copy ? answer(copy) : readSaleIndex().then(answer);
    },
  },
  {
    method: 'GET',
    path: '/sales/:sale_id',
    handler: async ({ params }) => {
      const saleId = params.sale_id ?? '';
      if (!z.uuid().safeParse(saleId).success) throw new ApiError('not_found', 'No such sale.');
      // Anyone may ask for any id: an unknown one is answered from this instance's copy of the
      // index (at most SALES_CACHE_MS old), never with a fresh read nor a PostgreSQL query. The
      // index lists every sale until a week after its end (published once its creation commits,
      // by the sweeper if Redis failed then; rebuilt from PostgreSQL, by the read itself, when
      // Redis lost it).
      const sale = (await readSaleIndex()).find((s) => s.sale_id === saleId);
      if (!sale) throw new ApiError('not_found', 'No such sale.');
      return { status: 200, body: saleResponse(sale, Date.now()) };
    },
  },
  ...adminReadRoutes,
  ...queueRoutes,
  healthRoute({ postgres: true, redis: true }),
]);
