// npm run bench: measures, in ONE run on this machine, the purchase path against the
// hello-worlds of the hosts that carry it, cases alternated so that drift hits all alike.
// Prints requests/s, p50/p99/max latency, errors, ratios and CPU per request of the host, Redis
// and the load generator; checks the sales afterwards; writes bench-results/latest.json.
// Flags: --rounds N (5), --duration S (3), --connections N (100), --stock N (100000, the
// sell-out), --accept-share F (0.1, the hot-path sales' stock per request), --only REGEX
// (`--only sell-out` runs the sell-out alone), --dispatch N (500 tasks/s: Cloud Tasks' limit).
// POST /orders runs grouped (the product: ORDER_TAKE_GROUP_MAX's default) and one-by-one
// (ORDER_TAKE_GROUP_MAX=1, today's one call per attempt) on each host, at full load and with one
// attempt in flight; the sale's Redis is measured apart (CPU, take calls from INFO commandstats).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { saleKeys } from '../functions/src/lib/redis.ts';
import { ROOT, spawnFunction, startStack, type Stack } from './stack.ts';
import { progress, waitFor } from './local/system.ts';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    stock: { type: 'string', default: '100000' },
    /** The queue's dispatch rate, tasks a second: Cloud Tasks' most per queue (docs/cloud.md §6), as deployed. */
    dispatch: { type: 'string', default: '500' },
    /** The hot-path sales' stock, as a share of the requests of a round: acceptances among attempts. */
    'accept-share': { type: 'string', default: '0.1' },
    connections: { type: 'string', default: '100' },
    /** Only the cases whose name matches (a regular expression); the checks still run. */
    only: { type: 'string' },
  },
});
const ROUNDS = Number(flags.rounds);
const DURATION = Number(flags.duration);
const STOCK = Number(flags.stock);
const DISPATCH_PER_S = Number(flags.dispatch);
const ACCEPT_SHARE = Number(flags['accept-share']);
/** How many promises the "awaiting" hello-worlds await per request. */
const AWAITS = 20;
const CONNECTIONS = Number(flags.connections);
/** Below Linux's ephemeral range (32768+), so that no outgoing socket holds one of them. */
const BASE = 30080;
const FRAMEWORK_MAIN = path.join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');

const children: ChildProcess[] = [];
function host(args: string[], port: number, env: Record<string, string> = {}): string {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'ignore', 'inherit'] });
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
  /** Sends the verified-claims headers of these users in turn, across rounds (asBuyers' own list). */
  buyers?: string[];
  baseline?: string;
  /** Connections of the load generator (default --connections): 1 is one attempt in flight. */
  connections?: number;
}

/** CPU milliseconds used per 1,000 requests by the host, Redis (both; the sale's alone) and the load generator. */
interface CpuShare {
  host: number;
  redis: number;
  saleRedis: number;
  load: number;
}

interface Round {
  cpu: CpuShare;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  accepted: number;
  requests: number;
  /** Calls of Lua scripts on the sale's Redis (take-n.lua on the hot path), per request. */
  takeCallsPerRequest: number;
  /** The sale's Redis's CPU ms over the round, and the round's length. */
  saleRedisMs: number;
  seconds: number;
}

interface BenchSale {
  productId: string;
  saleId: string;
  stock: number;
}

/** The process listening on a local port, read from `ss`. */
function pidOnPort(port: number): number | undefined {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(out)?.[1];
  return pid ? Number(pid) : undefined;
}

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User + system CPU milliseconds a process has used so far (0 when it is gone). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** The stack's Redis servers: the sale's and the local queue's. */
let redisPids: (number | undefined)[] = [];
const redisCpuMs = () => redisPids.reduce<number>((sum, pid) => sum + cpuMs(pid), 0);
/**
 * The sale's Redis alone, where the take runs (the queue's Redis is the other), from its own
 * INFO: CPU ms so far (getrusage, finer than /proc's ticks) and script calls (EVALSHA, EVAL).
 */
let saleRedisStats: () => Promise<{ cpuMs: number; calls: number }> = () => Promise.resolve({ cpuMs: 0, calls: 0 });
/**
 * The sale's Redis's CPU ms per second with no request in flight (the sweeper, the instances'
 * sale-list refreshes and metrics): sampled for a second before each round, their mean (the
 * sweeper's passes are periodic: a median would miss them) is taken off each case's figure,
 * which is then the take's own.
 */
const idleSaleRedisMsPerS: number[] = [];
async function sampleIdleSaleRedis(): Promise<void> {
  const before = await saleRedisStats();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = await saleRedisStats();
  idleSaleRedisMsPerS.push(((after.cpuMs - before.cpuMs) * 1000) / (performance.now() - t0));
}
let nextUser = 0;
let userHeaders: string[] = [];
/** Where each case with its own buyers is in their list. */
const nextOfCase = new Map<Case, number>();
function ownBuyer(c: Case & { buyers: string[] }): string {
  const i = nextOfCase.get(c) ?? 0;
  nextOfCase.set(c, i + 1);
  return c.buyers[i % c.buyers.length] ?? '';
}

async function measure(c: Case, seconds: number, stopWhen?: () => Promise<boolean>): Promise<Round> {
  const headers = { 'content-type': 'application/json' };
  const saleBefore = await saleRedisStats();
  const t0 = performance.now();
  let instance: autocannon.Instance | undefined;
  const run = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({
    url: c.url,
    connections: c.connections ?? CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: c.method,
        path: c.path,
        headers,
        setupRequest: (req) => ({
          ...req,
          body: c.body?.(),
          headers: c.buyers
            ? { ...headers, 'x-apigateway-api-userinfo': ownBuyer(c as Case & { buyers: string[] }) }
            : c.asBuyers
              ? { ...headers, 'x-apigateway-api-userinfo': userHeaders[nextUser++ % userHeaders.length] ?? '' }
              : headers,
        }),
      },
    ],
  }, (err, result) => (err ? reject(err) : resolve(result)));
  });
  const hostPid = pidOnPort(Number(new URL(c.url).port));
  const before = { host: cpuMs(hostPid), redis: redisCpuMs(), load: process.cpuUsage() };
  const watch = stopWhen
    ? setInterval(() => void stopWhen().then((stop) => stop && instance?.stop()), 250)
    : undefined;
  const result = await run;
  clearInterval(watch);
  const load = process.cpuUsage(before.load);
  const elapsedS = (performance.now() - t0) / 1000;
  const saleAfter = await saleRedisStats();
  const calls = saleAfter.calls - saleBefore.calls;
  const per1k = (ms: number) => (ms * 1000) / Math.max(1, result.requests.total);
  const cpu = {
    host: per1k(cpuMs(hostPid) - before.host),
    redis: per1k(redisCpuMs() - before.redis),
    saleRedis: per1k(saleAfter.cpuMs - saleBefore.cpuMs),
    load: per1k((load.user + load.system) / 1000),
  };
  const codes = result.statusCodeStats as unknown as Record<string, { count: number }>;
  return {
    cpu,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    accepted: codes['202']?.count ?? 0,
    requests: result.requests.total,
    takeCallsPerRequest: calls / Math.max(1, result.requests.total),
    saleRedisMs: saleAfter.cpuMs - saleBefore.cpuMs,
    seconds: elapsedS,
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
    admin: { email: 'admin@bench.local' },
    fresh: true,
    logDir: path.join(ROOT, '.local/bench/logs'),
    sweepEveryMs: 5000,
    // info, as deployed: every request's access line is part of what is measured.
    extraEnv: { LOG_LEVEL: 'info', ORDER_RATE_USER_BURST: '5' },
    // The deployed queue's limits (terraform/modules/queue): orders reach the worker in tasks of several.
    dispatch: { perSecond: DISPATCH_PER_S, concurrency: 200 },
  });
  const redis = new Redis(stack.env.REDIS_URL ?? '', { keyPrefix: 'bench:' });
  redisPids = [stack.env.REDIS_URL, stack.env.QUEUE_REDIS_URL].map((url) => (url ? pidOnPort(Number(new URL(url).port)) : undefined));
  saleRedisStats = async () => {
    const info = (await redis.call('INFO', 'cpu', 'commandstats')) as string;
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    let calls = 0;
    for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(m[1]);
    return { cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000, calls };
  };
  const tokensLeft = async (saleId: string) => Number(await redis.get(saleKeys(saleId).stock));
  const db = new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 4 });
  try {
    // BENCH_PROFILE=1: the lean host writes a V8 CPU profile to .local/bench/profiles on exit.
    const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, '.local/bench/profiles')}`] : [];
    const helloFf = (port: number, env: Record<string, string> = {}) =>
      host([FRAMEWORK_MAIN, '--target=hello', `--source=${path.join(import.meta.dirname, 'bench/hello-ff.cjs')}`], port, env);
    const helloNode = (port: number, env: Record<string, string> = {}) => host([path.join(import.meta.dirname, 'bench/hello-node.mjs')], port, env);
    const lean = host([...profile, path.join(ROOT, 'functions/dist/lean-host.js')], BASE + 10, { ...stack.env, TARGET: 'orders' });
    // Today's take beside the grouped one, in the same run: one call of take-n.lua per attempt.
    const ONE_BY_ONE = { ORDER_TAKE_GROUP_MAX: '1' };
    const leanOneByOne = host([path.join(ROOT, 'functions/dist/lean-host.js')], BASE + 18, { ...stack.env, TARGET: 'orders', ...ONE_BY_ONE });
    // As the stack starts its orders function (its log to a file), one call per attempt.
    const ffOneByOneLogs = path.join(ROOT, '.local/bench/logs-one-by-one');
    mkdirSync(ffOneByOneLogs, { recursive: true });
    children.push(spawnFunction('orders', BASE + 19, { ...stack.env, ...ONE_BY_ONE }, ffOneByOneLogs));
    const ffOneByOne = `http://127.0.0.1:${BASE + 19}`;
    const nodeHello = helloNode(BASE + 11);
    const ffHello = helloFf(BASE + 12);
    const expressHello = host([path.join(import.meta.dirname, 'bench/hello-express.mjs')], BASE + 14);
    // The price of a promise on each host: the framework runs every request in a domain.
    const ffHelloAwaits = helloFf(BASE + 15, { AWAITS: String(AWAITS) });
    const nodeHelloAwaits = helloNode(BASE + 16, { AWAITS: String(AWAITS) });
    await Promise.all([up(lean, '/health'), up(leanOneByOne, '/health'), up(ffOneByOne, '/health'), up(nodeHello), up(ffHello), up(expressHello), up(ffHelloAwaits), up(nodeHelloAwaits)]);

    progress('seeding buyers');
    const { rows: users } = await db.query<{ user_id: string }>(
      `INSERT INTO users (email, password_hash)
       SELECT 'bench-' || g || '-' || $1 || '@bench.local', 'seeded-no-login' FROM generate_series(1, $2) AS g RETURNING user_id`,
      [Date.now(), 400_000],
    );
    userHeaders = users.map((u) => Buffer.from(JSON.stringify({ sub: u.user_id, role: 'user' })).toString('base64url'));
    const admin = Buffer.from(JSON.stringify({ sub: stack.admin?.userId, role: 'admin' })).toString('base64url');
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
    const newSale = async (name: string, stock: number): Promise<BenchSale> => {
      const product = await adminPost('/products', { name, price_in_cent: 100 });
      const sale = await adminPost('/sales', {
        product_id: product.product_id,
        starts_at: new Date(Date.now() - 1000).toISOString(),
        ends_at: new Date(Date.now() + 3_600_000).toISOString(),
        stock,
      });
      return { productId: product.product_id, saleId: sale.sale_id, stock };
    };

    // The floor of today's POST /orders on node:http: the take script alone, one call per
    // attempt, on a sold-out sale. The sale's Redis CPU per call here is its ceiling of calls/s.
    const floorSale = await newSale('bench floor: the take script alone', 0);
    const takeFloor = host([path.join(import.meta.dirname, 'bench/take-floor.mjs')], BASE + 17, { ...stack.env, SALE_ID: floorSale.saleId, ...ONE_BY_ONE });
    await up(takeFloor);

    const hello = (name: string, h: Case['host'], url: string, baseline?: string): Case => ({
      name, host: h, url, method: 'POST', path: '/', body: () => '{"a":1}', baseline,
    });
    // Each order case's request body for the round, made once: the load generator's own work is not the system's.
    const orderBodies = new Map<Case, string>();
    const orders = (h: Case['host'], url: string, baseline: string, name = 'POST /orders', connections?: number): Case => {
      const c: Case = {
        name, host: h, url, method: 'POST', path: '/orders', body: () => orderBodies.get(c) ?? '', asBuyers: true, baseline, connections,
      };
      return c;
    };
    const ONE_BY_ONE_NAME = 'POST /orders one-by-one (ORDER_TAKE_GROUP_MAX=1)';
    const allCases: Case[] = [
      hello('hello POST', 'node:http', nodeHello),
      hello('hello POST', 'Functions Framework', ffHello),
      hello('hello POST', 'Express 5', expressHello),
      orders('Functions Framework', stack.functionUrls.orders, 'Functions Framework hello POST'),
      orders('node:http', lean, 'node:http hello POST'),
      orders('Functions Framework', ffOneByOne, 'Functions Framework hello POST', ONE_BY_ONE_NAME),
      orders('node:http', leanOneByOne, 'node:http hello POST', ONE_BY_ONE_NAME),
      // One attempt in flight: what grouping costs a lone attempt (the end of the turn).
      orders('node:http', lean, 'node:http hello POST', 'POST /orders, 1 connection', 1),
      orders('node:http', leanOneByOne, 'node:http hello POST', `${ONE_BY_ONE_NAME}, 1 connection`, 1),
      // It makes up a new buyer per request itself: it reads nothing of the request.
      hello('take script alone, sold out (the floor of POST /orders)', 'node:http', takeFloor, 'node:http hello POST'),
      { name: 'GET /sales', host: 'Functions Framework', url: sales, method: 'GET', path: '/sales', baseline: 'Functions Framework hello POST' },
      hello(`hello POST awaiting ${AWAITS} promises`, 'Functions Framework', ffHelloAwaits, 'Functions Framework hello POST'),
      hello(`hello POST awaiting ${AWAITS} promises`, 'node:http', nodeHelloAwaits, 'node:http hello POST'),
    ];

    // ---- The waiting room (issue 13): joining and asking where one stands, beside POST /orders ----
    // Join: a distinct buyer per request joins one room (a new ticket each; the second half of the
    // seeded buyers, which the order cases reach last). Status: GET queue/me of buyers who joined
    // another room first (ROOM_STATUS_BUYERS of them, in turn), all still waiting.
    const ROOM_STATUS_BUYERS = 2000;
    const newRoomSale = async (name: string): Promise<BenchSale> => {
      const product = await adminPost('/products', { name, price_in_cent: 100 });
      const sale = await adminPost('/sales', {
        product_id: product.product_id,
        starts_at: new Date(Date.now() - 1000).toISOString(),
        ends_at: new Date(Date.now() + 3_600_000).toISOString(),
        stock: 10,
        waiting_room: { mode: 'always', admit_per_second: 1, admission_seconds: 120, proof_of_work_bits: 0 },
      });
      return { productId: product.product_id, saleId: sale.sale_id, stock: 10 };
    };
    const joinSale = await newRoomSale('bench waiting room: join');
    const statusSale = await newRoomSale('bench waiting room: status');
    const statusBuyers = userHeaders.slice(0, ROOM_STATUS_BUYERS);
    progress(`${ROOM_STATUS_BUYERS} buyers join the status case's room`);
    for (let i = 0; i < statusBuyers.length; i += 50) {
      await Promise.all(statusBuyers.slice(i, i + 50).map(async (who) => {
        const joined = await fetch(`${sales}/sales/${statusSale.saleId}/queue`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-apigateway-api-userinfo': who },
          body: '{}',
        });
        if (joined.status !== 200) throw new Error(`join: ${joined.status} ${await joined.text()}`);
      }));
    }
    allCases.push(
      {
        name: 'POST /sales/{id}/queue (join)', host: 'Functions Framework', url: sales, method: 'POST', path: `/sales/${joinSale.saleId}/queue`,
        body: () => '{}', buyers: userHeaders.slice(userHeaders.length / 2), baseline: 'Functions Framework hello POST',
      },
      {
        name: 'GET /sales/{id}/queue/me (status)', host: 'Functions Framework', url: sales, method: 'GET', path: `/sales/${statusSale.saleId}/queue/me`,
        buyers: statusBuyers, baseline: 'Functions Framework hello POST',
      },
    );
    // ---- end of the waiting room's cases ----

    const key = (c: Case) => `${c.host} ${c.name}`;
    const only = flags.only === undefined ? undefined : new RegExp(flags.only, 'i');
    const cases = allCases.filter((c) => !only || only.test(key(c)));
    const SELL_OUT = 'Functions Framework POST /orders (sell-out)';

    // Each round of an order case runs against a fresh sale whose stock is ACCEPT_SHARE of the
    // requests that case made in its previous round (its warm-up first): the stock runs out
    // part-way through every round, so each host is measured on the same mix of acceptances
    // and refusals, whatever its speed.
    const hotSales = new Map<string, BenchSale[]>();
    const lastRequests = new Map<string, number>();
    const prepare = async (c: Case, round: string) => {
      if (!c.asBuyers) return;
      const stock = Math.max(1, Math.round(ACCEPT_SHARE * (lastRequests.get(key(c)) ?? 1000)));
      const sale = await newSale(`bench ${key(c)} ${round}`, stock);
      hotSales.set(key(c), [...(hotSales.get(key(c)) ?? []), sale]);
      orderBodies.set(c, JSON.stringify({ product_id: sale.productId }));
    };
    const run = async (c: Case, seconds: number, round: string) => {
      await prepare(c, round);
      const result = await measure(c, seconds);
      lastRequests.set(key(c), (result.requests * DURATION) / seconds);
      return result;
    };
    // The hot path alone: the worker waits (tasks pile up in the queue, as behind a paused
    // Cloud Tasks queue), so that persistence does not share these two cores with the measurement.
    await stack.control.pauseDispatcher();
    progress(`warming up ${cases.length} cases`);
    for (const c of cases) await run(c, 1, 'warm-up');
    const rounds = new Map<string, Round[]>(cases.map((c) => [key(c), []]));
    for (let r = 1; r <= ROUNDS; r++) {
      await sampleIdleSaleRedis();
      for (const c of cases) {
        progress(`round ${r}/${ROUNDS}: ${key(c)}`);
        rounds.get(key(c))?.push(await run(c, DURATION, `round ${r}`));
      }
    }
    stack.control.resumeDispatcher();
    const resumedAt = new Date();

    const idleMsPerS = idleSaleRedisMsPerS.reduce((sum, x) => sum + x, 0) / Math.max(1, idleSaleRedisMsPerS.length);
    const summary = cases.map((c) => {
      const rs = rounds.get(key(c)) ?? [];
      const takeOwn = (x: Round) => ((x.saleRedisMs - idleMsPerS * x.seconds) * 1000) / Math.max(1, x.requests);
      return {
        case: key(c),
        requests_per_s: Math.round(median(rs.map((x) => x.rps))),
        p50_ms: median(rs.map((x) => x.p50)),
        p99_ms: median(rs.map((x) => x.p99)),
        max_ms: Math.max(...rs.map((x) => x.max)),
        errors: rs.reduce((n, x) => n + x.errors, 0),
        non_2xx: rs.reduce((n, x) => n + x.non2xx, 0),
        accepted: rs.reduce((n, x) => n + x.accepted, 0),
        attempts_per_take_call: c.asBuyers ? Number((1 / Math.max(1e-9, median(rs.map((x) => x.takeCallsPerRequest)))).toFixed(2)) : undefined,
        cpu_ms_per_1k: {
          host: Math.round(median(rs.map((x) => x.cpu.host))),
          redis: Math.round(median(rs.map((x) => x.cpu.redis))),
          sale_redis: Number(median(rs.map((x) => x.cpu.saleRedis)).toFixed(1)),
          /** The sale's Redis less its idle rate: what the requests themselves cost it. */
          sale_redis_net: Number(median(rs.map(takeOwn)).toFixed(1)),
          load_generator: Math.round(median(rs.map((x) => x.cpu.load))),
        },
        baseline: c.baseline,
      };
    });
    const rpsOf = (name: string) => summary.find((s) => s.case === name)?.requests_per_s ?? NaN;
    const rows = summary.map((s) => ({ ...s, ratio: s.baseline && Number.isFinite(rpsOf(s.baseline)) ? s.requests_per_s / rpsOf(s.baseline) : undefined }));

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
    /** Checks a group of sales (one case's): their stock, Redis's tokens, PostgreSQL's orders. */
    const checkSales = async (label: string, group: BenchSale[]) => {
      const ids = group.map((g) => g.saleId);
      const stock = group.reduce((n, g) => n + g.stock, 0);
      let taken = 0;
      for (const g of group) taken += g.stock - (await tokensLeft(g.saleId));
      progress(`${label}: waiting for ${taken} taken units to be written`);
      await waitFor(`${label}: ${taken} orders written`, async () => {
        const { rows: r } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE sale_id = ANY($1)`, [ids]);
        return Number(r[0]?.n) >= taken;
      }, 180_000);
      const { rows: r } = await db.query<{ confirmed: string; failed: string; p50: number; p99: number }>(
        `SELECT count(*) FILTER (WHERE status = 'confirmed') AS confirmed, count(*) FILTER (WHERE status = 'failed') AS failed,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at) * 1000) AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at) * 1000) AS p99
           FROM orders WHERE sale_id = ANY($1)`,
        [ids],
      );
      // Per sale: sold never above its stock, and equal to its confirmed orders.
      const { rows: oversold } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM flash_sales s
          WHERE s.sale_id = ANY($1)
            AND (s.sold > s.stock OR s.sold <> (SELECT count(*) FROM orders o WHERE o.sale_id = s.sale_id AND o.status = 'confirmed'))`,
        [ids],
      );
      const { rows: soldRows } = await db.query<{ sold: string }>(`SELECT sum(sold) AS sold FROM flash_sales WHERE sale_id = ANY($1)`, [ids]);
      const c = r[0];
      checks.push({
        sale: group.length > 1 ? `${label} (${group.length} sales)` : label,
        stock,
        taken,
        confirmed: Number(c?.confirmed),
        failed: Number(c?.failed),
        sold: Number(soldRows[0]?.sold ?? 0),
        no_oversell: Number(oversold[0]?.n) === 0,
        every_taken_confirmed: Number(c?.confirmed) === taken,
        // The hot-path sales waited for the paused worker: their latency says nothing.
        accepted_to_confirmed_p50_ms: label === 'sell-out' ? Math.round(c?.p50 ?? NaN) : undefined,
        accepted_to_confirmed_p99_ms: label === 'sell-out' ? Math.round(c?.p99 ?? NaN) : undefined,
      });
    };
    for (const [caseKey, group] of hotSales) await checkSales(`hot path, ${caseKey}`, group);
    // The backlog of the paused phase, written once the worker resumed: PostgreSQL's pace with
    // work waiting (npm run capacity). A confirmed row's xmin is the transaction that confirmed it.
    const { rows: drained } = await db.query<{ orders: string; seconds: number; commits: string }>(
      `SELECT count(*) AS orders, extract(epoch FROM max(updated_at) - $2) AS seconds, count(DISTINCT xmin::text) AS commits
         FROM orders WHERE sale_id = ANY($1) AND status = 'confirmed' AND updated_at >= $2`,
      [[...hotSales.values()].flat().map((s) => s.saleId), resumedAt],
    );
    const drain = drained[0] && Number(drained[0].orders) > 0
      ? { orders: Number(drained[0].orders), seconds: Number(drained[0].seconds), orders_per_s: Math.round(Number(drained[0].orders) / Math.max(0.001, Number(drained[0].seconds))), orders_per_commit: Math.round((Number(drained[0].orders) / Math.max(1, Number(drained[0].commits))) * 10) / 10 }
      : undefined;
    // The backlog of the paused phase is written by now, so the sell-out waits behind nothing.
    // Then a sell-out with the worker running: buyers until the stock is gone, then every unit confirmed.
    let sellOutRound: Round | undefined;
    let ordersPerTask: number | undefined;
    if (!only || only.test(SELL_OUT)) {
      progress(`selling out ${STOCK} units on the framework with the worker running`);
      const sellOut = await newSale('bench sell-out', STOCK);
      const sellOutBody = JSON.stringify({ product_id: sellOut.productId });
      const sellOutCase: Case = {
        name: 'POST /orders (sell-out)',
        host: 'Functions Framework',
        url: stack.functionUrls.orders,
        method: 'POST',
        path: '/orders',
        body: () => sellOutBody,
        asBuyers: true,
      };
      const before = stack.control.dispatched();
      sellOutRound = await measure(sellOutCase, 900, async () => (await tokensLeft(sellOut.saleId)) <= 0);
      await checkSales('sell-out', [sellOut]);
      const after = stack.control.dispatched();
      // The mean size of the persist-order tasks the sell-out made (task-queue-group.ts).
      ordersPerTask = (after.orders - before.orders) / Math.max(1, after.tasks - before.tasks);
    }

    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    console.log(`\nBench on ${machine}; ${ROUNDS} rounds × ${DURATION} s per case, ${CONNECTIONS} connections, medians.`);
    console.log(`Order cases: a distinct buyer per request; each round against a fresh sale whose stock is ${Math.round(ACCEPT_SHARE * 100)}% of the case's requests in its previous round.\n`);
    console.log('| case | req/s | p50 ms | p99 ms | max ms | errors | non-2xx | 202 | ratio to its host\'s hello | CPU ms per 1k requests: host / Redis / load generator | of which the sale\'s Redis: all / less its idle rate | attempts per take call |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of rows) {
      const cpu = `${s.cpu_ms_per_1k.host} / ${s.cpu_ms_per_1k.redis} / ${s.cpu_ms_per_1k.load_generator}`;
      const ratio = s.ratio === undefined ? '' : `${(s.ratio * 100).toFixed(0)}%`;
      console.log(`| ${s.case} | ${s.requests_per_s} | ${s.p50_ms} | ${s.p99_ms} | ${s.max_ms} | ${s.errors} | ${s.non_2xx} | ${s.accepted} | ${ratio} | ${cpu} | ${s.cpu_ms_per_1k.sale_redis} / ${s.cpu_ms_per_1k.sale_redis_net} | ${s.attempts_per_take_call ?? ''} |`);
    }
    console.log(`\nThe sale's Redis idle: ${idleMsPerS.toFixed(1)} CPU ms per s (mean of ${idleSaleRedisMsPerS.length} one-second samples, one before each round).`);
    const roomRps = (name: string) => rows.find((r) => r.case === `Functions Framework ${name}`)?.requests_per_s;
    if (roomRps('POST /sales/{id}/queue (join)') !== undefined || roomRps('GET /sales/{id}/queue/me (status)') !== undefined) {
      console.log(
        `\nWaiting room on the framework: join ${roomRps('POST /sales/{id}/queue (join)') ?? '—'} req/s, status ${roomRps('GET /sales/{id}/queue/me (status)') ?? '—'} req/s, beside POST /orders ${roomRps('POST /orders') ?? '—'} req/s.`,
      );
    }
    if (sellOutRound) {
      console.log(`\nSell-out on the framework with the worker running: ${Math.round(sellOutRound.rps)} req/s, p50 ${sellOutRound.p50} ms, p99 ${sellOutRound.p99} ms; ${ordersPerTask?.toFixed(1)} orders per task at ${DISPATCH_PER_S} tasks/s.`);
    } else {
      console.log('\nSell-out: not run (--only).');
    }
    console.log('\n| sale | stock | taken in Redis | confirmed | failed | no oversell | every taken unit confirmed | 202→confirmed p50 / p99 ms |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const c of checks) {
      const latency = c.accepted_to_confirmed_p50_ms === undefined ? '(worker paused)' : `${c.accepted_to_confirmed_p50_ms} / ${c.accepted_to_confirmed_p99_ms}`;
      console.log(`| ${c.sale} | ${c.stock} | ${c.taken} | ${c.confirmed} | ${c.failed} | ${c.no_oversell ? 'yes' : 'NO'} | ${c.every_taken_confirmed ? 'yes' : 'NO'} | ${latency} |`);
    }
    if (drain) console.log(`\nBacklog written after the worker resumed: ${drain.orders} orders in ${drain.seconds.toFixed(1)} s (${drain.orders_per_s}/s, ${drain.orders_per_commit} orders per commit).`);
    const ratio = (name: string) => rows.find((r) => r.case === name)?.ratio ?? 0;
    const sellOutCheck = checks.find((c) => c.sale === 'sell-out');
    const leanRow = rows.find((r) => r.case === 'node:http POST /orders');
    const row = (name: string) => rows.find((r) => r.case === name);
    // Redis CPU per attempt: the sale's Redis, where the take runs (the queue's is apart).
    const saleRedisPerAttempt = (name: string) => row(name)?.cpu_ms_per_1k.sale_redis_net ?? NaN;
    const redisShare = (h: string) => saleRedisPerAttempt(`${h} POST /orders`) / saleRedisPerAttempt(`${h} ${ONE_BY_ONE_NAME}`);
    const lowLoadP99 = { grouped: row('node:http POST /orders, 1 connection')?.p99_ms ?? Infinity, oneByOne: row(`node:http ${ONE_BY_ONE_NAME}, 1 connection`)?.p99_ms ?? NaN };
    // A target whose cases did not run (--only) is not judged: null, printed "not run", never ✗.
    const ran = (...names: string[]) => names.every((name) => row(name) !== undefined);
    const judged = (names: string[], met: () => boolean): boolean | null => (ran(...names) ? met() : null);
    const LEAN = ['node:http POST /orders', 'node:http hello POST'];
    const FRAMEWORK = ['Functions Framework POST /orders', 'Functions Framework hello POST'];
    const redisCases = (h: string) => [`${h} POST /orders`, `${h} ${ONE_BY_ONE_NAME}`];
    const sellOutRan = sellOutCheck !== undefined;
    const targets: [string, boolean | null][] = [
      ['POST /orders on the lean host ≥ 50% of node:http hello', judged(LEAN, () => ratio('node:http POST /orders') >= 0.5)],
      ['POST /orders on the lean host p99 ≤ 20 ms', judged(LEAN, () => (leanRow?.p99_ms ?? Infinity) <= 20)],
      ['POST /orders on the lean host ≥ 55% of node:http hello (grouped take)', judged(LEAN, () => ratio('node:http POST /orders') >= 0.55)],
      [`Redis CPU per attempt of the grouped take ≤ ⅓ of one-by-one (lean host ${(redisShare('node:http') * 100).toFixed(0)}%)`, judged(redisCases('node:http'), () => redisShare('node:http') <= 1 / 3)],
      [`… on the framework (${(redisShare('Functions Framework') * 100).toFixed(0)}%)`, judged(redisCases('Functions Framework'), () => redisShare('Functions Framework') <= 1 / 3)],
      ['POST /orders on the framework ≥ 80% of its hello', judged(FRAMEWORK, () => ratio('Functions Framework POST /orders') >= 0.8)],
      ['POST /orders on the framework ≥ 90% of its hello (grouped take)', judged(FRAMEWORK, () => ratio('Functions Framework POST /orders') >= 0.9)],
      [
        `one attempt in flight: p99 grouped ≤ one-by-one (${lowLoadP99.grouped} vs ${lowLoadP99.oneByOne} ms)`,
        judged(['node:http POST /orders, 1 connection', `node:http ${ONE_BY_ONE_NAME}, 1 connection`], () => lowLoadP99.grouped <= lowLoadP99.oneByOne),
      ],
      ['GET /sales ≥ 80% of its host\'s hello', judged(['Functions Framework GET /sales', 'Functions Framework hello POST'], () => ratio('Functions Framework GET /sales') >= 0.8)],
      [`${STOCK} units sold out with exactly ${STOCK} confirmed`, sellOutRan ? sellOutCheck.confirmed === STOCK && sellOutCheck.no_oversell : null],
      ['202→confirmed p99 ≤ 2 s', sellOutRan ? (sellOutCheck.accepted_to_confirmed_p99_ms ?? Infinity) <= 2000 : null],
      ['every taken unit confirmed, nothing oversold', checks.every((c) => c.every_taken_confirmed && c.no_oversell)],
    ];
    console.log('\nTargets:');
    for (const [what, met] of targets) console.log(`  ${met === null ? '– not run:' : met ? '✓' : '✗'} ${what}`);

    // What `npm run capacity` reads: the framework's mean group (what the cloud runs), and one
    // Redis's script calls/s: one core's ms over the sale's Redis CPU per call of the take floor
    // (one sold-out attempt per call), the attempts/s of grouped calls likewise.
    const floorRedisPerCall = saleRedisPerAttempt('node:http take script alone, sold out (the floor of POST /orders)') / 1000;
    const scale = {
      attempts_per_take_call: row('Functions Framework POST /orders')?.attempts_per_take_call,
      take_calls_per_s_ceiling: Number.isFinite(floorRedisPerCall) && floorRedisPerCall > 0 ? Math.round(1000 / floorRedisPerCall) : undefined,
      take_attempts_per_s_ceiling_grouped: Number.isFinite(saleRedisPerAttempt('Functions Framework POST /orders'))
        ? Math.round(1_000_000 / saleRedisPerAttempt('Functions Framework POST /orders'))
        : undefined,
    };
    console.log(`\nScale: ${scale.attempts_per_take_call ?? '?'} attempts per take call on the framework; one Redis core: ${scale.take_calls_per_s_ceiling ?? '?'} take calls/s (one attempt each), ${scale.take_attempts_per_s_ceiling_grouped ?? '?'} attempts/s grouped.`);
    mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
    const file = path.join(ROOT, 'bench-results/latest.json');
    writeFileSync(
      file,
      JSON.stringify(
        { at: new Date().toISOString(), machine, load_average: os.loadavg().map((x) => Math.round(x * 100) / 100), rounds: ROUNDS, duration_s: DURATION, connections: CONNECTIONS, accept_share: ACCEPT_SHARE, scale: { ...scale, orders_per_task: ordersPerTask, dispatch_per_s: DISPATCH_PER_S }, cases: rows, sell_out: sellOutRound, sales: checks, backlog_drain: drain, targets: targets.map(([what, met]) => ({ what, met })) },
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
