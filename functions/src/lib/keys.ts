// The token keys: the ES256 signing key of JWT_PRIVATE_KEY (PKCS#8 PEM or a private JWK) and
// the public JWKS of JWT_PUBLIC_KEYS (SPKI PEMs), each key named by its RFC 7638 thumbprint.
import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportSPKI, importJWK, importPKCS8, importSPKI, type JWK } from 'jose';
import { z } from 'zod';

export const TOKEN_ALGORITHM = 'ES256';

type PrivateKey = Exclude<Awaited<ReturnType<typeof importJWK>>, Uint8Array>;

export interface SigningKey {
  /** The RFC 7638 thumbprint of the public key: the same whoever computes it, never chosen by hand. */
  kid: string;
  privateKey: PrivateKey;
  /** The public key as the JWKS lists it (no private part). */
  publicJwk: JWK;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

const p256Jwk = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string().min(1), y: z.string().min(1) });

/** The public part of a P-256 key as a JWK, with the thumbprint as kid, for the JWKS. */
async function publicEntry(jwk: JWK): Promise<JWK> {
  const { kty, crv, x, y } = p256Jwk.parse(jwk);
  const bare = { kty, crv, x, y };
  return { ...bare, kid: await calculateJwkThumbprint(bare, 'sha256'), alg: TOKEN_ALGORITHM, use: 'sig' };
}

/**
 * Whether a JWT_PRIVATE_KEY value is a private P-256 key (synchronous, for the config schema,
 * so that a bad key stops the instance at cold start with the variable named).
 */
export function isPrivateKeySetting(text: string): boolean {
  try {
    const trimmed = text.trim();
    const key = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(trimmed);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

/** The SPKI PEM blocks of a JWT_PUBLIC_KEYS value, or undefined when it holds anything else. */
export function publicKeyPems(text: string): string[] | undefined {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0 || blocks.some((b) => b[1] !== 'PUBLIC KEY')) return undefined;
  const rest = text.replace(PEM_BLOCK, '').trim();
  if (rest !== '') return undefined;
  try {
    for (const block of blocks) {
      const key = createPublicKey(block[0]);
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return undefined;
    }
  } catch {
    return undefined;
  }
  return blocks.map((b) => b[0]);
}

/** The signing key of a JWT_PRIVATE_KEY value: a PKCS#8 PEM (what terraform makes) or a private JWK as JSON. */
export async function signingKeyFromSetting(text: string): Promise<SigningKey> {
  const trimmed = text.trim();
  let privateJwk: JWK;
  if (trimmed.startsWith('{')) {
    privateJwk = JSON.parse(trimmed) as JWK;
  } else {
    privateJwk = await exportJWK(await importPKCS8(trimmed, TOKEN_ALGORITHM, { extractable: true }));
  }
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || !privateJwk.d) {
    throw new Error('JWT_PRIVATE_KEY must be a P-256 private key: a PKCS#8 PEM or a private JWK');
  }
  const publicJwk = await publicEntry(privateJwk);
  const { kty, crv, x, y, d } = privateJwk;
  const privateKey = (await importJWK({ kty, crv, x, y, d }, TOKEN_ALGORITHM)) as PrivateKey;
  return { kid: publicJwk.kid ?? '', privateKey, publicJwk };
}

/** The JWKS of a JWT_PUBLIC_KEYS value: one entry per PEM, in the order given (the current key first). */
export async function jwksFromPems(text: string): Promise<{ keys: JWK[] }> {
  const pems = publicKeyPems(text);
  if (!pems) throw new Error('JWT_PUBLIC_KEYS must be one or more P-256 SPKI PEM public keys');
  const keys: JWK[] = [];
  for (const pem of pems) keys.push(await publicEntry(await exportJWK(await importSPKI(pem, TOKEN_ALGORITHM, { extractable: true }))));
  return { keys };
}

/** The SPKI PEM of a signing key's public half: what JWT_PUBLIC_KEYS lists for it. */
export async function publicKeyPem(key: SigningKey): Promise<string> {
  const { kty, crv, x, y } = key.publicJwk;
  const publicKey = (await importJWK({ kty, crv, x, y }, TOKEN_ALGORITHM, { extractable: true })) as PrivateKey;
  return exportSPKI(publicKey);
}
