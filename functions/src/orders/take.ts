// Taking a stock token: the one Redis round trip of POST /orders, and what its codes mean.
import { config } from '../lib/config.js';
import { intervalMs, rateLimited } from '../lib/client.js';
import { ApiError } from '../lib/errors.js';
import { attemptKeys, redis, saleKeys } from '../lib/redis.js';

/** The codes of take-7.lua, mapped to the client's answer in this one place. */
export const TAKE_CODES = {
  taken: 0,
  soldOut: 1,
  alreadyPurchased: 2,
  notStarted: 3,
  ended: 4,
  notLoaded: 5,
  rateLimited: 6,
} as const;

/** The refusals are immutable and most attempts end in one: made once, not per attempt. */
const REFUSALS = {
  [TAKE_CODES.soldOut]: new ApiError('sold_out'),
  [TAKE_CODES.alreadyPurchased]: new ApiError('already_purchased'),
  [TAKE_CODES.notStarted]: new ApiError('sale_not_started'),
  [TAKE_CODES.ended]: new ApiError('sale_ended'),
} as const;

export type TakeResult =
  /** `replayed`: the stored first answer to this Idempotency-Key, not a new take. */
  | { outcome: 'taken'; orderId: string; takenMs: number; replayed: boolean }
  | { outcome: 'not_loaded' };

export function takeOutcome(reply: unknown): TakeResult {
  const [code, orderId, nowMs, retryAfterMs, replayed] = reply as [number, string, number, number, number];
  switch (code) {
    case TAKE_CODES.taken:
      return { outcome: 'taken', orderId, takenMs: Number(nowMs), replayed: replayed === 1 };
    case TAKE_CODES.notLoaded:
      return { outcome: 'not_loaded' };
    case TAKE_CODES.rateLimited:
      throw rateLimited(Number(retryAfterMs));
    case TAKE_CODES.soldOut:
    case TAKE_CODES.alreadyPurchased:
    case TAKE_CODES.notStarted:
    case TAKE_CODES.ended:
      throw REFUSALS[code];
    default:
      throw new Error(`take returned unknown code ${String(code)}`);
  }
}

export interface Attempt {
  saleId: string;
  userId: string;
  orderId: string;
  clientIp: string;
  idempotencyKey?: string;
}

/** The one Redis round trip of a purchase attempt: replay, rate limits and the take, atomically. */
export function takeStockToken(attempt: Attempt): Promise<TakeResult> {
  const cfg = config();
  const k = saleKeys(attempt.saleId);
  const a = attemptKeys(attempt.saleId, attempt.userId, attempt.clientIp, attempt.idempotencyKey);
  return redis()
    .runScript(
      'take',
      [k.meta, k.stock, k.buyers, k.orders, a.idempotency, a.userRate, a.ipRate],
      [
        attempt.userId,
        attempt.orderId,
        attempt.idempotencyKey ? 1 : 0,
        cfg.IDEMPOTENCY_TTL_SECONDS,
        intervalMs(cfg.ORDER_RATE_USER_PER_SECOND),
        cfg.ORDER_RATE_USER_BURST,
        intervalMs(cfg.ORDER_RATE_IP_PER_SECOND),
        cfg.ORDER_RATE_IP_BURST,
      ],
    )
    .then(takeOutcome);
}

/** Forgets the stored answer to an attempt that turned out not to hold (its enqueue failed). */
export async function forgetAnswer(attempt: Attempt): Promise<void> {
  if (!attempt.idempotencyKey) return;
  await redis().del(attemptKeys(attempt.saleId, attempt.userId, attempt.clientIp, attempt.idempotencyKey).idempotency);
}
