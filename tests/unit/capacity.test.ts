// npm run capacity (scripts/capacity.ts, scripts/capacity-model.ts): the model's arithmetic on
// round inputs worked out by hand, the fallbacks when the bench's figures lack "scale", which
// figures file is used and why, and the command itself on the committed figures.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { capacity, type Assumptions, type Deployment, type Measured } from '../../scripts/capacity-model.ts';
import { chooseFigures, COMMITTED, LATEST, measuredFrom, PRICES, type BenchFigures } from '../../scripts/capacity.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const given = (value: number) => ({ value, from: 'test' });

const measured: Measured = {
  ordersPerInstance: given(1000),
  ordersCpuMs: 0.5,
  ordersP50Ms: 50,
  readsPerInstance: given(2000),
  takeCallsCeiling: given(40_000),
  attemptsPerTakeCall: given(1),
  takeAttemptsCeiling: given(40_000),
  ordersPerTask: given(1),
  confirmedPerS: given(1000),
  ordersPerCommit: given(10),
  confirmP50Ms: given(1000),
};
const deployment: Deployment = {
  environment: 'test',
  orders: { maxInstances: 100, concurrency: 250, cpu: 2, memoryGiB: 1 },
  sales: { maxInstances: 20, concurrency: 80, cpu: 1, memoryGiB: 0.5 },
  queuePerS: 500,
  redis: { tier: 'STANDARD_HA', memoryGb: 5 },
  postgres: { tier: 'db-custom-2-7680', vcpu: 2, memoryGb: 7.5, highAvailability: true },
};
const buyers: Assumptions = { buyers: 100_000, stock: 10_000, arrivalS: 10, attemptsPerBuyer: 2, pollS: 1, pageLoads: 1, salePollS: 0, utilization: 0.5 };

const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6 * Math.max(1, Math.abs(expected)), `${what}: ${actual}, expected ${expected}`);

test('capacity: the rates, instances, times and ceilings of a sale, worked out by hand', () => {
  const r = capacity(measured, deployment, buyers, PRICES);
  // 10,000 buyers/s × 2 attempts; takes bounded by Redis (40,000 attempts/s ÷ 2 per buyer) above the 10,000 arriving.
  near(r.gateway.posts, 20_000, 'POST /orders/s');
  near(r.acceptedPerS, 10_000, 'taken/s');
  near(r.sellOutS, 1, 'sell-out s');
  // The queue: 500 tasks/s of one order each (PostgreSQL's 1,000/s is not reached); + the 1 s p50.
  near(r.confirmingPerS, 500, 'confirmed/s');
  near(r.confirmAllS, 21, 'confirm-all s');
  // Pending at the sell-out: the larger of the backlog (10,000 − 500 written) and 10,000/s × 1 s in flight, each polling once a second.
  near(r.gateway.orderPolls, 10_000, 'polls/s');
  near(r.gateway.pageLoads, 10_000, 'page loads/s');
  near(r.gateway.total, 40_000, 'gateway/s');
  assert.equal(r.instances.orders, 60); // 30,000 / (1,000 × 0.5)
  assert.equal(r.instances.sales, 10); // 10,000 / (2,000 × 0.5)
  near(r.instances.ordersInFlightPerInstance, 25, 'in flight'); // 500/s × 50 ms
  near(r.redisCallsPerS, 30_000, 'Redis calls/s');
  near(r.tasksPerS, 10_000, 'tasks/s');
  near(r.postgres.commitsPerS, 50, 'commits/s');
  assert.deepEqual(
    r.loads.map((l) => [l.what, Math.round((l.demand / l.ceiling) * 100)]),
    [
      ['Cloud Tasks dispatches', 2000],
      ['PostgreSQL confirmations', 1000],
      ["Redis calls on the sale's shard", 75],
      ['orders function instances', 60],
      ['sales function instances', 50],
      ['concurrency per orders instance', 10],
    ],
  );
  assert.equal(r.firstCeiling.what, 'Cloud Tasks dispatches');
});

test('capacity: the cost, line by line', () => {
  const r = capacity(measured, deployment, buyers, PRICES);
  const line = (what: string) => r.cost.lines.find((l) => l.what === what);
  // 200,000 POSTs + 10,000 orders × 10.5 polls (mean wait 1 + (21 − 1 − 1)/2 s) + 100,000 page loads.
  near(line('API Gateway calls')?.quantity ?? NaN, 405_000, 'calls');
  near(line('API Gateway calls')?.usd ?? NaN, 0.405 * PRICES.gatewayPerMillion.usd, 'gateway $');
  // orders: 305,000 requests / 500 per instance-second × 2 vCPU; sales: 100,000 / 1,000 × 1 vCPU.
  near(line('Cloud Run vCPU-seconds')?.quantity ?? NaN, 1320, 'vCPU-s');
  near(line('Cloud Run GiB-seconds')?.quantity ?? NaN, 660, 'GiB-s');
  near(line('Cloud Tasks operations')?.quantity ?? NaN, 20_000, 'task operations');
  near(r.cost.perSaleUsd, r.cost.lines.reduce((s, l) => s + l.usd, 0), 'sum');
  // 5 GB of Memorystore, and 2 vCPU + 7.5 GB of Cloud SQL, twice (REGIONAL).
  near(r.cost.perHourUsd, 5 * PRICES.redisGbHour.usd + 2 * (2 * PRICES.sqlVcpuHour.usd + 7.5 * PRICES.sqlGbHour.usd), 'per hour');
});

test('capacity: grouped takes and orders per task move the ceilings; a stock above the buyers sells what they take', () => {
  const scaled = capacity({ ...measured, attemptsPerTakeCall: given(10), takeAttemptsCeiling: given(100_000), ordersPerTask: given(20) }, deployment, buyers, PRICES);
  near(scaled.redisCallsPerS, 2_000 + scaled.gateway.orderPolls, 'Redis calls/s with groups of 10');
  // A group of 10 is not 10 lone calls' worth: Redis's share is the takes at the grouped pace plus the polls as lone calls.
  const redis = scaled.loads.find((l) => l.what === "Redis calls on the sale's shard")!;
  near(redis.demand, 20_000 / 100_000 + scaled.gateway.orderPolls / 40_000, 'Redis share of a core with groups of 10');
  near(scaled.tasksPerS, 500, 'tasks/s with 20 orders a task');
  near(scaled.confirmingPerS, 1000, 'PostgreSQL now bounds the confirmations');
  assert.equal(scaled.firstCeiling.what, 'PostgreSQL confirmations');
  const plenty = capacity(measured, deployment, { ...buyers, stock: 1_000_000 }, PRICES);
  near(plenty.sellOutS, 10, 'every buyer served over the 10 s of arrivals');
  assert.equal(plenty.sold, 100_000);
});

const figures: BenchFigures = {
  at: '2026-01-01T00:00:00.000Z',
  machine: 'test',
  cases: [
    { case: 'Functions Framework POST /orders', requests_per_s: 2000, p50_ms: 40, cpu_ms_per_1k: { host: 500, redis: 30 } },
    { case: 'node:http POST /orders', requests_per_s: 10_000, p50_ms: 8, cpu_ms_per_1k: { host: 90, redis: 20 } },
    { case: 'Functions Framework GET /sales', requests_per_s: 2100, p50_ms: 40, cpu_ms_per_1k: { host: 480, redis: 2 } },
    { case: 'node:http take script alone, sold out (the floor of POST /orders)', requests_per_s: 15_000, p50_ms: 5, cpu_ms_per_1k: { host: 60, redis: 12.5 } },
  ],
  sales: [
    { sale: 'hot path, node:http POST /orders (6 sales)', confirmed: 6000 },
    { sale: 'sell-out', confirmed: 10_000, accepted_to_confirmed_p50_ms: 250 },
  ],
  backlog_drain: { orders: 6000, seconds: 2, orders_per_s: 3000, orders_per_commit: 12 },
};

test('measuredFrom: without "scale", 1 attempt per call, 1 order per task, the ceiling from the floor\'s Redis CPU — each said', () => {
  const m = measuredFrom(figures, 'framework');
  // One core's worth at the host CPU a request took: 1e6 µs / 500 µs.
  assert.equal(m.ordersPerInstance.value, 2000);
  assert.equal(m.readsPerInstance.value, 2083);
  assert.equal(m.attemptsPerTakeCall.value, 1);
  assert.match(m.attemptsPerTakeCall.from, /no "scale"/);
  assert.equal(m.ordersPerTask.value, 1);
  assert.equal(m.takeCallsCeiling.value, 80_000); // 1e6 µs / 12.5 µs per call
  assert.match(m.takeCallsCeiling.from, /floor case/);
  // PostgreSQL's pace is the backlog's (work waiting), not the sell-out's, which the buyers paced.
  assert.equal(m.confirmedPerS.value, 3000);
  assert.equal(m.ordersPerCommit.value, 12);
  assert.equal(m.confirmP50Ms.value, 250);
  assert.equal(measuredFrom(figures, 'lean').ordersPerInstance.value, 11_111);
});

test('measuredFrom: "scale" when the bench wrote it; the stated figures without a backlog', () => {
  const m = measuredFrom({ ...figures, scale: { attempts_per_take_call: 7.5, orders_per_task: 40, take_calls_per_s_ceiling: 70_000 } }, 'framework');
  assert.deepEqual([m.attemptsPerTakeCall.value, m.ordersPerTask.value, m.takeCallsCeiling.value], [7.5, 40, 70_000]);
  assert.match(m.takeCallsCeiling.from, /measured/);
  assert.equal(m.takeAttemptsCeiling.value, 70_000, 'without a grouped figure an attempt costs a lone call');
  const grouped = measuredFrom({ ...figures, scale: { attempts_per_take_call: 7.5, take_calls_per_s_ceiling: 70_000, take_attempts_per_s_ceiling_grouped: 150_000 } }, 'framework');
  assert.equal(grouped.takeAttemptsCeiling.value, 150_000);
  const old = measuredFrom({ ...figures, backlog_drain: undefined }, 'framework');
  assert.equal(old.confirmedPerS.value, 600);
  assert.match(old.confirmedPerS.from, /UNMEASURED/);
});

test('chooseFigures: the latest run when it has every case, else the committed copy, saying why', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'capacity-'));
  assert.equal(chooseFigures(undefined, root).file, path.join(root, COMMITTED));
  assert.match(chooseFigures(undefined, root).why, /does not exist/);
  mkdirSync(path.join(root, 'bench-results'));
  writeFileSync(path.join(root, LATEST), JSON.stringify({ ...figures, cases: figures.cases.slice(0, 1) }));
  assert.equal(chooseFigures(undefined, root).file, path.join(root, COMMITTED));
  assert.match(chooseFigures(undefined, root).why, /lacks .*--only/);
  writeFileSync(path.join(root, LATEST), JSON.stringify(figures));
  assert.equal(chooseFigures(undefined, root).file, path.join(root, LATEST));
  assert.equal(chooseFigures('x.json', root).file, 'x.json');
});

test('npm run capacity runs on the committed figures and names them', () => {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'scripts/capacity.ts'), '--figures', path.join(ROOT, COMMITTED), '--buyers', '10000', '--stock', '1000'],
    { encoding: 'utf8', cwd: ROOT },
  );
  assert.match(out, new RegExp(`Figures: ${COMMITTED.replace(/[.]/g, '\\.')}`));
  assert.match(out, /requests\/s at the gateway/);
  assert.match(out, /FIRST CEILING HIT|No ceiling hit/);
  assert.match(out, /UNCONFIRMED/);
});
