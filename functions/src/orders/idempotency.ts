// The Idempotency-Key of POST /orders: read from the request, and bound to the request's body
// for its lifetime (idempotency-claim-1.lua); take-9.lua stores and replays the answer.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { config } from '../lib/config.js';
import { ApiError } from '../lib/errors.js';
import { claimIdempotency } from '../lib/scripts.js';
import type { OrderRequest } from './schemas.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** `Idempotency-Key`, also read as `x-idempotency-key` (docs/api.md). */
export function idempotencyKeyOf(req: IncomingMessage): string | undefined {
  const raw = req.headers['idempotency-key'] ?? req.headers['x-idempotency-key'];
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError('invalid_request', 'The request is not valid.', {
      details: [{ field: 'Idempotency-Key', problem: '1 to 200 visible ASCII characters' }],
    });
  }
  return key;
}

/** Binds the key to this body for its lifetime; the same key with another body is 422. */
export async function claimIdempotencyKey(userId: string, key: string, body: OrderRequest): Promise<void> {
  const fingerprint = createHash('sha256').update(`POST /orders ${JSON.stringify(body)}`).digest('base64url');
  if (await claimIdempotency(userId, key, fingerprint, config().IDEMPOTENCY_TTL_SECONDS)) throw new ApiError('idempotency_key_reused');
}
