// The parity run's Terraform evaluator (scripts/parity/hcl.ts): the expressions the deployment's
// provider-free modules use, and — where a terraform binary is installed — the same outputs as
// `terraform apply` of the same module with the same inputs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { evaluateExpression, evaluateModule, type Value } from '../../scripts/parity/hcl.ts';

const MODULE = `
variable "name" { type = string }
variable "functions" {
  type = map(object({
    invoker   = string
    pool_size = optional(number, 10)
    max       = optional(number, 100)
  }))
}
variable "settings" {
  type    = map(string)
  default = {}
}
variable "origins" {
  type    = list(string)
  default = ["http://a", "http://b"]
}
locals {
  database_functions = [for name, f in var.functions : name if f.invoker != "public"]
  common = merge({
    NODE_ENV = "production"
    ORIGINS  = join(",", var.origins)
    LABEL    = "a-\${var.name}-\${length(local.database_functions)}"
    ESCAPED  = "$\${not_interpolated}"
  }, var.settings)
  environment = {
    for name, f in var.functions : name => merge(local.common, contains(local.database_functions, name) ? {
      DATABASE_POOL_SIZE = tostring(f.pool_size)
    } : {})
  }
  connections = sum([for name in local.database_functions : var.functions[name].pool_size * var.functions[name].max])
}
output "environment" { value = local.environment }
output "connections" { value = local.connections }
output "urls" { value = { for name, f in var.functions : name => "https://\${var.name}-\${replace(name, "-", "")}-1.\${upper("eu")}.run.app" } }
output "picked" { value = var.functions["order-worker"].invoker == "tasks" ? substr(var.name, 0, 4) : "no" }
`;

const INPUTS: Record<string, Value> = {
  name: 'flash-sale',
  functions: { 'order-worker': { invoker: 'tasks', pool_size: 4 }, jwks: { invoker: 'public' } },
  settings: { EXTRA: '1' },
};

function moduleDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hcl-eval-'));
  writeFileSync(path.join(dir, 'main.tf'), MODULE);
  return dir;
}

test('a provider-free module evaluates: optional() defaults, for-expressions, templates, functions', async () => {
  const dir = moduleDir();
  try {
    const out = await evaluateModule(dir, INPUTS);
    assert.deepEqual(out.environment, {
      jwks: { NODE_ENV: 'production', ORIGINS: 'http://a,http://b', LABEL: 'a-flash-sale-1', ESCAPED: '${not_interpolated}', EXTRA: '1' },
      'order-worker': {
        NODE_ENV: 'production',
        ORIGINS: 'http://a,http://b',
        LABEL: 'a-flash-sale-1',
        ESCAPED: '${not_interpolated}',
        EXTRA: '1',
        DATABASE_POOL_SIZE: '4',
      },
    });
    assert.equal(out.connections, 400);
    assert.deepEqual(out.urls, { jwks: 'https://flash-sale-jwks-1.EU.run.app', 'order-worker': 'https://flash-sale-orderworker-1.EU.run.app' });
    assert.equal(out.picked, 'flas');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('what it cannot evaluate fails by name, never as a plausible value', async () => {
  assert.throws(() => evaluateExpression('${nosuchfunction(1)}', {}), /unsupported function nosuchfunction/);
  assert.throws(() => evaluateExpression('${var.missing}', { var: {} }), /no attribute missing/);
  assert.throws(() => evaluateExpression('${[for x in [1] : x...]}', {}), /expected/);
  assert.throws(() => evaluateExpression('%{ if true }x%{ endif }', {}), /directives are not supported/);
  const dir = moduleDir();
  try {
    await assert.rejects(evaluateModule(dir, { functions: {} }), /variable name has no value/);
    await assert.rejects(evaluateModule(dir, { ...INPUTS, nonsense: 1 }), /no variable nonsense/);
    writeFileSync(path.join(dir, 'r.tf'), 'resource "x" "y" {}\n');
    await assert.rejects(evaluateModule(dir, INPUTS), /provider-free modules only/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function terraformInstalled(): boolean {
  try {
    execFileSync('terraform', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('the same outputs as terraform itself', { skip: terraformInstalled() ? false : 'no terraform binary on this machine' }, async () => {
  const dir = moduleDir();
  try {
    writeFileSync(path.join(dir, 'terraform.tfvars.json'), JSON.stringify(INPUTS));
    const run = (...args: string[]) => execFileSync('terraform', [`-chdir=${dir}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    run('init', '-input=false', '-no-color');
    run('apply', '-auto-approve', '-input=false', '-no-color');
    const real = JSON.parse(run('output', '-json')) as Record<string, { value: Value }>;
    const ours = await evaluateModule(dir, INPUTS);
    for (const [name, { value }] of Object.entries(real)) assert.deepEqual(ours[name], value, `output ${name}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
