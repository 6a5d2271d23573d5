// The token keys as the deployment gives them: JWT_PRIVATE_KEY as a PKCS#8 PEM or a private JWK,
// JWT_PUBLIC_KEYS as SPKI PEMs; kid is always the RFC 7638 thumbprint, so the two agree.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { createTokenVerifier } from '../../functions/src/lib/auth.ts';
import { parseConfig } from '../../functions/src/lib/config.ts';
import { jwksFromPems, publicKeyPem, signingKeyFromSetting } from '../../functions/src/lib/keys.ts';
import { signAccessToken } from '../../functions/src/lib/tokens.ts';

const settings = { issuer: 'https://issuer.test', audience: 'flash-sale', ttlSeconds: 60 };

async function pair() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    pkcs8: await exportPKCS8(privateKey),
    privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'hand-picked' }),
    spki: await exportSPKI(publicKey),
    thumbprint: await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y }),
  };
}

test('a PKCS#8 PEM and a private JWK of one key give the same key, named by its thumbprint (a hand-picked kid is ignored)', async () => {
  const k = await pair();
  const fromPem = await signingKeyFromSetting(k.pkcs8);
  const fromJwk = await signingKeyFromSetting(k.privateJwk);
  assert.equal(fromPem.kid, k.thumbprint);
  assert.equal(fromJwk.kid, k.thumbprint);
  assert.deepEqual(fromPem.publicJwk, fromJwk.publicJwk);
  assert.equal(fromPem.publicJwk.d, undefined, 'no private part in the public entry');
  assert.equal(await publicKeyPem(fromPem), k.spki);
});

test('the JWKS of JWT_PUBLIC_KEYS lists every key in order with its thumbprint, ES256, sig; it verifies the tokens', async () => {
  const current = await pair();
  const old = await pair();
  const jwks = await jwksFromPems(`${current.spki}\n${old.spki}`);
  assert.deepEqual(
    jwks.keys.map((k) => [k.kid, k.alg, k.use, k.kty, k.crv]),
    [
      [current.thumbprint, 'ES256', 'sig', 'EC', 'P-256'],
      [old.thumbprint, 'ES256', 'sig', 'EC', 'P-256'],
    ],
  );
  const verify = createTokenVerifier({ keys: createLocalJWKSet(jwks), ...settings });
  for (const k of [current, old]) {
    const userId = randomUUID();
    const token = await signAccessToken(await signingKeyFromSetting(k.pkcs8), { userId, role: 'user' }, settings);
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).kid, k.thumbprint);
    assert.equal((await verify(token)).principal.userId, userId);
  }
});

test('a bad JWT_PRIVATE_KEY or JWT_PUBLIC_KEYS stops the instance at cold start, naming the variable', async () => {
  const k = await pair();
  assert.doesNotThrow(() => parseConfig({ JWT_PRIVATE_KEY: k.pkcs8, JWT_PUBLIC_KEYS: k.spki }));
  assert.doesNotThrow(() => parseConfig({ JWT_PRIVATE_KEY: k.privateJwk }));
  assert.throws(() => parseConfig({ JWT_PRIVATE_KEY: k.spki }), /JWT_PRIVATE_KEY/);
  assert.throws(() => parseConfig({ JWT_PRIVATE_KEY: 'not a key' }), /JWT_PRIVATE_KEY/);
  assert.throws(() => parseConfig({ JWT_PUBLIC_KEYS: k.pkcs8 }), /JWT_PUBLIC_KEYS/);
  assert.throws(() => parseConfig({ JWT_PUBLIC_KEYS: `${k.spki}\ngarbage` }), /JWT_PUBLIC_KEYS/);
  const { publicKey: rsa } = await generateKeyPair('RS256', { extractable: true });
  const rsaPem = await exportSPKI(rsa);
  assert.throws(() => parseConfig({ JWT_PUBLIC_KEYS: rsaPem }), /JWT_PUBLIC_KEYS/);
});
