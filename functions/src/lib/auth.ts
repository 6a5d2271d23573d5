// Who is calling: the verified claims API Gateway passes on, or a bearer token checked here.
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { config } from './config.js';
import { db } from './db.js';
import { ApiError } from './errors.js';
import { TOKEN_ALGORITHM } from './keys.js';

export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  userId: string;
  role: Role;
}

/** The claims a token must carry to mean anything here. */
const claimsSchema = z.object({
  sub: z.uuid(),
  role: z.enum(ROLES),
});

/** The header API Gateway sets after it has verified the JWT: base64url JSON of its claims. */
export const GATEWAY_USERINFO_HEADER = 'x-apigateway-api-userinfo';

export { TOKEN_ALGORITHM };

export interface VerifiedToken {
  principal: Principal;
  /** Every claim of the token, as API Gateway forwards them in X-Apigateway-Api-Userinfo. */
  claims: Record<string, unknown>;
}

export type TokenVerifier = (token: string) => Promise<VerifiedToken>;

/** Verifies an ES256 token against a key set, issuer and audience; any failure is `401`. */
export function createTokenVerifier(options: { keys: JWTVerifyGetKey; issuer: string; audience: string }): TokenVerifier {
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, options.keys, {
        algorithms: [TOKEN_ALGORITHM],
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ['exp', 'sub'],
      });
      return { principal: principalFromClaims(payload), claims: payload };
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (err instanceof joseErrors.JOSEError) throw new ApiError('unauthenticated', tokenProblem(err));
      throw err;
    }
  };
}

function tokenProblem(err: InstanceType<typeof joseErrors.JOSEError>): string {
  if (err instanceof joseErrors.JWTExpired) return 'The token has expired.';
  return 'The token is not valid.';
}

export function principalFromClaims(claims: unknown): Principal {
  const parsed = claimsSchema.safeParse(claims);
  if (!parsed.success) throw new ApiError('unauthenticated', 'The token is not valid.');
  return { userId: parsed.data.sub, role: parsed.data.role };
}

export function bearerToken(req: IncomingMessage): string {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) throw new ApiError('unauthenticated');
  return match[1];
}

export function gatewayPrincipal(req: IncomingMessage): Principal {
  const header = req.headers[GATEWAY_USERINFO_HEADER];
  if (typeof header !== 'string' || header.length === 0) throw new ApiError('unauthenticated');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  } catch {
    throw new ApiError('unauthenticated', 'The token is not valid.');
  }
  return principalFromClaims(claims);
}

let bearerVerifier: TokenVerifier | undefined;

/**
 * The caller, per AUTH_MODE; throws `401 unauthenticated` when there is none. Behind the
 * gateway the answer is synchronous (no promise on the hot path); a bearer token is
 * verified asynchronously. `await` works on either.
 */
export function authenticate(req: IncomingMessage): Principal | Promise<Principal> {
  const cfg = config();
  if (cfg.AUTH_MODE === 'gateway') return gatewayPrincipal(req);
  bearerVerifier ??= createTokenVerifier({
    keys: createRemoteJWKSet(new URL(cfg.JWKS_URL)),
    issuer: cfg.JWT_ISSUER,
    audience: cfg.JWT_AUDIENCE,
  });
  return bearerVerifier(bearerToken(req)).then((verified) => verified.principal);
}

/**
 * An admin: the token says so (its role is the database's at its login) and the database still
 * does, so that `npm run admin -- revoke` takes effect at once rather than when the token expires.
 * One primary-key read per admin call; admin calls are few and never on the purchase path.
 */
export async function authenticateAdmin(req: IncomingMessage): Promise<Principal> {
  const principal = await authenticate(req);
  if (principal.role !== 'admin') throw new ApiError('forbidden', 'Only an admin can do this.');
  const { rows } = await db().query<{ role: string }>('SELECT role FROM users WHERE user_id = $1', [principal.userId]);
  if (rows[0]?.role !== 'admin') throw new ApiError('forbidden', 'This account is no longer an admin.');
  return principal;
}
