// The sale-day monitoring (terraform/modules/monitoring), checked offline beside
// terraform.test.ts's schema check: the four alerts an operator acts on exist, every
// deployment wires the module, and each log-based metric filters on log lines the functions
// really write (a renamed message or field would leave a metric, and its alert, silent).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseModule, ROOT } from '../../scripts/terraform-model.ts';

type Json = Record<string, unknown>;

const monitoring = await parseModule('modules/monitoring');
const locals = Object.assign({}, ...((monitoring.locals as unknown as Json[]) ?? [])) as Json;
const metrics = locals.metrics as Record<string, { filter: string; labels: Record<string, string>; value?: string }>;

function sources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}
const code = sources(path.join(ROOT, 'functions/src'));

test('alerts on 5xx rate, orders stuck pending, worker failures and Redis memory', () => {
  const policies = Object.keys((monitoring.resource?.google_monitoring_alert_policy ?? {}) as Json).sort();
  assert.deepEqual(policies, ['error_rate', 'redis_memory', 'stuck_pending', 'worker_failures']);
  const resources = (type: string) => Object.keys((monitoring.resource?.[type] ?? {}) as Json);
  assert.deepEqual(resources('google_monitoring_dashboard'), ['sale'], 'a dashboard');
  assert.deepEqual(resources('google_logging_metric'), ['metric'], 'the log-based metrics');
});

test("the operator's numbers are all log-based metrics", () => {
  for (const name of ['order_attempts', 'final_latency', 'tasks_retried', 'orders_failed', 'pending_stale', 'drift_repaired', 'errors_5xx', 'requests']) {
    assert.ok(metrics[name], `metric ${name}`);
  }
});

test('every message and field a metric filters on is one the functions write', () => {
  const all = [...Object.values(metrics).flatMap((m) => [m.filter, m.value ?? '', ...Object.values(m.labels)]), String(locals.settled), String(locals.swept), String(locals.ours)].join(' ');
  const messages = [...all.matchAll(/jsonPayload\.message=\\?"([^"\\]+)\\?"/g)].map((m) => m[1] as string);
  assert.ok(messages.length >= 4, messages.join(', '));
  for (const message of new Set(messages)) assert.ok(code.includes(`'${message}'`), `a log line "${message}" in functions/src`);
  const fields = [...all.matchAll(/jsonPayload\.([a-z_]+)/g)].map((m) => m[1] as string).filter((f) => f !== 'message');
  for (const field of new Set(fields)) assert.match(code, new RegExp(`\\b${field}\\b`), `a log field ${field} in functions/src`);
  for (const field of new Set([...all.matchAll(/httpRequest\.([A-Za-z]+)/g)].map((m) => m[1] as string))) {
    assert.ok(readFileSync(path.join(ROOT, 'functions/src/lib/log.ts'), 'utf8').includes(`${field}:`), `httpRequest.${field} in the access line`);
  }
});

test('the flash-sale module wires the monitoring module, and both environments pass the alert channels', async () => {
  const flashSale = await parseModule('modules/flash-sale');
  const wired = (flashSale.module?.monitoring as unknown as Json[] | undefined)?.[0];
  assert.equal(wired?.source, '../monitoring');
  for (const env of ['dev', 'prod']) {
    const root = await parseModule(`environments/${env}`);
    const args = (root.module?.flash_sale as unknown as Json[] | undefined)?.[0];
    assert.equal(args?.alert_notification_channels, '${var.alert_notification_channels}', env);
  }
});
