// What an admin reads during and after a sale: its orders page by page (GET /sales/{id}/orders),
// the confirmed ones as CSV for fulfilment (GET /sales/{id}/orders.csv), and the numbers of the
// admin page (GET /admin/metrics). All from PostgreSQL or the metrics hash, none on the hot path.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { authenticateAdmin } from '../lib/auth.js';
import { db } from '../lib/db.js';
import { ApiError } from '../lib/errors.js';
import { parseInput, type Route } from '../lib/http.js';
import { readMetrics } from '../lib/metrics.js';
import { ORDER_COLUMNS, ORDER_STATUSES, type OrderRow } from '../lib/order-row.js';
import { CREATED_US_SQL, createdBeforeSql, decodeCursor, orderPositionSchema, pageOf, pageQueryShape } from '../lib/pages.js';
import { orderFromRow } from '../orders/view.js';

export const saleOrdersQuerySchema = z.strictObject({ status: z.enum(ORDER_STATUSES).optional(), ...pageQueryShape });

/** How many rows the CSV export reads from PostgreSQL at a time. */
const EXPORT_BATCH = 1000;

async function existingSaleId(raw: string | undefined): Promise<string> {
  if (!raw || !z.uuid().safeParse(raw).success) throw new ApiError('not_found', 'No such sale.');
  const { rowCount } = await db().query('SELECT 1 FROM flash_sales WHERE sale_id = $1', [raw]);
  if (rowCount === 0) throw new ApiError('not_found', 'No such sale.');
  return raw;
}

/**
 * One page of a sale's orders, newest first, with each buyer's email: every order PostgreSQL
 * has (an order still being written shows once the worker wrote it, within seconds).
 */
export async function saleOrdersPage(saleId: string, query: z.infer<typeof saleOrdersQuerySchema>) {
  const after = query.cursor ? decodeCursor(query.cursor, orderPositionSchema) : undefined;
  const params: unknown[] = [saleId, query.status ?? null, query.limit + 1];
  if (after) params.push(after.t, after.id);
  const { rows } = await db().query<OrderRow & { created_us: string; buyer_email: string }>(
    `SELECT ${ORDER_COLUMNS}, ${CREATED_US_SQL}, buyer_email FROM (
       SELECT o.*, u.email AS buyer_email FROM orders o JOIN users u USING (user_id)
        WHERE o.sale_id = $1 AND ($2::text IS NULL OR o.status = $2)) AS sale_orders
      ${after ? `WHERE ${createdBeforeSql('$4', '$5')}` : ''}
      ORDER BY created_at DESC, order_id DESC LIMIT $3`,
    params,
  );
  const { items, next_cursor } = pageOf(rows, query.limit, (row) => ({ t: row.created_us, id: row.order_id }));
  return {
    orders: items.map((row) => ({ ...orderFromRow(row), buyer_email: row.buyer_email })),
    ...(next_cursor ? { next_cursor } : {}),
  };
}

/** A CSV field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export const CSV_HEADER = 'order_id,buyer_email,confirmed_at';

/** The confirmed orders of a sale as CSV lines, in order of purchase, read in batches as the client takes them. */
export async function* confirmedOrdersCsv(saleId: string): AsyncGenerator<string> {
  yield `${CSV_HEADER}\r\n`;
  let after: { t: string; id: string } | undefined;
  for (;;) {
    const params: unknown[] = [saleId, EXPORT_BATCH];
    if (after) params.push(after.t, after.id);
    const { rows } = await db().query<{ order_id: string; email: string; confirmed_at: Date; created_us: string }>(
      `SELECT o.order_id, u.email, COALESCE(o.paid_at, o.updated_at) AS confirmed_at,
              (extract(epoch from o.created_at) * 1000000)::bigint::text AS created_us
         FROM orders o JOIN users u USING (user_id)
        WHERE o.sale_id = $1 AND o.status = 'confirmed'
          ${after ? `AND (o.created_at, o.order_id) > (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid)` : ''}
        ORDER BY o.created_at, o.order_id LIMIT $2`,
      params,
    );
    if (rows.length > 0) {
      yield rows.map((r) => `${csvField(r.order_id)},${csvField(r.email)},${csvField(r.confirmed_at.toISOString())}\r\n`).join('');
    }
    const last = rows.at(-1);
    if (rows.length < EXPORT_BATCH || !last) return;
    after = { t: last.created_us, id: last.order_id };
  }
}

export const adminReadRoutes: Route[] = [
  {
    method: 'GET',
    path: '/sales/:sale_id/orders',
    handler: async ({ req, params, query }) => {
      await authenticateAdmin(req);
      const input = parseInput(saleOrdersQuerySchema, Object.fromEntries(query));
      const saleId = await existingSaleId(params.sale_id);
      return { status: 200, body: await saleOrdersPage(saleId, input) };
    },
  },
  {
    method: 'GET',
    path: '/sales/:sale_id/orders.csv',
    handler: async ({ req, params }) => {
      await authenticateAdmin(req);
      const saleId = await existingSaleId(params.sale_id);
      return {
        status: 200,
        body: Readable.from(confirmedOrdersCsv(saleId)),
        headers: {
          'content-type': 'text/csv; charset=utf-8; header=present',
          'content-disposition': `attachment; filename="sale-${saleId}-confirmed-orders.csv"`,
          'cache-control': 'no-store',
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/admin/metrics',
    handler: async ({ req }) => {
      await authenticateAdmin(req);
      return { status: 200, body: { ...(await readMetrics()), server_time: new Date().toISOString() }, headers: { 'cache-control': 'no-store' } };
    },
  },
];
