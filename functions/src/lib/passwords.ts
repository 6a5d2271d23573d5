// Password hashing with scrypt from node:crypto: memory-hard, and no native addon to build.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ApiError } from './errors.js';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** scrypt with N = 2^log2N, r = 8, p = 1: 128 × N × 8 bytes of memory (2^17: 128 MiB). */
export function scryptParams(log2N: number): ScryptParams {
  return { N: 2 ** log2N, r: 8, p: 1 };
}

/**
 * OWASP's floor for scrypt (Password Storage Cheat Sheet): N = 2^17, r = 8, p = 1, about half a
 * second of one core here. The users function takes its cost from PASSWORD_SCRYPT_LOG2N.
 */
export const DEFAULT_SCRYPT_LOG2N = 17;
const KEY_LENGTH = 32;

/**
 * `scrypt$N$r$p$salt$hash`, base64url parts, so that the parameters can be raised later (a
 * login with weaker stored ones rehashes: `isWeaker`). Tests pass cheap `params` to seed users
 * who log in many times.
 */
export async function hashPassword(password: string, params: ScryptParams = scryptParams(DEFAULT_SCRYPT_LOG2N)): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...params, maxmem: 128 * params.N * params.r * 2 });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** The parameters a stored hash was made with, or undefined when it is not one of ours. */
export function storedParams(stored: string): ScryptParams | undefined {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return undefined;
  return { N: Number(n), r: Number(r), p: Number(p) };
}

/** A stored hash made with less work than `target` in any parameter: rehash it at the next login. */
export function isWeaker(stored: string, target: ScryptParams): boolean {
  const params = storedParams(stored);
  return params !== undefined && (params.N < target.N || params.r < target.r || params.p < target.p);
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const params = storedParams(stored);
  const [, , , , salt, hash] = stored.split('$');
  if (!params || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    ...params,
    maxmem: 128 * params.N * params.r * 2,
  });
  return timingSafeEqual(key, expected);
}

/** A hash to verify against when the email is unknown, so both answers take the same time. */
let decoy: { params: ScryptParams; hash: Promise<string> } | undefined;
export function decoyHash(params: ScryptParams = scryptParams(DEFAULT_SCRYPT_LOG2N)): Promise<string> {
  if (decoy?.params.N !== params.N) decoy = { params, hash: hashPassword(randomBytes(16).toString('hex'), params) };
  return decoy.hash;
}

/**
 * At most `concurrency` hashes at once in this instance; up to `queueLimit` more wait their turn
 * in order; beyond that, `503 unavailable` with a Retry-After of about the queue's wait. Each
 * scrypt holds its memory (128 MiB at 2^17) and a libuv thread for its whole run, so a crowd of
 * sign-ups or logins must not start them all at once.
 */
export class HashLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** A running estimate of one hash's wall time, for Retry-After. */
  private averageMs = 200;

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `work` now, or after the hashes ahead of it; throws 503 `unavailable` when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) {
        throw new ApiError('unavailable', 'Too many passwords are being checked at once; try again shortly.', {
          headers: { 'retry-after': String(this.retryAfterSeconds()) },
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    return this.timed(work);
  }

  /** Runs `work` only when a slot is free and nobody waits (background work never delays a request). */
  runIfIdle<T>(work: () => Promise<T>): Promise<T> | undefined {
    if (this.active >= this.concurrency || this.waiting.length > 0) return undefined;
    this.active++;
    return this.timed(work);
  }

  /** Seconds until a place in the queue is likely free: the waiting ones, `concurrency` at a time. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((((this.waiting.length + 1) / this.concurrency) * this.averageMs) / 1000));
  }

  /** The caller holds a slot; it passes to the next waiting one (or is freed) when `work` ends. */
  private async timed<T>(work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - started);
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
