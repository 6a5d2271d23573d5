// Facts about the caller that are not its identity: its IP and the rate-limit arithmetic.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';

/** The client's IP: the first X-Forwarded-For hop (API Gateway and the local gateway set it). */
export function clientIp(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',', 1)[0]?.trim();
  return first || req.socket?.remoteAddress || 'unknown';
}

/** GCRA's spacing for a rate: 0 turns the limit off. */
export function intervalMs(perSecond: number): number {
  return perSecond > 0 ? Math.max(1, Math.round(1000 / perSecond)) : 0;
}

export function rateLimited(retryAfterMs: number): ApiError {
  return new ApiError('rate_limited', undefined, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } });
}
