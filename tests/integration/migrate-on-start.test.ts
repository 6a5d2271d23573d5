// MIGRATE_ON_START: two instances starting together against an empty database (one on the
// Functions Framework, one on the lean host) both come up, and the schema is there, applied once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { migrate } from '../../functions/src/lib/migrate.ts';
import { closeHelpers, database, eventually } from '../helpers.ts';

after(closeHelpers);

const ROOT = path.join(import.meta.dirname, '../..');
const FRAMEWORK_MAIN = path.join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');

function databaseUrl(name: string): string {
  const url = new URL(process.env.DATABASE_URL ?? '');
  url.pathname = `/${name}`;
  return url.toString();
}

async function health(port: number): Promise<true | undefined> {
  try {
    const answer = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    return answer.status === 200 ? true : undefined;
  } catch {
    return undefined;
  }
}

test('MIGRATE_ON_START=true: two instances starting at once on an empty database both serve, and the schema is applied once', async (t) => {
  const name = `flashsale_mig_${Date.now().toString(36)}`;
  await database().query(`CREATE DATABASE ${name}`);
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const child of children) {
      if (child.exitCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
    }
    await database().query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  const base = Number(process.env.TEST_GATEWAY_PORT ?? 18080) + 20;
  const env = { ...process.env, DATABASE_URL: databaseUrl(name), MIGRATE_ON_START: 'true', LOG_LEVEL: 'warn' };
  const output: string[] = [];
  const start = (args: string[], extra: Record<string, string>) => {
    const child = spawn(process.execPath, args, { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    children.push(child);
    return child;
  };
  start([FRAMEWORK_MAIN, '--target=users', `--port=${base}`, `--source=${path.join(ROOT, 'functions')}`], {});
  start([path.join(ROOT, 'functions/dist/lean-host.js')], { TARGET: 'users', PORT: String(base + 1) });

  for (const port of [base, base + 1]) {
    await eventually(`the instance on ${port} serves (output: ${output.join('').slice(-2000)})`, async () => {
      if (children.some((c) => c.exitCode !== null)) throw new Error(`an instance exited: ${output.join('')}`);
      return health(port);
    });
  }
  const fresh = new pg.Client({ connectionString: databaseUrl(name) });
  await fresh.connect();
  try {
    const { rows } = await fresh.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY id');
    assert.ok(rows.length >= 2, 'every migration recorded');
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, 'each applied once');
    const tables = await fresh.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('users', 'orders', 'flash_sales', 'products')");
    assert.equal(tables.rows[0]?.n, 4);
  } finally {
    await fresh.end();
  }
});

test('three migrations at once on an empty database: the lock holders wait their turn, none fails', async (t) => {
  const name = `flashsale_mig_${Date.now().toString(36)}_c`;
  await database().query(`CREATE DATABASE ${name}`);
  t.after(() => database().query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const waited: string[] = [];
  const log = (m: string) => {
    if (m.includes('another instance is migrating')) waited.push(m);
  };
  await Promise.all([migrate(databaseUrl(name), log), migrate(databaseUrl(name), log), migrate(databaseUrl(name), log)]);
  assert.ok(waited.length > 0, 'the runs did contend for the lock');
  const fresh = new pg.Client({ connectionString: databaseUrl(name) });
  await fresh.connect();
  try {
    const { rows } = await fresh.query<{ name: string }>('SELECT name FROM schema_migrations');
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, 'each applied once');
    assert.ok(rows.length >= 2);
  } finally {
    await fresh.end();
  }
});

test('a bad setting stops the instance at start, naming the variable', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'functions/dist/lean-host.js')], {
    env: { ...process.env, TARGET: 'users', PORT: '0', MIGRATE_ON_START: 'yes' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.notEqual(code, 0);
  assert.match(text, /MIGRATE_ON_START/);
});
