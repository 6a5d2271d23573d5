// GET /health: 200 when the stores this function uses answer, 503 naming the ones that do not.
// Not /healthz: Cloud Run reserves some paths ending in z, so a deployed function never sees it.
import { db } from './db.js';
import { ApiError } from './errors.js';
import type { Route } from './http.js';
import { redis } from './redis.js';

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
  ]);
}

export function healthRoute(uses: { postgres?: boolean; redis?: boolean }): Route {
  return {
    method: 'GET',
    path: '/health',
    handler: async () => {
      const checks: [string, () => Promise<unknown>][] = [];
      if (uses.postgres) checks.push(['postgres', () => db().query('SELECT 1')]);
      if (uses.redis) checks.push(['redis', () => redis().ping()]);
      const results = await Promise.allSettled(checks.map(([, check]) => withTimeout(check())));
      const failing = checks.filter((_, i) => results[i]?.status === 'rejected').map(([name]) => name);
      if (failing.length > 0) {
        throw new ApiError('unavailable', `Not answering: ${failing.join(', ')}.`, {
          details: failing.map((name) => ({ field: name, problem: 'does not answer' })),
        });
      }
      return { status: 200, body: { status: 'ok' } };
    },
  };
}
