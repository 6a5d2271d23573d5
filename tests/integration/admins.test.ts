// Admins are made by an operator command (npm run admin, scripts/admin.ts), never by signing up;
// a token's role is the database's at its login, and admin routes check the database again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, test } from 'node:test';
import { adminCommand } from '../../scripts/admin.ts';
import { ROOT } from '../../scripts/stack.ts';
import { api, closeHelpers } from '../helpers.ts';

after(closeHelpers);

const env = () => ({ DATABASE_URL: process.env.DATABASE_URL ?? '' });

async function signUpAndLogIn(email: string, password = 'long enough'): Promise<string> {
  const created = await api('POST', '/users', { body: { email, password } });
  assert.ok(created.status === 201 || created.status === 409, JSON.stringify(created.body));
  return logIn(email, password);
}

async function logIn(email: string, password = 'long enough'): Promise<string> {
  const login = await api<{ token: string }>('POST', '/users/authenticate', { body: { email, password } });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return login.body.token;
}

const roleIn = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { role: string }).role;

const createProduct = (token: string) => api('POST', '/products', { token, body: { name: 'admin check', price_in_cent: 1 } });

test('signing up with the email that used to be the admin list makes a plain user', async () => {
  const token = await signUpAndLogIn('admin@example.com');
  assert.equal(roleIn(token), 'user');
  assert.equal((await createProduct(token)).status, 403);
});

test('grant: admin from the next login; revoke: user from the next login, and a token issued before is refused on admin routes at once', async () => {
  const email = `Ops-${randomUUID()}@test.local`;
  const before = await signUpAndLogIn(email);
  assert.equal(roleIn(before), 'user');

  const granted = await adminCommand(['grant', email.toLowerCase()], env());
  assert.equal(granted.code, 0, granted.err.join('\n'));
  assert.match(granted.out.join('\n'), /now an admin/);
  assert.equal(roleIn(before), 'user');
  assert.equal((await createProduct(before)).status, 403, 'a token keeps the role of its login');
  const adminToken = await logIn(email);
  assert.equal(roleIn(adminToken), 'admin');
  assert.equal((await createProduct(adminToken)).status, 201);
  assert.ok((await adminCommand(['list'], env())).out.includes(email), 'listed as stored');
  assert.match((await adminCommand(['grant', email], env())).out.join('\n'), /already an admin/);

  const revoked = await adminCommand(['revoke', email], env());
  assert.equal(revoked.code, 0, revoked.err.join('\n'));
  const refused = await createProduct(adminToken);
  assert.equal(refused.status, 403, 'the database no longer says admin');
  assert.equal(refused.body.error, 'forbidden');
  assert.equal(roleIn(await logIn(email)), 'user');
  assert.ok(!(await adminCommand(['list'], env())).out.includes(email));
});

/** The command as an operator runs it: its exit code and what it printed. */
function runCli(args: string[], extraEnv: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/admin.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...extraEnv } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('npm run admin says what went wrong and exits non-zero: unknown email 1, usage 2, no database 3', async () => {
  const unknown = await runCli(['grant', `nobody-${randomUUID()}@test.local`], env());
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no account with the email/);
  const usage = await runCli(['promote', 'x@test.local'], env());
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: npm run admin -- grant <email>/);
  const unreachable = await runCli(['list'], { DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/flashsale' });
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, /cannot reach PostgreSQL at 127\.0\.0\.1:1\/flashsale/);
  const unset = await adminCommand(['list'], { LOCAL_POSTGRES_PORT: '1' });
  assert.equal(unset.code, 3, "unset DATABASE_URL: npm start's PostgreSQL");
  assert.match(unset.err.join('\n'), /start it with npm start, or set DATABASE_URL/);
});
