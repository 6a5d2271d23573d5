// The capacity model of one sale on the cloud deployment (npm run capacity): from the bench's
// measured figures, the deployment's settings in terraform/ and an attempt model (flags), the
// rates every part must carry, the ceiling each has, the first one hit, the times to sell out and
// to confirm everything, and a cost. Pure arithmetic, so that tests/unit/capacity.test.ts can
// check it; scripts/capacity.ts reads the inputs and prints.

/** A figure and where it comes from: measured by the bench, stated in the docs, or assumed. */
export interface Sourced {
  value: number;
  from: string;
}

/** What the bench measured (bench-results/latest.json or a committed copy of it). */
export interface Measured {
  /** POST /orders per second one instance of the deployed host answers (the bench's case of it). */
  ordersPerInstance: Sourced;
  /** Host CPU ms per POST /orders. */
  ordersCpuMs: number;
  /** p50 of POST /orders under the bench's load (ms): Little's law for the requests in flight. */
  ordersP50Ms: number;
  /** GET /sales per second one instance of the sales function answers. */
  readsPerInstance: Sourced;
  /** One Redis's take-script calls per second (the sale's keys share a hash tag: one shard). */
  takeCallsCeiling: Sourced;
  /** Attempts one take call decides (grouped takes); 1 without grouping. */
  attemptsPerTakeCall: Sourced;
  /** Attempts per second one Redis core decides in calls of attemptsPerTakeCall: a grouped call
   *  costs more than a lone one, so this is not takeCallsCeiling × attemptsPerTakeCall. */
  takeAttemptsCeiling: Sourced;
  /** Orders one Cloud Task carries; 1 when each order is its own task. */
  ordersPerTask: Sourced;
  /** Orders PostgreSQL confirms per second when a backlog waits (the worker's pace). */
  confirmedPerS: Sourced;
  /** Orders per committing transaction. */
  ordersPerCommit: Sourced;
  /** 202 → confirmed p50 with the worker keeping up (ms). */
  confirmP50Ms: Sourced;
}

/** The deployment's settings (terraform/, the environment's effective values). */
export interface Deployment {
  environment: string;
  orders: { maxInstances: number; concurrency: number; cpu: number; memoryGiB: number };
  sales: { maxInstances: number; concurrency: number; cpu: number; memoryGiB: number };
  /** Cloud Tasks dispatches per second of the orders queue (≤ 500, docs/cloud.md §6). */
  queuePerS: number;
  redis: { tier: string; memoryGb: number };
  postgres: { tier: string; vcpu: number; memoryGb: number; highAvailability: boolean };
}

/** How buyers behave: every flag of npm run capacity. */
export interface Assumptions {
  buyers: number;
  stock: number;
  /** Buyers arrive evenly over this many seconds after the sale opens. */
  arrivalS: number;
  /** POST /orders per buyer: the click, and retries after 429, 503 or no answer (same Idempotency-Key). */
  attemptsPerBuyer: number;
  /** A buyer with a pending order asks GET /orders/{id} this often (s; the web client: 1). */
  pollS: number;
  /** GET /sales and GET /sales/{id} per buyer on arrival. */
  pageLoads: number;
  /** A buyer's page polls GET /sales/{id} this often (s) while open; 0: the Firestore live view instead. */
  salePollS: number;
  /** The share of an instance's measured throughput it is run at (autoscaling headroom). */
  utilization: number;
}

export interface Price {
  what: string;
  usd: number;
  unit: string;
  /** Where the price was read, and when. */
  source: string;
  confirmed: boolean;
}

/** The prices the estimate uses; each is cited in docs/cloud.md §13. */
export interface Prices {
  gatewayPerMillion: Price;
  runVcpuSecond: Price;
  runGibSecond: Price;
  runPerMillionRequests: Price;
  tasksPerMillionOps: Price;
  redisGbHour: Price;
  sqlVcpuHour: Price;
  sqlGbHour: Price;
}

export interface Load {
  what: string;
  demand: number;
  ceiling: number;
  unit: string;
  /** What bounds it, in words. */
  bound: string;
}

export interface CapacityResult {
  /** Peak requests per second at the gateway, by kind, and their sum. */
  gateway: { posts: number; orderPolls: number; pageLoads: number; salePolls: number; total: number };
  instances: { orders: number; sales: number; ordersInFlightPerInstance: number };
  redisCallsPerS: number;
  tasksPerS: number;
  postgres: { confirmedPerS: number; commitsPerS: number; pendingReadsPerS: number };
  /** Units sold, acceptances per second, confirmations per second. */
  sold: number;
  acceptedPerS: number;
  confirmingPerS: number;
  sellOutS: number;
  confirmAllS: number;
  /** Every bounded part, highest use first; the first is the first ceiling hit. */
  loads: Load[];
  firstCeiling: Load;
  cost: { lines: { what: string; quantity: number; unit: string; usd: number }[]; perSaleUsd: number; perHourUsd: number };
}

const ceilTo = (x: number) => Math.ceil(x - 1e-9);

/** The model. Rates are per second; times in seconds. */
export function capacity(m: Measured, d: Deployment, a: Assumptions, p: Prices): CapacityResult {
  const arrivalPerS = a.buyers / a.arrivalS;
  const posts = arrivalPerS * a.attemptsPerBuyer;

  // What the purchase path can answer: the orders function's instances, and the sale's one Redis shard.
  const ordersCapacity = d.orders.maxInstances * m.ordersPerInstance.value;
  const redisAttemptsCapacity = m.takeAttemptsCeiling.value;
  const postCapacity = Math.min(ordersCapacity, redisAttemptsCapacity);
  // A buyer's first attempt takes a unit while stock lasts; past the capacity, buyers wait (and retry).
  const acceptedPerS = Math.min(arrivalPerS, postCapacity / a.attemptsPerBuyer);
  const sold = Math.min(a.stock, a.buyers);
  const sellOutS = sold / acceptedPerS;

  // Confirmations: the queue's dispatches × orders per task, and PostgreSQL's measured pace.
  const confirmCeiling = Math.min(d.queuePerS * m.ordersPerTask.value, m.confirmedPerS.value);
  const confirmingPerS = Math.min(acceptedPerS, confirmCeiling);
  const confirmLatencyS = m.confirmP50Ms.value / 1000;
  const confirmAllS = Math.max(sellOutS, sold / confirmingPerS) + confirmLatencyS;
  // Orders accepted evenly over sellOutS and confirmed evenly over confirmAllS: a backlog peaks at
  // the sell-out; without one, the orders in flight are the takes of one confirmation latency.
  const pendingPeak = Math.max(sold - confirmingPerS * sellOutS, Math.min(sold, acceptedPerS * confirmLatencyS));
  const meanWaitS = confirmLatencyS + Math.max(0, confirmAllS - confirmLatencyS - sellOutS) / 2;

  const orderPolls = pendingPeak / a.pollS;
  const pageLoads = arrivalPerS * a.pageLoads;
  const salePolls = a.salePollS > 0 ? a.buyers / a.salePollS : 0;
  const total = posts + orderPolls + pageLoads + salePolls;

  const perOrdersInstance = m.ordersPerInstance.value * a.utilization;
  const ordersInstances = ceilTo((posts + orderPolls) / perOrdersInstance);
  const salesInstances = ceilTo((pageLoads + salePolls) / (m.readsPerInstance.value * a.utilization));
  const ordersInFlightPerInstance = perOrdersInstance * (m.ordersP50Ms / 1000);

  // Each take call decides attemptsPerTakeCall attempts; each poll of a pending order reads Redis once (orders/read.ts).
  const redisCallsPerS = posts / m.attemptsPerTakeCall.value + orderPolls;
  const tasksPerS = acceptedPerS / m.ordersPerTask.value;
  const commitsPerS = confirmingPerS / m.ordersPerCommit.value;

  const loads: Load[] = [
    {
      what: 'orders function instances',
      demand: ordersInstances,
      ceiling: d.orders.maxInstances,
      unit: 'instances',
      bound: `max_instances ${d.orders.maxInstances} (terraform), each ${fmt(m.ordersPerInstance.value)} req/s measured, run at ${pct(a.utilization)}`,
    },
    {
      what: 'sales function instances',
      demand: salesInstances,
      ceiling: d.sales.maxInstances,
      unit: 'instances',
      bound: `max_instances ${d.sales.maxInstances} (terraform), each ${fmt(m.readsPerInstance.value)} GET /sales/s measured`,
    },
    {
      what: 'concurrency per orders instance',
      demand: ordersInFlightPerInstance,
      ceiling: d.orders.concurrency,
      unit: 'requests in flight',
      bound: `Cloud Run concurrency ${d.orders.concurrency} (terraform); in flight = rate × p50 ${fmt(m.ordersP50Ms)} ms`,
    },
    {
      // One shard's one core: the takes at the grouped pace, each poll's read counted as a lone call (cautious).
      what: 'Redis calls on the sale\'s shard',
      demand: posts / m.takeAttemptsCeiling.value + orderPolls / m.takeCallsCeiling.value,
      ceiling: 1,
      unit: 'of one Redis core',
      bound: `one shard's core: takes at ${fmt(m.takeAttemptsCeiling.value)} attempts/s (${m.takeAttemptsCeiling.from}), reads at ${fmt(m.takeCallsCeiling.value)} calls/s (${m.takeCallsCeiling.from})`,
    },
    {
      what: 'Cloud Tasks dispatches',
      demand: tasksPerS,
      ceiling: d.queuePerS,
      unit: 'tasks/s',
      bound: `max_dispatches_per_second ${d.queuePerS} (terraform; ≤ 500 per queue, docs/cloud.md §6)`,
    },
    {
      what: 'PostgreSQL confirmations',
      demand: acceptedPerS,
      ceiling: m.confirmedPerS.value,
      unit: 'orders/s',
      bound: `the worker's measured pace, ${m.confirmedPerS.from}`,
    },
  ];
  loads.sort((x, y) => y.demand / y.ceiling - x.demand / x.ceiling);
  const firstCeiling = loads[0] as Load;

  // Cost of the sale: per call, per request, per vCPU- and GiB-second of busy instances, per task operation.
  const postsTotal = a.buyers * a.attemptsPerBuyer;
  const pollsTotal = sold * Math.max(1, meanWaitS / a.pollS);
  const pageLoadsTotal = a.buyers * a.pageLoads;
  const salePollsTotal = a.salePollS > 0 ? (a.buyers * Math.max(0, confirmAllS - a.arrivalS / 2)) / a.salePollS : 0;
  const calls = postsTotal + pollsTotal + pageLoadsTotal + salePollsTotal;
  const ordersInstanceS = (postsTotal + pollsTotal) / perOrdersInstance;
  const salesInstanceS = (pageLoadsTotal + salePollsTotal) / (m.readsPerInstance.value * a.utilization);
  const vcpuS = ordersInstanceS * d.orders.cpu + salesInstanceS * d.sales.cpu;
  const gibS = ordersInstanceS * d.orders.memoryGiB + salesInstanceS * d.sales.memoryGiB;
  // A task is two billable operations: its creation and its push delivery.
  const taskOps = 2 * (sold / m.ordersPerTask.value);
  const lines = [
    { what: 'API Gateway calls', quantity: calls, unit: 'calls', usd: (calls / 1e6) * p.gatewayPerMillion.usd },
    { what: 'Cloud Run requests (functions)', quantity: calls, unit: 'requests', usd: (calls / 1e6) * p.runPerMillionRequests.usd },
    { what: 'Cloud Run vCPU-seconds', quantity: vcpuS, unit: 'vCPU-s', usd: vcpuS * p.runVcpuSecond.usd },
    { what: 'Cloud Run GiB-seconds', quantity: gibS, unit: 'GiB-s', usd: gibS * p.runGibSecond.usd },
    { what: 'Cloud Tasks operations', quantity: taskOps, unit: 'operations', usd: (taskOps / 1e6) * p.tasksPerMillionOps.usd },
  ];
  const perHourUsd =
    d.redis.memoryGb * p.redisGbHour.usd +
    (d.postgres.vcpu * p.sqlVcpuHour.usd + d.postgres.memoryGb * p.sqlGbHour.usd) * (d.postgres.highAvailability ? 2 : 1);

  return {
    gateway: { posts, orderPolls, pageLoads, salePolls, total },
    instances: { orders: ordersInstances, sales: salesInstances, ordersInFlightPerInstance },
    redisCallsPerS,
    tasksPerS,
    postgres: { confirmedPerS: confirmingPerS, commitsPerS, pendingReadsPerS: orderPolls },
    sold,
    acceptedPerS,
    confirmingPerS,
    sellOutS,
    confirmAllS,
    loads,
    firstCeiling,
    cost: { lines, perSaleUsd: lines.reduce((sum, l) => sum + l.usd, 0), perHourUsd },
  };
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return x.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
