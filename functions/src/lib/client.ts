// Facts about the caller that are not its identity: its IP and the rate-limit arithmetic.
import type { IncomingMessage } from 'node:http';
import { config } from './config.js';
import { ApiError } from './errors.js';

/**
 * The `hop`-th X-Forwarded-For entry counted from the right (1 = the last), or undefined when
 * there are fewer. Entries on the left are whatever the client sent; only those our own front
 * ends appended can be trusted, and they append at the right. No split: this is the hot path.
 */
export function forwardedHop(header: string | undefined, hop: number): string | undefined {
  if (!header) return undefined;
  let end = header.length;
  for (let n = 1; ; n++) {
    const comma = header.lastIndexOf(',', end - 1);
    if (n === hop) return header.slice(comma + 1, end).trim() || undefined;
    if (comma < 0) return undefined;
    end = comma;
  }
}

/**
 * The client's IP: the X-Forwarded-For entry FORWARDED_FOR_HOP from the right (the local
 * gateway appends the socket's address: 1; Google's front ends append `<client>, <lb>`: 2).
 */
export function clientIp(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-for']; // node joins repeated X-Forwarded-For lines with ', '
  const header = Array.isArray(forwarded) ? forwarded.join(', ') : forwarded;
  return forwardedHop(header, config().FORWARDED_FOR_HOP) || req.socket?.remoteAddress || 'unknown';
}

/** GCRA's spacing for a rate: 0 turns the limit off. */
export function intervalMs(perSecond: number): number {
  return perSecond > 0 ? Math.max(1, Math.round(1000 / perSecond)) : 0;
}

export function rateLimited(retryAfterMs: number): ApiError {
  return new ApiError('rate_limited', undefined, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } });
}
