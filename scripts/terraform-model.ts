// Reads terraform/ offline, for the deployment tests and npm run capacity: each directory's .tf files as
// @cdktf/hcl2json JSON, the defaults of optional() attributes, and each environment's
// effective per-function and PostgreSQL settings (what the modules resolve at plan time).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const ROOT = path.join(import.meta.dirname, '..');
export const TF = path.join(ROOT, 'terraform');
export const ENVIRONMENTS = ['dev', 'prod'] as const;

export type Json = Record<string, unknown>;

/** Every top-level block of one directory's .tf files, merged (kind → name → [bodies]). */
export async function parseModule(dir: string): Promise<Record<string, Record<string, Json[]>>> {
  const merged: Record<string, Record<string, Json[]>> = {};
  for (const file of readdirSync(path.join(TF, dir)).filter((f) => f.endsWith('.tf'))) {
    const json = (await parse(file, readFileSync(path.join(TF, dir, file), 'utf8'))) as Record<string, Record<string, Json[]>>;
    for (const [kind, byName] of Object.entries(json)) {
      // locals and terraform blocks come as lists of bodies; the others by name.
      if (Array.isArray(byName)) merged[kind] = [...((merged[kind] as unknown as Json[]) ?? []), ...byName] as unknown as Record<string, Json[]>;
      else merged[kind] = Object.assign(merged[kind] ?? {}, byName);
    }
  }
  return merged;
}

/** A resource's body: resource → type → name → [body]. */
export function resourceBody(module: Record<string, Record<string, Json[]>>, type: string, name: string): Json {
  const byType = module.resource?.[type] as unknown as Record<string, Json[]> | undefined;
  const body = byType?.[name]?.[0];
  if (!body) throw new Error(`no resource ${type}.${name}`);
  return body;
}

export function first(value: unknown): Json {
  return (Array.isArray(value) ? value[0] : value) as Json;
}

/** The defaults of a type string's `name = optional(type, default)` attributes (literals only). */
export function optionalDefaults(type: string): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const m of type.matchAll(/^\s*([a-z_]+)\s*=\s*optional\([a-z]+,\s*(.+)\)\s*$/gm)) {
    defaults[m[1] as string] = JSON.parse(m[2] as string);
  }
  return defaults;
}

/** A variable's declaration in a module directory. */
export async function variable(dir: string, name: string): Promise<Json> {
  const body = (await parseModule(dir)).variable?.[name]?.[0];
  if (!body) throw new Error(`${dir}: no variable ${name}`);
  return body;
}

export interface FunctionSettings {
  invoker: string;
  stores: boolean;
  pool_size: number;
  max_instances: number;
  min_instances: number;
  [setting: string]: unknown;
}

export interface Environment {
  name: string;
  functions: Record<string, FunctionSettings>;
  postgres: Record<string, unknown>;
  connector: Record<string, unknown>;
  flashSale: Json;
}

/** What an environment root passes to modules/flash-sale, with the modules' defaults filled in. */
export async function environment(name: (typeof ENVIRONMENTS)[number]): Promise<Environment> {
  const root = await parseModule(`environments/${name}`);
  const flashSale = root.module?.flash_sale?.[0] as Json;
  const functionsVar = await variable('modules/functions', 'functions');
  const functionDefaults = optionalDefaults(functionsVar.type as string);
  const given = (flashSale.functions ?? functionsVar.default) as Record<string, Json>;
  const functions = Object.fromEntries(Object.entries(given).map(([fn, f]) => [fn, { ...functionDefaults, ...f } as FunctionSettings]));
  const postgres = { ...optionalDefaults((await variable('modules/data', 'postgres')).type as string), ...((flashSale.postgres ?? {}) as Json) };
  const connector = { ...optionalDefaults((await variable('modules/network', 'connector')).type as string), ...((flashSale.connector ?? {}) as Json) };
  return { name, functions, postgres, connector, flashSale };
}
