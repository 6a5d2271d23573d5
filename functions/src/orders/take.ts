// Taking a stock token: the one Redis round trip of POST /orders, and what its codes mean to a
// buyer. The attempts on one sale that reach this instance in the same turn of the event loop
// share that round trip: one call of take-n.lua decides them in arrival order (docs/design.md §4).
import { config, type Config } from '../lib/config.js';
import { intervalMs, rateLimited } from '../lib/client.js';
import { ApiError } from '../lib/errors.js';
import { attemptKeys, redis } from '../lib/redis.js';
import { TAKE_CODES, takeTokens, type TakeAttempt, type TakeReply, type TakePolicy } from '../lib/scripts.js';
import { TurnBatch, type BatchBounds } from '../lib/turn-batch.js';

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

/** One answer of take-n.lua as the buyer's: the one place its codes get a meaning. */
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
let policy: { of: Config; policy: TakePolicy; groupMax: number } | undefined;
function takePolicy(): { policy: TakePolicy; groupMax: number } {
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
      groupMax: cfg.ORDER_TAKE_GROUP_MAX,
    };
  }
  return policy;
}

interface Waiting {
  attempt: Attempt;
  resolve: (result: TakeResult) => void;
  reject: (err: unknown) => void;
}

/** The group forming in this turn, per sale (a call's keys are all in its sale's slot). */
const forming = new Map<string, TurnBatch<Waiting>>();

const GROUP_BOUNDS: BatchBounds<Waiting> = {
  fits: () => true,
  full: (group) => group.length >= takePolicy().groupMax,
};

/**
 * One call for the group; each attempt gets its own answer, in the order it came. A call that
 * fails fails every attempt of it with its error, as a failed call failed its one attempt.
 */
function sendGroup(group: Waiting[], p: TakePolicy): void {
  let call: Promise<TakeReply[]>;
  try {
    call = takeTokens(group.map((w) => w.attempt), p);
  } catch (err) {
    call = Promise.reject(err as Error);
  }
  call.then(
    (replies: TakeReply[]) => {
      for (let i = 0; i < group.length; i++) {
        const w = group[i] as Waiting;
        try {
          w.resolve(takeOutcome(replies[i]));
        } catch (err) {
          w.reject(err);
        }
      }
    },
    (err: unknown) => {
      for (const w of group) w.reject(err);
    },
  );
}

/**
 * The one Redis round trip of a purchase attempt: replay, rate limits and the take, atomically.
 * It joins the group of its sale formed in this turn, sent when the turn ends (a lone attempt
 * waits for nothing else) or at once when the group reaches ORDER_TAKE_GROUP_MAX.
 */
export function takeStockToken(attempt: Attempt): Promise<TakeResult> {
  return new Promise((resolve, reject) => {
    let group = forming.get(attempt.saleId);
    if (!group) {
      group = new TurnBatch((attempts) => sendGroup(attempts, takePolicy().policy), GROUP_BOUNDS);
      forming.set(attempt.saleId, group);
    }
    group.add({ attempt, resolve, reject });
  });
}

/** Forgets the stored answer to an attempt that turned out not to hold (its enqueue failed). */
export async function forgetAnswer(attempt: Attempt): Promise<void> {
  if (!attempt.idempotencyKey) return;
  await redis().del(attemptKeys(attempt.saleId, attempt.userId, attempt.clientIp, attempt.idempotencyKey).idempotency);
}
