// docs/design.md §5 invariant 7 through the gateway: forged, expired, `alg: none`, HS256 and
// wrongly signed tokens are 401; a user's token is 403 on admin routes; claims cannot be injected.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { signingKeyFromSetting } from '../../functions/src/lib/keys.ts';
import { admin, api, buyer, closeHelpers, createSale, mintToken } from '../helpers.ts';

after(closeHelpers);

const claims = () => ({ role: 'admin', iss: process.env.JWT_ISSUER, aud: process.env.JWT_AUDIENCE });

function unsignedToken(payload: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

async function assertRejected(token: string, why: string): Promise<void> {
  for (const [method, path, body] of [
    ['POST', '/products', { name: 'x', price_in_cent: 1 }],
    ['GET', '/orders', undefined],
  ] as const) {
    const answer = await api(method, path, { token, body });
    assert.equal(answer.status, 401, `${why}: ${method} ${path} answered ${answer.status}`);
    assert.equal(answer.body.error, 'unauthenticated', why);
  }
}

test('alg none is 401', async () => {
  const exp = Math.floor(Date.now() / 1000) + 600;
  await assertRejected(unsignedToken({ sub: randomUUID(), exp, ...claims() }), 'alg none');
});

test('a token signed by another ES256 key is 401', async () => {
  const { privateKey } = await generateKeyPair('ES256');
  const token = await new SignJWT(claims())
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject(randomUUID())
    .setExpirationTime('10m')
    .sign(privateKey);
  await assertRejected(token, 'foreign key');
});

test('an HS256 token is 401, even keyed with the public JWKS', async () => {
  const jwks = await api<{ keys: Record<string, string>[] }>('GET', '/.well-known/jwks.json');
  const secret = new TextEncoder().encode(JSON.stringify(jwks.body.keys[0]));
  const token = await new SignJWT(claims())
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(randomUUID())
    .setExpirationTime('10m')
    .sign(secret);
  await assertRejected(token, 'HS256');
});

test('an expired token is 401; a malformed header is 401', async () => {
  await assertRejected(await mintToken(randomUUID(), 'admin', -120), 'expired');
  await assertRejected('not.a.jwt', 'garbage');
  const answer = await api('GET', '/orders', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assert.equal(answer.status, 401);
});

test('a token for another audience or issuer is 401', async () => {
  const key = await signingKeyFromSetting(process.env.JWT_PRIVATE_KEY ?? '');
  const signing = key.privateKey;
  const wrongAudience = await new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject(randomUUID())
    .setIssuer(process.env.JWT_ISSUER ?? '')
    .setAudience('someone-else')
    .setExpirationTime('10m')
    .sign(signing);
  await assertRejected(wrongAudience, 'audience');
  const wrongIssuer = await new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject(randomUUID())
    .setIssuer('https://evil.example')
    .setAudience(process.env.JWT_AUDIENCE ?? '')
    .setExpirationTime('10m')
    .sign(signing);
  await assertRejected(wrongIssuer, 'issuer');
});

test("a client cannot inject the gateway's verified-claims header", async () => {
  const { token } = await buyer();
  const forged = Buffer.from(JSON.stringify({ sub: randomUUID(), role: 'admin' })).toString('base64url');
  const answer = await api('POST', '/products', {
    token,
    body: { name: 'x', price_in_cent: 1 },
    headers: { 'x-apigateway-api-userinfo': forged },
  });
  assert.equal(answer.status, 403, 'the gateway replaces the header with the real claims');
  const anonymous = await api('POST', '/products', {
    body: { name: 'x', price_in_cent: 1 },
    headers: { 'x-apigateway-api-userinfo': forged },
  });
  assert.equal(anonymous.status, 401);
});

test('an admin token works on admin routes; a user token is 403 there', async () => {
  const adminToken = await admin();
  assert.equal((await api('POST', '/products', { token: adminToken, body: { name: 'ok', price_in_cent: 1 } })).status, 201);
  const sale = await createSale({ stock: 1 });
  const { token } = await buyer();
  const update = await api('POST', '/sales/update', { token, body: { sale_id: sale.sale_id, stock: 100 } });
  assert.equal(update.status, 403);
  assert.equal(update.body.error, 'forbidden');
});
