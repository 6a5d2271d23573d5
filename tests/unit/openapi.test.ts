// openapi.yaml as Google API Gateway takes it: valid Swagger 2.0 (a maintained validator),
// every route of the API reference (docs/api.md), and every operation with an operationId, a
// backend, and a security requirement unless the reference says anyone may call it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { parse } from 'yaml';
import { fillTemplate } from '../../scripts/gateway.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  operationId?: string;
  security?: unknown[];
  'x-google-backend'?: { address?: string; path_translation?: string };
}

function rendered(): Record<string, unknown> {
  const text = fillTemplate(readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8'), {
    users_url: 'https://users-abc.a.run.app',
    sales_url: 'https://sales-abc.a.run.app',
    orders_url: 'https://orders-abc.a.run.app',
    jwt_issuer: 'https://api.example.com',
    jwt_audience: 'flash-sale',
    jwks_url: 'https://jwks-abc.a.run.app',
    managed_service: 'flash-sale-abc.apigateway.my-project.cloud.goog',
  });
  return parse(text) as Record<string, unknown>;
}

/** `METHOD /path` of every call in docs/api.md's tables, and whether anyone may make it. */
function contract(): { call: string; anyone: boolean }[] {
  const apiMd = readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
  const calls: { call: string; anyone: boolean }[] = [];
  for (const line of apiMd.split('\n')) {
    const m = /^\| `(GET|POST|PUT|PATCH|DELETE) (\/[^`]*)`(.*)$/.exec(line);
    if (!m) continue;
    const [, method, p, rest] = m;
    const rowAnyone = /\| anyone \|/.test(rest ?? '');
    const publicUserCall = p?.startsWith('/users') || p?.startsWith('/.well-known');
    calls.push({ call: `${method?.toLowerCase()} ${p?.split('?')[0]}`, anyone: Boolean(rowAnyone || publicUserCall) });
  }
  return calls;
}

test('openapi.yaml is valid Swagger 2.0', async () => {
  const api = (await SwaggerParser.validate(rendered() as never)) as { swagger?: string };
  assert.equal(api.swagger, '2.0');
});

test('every call of docs/api.md is an operation; anyone-calls are open, the rest need the JWT', () => {
  const paths = rendered().paths as Record<string, Record<string, Operation>>;
  const calls = contract();
  assert.ok(calls.length >= 13, `${calls.length} calls read from docs/api.md`);
  for (const { call, anyone } of calls) {
    const [method, p] = call.split(' ') as [string, string];
    const op = paths[p]?.[method];
    assert.ok(op, `${call} is in openapi.yaml`);
    assert.equal(Boolean(op.security?.length), !anyone, `${call}: ${anyone ? 'open to anyone' : 'needs the JWT'}`);
  }
});

test('every operation has an operationId, a backend that appends its path, and a security decision', () => {
  const doc = rendered();
  const scheme = (doc.securityDefinitions as Record<string, Record<string, string>>).jwt;
  assert.equal(scheme?.['x-google-issuer'], 'https://api.example.com');
  assert.match(scheme?.['x-google-jwks_uri'] ?? '', /^https:\/\//);
  assert.equal(scheme?.['x-google-audiences'], 'flash-sale');
  const ids = new Set<string>();
  for (const [p, methods] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const method of METHODS) {
      const op = methods[method];
      if (!op) continue;
      assert.ok(op.operationId && !ids.has(op.operationId), `${method} ${p}: a unique operationId`);
      ids.add(op.operationId);
      assert.match(op['x-google-backend']?.address ?? '', /^https:\/\//, `${method} ${p}: a backend`);
      assert.equal(op['x-google-backend']?.path_translation, 'APPEND_PATH_TO_ADDRESS', `${method} ${p}`);
    }
  }
});

test('request bodies reject unknown fields', () => {
  const definitions = rendered().definitions as Record<string, { additionalProperties?: boolean; required?: string[] }>;
  for (const name of ['Signup', 'Credentials', 'NewProduct', 'NewSale', 'SaleUpdate', 'NewOrder', 'Checkout']) {
    assert.equal(definitions[name]?.additionalProperties, false, name);
  }
});
