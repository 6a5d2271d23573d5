// The Redis client of this instance, its key names, and the Lua scripts, loaded once and
// called by SHA (ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT).
import { readdirSync, readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { config } from './config.js';
import { errorFields, log } from './log.js';
import { ORDER_STATUSES } from './order-row.js';

/** functions/lua, reached the same way from src/lib and from dist/lib. */
const SCRIPT_DIR = new URL('../../lua/', import.meta.url);

export const SCRIPT_NAMES = ['take', 'settle', 'rebuild', 'resize', 'idempotency-claim', 'rate-limit', 'repair', 'room'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface ScriptSource {
  name: string;
  numberOfKeys: number;
  lua: string;
}

/** Replaces each `--- @include "name"` line with includes/name.lua, as BullMQ's loader does. */
function withIncludes(lua: string, dir: URL): string {
  return lua.replace(/^--- @include "([a-z-]+)"$/gm, (_, name: string) =>
    readFileSync(new URL(`includes/${name}.lua`, dir), 'utf8'),
  );
}

/** Reads every `<name>-<number of keys>.lua` file, as BullMQ names its commands. */
export function loadScripts(dir: URL = SCRIPT_DIR): ScriptSource[] {
  return readdirSync(dir)
    .map((file) => /^([a-z][a-z-]*?)-(\d+)\.lua$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      name: m[1] as string,
      numberOfKeys: Number(m[2]),
      lua: withIncludes(readFileSync(new URL(m[0], dir), 'utf8'), dir),
    }));
}

type ScriptArg = string | number;
type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

export interface FlashRedis extends Redis {
  runScript(name: ScriptName, keys: string[], args: ScriptArg[]): Promise<unknown>;
}

/** A client with the scripts defined; `keyPrefix` is the test isolation of docs/design.md §3. */
export function createRedis(options: RedisOptions = {}): FlashRedis {
  const cfg = config();
  const client = new Redis(cfg.REDIS_URL, {
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    // Every command bounded: a stuck or paused Redis fails the call, and the request answers 503.
    commandTimeout: cfg.REDIS_COMMAND_TIMEOUT_MS,
    ...(cfg.REDIS_TLS_CA ? { tls: { ca: cfg.REDIS_TLS_CA } } : {}),
    ...options,
  }) as FlashRedis;
  const sources = loadScripts();
  for (const name of SCRIPT_NAMES) {
    if (!sources.some((s) => s.name === name)) throw new Error(`Lua script ${name} is missing from ${SCRIPT_DIR.pathname}`);
  }
  for (const source of sources) client.defineCommand(source.name, { numberOfKeys: source.numberOfKeys, lua: source.lua });
  client.runScript = (name, keys, args) => {
    const fn = (client as unknown as Record<string, ScriptFn>)[name];
    if (!fn) throw new Error(`no Lua script ${name}`);
    return fn.call(client, ...keys, ...args);
  };
  client.on('error', (err) => log.warn('redis connection error', errorFields(err)));
  return client;
}

let shared: FlashRedis | undefined;

export function redis(): FlashRedis {
  shared ??= createRedis();
  return shared;
}

/** Every key of one sale shares the hash tag {sale_id}, so each script touches one slot. */
export function saleKeys(saleId: string) {
  const tag = `fs:{${saleId}}`;
  return {
    meta: `${tag}:meta`,
    stock: `${tag}:stock`,
    buyers: `${tag}:buyers`,
    orders: `${tag}:orders`,
    /** The waiting room's tickets and places (room-4.lua's header). */
    room: `${tag}:room`,
    /** The live admissions: ticket_id scored by the ms its admission lapses. */
    admissions: `${tag}:admissions`,
  };
}

/**
 * An order's record in a sale's `orders` hash, as take-9.lua writes it (`pending`) and
 * settle-4.lua and rebuild-4.lua rewrite it; `released` once its token went back on sale.
 */
export const orderRecordSchema = z.object({
  user_id: z.string(),
  status: z.enum(ORDER_STATUSES),
  taken_ms: z.number(),
  released: z.literal(1).optional(),
});
export type OrderRecord = z.infer<typeof orderRecordSchema>;

/** Reads one value of a sale's `orders` hash. */
export function parseOrderRecord(raw: string): OrderRecord {
  return orderRecordSchema.parse(JSON.parse(raw));
}

/** Per-sale keys of one user's attempts: the first answer to an Idempotency-Key, rate limits. */
export function attemptKeys(saleId: string, userId: string, clientIp: string, idempotencyKey: string | undefined) {
  const tag = `fs:{${saleId}}`;
  return {
    idempotency: idempotencyKey ? `${tag}:idem:${userId}:${idempotencyKey}` : `${tag}:idem:-`,
    userRate: `${tag}:rate:user:${userId}`,
    ipRate: `${tag}:rate:ip:${clientIp}`,
  };
}

/** Where a user's Idempotency-Key is bound to its first request body. */
export function idempotencyClaimKey(userId: string, idempotencyKey: string): string {
  return `fs:idem:{${userId}}:${idempotencyKey}`;
}

/** Login attempts: both subjects share one hash tag, so one script sees both. */
export function loginRateKeys(email: string, clientIp: string) {
  return { email: `fs:{login}:rate:email:${email.toLowerCase()}`, ip: `fs:{login}:rate:ip:${clientIp}` };
}

/** Sign-ups per client IP. */
export function signupRateKey(clientIp: string): string {
  return `fs:{signup}:rate:ip:${clientIp}`;
}

/** The published list of sales: sale_id -> JSON of the sale's static view. */
export const SALE_INDEX_KEY = 'fs:sales';
