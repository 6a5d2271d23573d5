// The waiting room's calls (docs/api.md, Waiting room): joining a sale's queue, where the caller
// stands, and the admission log after the end. Each is one call of room-4.lua; admission itself
// is computed there from Redis's clock and the stock (docs/design.md, The waiting room).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Order, QueueLog, QueueTicket } from '@flash-sale/contract';
import { authenticate } from '../lib/auth.js';
import { db } from '../lib/db.js';
import { sha256Hex } from '../lib/digest.js';
import { ApiError } from '../lib/errors.js';
import { parseBody, type Route } from '../lib/http.js';
import { ORDER_COLUMNS, type OrderRow } from '../lib/order-row.js';
import { parseOrderRecord, redis, saleKeys } from '../lib/redis.js';
import { loadSaleIntoRedis, readSaleIndex, type LiveSale } from '../lib/sale-store.js';
import { roomLog, roomTicket, type RoomAnswer, type RoomTicket } from '../lib/scripts.js';
import { orderFromRow, pendingOrder } from '../orders/view.js';
import { joinSchema } from './schemas.js';

/** Leading zero bits of a hex digest. */
function leadingZeroBits(hex: string): number {
  let bits = 0;
  for (const digit of hex) {
    const value = parseInt(digit, 16);
    if (value === 0) {
      bits += 4;
      continue;
    }
    return bits + Math.clz32(value) - 28;
  }
  return bits;
}

/**
 * The join's proof of work (docs/api.md, Waiting room): a nonce such that the SHA-256 of
 * `<sale_id>:<user_id>:<nonce>` starts with `bits` zero bits. Bound to the buyer and the sale, so
 * one solution serves that buyer's joins and nobody else's; no challenge to fetch or store.
 */
export function proofOfWorkHolds(saleId: string, userId: string, nonce: string | undefined, bits: number): boolean {
  if (bits <= 0) return true;
  return nonce !== undefined && leadingZeroBits(sha256Hex(`${saleId}:${userId}:${nonce}`)) >= bits;
}

async function saleOf(saleId: string | undefined): Promise<LiveSale> {
  if (!z.uuid().safeParse(saleId).success) throw new ApiError('not_found', 'No such sale.');
  // The list is at most SALES_CACHE_MS old: a sale created a moment ago is read fresh.
  const sale =
    (await readSaleIndex()).find((s) => s.sale_id === saleId) ?? (await readSaleIndex({ maxAgeMs: 0 })).find((s) => s.sale_id === saleId);
  if (!sale) throw new ApiError('not_found', 'No such sale.');
  return sale;
}

/** A script's call, with the sale's keys loaded from PostgreSQL first when Redis lost them. */
async function withKeys<T>(saleId: string, call: () => Promise<T | RoomAnswer>): Promise<T | Exclude<RoomAnswer, 'not_loaded'>> {
  let answer = await call();
  if (answer === 'not_loaded') {
    await loadSaleIntoRedis(saleId);
    answer = await call();
    if (answer === 'not_loaded') throw new ApiError('unavailable', 'The sale is being loaded; try again.');
  }
  return answer as T | Exclude<RoomAnswer, 'not_loaded'>;
}

/** Why join, status or log gave no answer (`kept` is give_back's alone). */
type RoomRefusal = Exclude<RoomAnswer, 'ok' | 'not_loaded' | 'kept'>;

function refusal(answer: RoomRefusal): ApiError {
  switch (answer) {
    case 'room_off':
      return new ApiError('waiting_room_off');
    case 'ended':
      return new ApiError('sale_ended');
    case 'no_ticket':
      return new ApiError('not_found', 'You have not joined this sale\u2019s queue.');
    case 'not_ended':
      return new ApiError('sale_not_ended');
  }
}

/** The caller's order of the sale: PostgreSQL's row, or Redis's pending record before it is written. */
async function orderOfTicket(sale: LiveSale, orderId: string, userId: string): Promise<Order | null> {
  const { rows } = await db().query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id = $1 AND user_id = $2`, [orderId, userId]);
  if (rows[0]) return orderFromRow(rows[0]);
  const raw = await redis().hget(saleKeys(sale.sale_id).orders, orderId);
  if (!raw) return null;
  const record = parseOrderRecord(raw);
  return { ...pendingOrder(orderId, userId, sale, record.taken_ms), status: record.status };
}

async function ticketReply(sale: LiveSale, ticket: RoomTicket, userId: string): Promise<QueueTicket> {
  return {
    ticket_id: ticket.ticketId,
    sale_id: sale.sale_id,
    state: ticket.state,
    place: ticket.place,
    ahead: ticket.ahead,
    estimated_wait_seconds: ticket.waitMs === null ? null : Math.ceil(ticket.waitMs / 1000),
    admitted_until: ticket.admittedUntilMs === null ? null : new Date(ticket.admittedUntilMs).toISOString(),
    order: ticket.orderId ? await orderOfTicket(sale, ticket.orderId, userId) : null,
  };
}

async function ticketCall(sale: LiveSale, userId: string, op: 'join' | 'status'): Promise<QueueTicket> {
  // A ticket id is made only for a join: a status call (most of the room's calls) needs none.
  const ticketId = op === 'join' ? randomUUID() : '';
  const fresh = { ticketId, ticketHash: ticketId ? sha256Hex(ticketId) : '' };
  const answer = await withKeys(sale.sale_id, () => roomTicket(op, sale.sale_id, userId, fresh));
  if (typeof answer === 'string') throw refusal(answer as RoomRefusal);
  return ticketReply(sale, answer, userId);
}

export const queueRoutes: Route[] = [
  {
    method: 'POST',
    path: '/sales/:sale_id/queue',
    handler: async ({ req, params }) => {
      const { userId } = await authenticate(req);
      const input = parseBody(req, joinSchema);
      const sale = await saleOf(params.sale_id);
      const bits = sale.waiting_room.proof_of_work_bits;
      if (!proofOfWorkHolds(sale.sale_id, userId, input.proof_of_work, bits)) {
        throw new ApiError('proof_of_work_required', `Joining this queue needs a proof of work of ${bits} bits (docs/api.md, Waiting room).`);
      }
      return { status: 200, body: await ticketCall(sale, userId, 'join') };
    },
  },
  {
    method: 'GET',
    path: '/sales/:sale_id/queue/me',
    handler: async ({ req, params }) => {
      const { userId } = await authenticate(req);
      return { status: 200, body: await ticketCall(await saleOf(params.sale_id), userId, 'status') };
    },
  },
  {
    method: 'GET',
    path: '/sales/:sale_id/queue/log',
    handler: async ({ params }) => {
      const sale = await saleOf(params.sale_id);
      const answer = await withKeys(sale.sale_id, () => roomLog(sale.sale_id));
      if (typeof answer === 'string') throw refusal(answer as RoomRefusal);
      const body: QueueLog = answer;
      return { status: 200, body };
    },
  },
];
