// Taking a stock token: the one Redis round trip of POST /orders, and what its codes mean.
import { ApiError } from '../lib/errors.js';
import { redis, saleKeys } from '../lib/redis.js';

/** The codes of take-4.lua, mapped to the client's answer in this one place. */
export const TAKE_CODES = {
  taken: 0,
  soldOut: 1,
  alreadyPurchased: 2,
  notStarted: 3,
  ended: 4,
  notLoaded: 5,
} as const;

export type TakeResult =
  | { outcome: 'taken'; orderId: string; takenMs: number }
  | { outcome: 'not_loaded' };

export function takeOutcome(reply: unknown): TakeResult {
  const [code, orderId, nowMs] = reply as [number, string, number];
  switch (code) {
    case TAKE_CODES.taken:
      return { outcome: 'taken', orderId, takenMs: Number(nowMs) };
    case TAKE_CODES.notLoaded:
      return { outcome: 'not_loaded' };
    case TAKE_CODES.soldOut:
      throw new ApiError('sold_out');
    case TAKE_CODES.alreadyPurchased:
      throw new ApiError('already_purchased');
    case TAKE_CODES.notStarted:
      throw new ApiError('sale_not_started');
    case TAKE_CODES.ended:
      throw new ApiError('sale_ended');
    default:
      throw new Error(`take returned unknown code ${String(code)}`);
  }
}

export async function takeStockToken(saleId: string, userId: string, orderId: string): Promise<TakeResult> {
  const k = saleKeys(saleId);
  return takeOutcome(await redis().runScript('take', [k.meta, k.stock, k.buyers, k.orders], [userId, orderId]));
}

