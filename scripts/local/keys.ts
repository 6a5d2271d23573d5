// The local JWT signing key: made once per checkout and kept under .local/ (never committed),
// a PKCS#8 PEM as terraform's tls_private_key gives, with the public PEM the jwks function lists.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportPKCS8, generateKeyPair } from 'jose';
import { publicKeyPem, signingKeyFromSetting } from '../../functions/src/lib/keys.ts';

export interface LocalKeys {
  /** JWT_PRIVATE_KEY of the users function. */
  privateKey: string;
  /** JWT_PUBLIC_KEYS of the jwks function. */
  publicKeys: string;
}

export async function localSigningKey(dir: string): Promise<LocalKeys> {
  const file = path.join(dir, 'jwt-signing-key.pem');
  let privateKey: string;
  if (existsSync(file)) {
    privateKey = readFileSync(file, 'utf8');
  } else {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = await exportPKCS8(pair.privateKey);
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, privateKey, { mode: 0o600 });
  }
  return { privateKey, publicKeys: await publicKeyPem(await signingKeyFromSetting(privateKey)) };
}
