// The health route of every function: GET /health, never a path ending in z (Cloud Run
// reserves some of those, docs/cloud.md §8), on each function and in openapi.yaml.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { healthRoute } from '../../functions/src/lib/health.ts';

test('the health route is GET /health and answers ok when it checks nothing', async () => {
  const route = healthRoute({});
  assert.equal(route.method, 'GET');
  assert.equal(route.path, '/health');
  const reply = await route.handler({} as never);
  assert.deepEqual(reply, { status: 200, body: { status: 'ok' } });
});

test('no route of openapi.yaml ends in z, and /health is one of them', () => {
  const text = readFileSync(path.join(import.meta.dirname, '../../openapi.yaml'), 'utf8');
  const paths = [...text.matchAll(/^ {2}(\/\S*):\s*$/gm)].map((m) => m[1] ?? '');
  assert.ok(paths.includes('/health'), 'GET /health is routed');
  assert.deepEqual(paths.filter((p) => /z$/i.test(p)), [], 'paths ending in z');
});
