// npm run bench: measures, in ONE run on this machine, the purchase path against the
// hello-worlds of the hosts that carry it, cases alternated so that drift hits all alike.
// Prints requests/s, p50/p99/max latency, errors and ratios; checks the sales afterwards;
// writes bench-results/latest.json. Flags: --rounds N (3), --duration S (3), --stock N (10000).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ROOT, startStack, type Stack } from './stack.ts';
import { progress, waitFor } from './local/system.ts';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    stock: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '100' },
  },
});
const ROUNDS = Number(flags.rounds);
const DURATION = Number(flags.duration);
const STOCK = Number(flags.stock);
const CONNECTIONS = Number(flags.connections);
/** Below Linux's ephemeral range (32768+), so that no outgoing socket holds one of them. */
const BASE = 30080;
const FRAMEWORK_MAIN = path.join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');

const children: ChildProcess[] = [];
function host(args: string[], port: number, env: Record<string, string> = {}): string {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return `http://127.0.0.1:${port}`;
}

async function up(url: string, probe = '/'): Promise<void> {
  await waitFor(url, async () => {
    try {
      await (await fetch(url + probe, { signal: AbortSignal.timeout(1000) })).arrayBuffer();
      return true;
    } catch {
      return false;
    }
  });
}

interface Case {
  name: string;
  host: 'node:http' | 'Functions Framework' | 'Express 5';
  url: string;
  method: 'GET' | 'POST';
  path: string;
  body?: () => string;
  /** Sends the verified-claims header of a distinct user per request. */
  asBuyers?: boolean;
  baseline?: string;
}

interface Round {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  accepted: number;
}

let nextUser = 0;
let userHeaders: string[] = [];

async function measure(c: Case, seconds: number, stopWhen?: () => Promise<boolean>): Promise<Round> {
  const headers = { 'content-type': 'application/json' };
  let instance: autocannon.Instance | undefined;
  const run = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({
    url: c.url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: c.method,
        path: c.path,
        headers,
        setupRequest: (req) => ({
          ...req,
          body: c.body?.(),
          headers: c.asBuyers
            ? { ...headers, 'x-apigateway-api-userinfo': userHeaders[nextUser++ % userHeaders.length] ?? '' }
            : headers,
        }),
      },
    ],
  }, (err, result) => (err ? reject(err) : resolve(result)));
  });
  const watch = stopWhen
    ? setInterval(() => void stopWhen().then((stop) => stop && instance?.stop()), 250)
    : undefined;
  const result = await run;
  clearInterval(watch);
  const codes = result.statusCodeStats as unknown as Record<string, { count: number }>;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    accepted: codes['202']?.count ?? 0,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main() {
  progress('bringing up the services (bench stack, fresh data)');
  const stack: Stack = await startStack({
    name: 'bench',
    gatewayPort: BASE,
    redisPort: 30390,
    postgresPort: 30440,
    database: 'flashsale_bench',
    keyPrefix: 'bench:',
    adminEmails: 'admin@bench.local',
    fresh: true,
    logDir: path.join(ROOT, '.local/bench/logs'),
    sweepEveryMs: 5000,
    extraEnv: { LOG_LEVEL: 'warn', ORDER_RATE_USER_BURST: '5' },
    dispatch: { perSecond: 5000, concurrency: 200 },
  });
  const redis = new Redis(stack.env.REDIS_URL ?? '', { keyPrefix: 'bench:' });
  const tokensLeft = async (saleId: string) => Number(await redis.get(`fs:{${saleId}}:stock`));
  const db = new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 4 });
  try {
    // BENCH_PROFILE=1: the lean host writes a V8 CPU profile to .local/bench/profiles on exit.
    const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, '.local/bench/profiles')}`] : [];
    const lean = host([...profile, path.join(ROOT, 'functions/dist/lean-host.js')], BASE + 10, { ...stack.env, TARGET: 'orders' });
    const nodeHello = host([path.join(import.meta.dirname, 'bench/hello-node.mjs')], BASE + 11);
    const ffHello = host([FRAMEWORK_MAIN, '--target=hello', `--source=${path.join(import.meta.dirname, 'bench/hello-ff.cjs')}`], BASE + 12);
    const ffHelloProd = host([FRAMEWORK_MAIN, '--target=hello', `--source=${path.join(import.meta.dirname, 'bench/hello-ff.cjs')}`], BASE + 13, { NODE_ENV: 'production' });
    const expressHello = host([path.join(import.meta.dirname, 'bench/hello-express.mjs')], BASE + 14);
    // The framework runs every request inside an AsyncLocalStorage; on Node 22 that turns on
    // promise hooks for every promise the handler makes, unless AsyncContextFrame carries it.
    const frame = { NODE_OPTIONS: '--experimental-async-context-frame' };
    const ffHelloFrame = host([FRAMEWORK_MAIN, '--target=hello', `--source=${path.join(import.meta.dirname, 'bench/hello-ff.cjs')}`], BASE + 15, frame);
    const ffOrdersFrame = host([FRAMEWORK_MAIN, '--target=orders', `--source=${path.join(ROOT, 'functions')}`], BASE + 16, { ...stack.env, ...frame });
    await Promise.all([up(lean, '/healthz'), up(nodeHello), up(ffHello), up(ffHelloProd), up(expressHello), up(ffHelloFrame), up(ffOrdersFrame, '/healthz')]);

    progress('seeding buyers and two sales');
    const { rows: users } = await db.query<{ user_id: string }>(
      `INSERT INTO users (email, password_hash)
       SELECT 'bench-' || g || '-' || $1 || '@bench.local', 'seeded-no-login' FROM generate_series(1, $2) AS g RETURNING user_id`,
      [Date.now(), 150_000],
    );
    userHeaders = users.map((u) => Buffer.from(JSON.stringify({ sub: u.user_id, role: 'user' })).toString('base64url'));
    const admin = Buffer.from(JSON.stringify({ sub: users[0]?.user_id, role: 'admin' })).toString('base64url');
    const sales = stack.functionUrls.sales;
    const adminPost = async (p: string, body: unknown) => {
      const answer = await fetch(sales + p, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apigateway-api-userinfo': admin },
        body: JSON.stringify(body),
      });
      if (!answer.ok) throw new Error(`${p}: ${answer.status} ${await answer.text()}`);
      return (await answer.json()) as { product_id: string; sale_id: string };
    };
    const newSale = async (name: string) => {
      const product = await adminPost('/products', { name, price_in_cent: 100 });
      const sale = await adminPost('/sales', {
        product_id: product.product_id,
        starts_at: new Date(Date.now() - 1000).toISOString(),
        ends_at: new Date(Date.now() + 3_600_000).toISOString(),
        stock: STOCK,
      });
      return { productId: product.product_id, saleId: sale.sale_id };
    };
    const ffSale = await newSale('bench on the framework');
    const leanSale = await newSale('bench on the lean host');
    const frameSale = await newSale('bench on the framework with AsyncContextFrame');

    const cases: Case[] = [
      { name: 'hello POST', host: 'node:http', url: nodeHello, method: 'POST', path: '/', body: () => '{"a":1}' },
      { name: 'hello POST', host: 'Functions Framework', url: ffHello, method: 'POST', path: '/', body: () => '{"a":1}' },
      { name: 'hello POST (NODE_ENV=production)', host: 'Functions Framework', url: ffHelloProd, method: 'POST', path: '/', body: () => '{"a":1}' },
      { name: 'hello POST', host: 'Express 5', url: expressHello, method: 'POST', path: '/', body: () => '{"a":1}' },
      {
        name: 'POST /orders',
        host: 'Functions Framework',
        url: stack.functionUrls.orders,
        method: 'POST',
        path: '/orders',
        body: () => JSON.stringify({ product_id: ffSale.productId }),
        asBuyers: true,
        baseline: 'Functions Framework hello POST',
      },
      {
        name: 'POST /orders',
        host: 'node:http',
        url: lean,
        method: 'POST',
        path: '/orders',
        body: () => JSON.stringify({ product_id: leanSale.productId }),
        asBuyers: true,
        baseline: 'node:http hello POST',
      },
      { name: 'GET /sales', host: 'Functions Framework', url: sales, method: 'GET', path: '/sales', baseline: 'Functions Framework hello POST' },
      { name: 'hello POST (async context frame)', host: 'Functions Framework', url: ffHelloFrame, method: 'POST', path: '/', body: () => '{"a":1}' },
      {
        name: 'POST /orders (async context frame)',
        host: 'Functions Framework',
        url: ffOrdersFrame,
        method: 'POST',
        path: '/orders',
        body: () => JSON.stringify({ product_id: frameSale.productId }),
        asBuyers: true,
        baseline: 'Functions Framework hello POST (async context frame)',
      },
    ];
    const key = (c: Case) => `${c.host} ${c.name}`;
    // The hot path alone: the worker waits (tasks pile up in the queue, as behind a paused
    // Cloud Tasks queue), so that persistence does not share these two cores with the measurement.
    await stack.control.pauseDispatcher();
    progress(`warming up ${cases.length} cases`);
    for (const c of cases) if (!c.asBuyers) await measure(c, 1);
    const rounds = new Map<string, Round[]>(cases.map((c) => [key(c), []]));
    for (let r = 1; r <= ROUNDS; r++) {
      for (const c of cases) {
        progress(`round ${r}/${ROUNDS}: ${key(c)}`);
        rounds.get(key(c))?.push(await measure(c, DURATION));
      }
    }
    stack.control.resumeDispatcher();

    const summary = cases.map((c) => {
      const rs = rounds.get(key(c)) ?? [];
      return {
        case: key(c),
        requests_per_s: Math.round(median(rs.map((x) => x.rps))),
        p50_ms: median(rs.map((x) => x.p50)),
        p99_ms: median(rs.map((x) => x.p99)),
        max_ms: Math.max(...rs.map((x) => x.max)),
        errors: rs.reduce((n, x) => n + x.errors, 0),
        non_2xx: rs.reduce((n, x) => n + x.non2xx, 0),
        accepted: rs.reduce((n, x) => n + x.accepted, 0),
        baseline: c.baseline,
      };
    });
    const rpsOf = (name: string) => summary.find((s) => s.case === name)?.requests_per_s ?? NaN;
    const rows = summary.map((s) => ({ ...s, ratio: s.baseline ? s.requests_per_s / rpsOf(s.baseline) : undefined }));

    interface SaleCheck {
      sale: string;
      stock: number;
      taken: number;
      confirmed: number;
      failed: number;
      sold: number | undefined;
      no_oversell: boolean;
      every_taken_confirmed: boolean;
      accepted_to_confirmed_p50_ms: number | undefined;
      accepted_to_confirmed_p99_ms: number | undefined;
    }
    const checks: SaleCheck[] = [];
    const checkSale = async (label: string, sale: { saleId: string }) => {
      const taken = STOCK - (await tokensLeft(sale.saleId));
      progress(`${label}: waiting for ${taken} taken units to be written`);
      await waitFor(`${label}: ${taken} orders written`, async () => {
        const { rows: r } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE sale_id = $1`, [sale.saleId]);
        return Number(r[0]?.n) >= taken;
      }, 180_000);
      const { rows: r } = await db.query<{ confirmed: string; failed: string; sold: number; p50: number; p99: number }>(
        `SELECT count(*) FILTER (WHERE o.status = 'confirmed') AS confirmed, count(*) FILTER (WHERE o.status = 'failed') AS failed,
                max(s.sold) AS sold,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.updated_at - o.created_at) * 1000) AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM o.updated_at - o.created_at) * 1000) AS p99
           FROM orders o JOIN flash_sales s USING (sale_id) WHERE o.sale_id = $1`,
        [sale.saleId],
      );
      const c = r[0];
      checks.push({
        sale: label,
        stock: STOCK,
        taken,
        confirmed: Number(c?.confirmed),
        failed: Number(c?.failed),
        sold: c?.sold,
        no_oversell: Number(c?.confirmed) <= STOCK && c?.sold === Number(c?.confirmed),
        every_taken_confirmed: Number(c?.confirmed) === taken,
        // The hot-path sales waited for the paused worker: their latency says nothing.
        accepted_to_confirmed_p50_ms: label === 'sell-out' ? Math.round(c?.p50 ?? NaN) : undefined,
        accepted_to_confirmed_p99_ms: label === 'sell-out' ? Math.round(c?.p99 ?? NaN) : undefined,
      });
    };
    await checkSale('hot path, framework', ffSale);
    await checkSale('hot path, lean host', leanSale);
    await checkSale('hot path, framework with AsyncContextFrame', frameSale);
    // The backlog of the paused phase is written by now, so the sell-out waits behind nothing.
    // Then a sell-out with the worker running: buyers until the stock is gone, then every unit confirmed.
    progress(`selling out ${STOCK} units on the framework with the worker running`);
    const sellOut = await newSale('bench sell-out');
    const sellOutCase: Case = {
      name: 'POST /orders (sell-out)',
      host: 'Functions Framework',
      url: stack.functionUrls.orders,
      method: 'POST',
      path: '/orders',
      body: () => JSON.stringify({ product_id: sellOut.productId }),
      asBuyers: true,
    };
    const sellOutRound = await measure(sellOutCase, 120, async () => (await tokensLeft(sellOut.saleId)) <= 0);

    await checkSale('sell-out', sellOut);


    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    console.log(`\nBench on ${machine}; ${ROUNDS} rounds × ${DURATION} s per case, ${CONNECTIONS} connections, medians:\n`);
    console.log('| case | req/s | p50 ms | p99 ms | max ms | errors | non-2xx | ratio to its host\'s hello |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const s of rows) {
      console.log(`| ${s.case} | ${s.requests_per_s} | ${s.p50_ms} | ${s.p99_ms} | ${s.max_ms} | ${s.errors} | ${s.non_2xx} | ${s.ratio === undefined ? '' : `${(s.ratio * 100).toFixed(0)}%`} |`);
    }
    console.log(`\nSell-out on the framework with the worker running: ${Math.round(sellOutRound.rps)} req/s, p50 ${sellOutRound.p50} ms, p99 ${sellOutRound.p99} ms.`);
    console.log('\n| sale | stock | taken in Redis | confirmed | failed | no oversell | every taken unit confirmed | 202→confirmed p50 / p99 ms |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const c of checks) {
      const latency = c.accepted_to_confirmed_p50_ms === undefined ? '(worker paused)' : `${c.accepted_to_confirmed_p50_ms} / ${c.accepted_to_confirmed_p99_ms}`;
      console.log(`| ${c.sale} | ${c.stock} | ${c.taken} | ${c.confirmed} | ${c.failed} | ${c.no_oversell ? 'yes' : 'NO'} | ${c.every_taken_confirmed ? 'yes' : 'NO'} | ${latency} |`);
    }
    const ratio = (name: string) => rows.find((r) => r.case === name)?.ratio ?? 0;
    const sellOutCheck = checks.find((c) => c.sale === 'sell-out');
    const leanRow = rows.find((r) => r.case === 'node:http POST /orders');
    const targets = [
      ['POST /orders on the lean host ≥ 50% of node:http hello', ratio('node:http POST /orders') >= 0.5],
      ['POST /orders on the lean host p99 ≤ 20 ms', (leanRow?.p99_ms ?? Infinity) <= 20],
      ['POST /orders on the framework ≥ 80% of its hello', ratio('Functions Framework POST /orders') >= 0.8],
      ['GET /sales ≥ 80% of its host\'s hello', ratio('Functions Framework GET /sales') >= 0.8],
      [`${STOCK} units sold out with exactly ${STOCK} confirmed`, sellOutCheck?.confirmed === STOCK && sellOutCheck.no_oversell],
      ['202→confirmed p99 ≤ 2 s', (sellOutCheck?.accepted_to_confirmed_p99_ms ?? Infinity) <= 2000],
      ['every taken unit confirmed, nothing oversold', checks.every((c) => c.every_taken_confirmed && c.no_oversell)],
    ] as const;
    console.log('\nTargets:');
    for (const [what, met] of targets) console.log(`  ${met ? '✓' : '✗'} ${what}`);

    mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
    const file = path.join(ROOT, 'bench-results/latest.json');
    writeFileSync(
      file,
      JSON.stringify(
        { at: new Date().toISOString(), machine, rounds: ROUNDS, duration_s: DURATION, connections: CONNECTIONS, cases: rows, sell_out: sellOutRound, sales: checks, targets: targets.map(([what, met]) => ({ what, met })) },
        null,
        2,
      ),
    );
    console.log(`\nwritten: ${path.relative(ROOT, file)}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await db.end();
    redis.disconnect();
    await stack.stop();
  }
}

await main();
