// The users function: sign up and log in (ES256 tokens; the jwks function publishes their keys).
import { config } from '../lib/config.js';
import { db, pgCode, PG_UNIQUE_VIOLATION } from '../lib/db.js';
import { ApiError } from '../lib/errors.js';
import { healthRoute } from '../lib/health.js';
import { httpFunction, parseBody } from '../lib/http.js';
import { ROLES, type Role } from '../lib/auth.js';
import { clientIp, intervalMs, rateLimited } from '../lib/client.js';
import { log, errorFields } from '../lib/log.js';
import { limitLogin, limitSignup } from '../lib/scripts.js';
import { loginSchema, signupSchema } from './schemas.js';
import { decoyHash, hashPassword, HashLimiter, isWeaker, scryptParams, verifyPassword } from '../lib/passwords.js';
import { signingKeyFromSetting, type SigningKey } from '../lib/keys.js';
import { signAccessToken } from '../lib/tokens.js';

let signingKey: Promise<SigningKey> | undefined;
function currentSigningKey(): Promise<SigningKey> {
  const key = config().JWT_PRIVATE_KEY;
  if (!key) throw new Error('JWT_PRIVATE_KEY is not set');
  signingKey ??= signingKeyFromSetting(key);
  return signingKey;
}

/**
 * Password guessing is slowed per client IP and per email (rate-limit-2.lua, one subject per
 * call). Every attempt counts against its IP, before the password is checked; only failures
 * count against the email, and a right password passes a spent email limit, so that guesses
 * at an email cannot lock its owner out.
 */
async function limitLoginIp(email: string, ip: string): Promise<void> {
  const perMinute = config().LOGIN_RATE_IP_PER_MINUTE;
  const none = { emailIntervalMs: 0, emailBurst: 1 };
  const waitMs = await limitLogin(email, ip, { ...none, ipIntervalMs: intervalMs(perMinute / 60), ipBurst: Math.max(1, perMinute) });
  if (waitMs > 0) throw rateLimited(waitMs);
}

/** A wrong password: counted against its email; answered 429 once the email's limit is spent. */
async function refuseLogin(email: string, ip: string): Promise<never> {
  const perMinute = config().LOGIN_RATE_EMAIL_PER_MINUTE;
  const none = { ipIntervalMs: 0, ipBurst: 1 };
  const waitMs = await limitLogin(email, ip, { emailIntervalMs: intervalMs(perMinute / 60), emailBurst: Math.max(1, perMinute), ...none });
  throw waitMs > 0 ? rateLimited(waitMs) : new ApiError('invalid_credentials');
}

/** Sign-ups per client IP: each costs a large hash, and mass accounts would defeat one unit per user. */
async function limitSignupIp(ip: string): Promise<void> {
  const perMinute = config().SIGNUP_RATE_IP_PER_MINUTE;
  const waitMs = await limitSignup(ip, { intervalMs: intervalMs(perMinute / 60), burst: Math.max(1, perMinute) });
  if (waitMs > 0) throw rateLimited(waitMs);
}

/** Every hash and verify of this instance goes through one bounded queue (lib/passwords.ts). */
let limiter: HashLimiter | undefined;
function hashing(): HashLimiter {
  const cfg = config();
  limiter ??= new HashLimiter(cfg.PASSWORD_HASH_CONCURRENCY, cfg.PASSWORD_HASH_QUEUE);
  return limiter;
}

const currentParams = () => scryptParams(config().PASSWORD_SCRYPT_LOG2N);

/**
 * A stored hash weaker than today's parameters is replaced after a successful login, in the
 * background and only when a hashing slot is idle: the answer never waits for it, and a busy
 * instance leaves it to a later login (so does an instance stopped or starved of CPU after its
 * answer, as Cloud Run may). The update replaces only the hash it was computed for.
 */
function upgradeHash(userId: string, password: string, stored: string): void {
  const params = currentParams();
  if (!isWeaker(stored, params)) return;
  hashing()
    .runIfIdle(() => hashPassword(password, params))
    ?.then((rehashed) => db().query('UPDATE users SET password_hash = $1 WHERE user_id = $2 AND password_hash = $3', [rehashed, userId, stored]))
    .catch((err: unknown) => log.warn('password rehash failed', { userId, ...errorFields(err) }));
}

/** The role the database holds; admins are made by `npm run admin` (scripts/admin.ts), nothing else. */
const roleOf = (stored: string): Role => (ROLES.includes(stored as Role) ? (stored as Role) : 'user');

export const usersHandler = httpFunction('users', [
  {
    method: 'POST',
    path: '/users',
    handler: async ({ req }) => {
      const input = parseBody(req, signupSchema);
      await limitSignupIp(clientIp(req));
      const params = currentParams();
      const passwordHash = await hashing().run(() => hashPassword(input.password, params));
      try {
        const { rows } = await db().query<{ user_id: string; email: string }>(
          "INSERT INTO users (email, password_hash, role) VALUES ($1, $2, 'user') RETURNING user_id, email",
          [input.email, passwordHash],
        );
        return { status: 201, body: rows[0] };
      } catch (err) {
        if (pgCode(err) === PG_UNIQUE_VIOLATION) throw new ApiError('email_taken');
        throw err;
      }
    },
  },
  {
    method: 'POST',
    path: '/users/authenticate',
    handler: async ({ req }) => {
      const input = parseBody(req, loginSchema);
      const ip = clientIp(req);
      await limitLoginIp(input.email, ip);
      const { rows } = await db().query<{ user_id: string; password_hash: string; role: string }>(
        'SELECT user_id, password_hash, role FROM users WHERE lower(email) = lower($1)',
        [input.email],
      );
      const user = rows[0];
      const stored = user?.password_hash ?? (await decoyHash(currentParams()));
      const valid = await hashing().run(() => verifyPassword(input.password, stored));
      if (!user || !valid) return refuseLogin(input.email, ip);
      upgradeHash(user.user_id, input.password, user.password_hash);
      const cfg = config();
      const token = await signAccessToken(
        await currentSigningKey(),
        { userId: user.user_id, role: roleOf(user.role) },
        { issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE, ttlSeconds: cfg.TOKEN_TTL_SECONDS },
      );
      return {
        status: 200,
        body: { token, token_type: 'Bearer', expires_in: cfg.TOKEN_TTL_SECONDS, user_id: user.user_id },
      };
    },
  },
  healthRoute({ postgres: true, redis: true }),
]);
