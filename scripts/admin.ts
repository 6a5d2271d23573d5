// npm run admin -- grant <email> | revoke <email> | list: who administers products and sales.
// Nobody proves they own an email here, so no sign-up makes an admin: an operator sets the role
// in the database, and a token carries the role the database held at its login.
// DATABASE_URL (and DATABASE_CA, as the functions read them) names the database; unset, it is
// npm start's (LOCAL_POSTGRES_PORT, default 5440).
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { connectionConfig, type Queryable } from '../functions/src/lib/db.ts';
import type { Role } from '../functions/src/lib/auth.ts';
import { hashPassword, type ScryptParams } from '../functions/src/lib/passwords.ts';

/** What `npm start` serves: its PostgreSQL and database. */
export function localDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return `postgres://postgres:postgres@127.0.0.1:${env.LOCAL_POSTGRES_PORT || 5440}/flashsale`;
}

export class UnknownEmail extends Error {
  constructor(readonly email: string) {
    super(`no account with the email ${email}: it signs up first (POST /users), then grant it`);
  }
}

/** Sets the role of the account with `email` (any case); `false` when it already had that role. */
export async function setRole(db: Queryable, email: string, role: Role): Promise<boolean> {
  const { rows } = await db.query<{ before: string }>(
    `WITH old AS (SELECT user_id, role FROM users WHERE lower(email) = lower($1) FOR UPDATE)
     UPDATE users SET role = $2 FROM old WHERE users.user_id = old.user_id RETURNING old.role AS before`,
    [email, role],
  );
  if (!rows[0]) throw new UnknownEmail(email);
  return rows[0].before !== role;
}

export async function listAdmins(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ email: string }>("SELECT email FROM users WHERE role = 'admin' ORDER BY lower(email)");
  return rows.map((r) => r.email);
}

/**
 * A local stack's admin: the account with `email` created, or its password reset, with role
 * admin, so that the password the stack prints is always the one that logs in.
 */
export async function ensureAdminAccount(db: Queryable, email: string, password: string, params: ScryptParams): Promise<string> {
  const passwordHash = await hashPassword(password, params);
  const { rows } = await db.query<{ user_id: string }>(
    `INSERT INTO users (email, password_hash, role) VALUES ($1, $2, 'admin')
     ON CONFLICT (lower(email)) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = 'admin'
     RETURNING user_id`,
    [email, passwordHash],
  );
  return rows[0]?.user_id ?? '';
}

const USAGE = `usage: npm run admin -- grant <email> | revoke <email> | list
  grant   makes the account with that email an admin from its next login
  revoke  makes it a plain user from its next login; admin calls with a token it already holds are refused at once
  list    prints the admins' emails
DATABASE_URL names the database (unset: npm start's, ${localDatabaseUrl()}).
Exit codes: 0 done, 1 no account with that email, 2 usage, 3 the database could not be reached.`;

/** The command itself: what it prints and its exit code. */
export async function adminCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string[]; err: string[] }> {
  const [action, email, ...rest] = args;
  const needsEmail = action === 'grant' || action === 'revoke';
  if (!(needsEmail || action === 'list') || (needsEmail ? !email || rest.length > 0 : email !== undefined)) {
    return { code: 2, out: [], err: [USAGE] };
  }
  const databaseUrl = env.DATABASE_URL || localDatabaseUrl(env);
  const client = new pg.Client({ ...connectionConfig({ DATABASE_URL: databaseUrl, DATABASE_CA: env.DATABASE_CA || undefined }), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    const where = new URL(databaseUrl);
    const hint = env.DATABASE_URL ? 'check DATABASE_URL' : 'start it with npm start, or set DATABASE_URL';
    return { code: 3, out: [], err: [`cannot reach PostgreSQL at ${where.host}${where.pathname} (${(err as Error).message}): ${hint}`] };
  }
  try {
    if (action === 'list') return { code: 0, out: await listAdmins(client), err: [] };
    const role: Role = action === 'grant' ? 'admin' : 'user';
    const changed = await setRole(client, email ?? '', role);
    const what = role === 'admin' ? 'an admin' : 'not an admin';
    return { code: 0, out: [`${email} is ${changed ? 'now' : 'already'} ${what}${changed ? ' from its next login' : ''}`], err: [] };
  } catch (err) {
    if (err instanceof UnknownEmail) return { code: 1, out: [], err: [err.message] };
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { code, out, err } = await adminCommand(process.argv.slice(2));
  for (const line of out) console.log(line);
  for (const line of err) console.error(line);
  process.exitCode = code;
}
