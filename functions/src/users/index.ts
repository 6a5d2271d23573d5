// The users function: sign up and log in (ES256 tokens; the jwks function publishes their keys).
import { config } from '../lib/config.js';
import { db, pgCode, PG_UNIQUE_VIOLATION } from '../lib/db.js';
import { ApiError } from '../lib/errors.js';
import { healthRoute } from '../lib/health.js';
import { httpFunction, parseBody } from '../lib/http.js';
import type { Role } from '../lib/auth.js';
import { clientIp, intervalMs, rateLimited } from '../lib/client.js';
import { limitLogin } from '../lib/scripts.js';
import { loginSchema, signupSchema } from './schemas.js';
import { decoyHash, hashPassword, verifyPassword } from '../lib/passwords.js';
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

function roleFor(emailAddress: string, storedRole: string): Role {
  return storedRole === 'admin' || config().ADMIN_EMAILS.includes(emailAddress.toLowerCase()) ? 'admin' : 'user';
}

export const usersHandler = httpFunction('users', [
  {
    method: 'POST',
    path: '/users',
    handler: async ({ req }) => {
      const input = parseBody(req, signupSchema);
      const passwordHash = await hashPassword(input.password);
      try {
        const { rows } = await db().query<{ user_id: string; email: string }>(
          'INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3) RETURNING user_id, email',
          [input.email, passwordHash, roleFor(input.email, 'user')],
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
      const { rows } = await db().query<{ user_id: string; email: string; password_hash: string; role: string }>(
        'SELECT user_id, email, password_hash, role FROM users WHERE lower(email) = lower($1)',
        [input.email],
      );
      const user = rows[0];
      const valid = await verifyPassword(input.password, user?.password_hash ?? (await decoyHash()));
      if (!user || !valid) return refuseLogin(input.email, ip);
      const cfg = config();
      const token = await signAccessToken(
        await currentSigningKey(),
        { userId: user.user_id, role: roleFor(user.email, user.role) },
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
