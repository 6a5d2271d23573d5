// The local JWT signing key: made once per checkout and kept under .local/ (never committed).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPair } from 'jose';
import { exportPrivateJwk } from '../../functions/src/users/tokens.ts';

export async function localSigningJwk(dir: string): Promise<string> {
  const file = path.join(dir, 'jwt-signing-key.json');
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = JSON.stringify(await exportPrivateJwk(privateKey, `local-${Date.now().toString(36)}`));
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, jwk, { mode: 0o600 });
  return jwk;
}
