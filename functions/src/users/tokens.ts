// Access tokens: ES256 JWTs signed with the key from JWT_PRIVATE_JWK, and the JWKS that verifies them.
import { exportJWK, importJWK, SignJWT, type JWK } from 'jose';
import { TOKEN_ALGORITHM, type Principal } from '../lib/auth.js';

type PrivateKey = Exclude<Awaited<ReturnType<typeof importJWK>>, Uint8Array>;

export interface SigningKey {
  kid: string;
  privateKey: PrivateKey;
  publicJwk: JWK;
}

export async function signingKeyFromJwk(jwkJson: string): Promise<SigningKey> {
  const jwk = JSON.parse(jwkJson) as JWK;
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d) throw new Error('JWT_PRIVATE_JWK must be a private P-256 EC JWK');
  const kid = jwk.kid ?? 'default';
  const privateKey = (await importJWK({ ...jwk, alg: TOKEN_ALGORITHM }, TOKEN_ALGORITHM)) as PrivateKey;
  const { x, y, crv, kty } = jwk;
  return { kid, privateKey, publicJwk: { kty, crv, x, y, kid, alg: TOKEN_ALGORITHM, use: 'sig' } };
}

export async function exportPrivateJwk(privateKey: PrivateKey, kid: string): Promise<JWK> {
  return { ...(await exportJWK(privateKey)), kid, alg: TOKEN_ALGORITHM };
}

export interface TokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export async function signAccessToken(key: SigningKey, principal: Principal, settings: TokenSettings): Promise<string> {
  return new SignJWT({ role: principal.role })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setSubject(principal.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + settings.ttlSeconds)
    .sign(key.privateKey);
}
