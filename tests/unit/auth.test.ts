// Token checks without a network: ES256 only, issuer and audience, expiry, and the claims
// API Gateway forwards.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { bearerToken, createTokenVerifier, gatewayPrincipal } from '../../functions/src/lib/auth.ts';
import { ApiError } from '../../functions/src/lib/errors.ts';
import { signingKeyFromSetting } from '../../functions/src/lib/keys.ts';
import { signAccessToken } from '../../functions/src/lib/tokens.ts';

const settings = { issuer: 'https://issuer.test', audience: 'flash-sale', ttlSeconds: 60 };

async function setup() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const key = await signingKeyFromSetting(JSON.stringify(await exportJWK(privateKey)));
  const verify = createTokenVerifier({
    keys: createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: key.kid, alg: 'ES256' }] }),
    issuer: settings.issuer,
    audience: settings.audience,
  });
  return { key, verify };
}

const rejects401 = (err: unknown) => err instanceof ApiError && err.status === 401 && err.code === 'unauthenticated';

test('a token the users function signs verifies to its user and role', async () => {
  const { key, verify } = await setup();
  const userId = randomUUID();
  const token = await signAccessToken(key, { userId, role: 'admin' }, settings);
  const { principal, claims } = await verify(token);
  assert.deepEqual(principal, { userId, role: 'admin' });
  assert.equal(claims.iss, settings.issuer);
  assert.equal(key.publicJwk.d, undefined, 'the JWKS entry has no private part');
});

test('expired, wrong audience, wrong issuer, alg none and HS256 are 401', async () => {
  const { key, verify } = await setup();
  const userId = randomUUID();
  await assert.rejects(verify(await signAccessToken(key, { userId, role: 'user' }, { ...settings, ttlSeconds: -60 })), rejects401);
  await assert.rejects(verify(await signAccessToken(key, { userId, role: 'user' }, { ...settings, audience: 'x' })), rejects401);
  await assert.rejects(verify(await signAccessToken(key, { userId, role: 'user' }, { ...settings, issuer: 'x' })), rejects401);
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const none = `${part({ alg: 'none' })}.${part({ sub: userId, role: 'admin', iss: settings.issuer, aud: settings.audience, exp: 9e9 })}.`;
  await assert.rejects(verify(none), rejects401);
  const hs = await new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setSubject(userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setExpirationTime('1m')
    .sign(new TextEncoder().encode('a shared secret of enough length!!'));
  await assert.rejects(verify(hs), rejects401);
});

test('a token without a known role or a uuid subject is 401', async () => {
  const { key, verify } = await setup();
  const token = await new SignJWT({ role: 'superuser' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject(randomUUID())
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setExpirationTime('1m')
    .sign(key.privateKey);
  await assert.rejects(verify(token), rejects401);
});

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('gateway mode reads the claims API Gateway verified; bearer parsing is strict', () => {
  const userId = randomUUID();
  const header = Buffer.from(JSON.stringify({ sub: userId, role: 'user', iss: 'x' })).toString('base64url');
  assert.deepEqual(gatewayPrincipal(request({ 'x-apigateway-api-userinfo': header })), { userId, role: 'user' });
  assert.throws(() => gatewayPrincipal(request({})), rejects401);
  assert.throws(() => gatewayPrincipal(request({ 'x-apigateway-api-userinfo': '!!!' })), rejects401);
  assert.equal(bearerToken(request({ authorization: 'Bearer abc.def.ghi' })), 'abc.def.ghi');
  assert.throws(() => bearerToken(request({ authorization: 'Basic abc' })), rejects401);
  assert.throws(() => bearerToken(request({})), rejects401);
});
