// The PostgreSQL pool of this instance, created once, and a transaction helper.
import pg from 'pg';
import { config, type Config } from './config.js';
import { isTransientSqlState } from './errors.js';
import { log, errorFields } from './log.js';

let pool: pg.Pool | undefined;

/**
 * How to reach PostgreSQL. With DATABASE_CA: TLS, the chain checked against that CA, the host
 * name not (verify-ca), since Cloud SQL's certificate names project:instance and no IP. The URL
 * has no ssl parameter then (config() refuses one): pg would let it replace this `ssl` whole.
 */
export function connectionConfig(cfg: Pick<Config, 'DATABASE_URL' | 'DATABASE_CA'>): pg.ClientConfig {
  if (!cfg.DATABASE_CA) return { connectionString: cfg.DATABASE_URL };
  return {
    connectionString: cfg.DATABASE_URL,
    ssl: { ca: cfg.DATABASE_CA, rejectUnauthorized: true, checkServerIdentity: () => undefined },
  };
}

/** How much longer than PostgreSQL's own bound the client waits for an answer (a hung server). */
const CLIENT_GRACE_MS = 1000;

/**
 * Every call bounded: a statement by `statement_timeout`, a wait for a lock by `lock_timeout`
 * (both enforced by PostgreSQL), an answer that never comes by `query_timeout` (the client's
 * own, for a server that stopped answering), a free connection by `connectionTimeoutMillis`.
 */
export function poolConfig(
  cfg: Pick<Config, 'DATABASE_URL' | 'DATABASE_CA' | 'DATABASE_POOL_SIZE' | 'DATABASE_STATEMENT_TIMEOUT_MS' | 'DATABASE_LOCK_TIMEOUT_MS'>,
): pg.PoolConfig {
  return {
    ...connectionConfig(cfg),
    max: cfg.DATABASE_POOL_SIZE,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    statement_timeout: cfg.DATABASE_STATEMENT_TIMEOUT_MS,
    lock_timeout: cfg.DATABASE_LOCK_TIMEOUT_MS,
    query_timeout: cfg.DATABASE_STATEMENT_TIMEOUT_MS + CLIENT_GRACE_MS,
  };
}

/** The pool or one client of a transaction: whatever a query may run on. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export function db(): pg.Pool {
  if (!pool) {
    pool = new pg.Pool(poolConfig(config()));
    pool.on('error', (err) => log.warn('idle PostgreSQL client failed', errorFields(err)));
  }
  return pool;
}

export async function withTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db().connect();
  // A checked-out client's connection can fail between its queries (PostgreSQL restarted): pg
  // emits 'error' on the client then, and with no listener that ends the process. The next
  // query fails with it; the client is then discarded, not returned to the pool.
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
    log.warn('PostgreSQL client failed during a transaction', errorFields(err));
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** PostgreSQL's SQLSTATE of a failed query, if it is one. */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export const PG_UNIQUE_VIOLATION = '23505';
export const PG_EXCLUSION_VIOLATION = '23P01';
export const PG_CHECK_VIOLATION = '23514';

/** Errors that mean "the database is not reachable now", as opposed to "the request is wrong". */
export function isTransientDbError(err: unknown): boolean {
  const code = pgCode(err);
  if (code === undefined) return true; // connection refused, timeout, reset: no SQLSTATE at all
  return isTransientSqlState(code);
}

