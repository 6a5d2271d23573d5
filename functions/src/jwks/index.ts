// The jwks function: the public keys that verify access tokens (JWT_PUBLIC_KEYS), for API
// Gateway, which fetches them anonymously — the one function anyone may invoke. No stores.
import { config } from '../lib/config.js';
import { healthRoute } from '../lib/health.js';
import { httpFunction, type Reply } from '../lib/http.js';
import { jwksFromPems } from '../lib/keys.js';

let reply: Promise<Reply> | undefined;

/** The JWKS reply, built once: the keys only change with a new deployment. */
function jwksReply(): Promise<Reply> {
  const pems = config().JWT_PUBLIC_KEYS;
  if (!pems) throw new Error('JWT_PUBLIC_KEYS is not set');
  reply ??= jwksFromPems(pems).then((body) => ({ status: 200, body, headers: { 'cache-control': 'public, max-age=300' } }));
  return reply;
}

export const jwksHandler = httpFunction('jwks', [
  { method: 'GET', path: '/.well-known/jwks.json', handler: jwksReply },
  healthRoute({}),
]);
