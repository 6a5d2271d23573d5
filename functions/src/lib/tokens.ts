// Access tokens: ES256 JWTs signed with the key of JWT_PRIVATE_KEY, named by its thumbprint.
import { SignJWT } from 'jose';
import type { Principal } from './auth.js';
import { TOKEN_ALGORITHM, type SigningKey } from './keys.js';

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
