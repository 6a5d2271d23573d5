// Taking a stock token: the one Redis round trip of POST /orders, and what its codes mean to a buyer.
import { config, type Config } from '../lib/config.js';
import { intervalMs, rateLimited } from '../lib/client.js';
import { ApiError } from '../lib/errors.js';
import { attemptKeys, redis } from '../lib/redis.js';
import { TAKE_CODES, takeToken, type TakeAttempt, type TakePolicy } from '../lib/scripts.js';

/** The refusals are immutable and most attempts end in one: made once, not per attempt. */
const REFUSALS = {
  [TAKE_CODES.soldOut]: new ApiError('sold_out'),
  [TAKE_CODES.alreadyPurchased]: new ApiError('already_purchased'),
  [TAKE_CODES.notStarted]: new ApiError('sale_not_started'),
  [TAKE_CODES.ended]: new ApiError('sale_ended'),
  [TAKE_CODES.notAdmitted]: new ApiError('not_admitted'),
} as const;

export type TakeResult =
  /** `replayed`: the stored first answer to this Idempotency-Key, not a new take. */
  | { outcome: 'taken'; orderId: string; takenMs: number; replayed: boolean }
  | { outcome: 'not_loaded' };

/** take-9.lua's answer as the buyer's: the one place its codes get a meaning. */
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
    case TAKE_CODES.notAdmitted:
      throw REFUSALS[code];
    default:
      throw new Error(`take returned unknown code ${String(code)}`);
  }
}

export type Attempt = TakeAttempt;

/** The take's settings, made once per configuration rather than once per attempt. */
let policy: { of: Config; policy: TakePolicy } | undefined;
function takePolicy(): TakePolicy {
  const cfg = config();
  if (policy?.of !== cfg) {
    policy = {
      of: cfg,
      policy: {
        idempotencyTtlSeconds: cfg.IDEMPOTENCY_TTL_SECONDS,
        userIntervalMs: intervalMs(cfg.ORDER_RATE_USER_PER_SECOND),
        userBurst: cfg.ORDER_RATE_USER_BURST,
        ipIntervalMs: intervalMs(cfg.ORDER_RATE_IP_PER_SECOND),
        ipBurst: cfg.ORDER_RATE_IP_BURST,
      },
    };
  }
  return policy.policy;
}

/** The one Redis round trip of a purchase attempt: replay, rate limits and the take, atomically. */
export function takeStockToken(attempt: Attempt): Promise<TakeResult> {
  return takeToken(attempt, takePolicy()).then(takeOutcome);
}

/** Forgets the stored answer to an attempt that turned out not to hold (its enqueue failed). */
export async function forgetAnswer(attempt: Attempt): Promise<void> {
  if (!attempt.idempotencyKey) return;
  await redis().del(attemptKeys(attempt.saleId, attempt.userId, attempt.clientIp, attempt.idempotencyKey).idempotency);
}
