// npm run stress [-- --short] [-- --room]: brings up its own stack, seeds buyers and a sale, runs
// artillery/flash-sale.yml against the gateway, prints artillery's summary, then checks the
// invariants of docs/design.md §5 against the attempts artillery recorded. Exits non-zero when an
// `ensure` threshold or an invariant fails. With --room: 10,000 buyers (1,200 with --short)
// through the sale's waiting room (artillery/waiting-room.yml), and the admission log checked
// against the orders after the sale is ended.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { signingKeyFromSetting } from '../functions/src/lib/keys.ts';
import { signAccessToken } from '../functions/src/lib/tokens.ts';
import type { QueueLog } from '@flash-sale/contract';
import { checkAdmissionLog, type OrderSpan } from '../functions/src/checker/admission-log.ts';
import { checkWhenQuiet, History, type Attempt } from '../functions/src/checker/invariants.ts';
import { localSigningKey } from './local/keys.ts';
import { onShutdown, progress } from './local/system.ts';
import { seedUsers } from './seed-users.ts';
import { ROOT, startStack } from './stack.ts';

const { values: flags } = parseArgs({ options: { short: { type: 'boolean', default: false }, room: { type: 'boolean', default: false } } });
const BUYERS = flags.room && !flags.short ? 10_000 : flags.short ? 1200 : 4000;
const STOCK = flags.room && !flags.short ? 1000 : flags.short ? 100 : 500;
/**
 * --room: the sale's waiting room, opening a while after the first arrivals (so they are drawn
 * from the pre-queue); admissions at a rate that sells the stock out in seconds once buyers buy.
 */
const ROOM = {
  opensInMs: flags.short ? 5000 : 15_000,
  settings: { mode: 'always', admit_per_second: flags.short ? 50 : 200, admission_seconds: 120, proof_of_work_bits: 8 },
};
const DATA = path.join(ROOT, '.local/stress');
const HISTORY_FILE = path.join(DATA, 'history.jsonl');

const stack = await startStack({
  name: 'stress',
  gatewayPort: 29080,
  redisPort: 29390,
  postgresPort: 29440,
  database: 'flashsale_stress',
  keyPrefix: 'stress:',
  admin: { email: 'admin@stress.local' },
  fresh: true,
  logDir: path.join(DATA, 'logs'),
  sweepEveryMs: 2000,
  dispatch: { perSecond: 2000, concurrency: 64 },
  extraEnv: { LOG_LEVEL: 'warn' },
});
/** Artillery while it runs: a Ctrl-C or SIGTERM stops it with the stack, not after it. */
let load: ReturnType<typeof spawn> | undefined;
onShutdown(async () => {
  load?.kill('SIGTERM');
  await stack.stop();
});
let code = 1;
const db = new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 4 });
const redis = new Redis(stack.env.REDIS_URL ?? '', { keyPrefix: 'stress:' });
try {
  const env = stack.env;
  await seedUsers({
    count: BUYERS,
    out: path.join(DATA, 'users.csv'),
    databaseUrl: env.DATABASE_URL ?? '',
    issuer: env.JWT_ISSUER ?? '',
    audience: env.JWT_AUDIENCE ?? '',
    ttlSeconds: 3600,
  });
  const key = await signingKeyFromSetting((await localSigningKey(path.join(ROOT, '.local'))).privateKey);
  const admin = await signAccessToken(key, { userId: stack.admin?.userId ?? '', role: 'admin' }, {
    issuer: env.JWT_ISSUER ?? '',
    audience: env.JWT_AUDIENCE ?? '',
    ttlSeconds: 600,
  });
  const post = async (p: string, body: unknown) => {
    const answer = await fetch(stack.gatewayUrl + p, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!answer.ok) throw new Error(`${p}: ${answer.status} ${await answer.text()}`);
    return (await answer.json()) as Record<string, string>;
  };
  const product = await post('/products', { name: 'Stress-test sneaker', price_in_cent: 9999 });
  const startsAt = new Date(Date.now() + (flags.room ? ROOM.opensInMs : -1000)).toISOString();
  const sale = await post('/sales', {
    product_id: product.product_id,
    starts_at: startsAt,
    ends_at: new Date(Date.now() + 3_600_000).toISOString(),
    stock: STOCK,
    ...(flags.room ? { waiting_room: ROOM.settings } : {}),
  });
  progress(`sale of ${STOCK} for ${BUYERS} buyers${flags.room ? ' through its waiting room' : ''}; artillery ${flags.short ? '(short)' : ''} against ${stack.gatewayUrl}`);
  const startedAt = Date.now();

  rmSync(HISTORY_FILE, { force: true });
  const artillery = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        // A larger young generation: artillery allocates per request and spent 11% of its CPU
        // collecting; it shares this machine's two cores with the stack it measures.
        '--max-semi-space-size=64',
        path.join(ROOT, 'node_modules/artillery/bin/run'),
        'run',
        ...(flags.short ? ['-e', 'short'] : []),
        '--output',
        path.join(DATA, 'report.json'),
        path.join(ROOT, flags.room ? 'artillery/waiting-room.yml' : 'artillery/flash-sale.yml'),
      ],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          // The address, not localhost: artillery would resolve the name for every buyer's connection.
          FLASH_SALE_URL: stack.gatewayUrl.replace('//localhost:', '//127.0.0.1:'),
          SALE_ID: sale.sale_id,
          PRODUCT_ID: product.product_id,
          HISTORY_FILE,
          STARTS_AT: startsAt,
          PROOF_BITS: String(flags.room ? ROOM.settings.proof_of_work_bits : 0),
          ARTILLERY_DISABLE_TELEMETRY: 'true',
        },
      },
    );
    load = child;
    child.on('exit', (c) => {
      load = undefined;
      resolve(c ?? 1);
    });
  });

  const history = new History();
  for (const line of readFileSync(HISTORY_FILE, 'utf8').split('\n').filter(Boolean)) history.record(JSON.parse(line) as Attempt);
  progress(`artillery exited ${artillery}; checking the invariants over ${history.summary()}`);
  const { violations, facts } = await checkWhenQuiet(db, redis, sale.sale_id ?? '', history, 60_000);
  console.log(`\nInvariants after the run: ${facts.live} of ${facts.stock} units sold, ${facts.failed} failed orders, Redis left ${facts.redisLeft}.`);
  for (const [kind, count] of Object.entries(violations)) console.log(`  ${count === 0 ? '✓' : '✗'} ${kind}: ${count}`);
  const violated = Object.values(violations).some((n) => n > 0);
  progress(`artillery and the checks took ${Math.round((Date.now() - startedAt) / 1000)} s`);
  const roomBroken = flags.room ? !(await checkRoomLog(stack.gatewayUrl, post, db, sale.sale_id ?? '')) : false;
  code = artillery !== 0 || violated || roomBroken || history.count('ok') === 0 ? 1 : 0;
} finally {
  redis.disconnect();
  await db.end();
  await stack.stop();
}
process.exit(code);

/**
 * --room: the sale is ended, and its published admission log (GET /sales/{id}/queue/log)
 * checked against its orders by the waiting room's checker (functions/src/checker/admission-log.ts,
 * as npm run check does): the seed, the draw, admissions in place order, never more admitted
 * and unserved than units, no order without an admission.
 */
async function checkRoomLog(
  gatewayUrl: string,
  post: (p: string, body: unknown) => Promise<Record<string, string>>,
  db: pg.Pool,
  saleId: string,
): Promise<boolean> {
  await post('/sales/update', { sale_id: saleId, ends_at: new Date(Date.now() + 1000).toISOString() });
  await new Promise((r) => setTimeout(r, 1500));
  const answer = await fetch(`${gatewayUrl}/sales/${saleId}/queue/log`);
  if (answer.status !== 200) {
    console.log(`  ✗ admission log: ${answer.status} ${await answer.text()}`);
    return false;
  }
  const log = (await answer.json()) as QueueLog;
  const orders = await db.query<OrderSpan>(
    `SELECT floor(extract(epoch FROM created_at) * 1000)::float8 AS taken_ms,
            CASE WHEN status IN ('failed', 'expired', 'cancelled') THEN floor(extract(epoch FROM updated_at) * 1000)::float8 END AS released_ms
       FROM orders WHERE sale_id = $1`,
    [saleId],
  );
  const violations = checkAdmissionLog(log, orders.rows, { mode: 'always', stock: STOCK, admissionSeconds: ROOM.settings.admission_seconds });
  const admitted = log.entries.filter((e) => e.admitted).length;
  console.log(`\nAdmission log: ${log.entries.length} in the queue, ${admitted} admitted, ${orders.rows.length} orders.`);
  for (const [kind, count] of Object.entries(violations)) console.log(`  ${count === 0 ? '✓' : '✗'} ${kind}: ${count}`);
  return Object.values(violations).every((n) => n === 0);
}
