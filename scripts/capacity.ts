// npm run capacity -- --buyers 1000000 --stock 100000: what one sale of that size asks of the
// cloud deployment, from the bench's measured figures (bench-results/latest.json, else the
// committed copy of the run README "Capacity" cites) and terraform/'s settings. The model is
// scripts/capacity-model.ts; its assumptions about buyers are the flags below, printed with it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ENVIRONMENTS, environment, optionalDefaults, variable, type Json } from './terraform-model.ts';
import { capacity, fmt, pct, type Assumptions, type Deployment, type Measured, type Prices, type Sourced } from './capacity-model.ts';

const ROOT = path.join(import.meta.dirname, '..');
export const LATEST = 'bench-results/latest.json';
/** The full bench run README "Capacity" cites, committed: bench-results/ itself is not. */
export const COMMITTED = 'docs/figures/bench-2026-11-23-1805.json';

/** Prices of us-central1 (Tier 1), as read on 2026-11-23; docs/cloud.md §13 cites each. */
export const PRICES: Prices = {
  gatewayPerMillion: { what: 'API Gateway, per million calls (2M–1B a month; first 2M free)', usd: 3.0, unit: 'million calls', source: '[gw:$]', confirmed: true },
  runVcpuSecond: { what: 'Cloud Run functions, request-based billing, per vCPU-second', usd: 0.000024, unit: 'vCPU-s', source: '[run:$]', confirmed: true },
  runGibSecond: { what: 'Cloud Run functions, request-based billing, per GiB-second', usd: 0.0000025, unit: 'GiB-s', source: '[run:$2]', confirmed: false },
  runPerMillionRequests: { what: 'Cloud Run functions, per million requests', usd: 0.4, unit: 'million requests', source: '[run:$2]', confirmed: false },
  tasksPerMillionOps: { what: 'Cloud Tasks, per million billable operations (first million free)', usd: 0.4, unit: 'million operations', source: '[t:$]', confirmed: true },
  redisGbHour: { what: 'Memorystore for Redis, Standard tier, per GB-hour', usd: 0.054, unit: 'GB-hour', source: 'none found', confirmed: false },
  sqlVcpuHour: { what: 'Cloud SQL Enterprise, per vCPU-hour', usd: 0.0413, unit: 'vCPU-hour', source: '[sql:$]', confirmed: false },
  sqlGbHour: { what: 'Cloud SQL Enterprise, per GB-hour of memory', usd: 0.007, unit: 'GB-hour', source: '[sql:$]', confirmed: false },
};

interface BenchCase {
  case: string;
  requests_per_s: number;
  p50_ms: number;
  cpu_ms_per_1k: { host: number; redis: number };
}
interface BenchSale {
  sale: string;
  confirmed: number;
  accepted_to_confirmed_p50_ms?: number;
}
export interface BenchFigures {
  at: string;
  machine: string;
  /** The machine's 1, 5 and 15-minute load averages when the run ended (2 cores: above 2, others shared them). */
  load_average?: number[];
  cases: BenchCase[];
  sales: BenchSale[];
  /** The paused phase's backlog, written once the worker resumed (scripts/bench.ts). */
  backlog_drain?: { orders: number; seconds: number; orders_per_s: number; orders_per_commit: number };
  scale?: { attempts_per_take_call?: number; orders_per_task?: number; take_calls_per_s_ceiling?: number; take_attempts_per_s_ceiling_grouped?: number };
}

/** The cases the model reads; a run without them (an --only run) cannot be used. */
export const HOST_CASES = { framework: 'Functions Framework POST /orders', lean: 'node:http POST /orders' } as const;
const READ_CASE = 'Functions Framework GET /sales';
const FLOOR_CASE = 'node:http take script alone, sold out (the floor of POST /orders)';

/** The figures file to use, and why: the latest run if it has every case the model reads, else the committed one. */
export function chooseFigures(given: string | undefined, root: string = ROOT): { file: string; why: string } {
  if (given) return { file: given, why: 'given with --figures' };
  const latest = path.join(root, LATEST);
  if (!existsSync(latest)) return { file: path.join(root, COMMITTED), why: `${LATEST} does not exist (npm run bench writes it): the committed copy of the run README "Capacity" cites` };
  const figures = JSON.parse(readFileSync(latest, 'utf8')) as BenchFigures;
  const missing = [...Object.values(HOST_CASES), READ_CASE].filter((c) => !figures.cases.some((x) => x.case === c));
  if (missing.length > 0) return { file: path.join(root, COMMITTED), why: `${LATEST} lacks ${missing.join(', ')} (an --only run): the committed copy of the run README "Capacity" cites` };
  return { file: latest, why: "this machine's latest npm run bench" };
}

/** The model's measured inputs from a bench run; `scale` when present, else the stated fallbacks. */
export function measuredFrom(figures: BenchFigures, host: keyof typeof HOST_CASES): Measured {
  const find = (name: string) => {
    const c = figures.cases.find((x) => x.case === name);
    if (!c) throw new Error(`the figures have no case "${name}"`);
    return c;
  };
  const orders = find(HOST_CASES[host]);
  const reads = find(READ_CASE);
  const floor = figures.cases.find((x) => x.case === FLOOR_CASE);
  const scale = figures.scale ?? {};
  const sellOut = figures.sales.find((s) => s.sale === 'sell-out');
  // The worker's pace when a backlog waits: the paused phase's orders, written once it resumed.
  const drain = figures.backlog_drain;

  const takeCeiling: Sourced = scale.take_calls_per_s_ceiling
    ? { value: scale.take_calls_per_s_ceiling, from: 'measured (bench "scale".take_calls_per_s_ceiling)' }
    : floor && floor.cpu_ms_per_1k.redis > 0
      ? { value: Math.round(1e6 / floor.cpu_ms_per_1k.redis), from: `no "scale" in the figures: one Redis core busy at the floor case's ${floor.cpu_ms_per_1k.redis} ms of Redis CPU per 1k take calls` }
      : { value: 65_000, from: 'no "scale" nor floor case in the figures: the 65k calls/s stated in issue 18 (UNMEASURED)' };
  // An instance's throughput is what one core does at the host CPU each request took: the bench's
  // own req/s shares its two cores with Redis, the load generator and whatever else runs there.
  // Conservative for a 2-vCPU instance (Node runs the requests on one thread, the rest helps).
  const perCore = (c: BenchCase) => ({
    value: Math.round(1e6 / Math.max(1, c.cpu_ms_per_1k.host)),
    from: `measured: ${c.case}, ${c.cpu_ms_per_1k.host} µs of host CPU a request → one core's worth (the run's own ${fmt(c.requests_per_s)} req/s shared two cores)`,
  });
  return {
    ordersPerInstance: perCore(orders),
    ordersCpuMs: orders.cpu_ms_per_1k.host / 1000,
    ordersP50Ms: orders.p50_ms,
    readsPerInstance: perCore(reads),
    takeCallsCeiling: takeCeiling,
    takeAttemptsCeiling: scale.take_attempts_per_s_ceiling_grouped && (scale.attempts_per_take_call ?? 1) > 1
      ? { value: scale.take_attempts_per_s_ceiling_grouped, from: 'measured (bench "scale".take_attempts_per_s_ceiling_grouped: one Redis core at the grouped take\'s Redis CPU per attempt)' }
      : { value: takeCeiling.value, from: 'no grouped figure: an attempt costs one lone take call (an upper bound on a grouped one)' },
    attemptsPerTakeCall: scale.attempts_per_take_call
      ? { value: scale.attempts_per_take_call, from: 'measured (bench "scale".attempts_per_take_call)' }
      : { value: 1, from: 'no "scale" in the figures: 1, one take call per attempt (no grouping)' },
    ordersPerTask: scale.orders_per_task
      ? { value: scale.orders_per_task, from: 'measured (bench "scale".orders_per_task)' }
      : { value: 1, from: 'no "scale" in the figures: 1, one task per order' },
    confirmedPerS: drain
      ? { value: drain.orders_per_s, from: `measured: the bench's backlog of ${fmt(drain.orders)} orders written in ${fmt(drain.seconds)} s by the resumed worker (local dispatcher, same two cores)` }
      : { value: 600, from: 'not in the figures: the ~600 orders/s README Performance states for one order per transaction (UNMEASURED here)' },
    ordersPerCommit: drain
      ? { value: drain.orders_per_commit, from: 'measured: confirmed rows per distinct xmin in that backlog' }
      : { value: 1, from: 'not in the figures: 1 order per commit' },
    confirmP50Ms: sellOut?.accepted_to_confirmed_p50_ms
      ? { value: sellOut.accepted_to_confirmed_p50_ms, from: 'measured: the sell-out\'s 202→confirmed p50' }
      : { value: 500, from: 'no sell-out in the figures: 500 ms assumed' },
  };
}

const cpuOf = (cpu: unknown) => Number(cpu);
function gibOf(memory: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(String(memory));
  if (!m) throw new Error(`memory ${String(memory)}: not understood`);
  const n = Number(m[1]);
  return m[2]?.startsWith('M') ? n / 1024 : n;
}
const withoutNulls = (o: Json | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== null && v !== undefined));

/** An environment's effective settings, read from terraform/ as the deployment tests read them. */
export async function deploymentOf(name: (typeof ENVIRONMENTS)[number]): Promise<Deployment> {
  const env = await environment(name);
  const fn = (f: string) => {
    const s = env.functions[f];
    if (!s) throw new Error(`terraform ${name}: no function ${f}`);
    return { maxInstances: s.max_instances, concurrency: Number(s.concurrency), cpu: cpuOf(s.cpu), memoryGiB: gibOf(s.memory) };
  };
  const queue = { ...optionalDefaults((await variable('modules/queue', 'orders_queue')).type as string), ...withoutNulls(env.flashSale.orders_queue as Json) };
  const redis = { ...optionalDefaults((await variable('modules/data', 'redis')).type as string), ...withoutNulls(env.flashSale.redis as Json) };
  const tier = String(env.postgres.tier);
  const custom = /^db-custom-(\d+)-(\d+)$/.exec(tier);
  return {
    environment: name,
    orders: fn('orders'),
    sales: fn('sales'),
    queuePerS: Number(queue.max_dispatches_per_second),
    redis: { tier: String(redis.tier), memoryGb: Number(redis.memory_size_gb) },
    postgres: {
      tier,
      vcpu: custom ? Number(custom[1]) : 1,
      memoryGb: custom ? Number(custom[2]) / 1024 : 0.6,
      highAvailability: env.postgres.availability_type === 'REGIONAL',
    },
  };
}

function secs(s: number): string {
  return s >= 120 ? `${fmt(s)} s (${fmt(s / 60)} min)` : `${fmt(s)} s`;
}

export async function main(argv: string[]): Promise<string> {
  const { values: f } = parseArgs({
    args: argv,
    options: {
      buyers: { type: 'string', default: '1000000' },
      stock: { type: 'string', default: '100000' },
      'arrival-s': { type: 'string', default: '10' },
      attempts: { type: 'string', default: '1.5' },
      'poll-s': { type: 'string', default: '1' },
      'page-loads': { type: 'string', default: '2' },
      'sale-poll-s': { type: 'string', default: '0' },
      utilization: { type: 'string', default: '0.6' },
      host: { type: 'string', default: 'framework' },
      env: { type: 'string', default: 'prod' },
      figures: { type: 'string' },
    },
  });
  const host = f.host === 'lean' ? 'lean' : 'framework';
  const envName = f.env === 'dev' ? 'dev' : 'prod';
  const a: Assumptions = {
    buyers: Number(f.buyers),
    stock: Number(f.stock),
    arrivalS: Number(f['arrival-s']),
    attemptsPerBuyer: Number(f.attempts),
    pollS: Number(f['poll-s']),
    pageLoads: Number(f['page-loads']),
    salePollS: Number(f['sale-poll-s']),
    utilization: Number(f.utilization),
  };
  for (const [k, v] of Object.entries(a)) if (!Number.isFinite(v) || v < 0) throw new Error(`--${k}: a number ≥ 0`);
  if (a.buyers <= 0 || a.arrivalS <= 0 || a.attemptsPerBuyer < 1 || a.pollS <= 0 || a.utilization <= 0 || a.utilization > 1) {
    throw new Error('--buyers, --arrival-s and --poll-s above 0, --attempts at least 1, --utilization in (0, 1]');
  }
  const chosen = chooseFigures(f.figures);
  const figures = JSON.parse(readFileSync(chosen.file, 'utf8')) as BenchFigures;
  const m = measuredFrom(figures, host);
  const d = await deploymentOf(envName);
  const r = capacity(m, d, a, PRICES);

  const out: string[] = [];
  const say = (line = '') => out.push(line);
  say(`Capacity of one sale: ${fmt(a.buyers)} buyers, ${fmt(a.stock)} units, on terraform/environments/${envName} (POST /orders on the ${host === 'lean' ? "lean node:http host on Cloud Run, with the orders function's terraform settings" : 'Functions Framework, as terraform deploys it'}).`);
  say(`Figures: ${path.relative(ROOT, chosen.file)} — ${chosen.why}; bench run ${figures.at} on ${figures.machine}${figures.load_average ? `, load average ${figures.load_average.join(' / ')} at its end` : ''}.`);
  say();
  say('Assumptions (flags):');
  say(`  buyers arrive evenly over ${fmt(a.arrivalS)} s from the opening (--arrival-s); each sends ${fmt(a.attemptsPerBuyer)} POST /orders (--attempts: the click and its retries after 429, 503 or no answer, same Idempotency-Key)`);
  say(`  a buyer with a pending order polls GET /orders/{id} every ${fmt(a.pollS)} s (--poll-s; the web client: 1 s); ${fmt(a.pageLoads)} page loads per buyer (--page-loads: GET /sales, GET /sales/{id})`);
  say(`  ${a.salePollS > 0 ? `the sale page polls GET /sales/{id} every ${fmt(a.salePollS)} s (--sale-poll-s)` : 'the sale page follows the Firestore live view, no polling (--sale-poll-s 0; the deployed client has Firebase)'}; instances run at ${pct(a.utilization)} of their measured throughput (--utilization)`);
  say('Measured inputs:');
  for (const [label, s] of [
    ['POST /orders per instance', m.ordersPerInstance],
    ['GET /sales per instance', m.readsPerInstance],
    ["one Redis shard's take calls/s", m.takeCallsCeiling],
    ["one Redis shard's attempts/s when grouped", m.takeAttemptsCeiling],
    ['attempts per take call', m.attemptsPerTakeCall],
    ['orders per task', m.ordersPerTask],
    ['orders confirmed/s (PostgreSQL)', m.confirmedPerS],
    ['orders per commit', m.ordersPerCommit],
    ['202→confirmed p50 ms', m.confirmP50Ms],
  ] as const) {
    say(`  ${label}: ${fmt(s.value)} — ${s.from}`);
  }
  say();
  say('| what | at peak |');
  say('|---|---|');
  const g = r.gateway;
  say(`| requests/s at the gateway | ${fmt(g.total)} (POST /orders ${fmt(g.posts)}, GET /orders/{id} polls ${fmt(g.orderPolls)}, page loads ${fmt(g.pageLoads)}${g.salePolls > 0 ? `, sale polls ${fmt(g.salePolls)}` : ''}) |`);
  say(`| function instances | orders ${fmt(r.instances.orders)} (${d.orders.cpu} vCPU, concurrency ${d.orders.concurrency}; ${fmt(r.instances.ordersInFlightPerInstance)} in flight each), sales ${fmt(r.instances.sales)} |`);
  const redisShare = r.loads.find((l) => l.what === "Redis calls on the sale's shard")!.demand;
  say(`| Redis calls/s on the sale's shard | ${fmt(r.redisCallsPerS)} (${fmt(m.attemptsPerTakeCall.value)} attempts a take call), ${pct(redisShare)} of its one core |`);
  say(`| Cloud Tasks/s | ${fmt(r.tasksPerS)} of ${fmt(d.queuePerS)} (${pct(r.tasksPerS / d.queuePerS)}) |`);
  say(`| PostgreSQL | ${fmt(r.postgres.confirmedPerS)} orders/s confirmed in ${fmt(r.postgres.commitsPerS)} commits/s; ${fmt(r.postgres.pendingReadsPerS)} reads/s from polls of pending orders |`);
  say(`| units sold, taken per second | ${fmt(r.sold)}, ${fmt(r.acceptedPerS)}/s |`);
  say(`| time to sell out | ${secs(r.sellOutS)} |`);
  say(`| time to confirm everything | ${secs(r.confirmAllS)} (${fmt(r.confirmingPerS)} orders/s) |`);
  say();
  say('Ceilings, most used first:');
  for (const l of r.loads) say(`  ${pct(l.demand / l.ceiling).padStart(6)}  ${l.what}: ${fmt(l.demand)} of ${fmt(l.ceiling)} ${l.unit} — ${l.bound}`);
  const first = r.firstCeiling;
  const use = first.demand / first.ceiling;
  say(use >= 1 ? `FIRST CEILING HIT: ${first.what} (${pct(use)} of it).` : `No ceiling hit; the nearest: ${first.what} (${pct(use)} of it).`);
  say();
  say('Cost (USD; prices of us-central1 read 2026-11-23, docs/cloud.md §13; * = UNCONFIRMED):');
  for (const l of r.cost.lines) say(`  ${l.what}: ${fmt(l.quantity)} ${l.unit} → $${l.usd.toFixed(2)}`);
  const star = (p: keyof Prices) => (PRICES[p].confirmed ? '' : '*');
  say(`  this sale, usage: $${r.cost.perSaleUsd.toFixed(2)} (free tiers not deducted)`);
  say(
    `  always on, per hour: $${r.cost.perHourUsd.toFixed(2)} (Memorystore ${d.redis.tier} ${d.redis.memoryGb} GB${star('redisGbHour')}, Cloud SQL ${d.postgres.tier}${d.postgres.highAvailability ? ' REGIONAL ×2' : ''}${star('sqlVcpuHour')})`,
  );
  const unconfirmed = Object.values(PRICES).filter((p) => !p.confirmed);
  if (unconfirmed.length > 0) say(`  * UNCONFIRMED (secondary source or none): ${unconfirmed.map((p) => p.what).join('; ')}`);
  return out.join('\n');
}

if (import.meta.main) {
  try {
    console.log(await main(process.argv.slice(2)));
  } catch (err) {
    console.error(`npm run capacity: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  }
}
