// npm run seed:users -- --count N [--out FILE]: N users straight into PostgreSQL in bulk (not
// N HTTP signups), and a CSV of email, password, user_id and a ready token for artillery.
// DATABASE_URL names the database (default: npm start's); tokens are signed with the local key.
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { hashPassword } from '../functions/src/lib/passwords.ts';
import { signingKeyFromSetting } from '../functions/src/lib/keys.ts';
import { signAccessToken } from '../functions/src/lib/tokens.ts';
import { localSigningKey } from './local/keys.ts';
import { progress } from './local/system.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHUNK = 5000;

export interface SeedOptions {
  count: number;
  out: string;
  databaseUrl: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/** Inserts the users in chunks (one shared password, hashed once) and writes the CSV. */
export async function seedUsers(options: SeedOptions): Promise<void> {
  const password = `seeded-${randomBytes(6).toString('hex')}`;
  const hash = await hashPassword(password);
  const key = await signingKeyFromSetting((await localSigningKey(path.join(ROOT, '.local'))).privateKey);
  mkdirSync(path.dirname(options.out), { recursive: true });
  const csv = createWriteStream(options.out);
  csv.write('email,password,user_id,token\n');
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
  const run = randomBytes(4).toString('hex');
  try {
    for (let done = 0; done < options.count; ) {
      const n = Math.min(CHUNK, options.count - done);
      const { rows } = await pool.query<{ user_id: string; email: string }>(
        `INSERT INTO users (email, password_hash)
         SELECT 'buyer-' || $1 || '-' || g || '@seed.local', $2 FROM generate_series($3::int, $4::int) AS g
         RETURNING user_id, email`,
        [run, hash, done + 1, done + n],
      );
      for (const row of rows) {
        const token = await signAccessToken(key, { userId: row.user_id, role: 'user' }, options);
        csv.write(`${row.email},${password},${row.user_id},${token}\n`);
      }
      done += n;
      progress(`seeded ${done}/${options.count} users`);
    }
  } finally {
    await pool.end();
    await new Promise((resolve) => csv.end(resolve));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { count: { type: 'string' }, out: { type: 'string', default: path.join(ROOT, '.local/seed/users.csv') } },
  });
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
    console.error('usage: npm run seed:users -- --count N [--out FILE]   (N from 1 to 1,000,000)');
    process.exit(2);
  }
  await seedUsers({
    count,
    out: path.resolve(values.out),
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5440/flashsale',
    issuer: process.env.JWT_ISSUER ?? `http://localhost:${process.env.PORT ?? 8080}`,
    audience: process.env.JWT_AUDIENCE ?? 'flash-sale',
    ttlSeconds: Number(process.env.TOKEN_TTL_SECONDS ?? 3600),
  });
  progress(`wrote ${values.out}`);
}
