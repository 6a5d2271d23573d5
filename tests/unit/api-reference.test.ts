// docs/api.md, openapi.yaml and the error catalogue say the same thing: the same operations,
// who may call each, its success status, body fields and error codes, and the same catalogue.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ERRORS } from '../../functions/src/lib/errors.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Schema {
  $ref?: string;
  required?: string[];
  properties?: Record<string, unknown>;
}

interface Parameter {
  in: 'body' | 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema?: Schema;
}

interface Response {
  $ref?: string;
  description?: string;
}

interface Operation {
  security?: unknown[];
  parameters?: Parameter[];
  responses: Record<string, Response>;
}

interface Spec {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  responses: Record<string, Response>;
  definitions: Record<string, Schema>;
}

/** One row of a call table of docs/api.md: | `METHOD /path` | who | body | success | errors |. */
interface DocumentedCall {
  call: string;
  who: string;
  body: string;
  success: string;
  errors: string;
}

const spec = parse(readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8')) as Spec;
const apiMd = readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');

function documentedCalls(): DocumentedCall[] {
  const calls: DocumentedCall[] = [];
  for (const line of apiMd.split('\n')) {
    const m = /^\| `(GET|POST|PUT|PATCH|DELETE) (\/[^`]*)` \|(.*)\|$/.exec(line);
    if (!m) continue;
    const cells = (m[3] ?? '').split('|').map((c) => c.trim());
    assert.equal(cells.length, 4, `${m[1]} ${m[2]}: who, body, success and errors`);
    const [who = '', body = '', success = '', errors = ''] = cells;
    calls.push({ call: `${m[1]?.toLowerCase()} ${m[2]}`, who, body, success, errors });
  }
  return calls;
}

function operations(): Map<string, Operation> {
  const ops = new Map<string, Operation>();
  for (const [p, methods] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = methods[method];
      if (op) ops.set(`${method} ${p}`, op);
    }
  }
  return ops;
}

function definition(ref: string | undefined): Schema {
  const name = ref?.replace('#/definitions/', '') ?? '';
  const found = spec.definitions[name];
  assert.ok(found, `definition ${name}`);
  return found;
}

/** Status -> the catalogue codes an operation's error responses name, sorted. */
function specErrors(op: Operation): Map<string, string[]> {
  const byStatus = new Map<string, string[]>();
  for (const [status, response] of Object.entries(op.responses)) {
    if (!/^[45]\d\d$/.test(status)) continue;
    const resolved = response.$ref ? spec.responses[response.$ref.replace('#/responses/', '')] : response;
    const codes = (resolved?.description?.match(/[a-z_]+/g) ?? []).filter((w) => w in ERRORS).sort();
    assert.ok(codes.length > 0, `openapi.yaml's ${status} names its code`);
    byStatus.set(status, codes);
  }
  return byStatus;
}

function documentedErrors(cell: string): Map<string, string[]> {
  const byStatus = new Map<string, string[]>();
  for (const [, status = '', code = ''] of cell.matchAll(/`([45]\d\d) ([a-z_]+)`/g)) {
    byStatus.set(status, [...(byStatus.get(status) ?? []), code].sort());
  }
  return byStatus;
}

/** `{a, b?}` -> a required, b optional; "query `x?`" and "header `X?`" likewise. */
function documentedFields(cell: string): { body: Map<string, boolean> | undefined; params: Map<string, boolean> } {
  const fields = (list: string) =>
    new Map(list.split(',').map((f) => f.trim()).filter(Boolean).map((f) => [f.replace(/\?$/, ''), !f.endsWith('?')] as const));
  const bodyMatch = /`\{([^}`]*)\}`/.exec(cell);
  const params = new Map<string, boolean>();
  for (const [, , name = '', optional] of cell.matchAll(/(query|header) `([A-Za-z_-]+)(\??)`/g)) params.set(name, optional !== '?');
  return { body: bodyMatch ? fields(bodyMatch[1] ?? '') : undefined, params };
}

test('every operation of openapi.yaml is a row of docs/api.md, and every row an operation', () => {
  const documented = documentedCalls().map((c) => c.call);
  assert.equal(new Set(documented).size, documented.length, 'each call documented once');
  assert.deepEqual([...documented].sort(), [...operations().keys()].sort());
});

test("each documented call has openapi.yaml's security, success status, body fields and error codes", () => {
  const ops = operations();
  for (const doc of documentedCalls()) {
    const op = ops.get(doc.call);
    assert.ok(op, `${doc.call} is in openapi.yaml`);

    assert.ok(['anyone', 'user', 'admin'].includes(doc.who), `${doc.call}: who is anyone, user or admin`);
    assert.equal(doc.who === 'anyone', !op.security?.length, `${doc.call}: ${doc.who} matches its security`);

    const specSuccess = Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s));
    assert.deepEqual(specSuccess, [/^`(2\d\d)\b/.exec(doc.success)?.[1]], `${doc.call}: success status`);

    assert.deepEqual(documentedErrors(doc.errors), specErrors(op), `${doc.call}: error statuses and codes`);

    const { body, params } = documentedFields(doc.body);
    const bodyParam = op.parameters?.find((p) => p.in === 'body');
    if (bodyParam) {
      const schema = definition(bodyParam.schema?.$ref);
      const required = new Set(schema.required ?? []);
      const specFields = new Map(Object.keys(schema.properties ?? {}).map((f) => [f, required.has(f)] as const));
      assert.deepEqual(body, specFields, `${doc.call}: body fields and which are optional`);
    } else {
      assert.equal(body, undefined, `${doc.call} takes no body`);
    }
    const specParams = new Map(
      (op.parameters ?? []).filter((p) => p.in === 'query' || p.in === 'header').map((p) => [p.name, p.required === true] as const),
    );
    assert.deepEqual(params, specParams, `${doc.call}: query and header parameters`);
  }
});

test("docs/api.md's error catalogue is the catalogue of errors.ts: codes, statuses, messages", () => {
  const section = apiMd.split(/^## Error catalogue$/m)[1]?.split(/^## /m)[0] ?? '';
  const documented: Record<string, { status: number; message: string }> = {};
  for (const [, code = '', status, message = ''] of section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| ([^|]+) \|/gm)) {
    assert.ok(!(code in documented), `${code} documented once`);
    documented[code] = { status: Number(status), message: message.trim() };
  }
  const catalogue = Object.fromEntries(Object.entries(ERRORS).map(([code, { status, message }]) => [code, { status, message }]));
  assert.deepEqual(documented, catalogue);
});
