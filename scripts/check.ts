// npm run check -- --sale <sale_id> | --all: the invariants of docs/design.md §5 checked
// against a deployment's PostgreSQL and Redis (DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, and
// DATABASE_CA / REDIS_TLS_CA as the functions read them), by the checker the fault suite and
// the stress run use (functions/src/checker/invariants.ts). Prints a verdict per invariant
// and sale; exits 1 when one is violated, 2 on a usage error or a store that does not answer.
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  check,
  DEFAULT_HOLD_GRACE_MS,
  verdicts,
  violated,
  type SaleFacts,
  type Verdict,
  type Violations,
} from '../functions/src/checker/invariants.ts';
import { admissionDetails, checkAdmissionLog, type OrderSpan } from '../functions/src/checker/admission-log.ts';
import { config } from '../functions/src/lib/config.ts';
import { connectionConfig } from '../functions/src/lib/db.ts';
import { createRedis, type FlashRedis } from '../functions/src/lib/redis.ts';
import { roomLog } from '../functions/src/lib/scripts.ts';

const USAGE = `usage: npm run check -- (--sale <sale_id> | --all) [--wait <seconds>] [--grace <seconds>] [--key-prefix <prefix>]

  --sale <id>      check one sale (repeatable)
  --all            check every sale in PostgreSQL
  --wait <s>       how long to wait for a sale to be quiet before judging conservation (default 10)
  --grace <s>      how long past its deadline an order may still be open: a hold past expires_at,
                   an order pending past PENDING_GIVE_UP_AFTER_MS (default ${DEFAULT_HOLD_GRACE_MS / 1000})
  --key-prefix <p> Redis key prefix (default: REDIS_KEY_PREFIX)

Reads DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, PENDING_GIVE_UP_AFTER_MS, DATABASE_CA and REDIS_TLS_CA.
Exit status: 0 every invariant held (or could not be judged yet), 1 one was violated, 2 usage or connection error.`;

function parse() {
  try {
    const { values } = parseArgs({
      options: {
        sale: { type: 'string', multiple: true },
        all: { type: 'boolean' },
        wait: { type: 'string', default: '10' },
        grace: { type: 'string', default: String(DEFAULT_HOLD_GRACE_MS / 1000) },
        'key-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const waitS = Number(values.wait);
    const graceS = Number(values.grace);
    if (values.help) return { help: true as const };
    if (!values.all && !values.sale?.length) throw new Error('name a sale (--sale <id>) or --all');
    if (!(waitS >= 0) || !(graceS >= 0)) throw new Error('--wait and --grace take a number of seconds');
    return { help: false as const, sales: values.sale ?? [], all: values.all ?? false, waitMs: waitS * 1000, graceMs: graceS * 1000, keyPrefix: values['key-prefix'] };
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const args = parse();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const { waitMs, graceMs } = args;
if (args.keyPrefix !== undefined) process.env.REDIS_KEY_PREFIX = args.keyPrefix;
const cfg = config();
const db = new pg.Pool({ ...connectionConfig(cfg), max: 2, connectionTimeoutMillis: 5000 });
db.on('error', () => undefined);
const redis = createRedis({ enableAutoPipelining: false, maxRetriesPerRequest: 1, commandTimeout: 5000, lazyConnect: true });
redis.removeAllListeners('error');
redis.on('error', () => undefined);

/** Checks until the sale is quiet enough to judge conservation, or the wait is over. */
async function checkSale(saleId: string): Promise<{ violations: Violations; facts: SaleFacts }> {
  const deadline = Date.now() + waitMs;
  const options = { pendingDeadlineMs: cfg.PENDING_GIVE_UP_AFTER_MS + graceMs, holdGraceMs: graceMs };
  for (;;) {
    const result = await check(db, redis, saleId, undefined, options);
    if (result.facts.conservation !== 'not_quiet' || Date.now() >= deadline) return result;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * An ended sale's waiting room: its admission log (room-4.lua, what GET /sales/{id}/queue/log
 * publishes) against its orders (functions/src/checker/admission-log.ts). Null without a room,
 * before the end, or when Redis no longer has the log.
 */
async function checkRoom(saleId: string): Promise<Verdict | null> {
  const { rows } = await db.query<{ room_mode: 'off' | 'always' | 'above'; stock: number; room_admission_seconds: number; ended: boolean }>(
    'SELECT room_mode, stock, room_admission_seconds, ends_at <= now() AS ended FROM flash_sales WHERE sale_id = $1',
    [saleId],
  );
  const sale = rows[0];
  if (!sale || sale.room_mode === 'off' || !sale.ended) return null;
  const log = await roomLog(saleId, redis as FlashRedis);
  if (typeof log === 'string') return { invariant: '7. waiting room', verdict: 'not checked', details: [`no log in Redis (${log})`] };
  const orders = await db.query<OrderSpan>(
    `SELECT floor(extract(epoch FROM created_at) * 1000)::float8 AS taken_ms,
            CASE WHEN status IN ('failed', 'expired', 'cancelled') THEN floor(extract(epoch FROM updated_at) * 1000)::float8 END AS released_ms
       FROM orders WHERE sale_id = $1`,
    [saleId],
  );
  const violations = checkAdmissionLog(log, orders.rows, {
    mode: sale.room_mode,
    stock: sale.stock,
    admissionSeconds: sale.room_admission_seconds,
  });
  const details = admissionDetails(violations);
  return { invariant: '7. waiting room', verdict: details.length ? 'violated' : 'held', details };
}

const MARK: Record<Verdict['verdict'], string> = { held: '✓', violated: '✗', 'not checked': '?' };

let code = 0;
try {
  const reach = (store: string) => (err: unknown) => {
    throw new Error(`${store} does not answer: ${(err as Error).message}`);
  };
  await redis.connect().catch(reach('Redis (REDIS_URL)'));
  await db.query('SELECT 1').catch(reach('PostgreSQL (DATABASE_URL)'));
  const sales = args.all
    ? (await db.query<{ sale_id: string }>('SELECT sale_id FROM flash_sales ORDER BY starts_at, sale_id')).rows.map((r) => r.sale_id)
    : args.sales;
  let broken = 0;
  for (const saleId of sales) {
    const known = await db.query('SELECT 1 FROM flash_sales WHERE sale_id::text = $1', [saleId]);
    if (known.rowCount === 0) {
      console.log(`sale ${saleId}: not found in PostgreSQL`);
      code = 2;
      continue;
    }
    const { violations, facts } = await checkSale(saleId);
    const room = await checkRoom(saleId);
    const list = [...verdicts(violations, facts, { history: false }), ...(room ? [room] : [])];
    console.log(
      `sale ${saleId}: stock ${facts.stock}, sold ${facts.sold} (${facts.confirmed} confirmed), ${facts.failed} failed; ` +
        `Redis: ${facts.redisLeft ?? 'no keys'} left, ${facts.redisPending} pending`,
    );
    for (const v of list) console.log(`  ${MARK[v.verdict]} ${v.invariant}: ${v.verdict}${v.details.length ? ` (${v.details.join('; ')})` : ''}`);
    if (violated(list)) broken++;
  }
  console.log(`${sales.length} sale(s) checked, ${broken} with a violation`);
  if (broken > 0) code = 1;
} catch (err) {
  console.error(`check: ${(err as Error).message}`);
  code = 2;
} finally {
  redis.disconnect();
  await db.end();
}
process.exit(code);
