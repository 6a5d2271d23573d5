// Evaluates a provider-free Terraform module (variables, locals, outputs) in TypeScript, so that
// the cloud-parity run starts each function with the environment the .tf files compute rather
// than a restatement of it. The files are parsed by @cdktf/hcl2json (HCL's own Go parser); this
// file evaluates the expressions it hands back as text. It covers the subset the modules it reads
// use (templates, traversals, operators, conditionals, for-expressions, the common functions,
// optional() defaults of variable types) and throws on anything else, naming it: an unknown
// construct fails the run, never evaluates to something plausible.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';

export type Value = null | string | number | boolean | Value[] | { [key: string]: Value };
type Scope = Record<string, Value | (() => Value)>;
type Functions = Record<string, (...args: Value[]) => Value>;

class HclError extends Error {}

const isObject = (v: Value | undefined): v is { [key: string]: Value } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value the way Terraform writes it in a string template. */
function toText(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new HclError(`cannot put ${JSON.stringify(v)} in a string`);
}

function truthy(v: Value): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new HclError(`not a bool: ${JSON.stringify(v)}`);
}

function equal(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function entriesOf(v: Value): [Value, Value][] {
  if (Array.isArray(v)) return v.map((item, i) => [i, item]);
  if (isObject(v)) return Object.keys(v).sort().map((k) => [k, v[k] as Value]);
  throw new HclError(`cannot iterate over ${JSON.stringify(v)}`);
}

const FUNCTIONS: Functions = {
  merge: (...maps) => Object.assign({}, ...maps.filter((m) => m !== null)) as Value,
  join: (sep, list) => (list as Value[]).map(toText).join(toText(sep)),
  split: (sep, s) => toText(s).split(toText(sep)),
  concat: (...lists) => (lists as Value[][]).flat(),
  flatten: (list) => (list as Value[]).flat(Infinity as 1) as Value[],
  lookup: (map, key, fallback) => (isObject(map) && toText(key) in map ? (map[toText(key)] as Value) : fallback === undefined ? fail(`lookup: no key ${toText(key)}`) : fallback),
  keys: (map) => Object.keys(map as object).sort(),
  values: (map) => Object.keys(map as object).sort().map((k) => (map as Record<string, Value>)[k] as Value),
  length: (v) => (typeof v === 'string' ? v.length : Array.isArray(v) ? v.length : Object.keys(v as object).length),
  contains: (list, v) => (list as Value[]).some((item) => equal(item, v)),
  distinct: (list) => (list as Value[]).filter((v, i, all) => all.findIndex((w) => equal(v, w)) === i),
  toset: (list) => [...new Set((list as Value[]).map((v) => JSON.stringify(v)))].sort().map((s) => JSON.parse(s) as Value),
  tolist: (v) => v,
  tomap: (v) => v,
  tostring: (v) => (v === null ? null : toText(v)),
  tonumber: (v) => (v === null ? null : Number(v)),
  tobool: (v) => (v === null ? null : truthy(v)),
  lower: (s) => toText(s).toLowerCase(),
  upper: (s) => toText(s).toUpperCase(),
  trimspace: (s) => toText(s).trim(),
  trimsuffix: (s, suffix) => (toText(s).endsWith(toText(suffix)) ? toText(s).slice(0, -toText(suffix).length || undefined) : toText(s)),
  trimprefix: (s, prefix) => (toText(s).startsWith(toText(prefix)) ? toText(s).slice(toText(prefix).length) : toText(s)),
  startswith: (s, prefix) => toText(s).startsWith(toText(prefix)),
  endswith: (s, suffix) => toText(s).endsWith(toText(suffix)),
  replace: (s, from, to) => {
    const pattern = toText(from);
    if (pattern.length > 1 && pattern.startsWith('/') && pattern.endsWith('/')) return toText(s).replace(new RegExp(pattern.slice(1, -1), 'g'), toText(to));
    return toText(s).split(pattern).join(toText(to));
  },
  substr: (s, offset, length) => {
    const text = toText(s);
    const start = Number(offset) < 0 ? text.length + Number(offset) : Number(offset);
    return Number(length) < 0 ? text.slice(start) : text.slice(start, start + Number(length));
  },
  format: (spec, ...args) => {
    let i = 0;
    return toText(spec).replace(/%([sdv%])/g, (_, kind: string) => (kind === '%' ? '%' : toText(args[i++] ?? fail('format: too few arguments'))));
  },
  coalesce: (...args) => args.find((v) => v !== null && v !== '') ?? fail('coalesce: every argument is null or empty'),
  min: (...args) => Math.min(...args.map(Number)),
  max: (...args) => Math.max(...args.map(Number)),
  sort: (list) => (list as Value[]).map(toText).sort(),
  jsonencode: (v) => JSON.stringify(v),
  base64encode: (s) => Buffer.from(toText(s)).toString('base64'),
  sum: (list) => (list as Value[]).reduce<number>((total, v) => total + Number(v), 0),
  alltrue: (list) => (list as Value[]).every(truthy),
  anytrue: (list) => (list as Value[]).some(truthy),
  one: (list) => ((list as Value[]).length === 0 ? null : (list as Value[]).length === 1 ? ((list as Value[])[0] as Value) : fail('one: more than one element')),
};

function fail(message: string): never {
  throw new HclError(message);
}

/** Marks a value computed from a type expression (variable types), not a runtime value. */
interface TypeSpec {
  kind: 'primitive' | 'any' | 'map' | 'list' | 'object' | 'tuple' | 'optional';
  of?: TypeSpec;
  attributes?: Record<string, TypeSpec>;
  fallback?: Value;
}

/** A scannerless recursive-descent parser that evaluates as it goes. */
class Evaluator {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly scope: Scope,
    private readonly typeMode = false,
    private readonly functions: Functions = FUNCTIONS,
  ) {}

  static template(text: string, scope: Scope, functions: Functions = FUNCTIONS): Value {
    // A whole-string "${expr}" keeps the expression's type, as Terraform does.
    const whole = /^\$\{([\s\S]*)\}$/.exec(text);
    if (whole && Evaluator.balanced(whole[1] as string)) return new Evaluator(whole[1] as string, scope, false, functions).whole();
    return new Evaluator(text, scope, false, functions).templateBody(undefined);
  }

  private static balanced(inner: string): boolean {
    try {
      const e = new Evaluator(inner, {}, true);
      e.skipExpression();
      e.space();
      return e.pos === inner.length;
    } catch {
      return false;
    }
  }

  whole(): Value {
    const v = this.expression();
    this.space();
    if (this.pos !== this.src.length) this.error('unexpected text');
    return v;
  }

  private error(message: string): never {
    throw new HclError(`${message} at ${JSON.stringify(this.src.slice(this.pos, this.pos + 40))} in ${JSON.stringify(this.src.slice(0, 120))}`);
  }

  private space(newlines = true) {
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.pos++;
      else if (c === '#' || (c === '/' && this.src[this.pos + 1] === '/')) while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      else return;
    }
  }

  private peek(token: string): boolean {
    this.space();
    return this.src.startsWith(token, this.pos);
  }

  private eat(token: string): boolean {
    if (!this.peek(token)) return false;
    if (/^[a-z]+$/.test(token) && /[\w-]/.test(this.src[this.pos + token.length] ?? '')) return false;
    this.pos += token.length;
    return true;
  }

  private expect(token: string) {
    if (!this.eat(token)) this.error(`expected ${token}`);
  }

  /** Parses an expression without evaluating it (used to find where a template ends). */
  skipExpression(): void {
    const saved = { ...this.scope };
    void saved;
    this.expression(true);
  }

  private expression(skip = false): Value {
    const condition = this.binary(0, skip);
    if (!this.eat('?')) return condition;
    if (skip) {
      this.expression(true);
      this.expect(':');
      this.expression(true);
      return null;
    }
    const yes = truthy(condition);
    const a = this.expression(!yes);
    this.expect(':');
    const b = this.expression(yes);
    return yes ? a : b;
  }

  private static readonly LEVELS = [['||'], ['&&'], ['==', '!='], ['<=', '>=', '<', '>'], ['+', '-'], ['*', '/', '%']];

  private binary(level: number, skip: boolean): Value {
    if (level === Evaluator.LEVELS.length) return this.unary(skip);
    let left = this.binary(level + 1, skip);
    for (;;) {
      const op = (Evaluator.LEVELS[level] as string[]).find((o) => this.peek(o) && !(o === '>' && this.src[this.pos + 1] === '=') && !this.src.startsWith('=>', this.pos));
      if (!op) return left;
      this.pos += op.length;
      if (op === '||' && !skip && truthy(left)) {
        this.binary(level + 1, true);
        left = true;
        continue;
      }
      if (op === '&&' && !skip && !truthy(left)) {
        this.binary(level + 1, true);
        left = false;
        continue;
      }
      const right = this.binary(level + 1, skip);
      if (skip) continue;
      left = Evaluator.apply(op, left, right);
    }
  }

  private static apply(op: string, a: Value, b: Value): Value {
    switch (op) {
      case '||': return truthy(a) || truthy(b);
      case '&&': return truthy(a) && truthy(b);
      case '==': return equal(a, b);
      case '!=': return !equal(a, b);
      case '<': return Number(a) < Number(b);
      case '>': return Number(a) > Number(b);
      case '<=': return Number(a) <= Number(b);
      case '>=': return Number(a) >= Number(b);
      case '+': return Number(a) + Number(b);
      case '-': return Number(a) - Number(b);
      case '*': return Number(a) * Number(b);
      case '/': return Number(a) / Number(b);
      default: return Number(a) % Number(b);
    }
  }

  private unary(skip: boolean): Value {
    if (this.eat('!')) {
      const v = this.unary(skip);
      return skip ? null : !truthy(v);
    }
    if (this.peek('-') && !/\d/.test(this.src[this.pos + 1] ?? '')) {
      this.pos++;
      const v = this.unary(skip);
      return skip ? null : -Number(v);
    }
    return this.postfix(this.primary(skip), skip);
  }

  private postfix(value: Value, skip: boolean): Value {
    let v = value;
    for (;;) {
      this.space(false);
      if (this.src.startsWith('[*]', this.pos) || this.src.startsWith('.*', this.pos)) this.error('splat expressions are not supported');
      if (this.src[this.pos] === '.' && /[A-Za-z_0-9]/.test(this.src[this.pos + 1] ?? '')) {
        this.pos++;
        const name = this.identifier() ?? this.number().toString();
        v = skip ? null : Evaluator.index(v, name);
      } else if (this.src[this.pos] === '[') {
        this.pos++;
        const key = this.expression(skip);
        this.expect(']');
        v = skip ? null : Evaluator.index(v, key);
      } else return v;
    }
  }

  private static index(v: Value, key: Value): Value {
    if (Array.isArray(v)) {
      const item = v[Number(key)];
      if (item === undefined) fail(`no element ${String(key)}`);
      return item;
    }
    if (isObject(v)) {
      const item = v[toText(key)];
      if (item === undefined) fail(`no attribute ${toText(key)} in ${JSON.stringify(Object.keys(v))}`);
      return item;
    }
    return fail(`cannot index ${JSON.stringify(v)} with ${JSON.stringify(key)}`);
  }

  private identifier(): string | undefined {
    const m = /^[A-Za-z_][\w-]*/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private number(): number {
    const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.src.slice(this.pos));
    if (!m) this.error('expected a number');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private primary(skip: boolean): Value {
    this.space();
    const c = this.src[this.pos];
    if (c === '(') {
      this.pos++;
      const v = this.expression(skip);
      this.expect(')');
      return v;
    }
    if (c === '"') {
      this.pos++;
      return this.templateBody('"', skip);
    }
    if (this.src.startsWith('<<', this.pos)) this.error('heredocs inside expressions are not supported');
    if (c === '[') return this.tuple(skip);
    if (c === '{') return this.object(skip);
    if (c !== undefined && /[\d]/.test(c)) return this.number();
    if (c === '-' && /\d/.test(this.src[this.pos + 1] ?? '')) {
      this.pos++;
      return -this.number();
    }
    const name = this.identifier();
    if (!name) this.error('expected an expression');
    if (name === 'true' || name === 'false') return name === 'true';
    if (name === 'null') return null;
    this.space(false);
    if (this.src[this.pos] === '(') return this.call(name, skip);
    if (this.typeMode || skip) return name === 'string' || name === 'number' || name === 'bool' ? name : null;
    const bound = this.scope[name];
    if (bound === undefined) this.error(`unknown name ${name}`);
    return typeof bound === 'function' ? bound() : bound;
  }

  private call(name: string, skip: boolean): Value {
    this.expect('(');
    if (name === 'try' || name === 'can') {
      const start = this.pos;
      const args: string[] = [];
      let from = start;
      for (;;) {
        this.expression(true);
        args.push(this.src.slice(from, this.pos));
        if (this.eat(',')) {
          from = this.pos;
          if (this.peek(')')) break;
          continue;
        }
        break;
      }
      this.expect(')');
      if (skip) return null;
      for (const arg of args) {
        try {
          const v = new Evaluator(arg, this.scope, false, this.functions).whole();
          return name === 'can' ? true : v;
        } catch (err) {
          if (!(err instanceof HclError)) throw err;
        }
      }
      return name === 'can' ? false : fail('try: no argument could be evaluated');
    }
    const args: Value[] = [];
    while (!this.peek(')')) {
      args.push(this.expression(skip));
      if (this.eat('...')) this.error('argument expansion is not supported');
      if (!this.eat(',')) break;
    }
    this.expect(')');
    if (skip) return null;
    if (this.typeMode) return Evaluator.typeCall(name, args);
    const fn = this.functions[name];
    if (!fn) this.error(`unsupported function ${name}()`);
    return fn(...args);
  }

  private static typeCall(name: string, args: Value[]): Value {
    return { __type: name, args } as unknown as Value;
  }

  private tuple(skip: boolean): Value {
    this.expect('[');
    if (this.eat('for')) return this.forExpression(']', skip);
    const items: Value[] = [];
    while (!this.peek(']')) {
      items.push(this.expression(skip));
      if (!this.eat(',')) break;
    }
    this.expect(']');
    return items;
  }

  private object(skip: boolean): Value {
    this.expect('{');
    if (this.eat('for')) return this.forExpression('}', skip);
    const result: Record<string, Value> = {};
    while (!this.peek('}')) {
      this.space();
      let key: string;
      if (this.src[this.pos] === '"') {
        this.pos++;
        key = toText(this.templateBody('"', skip) ?? '');
      } else if (this.src[this.pos] === '(') {
        this.pos++;
        key = toText(this.expression(skip) ?? '');
        this.expect(')');
      } else key = this.identifier() ?? this.error('expected an attribute name');
      if (!this.eat('=') && !this.eat(':')) this.error('expected = or :');
      result[key] = this.expression(skip);
      this.eat(',');
    }
    this.expect('}');
    return result;
  }

  private forExpression(close: ']' | '}', skip: boolean): Value {
    this.space();
    const first = this.identifier() ?? this.error('expected a name');
    let second: string | undefined;
    if (this.eat(',')) {
      this.space();
      second = this.identifier();
    }
    this.expect('in');
    const collection = this.expression(skip);
    this.expect(':');
    const body = this.pos;
    const scopes = skip ? [] : entriesOf(collection).map(([k, v]) => ({ ...this.scope, [first]: second ? k : v, ...(second ? { [second]: v } : {}) }));
    // Parse once to find the shape, then evaluate the body per element in its own scope.
    const bodyEnd = (() => {
      const probe = new Evaluator(this.src, this.scope, this.typeMode, this.functions);
      probe.pos = body;
      probe.expression(true);
      if (close === '}') {
        probe.expect('=>');
        probe.expression(true);
        if (probe.eat('...')) probe.error('grouping (...) is not supported');
      }
      const cond = probe.eat('if') ? probe.pos : undefined;
      if (cond !== undefined) probe.expression(true);
      probe.expect(close);
      return { cond, end: probe.pos };
    })();
    this.pos = bodyEnd.end;
    if (skip) return null;
    const list: Value[] = [];
    const map: Record<string, Value> = {};
    for (const scope of scopes) {
      const e = new Evaluator(this.src, scope, this.typeMode, this.functions);
      if (bodyEnd.cond !== undefined) {
        e.pos = bodyEnd.cond;
        if (!truthy(e.expression())) continue;
      }
      e.pos = body;
      const first = e.expression();
      if (close === ']') list.push(first);
      else {
        e.expect('=>');
        map[toText(first)] = e.expression();
      }
    }
    return close === ']' ? list : map;
  }

  /** A string's body up to `quote` (or the end of the text): literal parts and ${...}. */
  templateBody(quote: '"' | undefined, skip = false): Value {
    let out = '';
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) {
        if (quote) this.error('unterminated string');
        return out;
      }
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === '\\' && quote) {
        const next = this.src[this.pos + 1];
        const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
        if (next === 'u') {
          out += String.fromCharCode(parseInt(this.src.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
        } else {
          out += escapes[next ?? ''] ?? this.error('unknown escape');
          this.pos += 2;
        }
        continue;
      }
      if (this.src.startsWith('$${', this.pos) || this.src.startsWith('%%{', this.pos)) {
        out += this.src.slice(this.pos + 1, this.pos + 3);
        this.pos += 3;
        continue;
      }
      if (this.src.startsWith('%{', this.pos)) this.error('template directives are not supported');
      if (this.src.startsWith('${', this.pos)) {
        this.pos += 2;
        const v = this.expression(skip);
        this.expect('}');
        if (!skip) out += toText(v);
        continue;
      }
      out += c;
      this.pos++;
    }
  }

  static typeOf(text: string): TypeSpec {
    const inner = /^\$\{([\s\S]*)\}$/.exec(text)?.[1] ?? text;
    return toTypeSpec(new Evaluator(inner, {}, true).whole());
  }
}

function toTypeSpec(v: Value): TypeSpec {
  if (v === 'string' || v === 'number' || v === 'bool') return { kind: 'primitive' };
  if (v === null) return { kind: 'any' };
  const call = v as unknown as { __type: string; args: Value[] };
  switch (call.__type) {
    case 'map':
    case 'list':
    case 'set':
      return { kind: call.__type === 'map' ? 'map' : 'list', of: toTypeSpec(call.args[0] as Value) };
    case 'tuple':
      return { kind: 'tuple' };
    case 'object':
      return {
        kind: 'object',
        attributes: Object.fromEntries(Object.entries(call.args[0] as Record<string, Value>).map(([k, t]) => [k, toTypeSpec(t)])),
      };
    case 'optional':
      return { kind: 'optional', of: toTypeSpec(call.args[0] as Value), fallback: call.args[1] ?? null };
    default:
      return fail(`unsupported type constructor ${call.__type}`);
  }
}

/** Applies a variable's type to a given value: optional() attributes get their defaults. */
function conform(type: TypeSpec, v: Value): Value {
  if (type.kind === 'optional') return conform(type.of as TypeSpec, v === null || v === undefined ? (type.fallback ?? null) : v);
  if (v === null) return null;
  if (type.kind === 'map' && isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, conform(type.of as TypeSpec, item)]));
  if (type.kind === 'list' && Array.isArray(v)) return v.map((item) => conform(type.of as TypeSpec, item));
  if (type.kind === 'object') {
    if (!isObject(v)) fail(`expected an object, got ${JSON.stringify(v)}`);
    const out: Record<string, Value> = {};
    for (const [name, attr] of Object.entries(type.attributes ?? {})) {
      if (!(name in v) && attr.kind !== 'optional') fail(`attribute ${name} is required`);
      out[name] = conform(attr, (v[name] ?? null) as Value);
    }
    return out;
  }
  return v;
}

type Json = Record<string, unknown>;

/** Parses every .tf file of a module folder with HCL's own parser. */
export async function readModule(dir: string): Promise<Json[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
  return Promise.all(files.map(async (f) => (await parse(f, readFileSync(path.join(dir, f), 'utf8'))) as Json));
}

export interface LoadedModule {
  /** The module's files as hcl2json gives them. */
  files: Json[];
  /** Evaluates a piece of those files (an argument's value) in the module's scope, plus `extra` (e.g. `each`). */
  evaluate(json: unknown, extra?: Record<string, Value>): Value;
}

/**
 * A module with the given inputs (checked against its variables' types, optional() defaults
 * applied), its locals evaluated when first used. `refs` stands in for the resources and data
 * sources an expression names (for example `{ google_api_gateway_api: { x: { … } } }`);
 * `functions` for Terraform functions that read files (templatefile).
 */
export async function loadModule(
  dir: string,
  inputs: Record<string, Value>,
  options: { refs?: Record<string, Value>; functions?: Functions; allowResources?: boolean } = {},
): Promise<LoadedModule> {
  const files = await readModule(dir);
  const blocks = (kind: string) => files.flatMap((f) => (f[kind] ?? []) as unknown);
  if (!options.allowResources) {
    for (const kind of ['resource', 'data', 'module']) {
      if (files.some((f) => f[kind])) fail(`${dir}: a ${kind} block; this evaluator reads provider-free modules only`);
    }
  }
  const functions = { ...FUNCTIONS, ...options.functions };
  const variables: Record<string, Value> = {};
  for (const group of blocks('variable') as Record<string, Json[]>[]) {
    for (const [name, [spec]] of Object.entries(group) as [string, Json[]][]) {
      const declared = spec ?? {};
      const given = name in inputs ? inputs[name] : declared.default;
      if (given === undefined) fail(`${dir}: variable ${name} has no value and no default`);
      variables[name] = typeof declared.type === 'string' ? conform(Evaluator.typeOf(declared.type), given as Value) : (given as Value);
    }
  }
  const unknown = Object.keys(inputs).filter((k) => !(k in variables));
  if (unknown.length > 0) fail(`${dir}: no variable ${unknown.join(', ')}`);

  const localSources: Record<string, unknown> = Object.assign({}, ...(blocks('locals') as Json[]));
  const locals: Record<string, Value> = {};
  const evaluating = new Set<string>();
  const scope: Scope = { ...options.refs, var: variables, path: { module: dir, root: dir } };
  const evaluate = (json: unknown, extra: Record<string, Value> = {}) => evaluateJson(json, { ...scope, ...extra }, functions);
  const localProxy = new Proxy(locals, {
    get(target, name: string) {
      if (!(name in localSources)) fail(`no local ${name}`);
      if (!(name in target)) {
        if (evaluating.has(name)) fail(`local ${name} refers to itself`);
        evaluating.add(name);
        target[name] = evaluate(localSources[name]);
        evaluating.delete(name);
      }
      return target[name];
    },
  });
  scope.local = localProxy as unknown as Value;
  return { files, evaluate };
}

/**
 * The outputs of a module that has no resources or data sources, for the given inputs —
 * what `terraform apply` of it would print.
 */
export async function evaluateModule(dir: string, inputs: Record<string, Value>): Promise<Record<string, Value>> {
  const module = await loadModule(dir, inputs);
  const outputs: Record<string, Value> = {};
  for (const file of module.files) {
    for (const [name, [spec]] of Object.entries((file.output ?? {}) as Record<string, Json[]>)) outputs[name] = module.evaluate(spec?.value);
  }
  return outputs;
}

/** The arguments a module passes to one of its child modules (`module "<name>" { … }`), evaluated. */
export function childModuleInputs(module: LoadedModule, name: string): Record<string, Value> {
  const block = module.files.map((f) => (f.module as Record<string, Json[]> | undefined)?.[name]?.[0]).find((b) => b !== undefined);
  if (!block) fail(`no module "${name}"`);
  const META = new Set(['source', 'version', 'depends_on', 'providers', 'count', 'for_each']);
  return Object.fromEntries(Object.entries(block).filter(([k]) => !META.has(k)).map(([k, v]) => [k, module.evaluate(v)]));
}

/** hcl2json gives literal structure as JSON and every expression as a "${…}" string. */
function evaluateJson(v: unknown, scope: Scope, functions: Functions): Value {
  if (typeof v === 'string') return Evaluator.template(v, scope, functions);
  if (Array.isArray(v)) return v.map((item) => evaluateJson(item, scope, functions));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, evaluateJson(item, scope, functions)]));
  return v as Value;
}

/** One expression or template, for tests of this evaluator. */
export function evaluateExpression(text: string, scope: Record<string, Value>): Value {
  return Evaluator.template(text, scope);
}
