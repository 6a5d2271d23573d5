// Keyset pagination (docs/api.md, Pagination): `limit` and an opaque `cursor` that names the
// last item of the page before, so that a walk sees every item once even while items are
// added — an offset would shift under new items and show one twice or skip one.
import { z } from 'zod';
import { ApiError } from './errors.js';

export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 100;

/** The query parameters every paginated list takes. */
export const pageQueryShape = {
  limit: z.coerce.number().int().min(1).max(PAGE_LIMIT_MAX).default(PAGE_LIMIT_DEFAULT),
  cursor: z.string().min(1).max(500).optional(),
};

/** A cursor is base64url JSON: clients must treat it as opaque, the server checks it with `schema`. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<S extends z.ZodType>(cursor: string, schema: S): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    raw = undefined;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError('invalid_request', 'The request is not valid.', { details: [{ field: 'cursor', problem: 'not a cursor this list gave' }] });
  }
  return parsed.data;
}

/**
 * An order's place in a newest-first list: its creation time in microseconds since the epoch
 * (PostgreSQL's precision, as a decimal string) and its id, which breaks ties.
 */
export const orderPositionSchema = z.strictObject({ t: z.string().regex(/^\d{1,19}$/), id: z.uuid() });
export type OrderPosition = z.infer<typeof orderPositionSchema>;

/** SQL of "created before the cursor's order", newest first; $t and $id are its two parameters. */
export function createdBeforeSql(t: string, id: string): string {
  return `(created_at, order_id) < (timestamptz 'epoch' + ${t}::bigint * interval '1 microsecond', ${id}::uuid)`;
}

/** The microseconds-since-epoch column a keyset query selects beside each row. */
export const CREATED_US_SQL = `(extract(epoch from created_at) * 1000000)::bigint::text AS created_us`;

/** -1 when `a` comes before `b` newest first (later first; the larger id first on a tie). */
export function newestFirst(a: OrderPosition, b: OrderPosition): number {
  const ta = BigInt(a.t);
  const tb = BigInt(b.t);
  if (ta !== tb) return ta > tb ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id > b.id ? -1 : 1;
}

/** The page of `limit` items from items sorted in list order, and the cursor after it, if more remain. */
export function pageOf<T>(sorted: readonly T[], limit: number, positionOf: (item: T) => unknown): { items: T[]; next_cursor?: string } {
  const items = sorted.slice(0, limit);
  const last = items.at(-1);
  if (sorted.length <= limit || last === undefined) return { items };
  return { items, next_cursor: encodeCursor(positionOf(last)) };
}
