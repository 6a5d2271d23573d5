// The Terraform, checked offline (no provider download, no network): every file parses
// (@cdktf/hcl2json), every argument of every google resource exists in the provider's
// schema as npm ships it (@cdktf/provider-google-beta, a superset of google), every variable
// is declared and used, every function target is deployed with the settings the code needs,
// and nothing but the gateway and the jwks function is open to allUsers.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from '@cdktf/hcl2json';
import { configSchema, DEPLOY_REQUIRED } from '../../functions/src/lib/config.ts';
import { FUNCTION_TARGETS } from '../../functions/src/targets.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const TF = path.join(ROOT, 'terraform');
const require = createRequire(import.meta.url);
const SCHEMA_LIB = path.join(path.dirname(require.resolve('@cdktf/provider-google-beta/package.json')), 'lib');

type Json = Record<string, unknown>;
type Block = Json[];

function tfDirs(dir = TF): string[] {
  const here = readdirSync(dir, { withFileTypes: true });
  const nested = here.filter((e) => e.isDirectory() && e.name !== '.terraform').flatMap((e) => tfDirs(path.join(dir, e.name)));
  return here.some((e) => e.name.endsWith('.tf')) ? [dir, ...nested] : nested;
}

async function parseDir(dir: string): Promise<{ file: string; text: string; json: Json }[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tf'));
  return Promise.all(
    files.map(async (f) => {
      const text = readFileSync(path.join(dir, f), 'utf8');
      return { file: path.relative(ROOT, path.join(dir, f)), text, json: (await parse(f, text)) as Json };
    }),
  );
}

const MODULE_FILES = ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf'];
const META_ARGUMENTS = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'dynamic', 'provisioner', 'connection']);

const camel = (s: string) => s.replace(/[_-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (s: string) => camel(s).replace(/^./, (c) => c.toUpperCase());

/** The argument names the provider accepts for a resource, or for one of its nested blocks. */
function schemaKeys(resourceType: string, blockPath: string[]): Set<string> | undefined {
  const file = path.join(SCHEMA_LIB, resourceType.replace(/_/g, '-'), 'index.js');
  if (!existsSync(file)) return undefined;
  const source = readFileSync(file, 'utf8');
  let body: string | undefined;
  if (blockPath.length === 0) {
    body = /synthesizeAttributes\(\) \{\n\s+return \{\n([\s\S]*?)\n\s+\};/.exec(source)?.[1];
  } else {
    const fn = `${camel(resourceType)}${blockPath.map(pascal).join('')}ToTerraform`;
    body = new RegExp(`function ${fn}\\(struct\\) \\{[\\s\\S]*?return \\{\\n([\\s\\S]*?)\\n\\s+\\};`).exec(source)?.[1];
  }
  if (!body) return undefined;
  return new Set([...body.matchAll(/^\s+([a-z0-9_]+):/gm)].map((m) => m[1] as string));
}

/** Unknown arguments of one resource (and its nested blocks), as "path: name". */
function unknownArguments(type: string, args: Json, blockPath: string[] = []): string[] {
  const allowed = schemaKeys(type, blockPath);
  if (!allowed) return blockPath.length === 0 ? [`${type}: not in the provider schema`] : [];
  const problems: string[] = [];
  const check = (name: string, value: unknown) => {
    if (blockPath.length === 0 && META_ARGUMENTS.has(name)) return;
    if (!allowed.has(name)) problems.push(`${[type, ...blockPath].join('.')}: ${name}`);
    else if (Array.isArray(value) && value.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
      for (const inner of value as Json[]) problems.push(...unknownArguments(type, inner, [...blockPath, name]));
    }
  };
  for (const [name, value] of Object.entries(args)) {
    if (name === 'dynamic') {
      for (const [blockName, specs] of Object.entries(value as Record<string, Json[]>)) {
        for (const spec of specs) check(blockName, spec.content);
      }
    } else check(name, value);
  }
  return problems;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

test('every module and environment has main.tf, variables.tf, outputs.tf and versions.tf, and parses', async () => {
  const dirs = tfDirs();
  assert.ok(dirs.some((d) => d.endsWith(path.join('environments', 'dev'))) && dirs.some((d) => d.endsWith(path.join('environments', 'prod'))));
  for (const dir of dirs) {
    const parsed = await parseDir(dir);
    assert.deepEqual(parsed.map((p) => path.basename(p.file)).sort(), [...MODULE_FILES].sort(), path.relative(ROOT, dir));
  }
});

test('every argument of every google resource is in the provider schema', async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const dir of tfDirs()) {
    for (const { json } of await parseDir(dir)) {
      for (const [type, byName] of Object.entries((json.resource ?? {}) as Record<string, Record<string, Block>>)) {
        if (!type.startsWith('google_')) continue; // random_password: a two-argument resource of another provider
        for (const blocks of Object.values(byName)) {
          for (const args of blocks) {
            problems.push(...unknownArguments(type, args));
            checked++;
          }
        }
      }
    }
  }
  assert.ok(checked > 30, `${checked} resources checked`);
  assert.deepEqual(problems, []);
});

test('every variable used is declared, and every declared one is used', async () => {
  for (const dir of tfDirs()) {
    const parsed = await parseDir(dir);
    const declared = new Set(parsed.flatMap((p) => Object.keys((p.json.variable ?? {}) as Json)));
    const used = new Set(
      parsed.flatMap((p) => {
        const rest = Object.fromEntries(Object.entries(p.json).filter(([kind]) => kind !== 'variable'));
        return strings(rest).flatMap((s) => [...s.matchAll(/\bvar\.([a-z0-9_]+)/g)].map((m) => m[1] as string));
      }),
    );
    const where = path.relative(ROOT, dir);
    assert.deepEqual([...used].filter((v) => !declared.has(v)), [], `${where}: used but not declared`);
    assert.deepEqual([...declared].filter((v) => !used.has(v)), [], `${where}: declared but not used`);
  }
});

test('every function target in functions/src/targets.ts has a function, with its invoker', async () => {
  const targets = Object.keys(FUNCTION_TARGETS).sort();
  const module = readFileSync(path.join(TF, 'modules/functions/variables.tf'), 'utf8');
  const defaults = [...(/default = \{([\s\S]*?)\n {2}\}/.exec(module.slice(module.indexOf('variable "functions"')))?.[1] ?? '').matchAll(/^\s+"?([a-z-]+)"?\s+=/gm)].map((m) => m[1]);
  assert.deepEqual([...defaults].sort(), targets, 'the functions module deploys every target by default');
  const dev = readFileSync(path.join(TF, 'environments/dev/main.tf'), 'utf8');
  const devFunctions = [...(/functions = \{([\s\S]*?)\n {2}\}/.exec(dev)?.[1] ?? '').matchAll(/^\s+"?([a-z-]+)"?\s+=\s+\{ invoker/gm)].map((m) => m[1]);
  assert.deepEqual([...devFunctions].sort(), targets, 'dev overrides every target, none more');
});

test('every x-google-backend of openapi.yaml maps to a deployed function', () => {
  const openapi = readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8');
  const backends = new Set([...openapi.matchAll(/address: \$\{([a-z]+)_url\}/g)].map((m) => m[1] as string));
  const gateway = readFileSync(path.join(TF, 'modules/gateway/main.tf'), 'utf8');
  const rendered = new Set([...gateway.matchAll(/^\s+([a-z]+)_url\s+=\s+var\.backends\["([a-z]+)"\]\.url/gm)].map((m) => m[1] === m[2] && m[1]));
  assert.ok(backends.size >= 3);
  for (const name of backends) {
    assert.ok(name in FUNCTION_TARGETS, `${name}_url names a function target`);
    assert.ok(rendered.has(name), `the gateway module fills ${name}_url with the ${name} function's URL`);
  }
  const placeholders = new Set([...openapi.matchAll(/\$\{([a-z_]+)\}/g)].map((m) => m[1]));
  const passed = new Set([...(/templatefile\(var\.openapi_file, \{([\s\S]*?)\}\)\)/.exec(gateway)?.[1] ?? '').matchAll(/^\s+([a-z_]+)\s+=/gm)].map((m) => m[1]));
  assert.deepEqual([...placeholders].filter((p) => !passed.has(p)), [], 'every placeholder of openapi.yaml gets a value');
});

test("each function's environment covers what the config schema needs in a deployment, and names only known settings", () => {
  // Every environment is computed by the provider-free function-env module.
  const main = readFileSync(path.join(TF, 'modules/function-env/main.tf'), 'utf8');
  const set = new Set([...main.matchAll(/^\s+([A-Z][A-Z0-9_]+)\s+=/gm), ...main.matchAll(/\{ ([A-Z][A-Z0-9_]+) = /g), ...main.matchAll(/, ([A-Z][A-Z0-9_]+) = /g)].map((m) => m[1] as string));
  assert.ok(set.has('JWT_PRIVATE_KEY') && set.has('DATABASE_URL') && set.has('DATABASE_POOL_SIZE'), 'the reading covers the inline maps too');
  assert.deepEqual(DEPLOY_REQUIRED.filter((k) => !set.has(k)), [], 'settings a deployment must give');
  const known = new Set(Object.keys(configSchema.shape));
  assert.deepEqual([...set].filter((k) => !known.has(k)), [], 'settings the code does not read');
  for (const file of ['modules/function-env/main.tf', 'modules/functions/main.tf']) {
    const text = readFileSync(path.join(TF, file), 'utf8');
    // The fault suite's crash after a take is a preload it injects through NODE_OPTIONS.
    for (const hook of ['TEST_EXIT_AFTER_TAKE', 'exit-after-take', 'NODE_OPTIONS']) assert.ok(!text.includes(hook), `the fault-suite hook is never deployed (${hook})`);
  }
});

test('nothing is granted to allUsers or allAuthenticatedUsers but the jwks invoker (the gateway fetches the JWKS anonymously)', async () => {
  for (const dir of tfDirs()) {
    for (const { file, json } of await parseDir(dir)) {
      const resources = (json.resource ?? {}) as Record<string, Record<string, Block>>;
      for (const [type, byName] of Object.entries(resources)) {
        for (const [name, blocks] of Object.entries(byName)) {
          if (!strings(blocks).some((s) => /allUsers|allAuthenticatedUsers/.test(s))) continue;
          // The one exception, only for functions whose invoker is "public" (jwks alone: the
          // functions module's validation and tests/unit/deploy-wiring.test.ts hold it there).
          assert.equal(`${file}: ${type}.${name}`, 'terraform/modules/functions/main.tf: google_cloud_run_v2_service_iam_member.public_invoker');
          assert.match(String(blocks[0]?.for_each), /if f\.invoker == "public"/);
        }
      }
    }
  }
});

test('no secret value in any file: passwords and keys come from random_password or Secret Manager', async () => {
  for (const dir of tfDirs()) {
    for (const { file, text } of await parseDir(dir)) {
      assert.doesNotMatch(text, /-----BEGIN|"d"\s*:|password\s*=\s*"[^$]/, file);
    }
  }
});
