// Every setting of every function: one zod schema over the environment, parsed once at cold start.
import { z } from 'zod';
import { isPrivateKeySetting, publicKeyPems } from './keys.js';

/** Browser origins (scheme://host[:port]), compared as browsers send them: lower case, no trailing slash. */
const originList = z
  .string()
  .default('http://localhost:5173')
  .transform((s) =>
    s
      .split(',')
      .map((o) => o.trim().toLowerCase().replace(/\/+$/, ''))
      .filter((o) => o.length > 0),
  );

/** An optional setting given as an empty string is not given (a deployment that has no CA for a plain-TCP store). */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  NODE_ENV: z.string().default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6390'),
  REDIS_KEY_PREFIX: z.string().default(''),
  /** The CA that signs the Redis server's certificate (PEM), for a rediss:// URL (Memorystore's own CA). */
  REDIS_TLS_CA: unsetWhenEmpty(z.string()),
  /** How long a Redis command may take before it fails (the request answers `503 unavailable`). */
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(2000),
  DATABASE_URL: z.string().default('postgres://postgres:postgres@127.0.0.1:5440/flashsale'),
  DATABASE_POOL_SIZE: positiveInt(10),
  /**
   * Bounds on every PostgreSQL statement (server side, and on the client a second later for a
   * server that stopped answering) and on every wait for a lock: past them the call fails and
   * the request answers `503 unavailable` instead of holding a connection of the pool.
   */
  DATABASE_STATEMENT_TIMEOUT_MS: positiveInt(5000),
  DATABASE_LOCK_TIMEOUT_MS: positiveInt(2000),
  /**
   * The CA (PEM) of the PostgreSQL server's certificate: when set, connections use TLS and verify
   * the chain but not the host name (verify-ca: Cloud SQL's certificate names project:instance,
   * not the private IP). DATABASE_URL must then carry no ssl parameter, which would override it.
   */
  DATABASE_CA: unsetWhenEmpty(z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'a PEM certificate' })),
  /** `gateway`: trust the verified claims API Gateway passes; `bearer`: verify the token here. */
  AUTH_MODE: z.enum(['gateway', 'bearer']).default('bearer'),
  JWT_ISSUER: z.string().default('http://localhost:8080'),
  JWT_AUDIENCE: z.string().default('flash-sale'),
  /** Where bearer-mode functions fetch the public keys (the jwks function). */
  JWKS_URL: z.string().url().default('http://127.0.0.1:8086/.well-known/jwks.json'),
  /** The ES256 signing key, a PKCS#8 PEM or a private P-256 JWK as JSON; only the users function needs it. */
  JWT_PRIVATE_KEY: z.string().refine(isPrivateKeySetting, 'a P-256 private key: PKCS#8 PEM or a private JWK').optional(),
  /** The SPKI PEM public keys the jwks function publishes, the current one first; only it needs them. */
  JWT_PUBLIC_KEYS: z
    .string()
    .refine((text) => publicKeyPems(text) !== undefined, 'one or more P-256 SPKI PEM public keys')
    .optional(),
  TOKEN_TTL_SECONDS: positiveInt(3600),
  /** Origins whose browsers may call the API (CORS), comma-separated; default: the local web client. */
  CORS_ALLOWED_ORIGINS: originList,
  /** `local`: BullMQ on the same Redis; `cloud-tasks`: Google Cloud Tasks. */
  TASK_QUEUE: z.enum(['local', 'cloud-tasks']).default('local'),
  TASKS_PROJECT: z.string().default(''),
  TASKS_LOCATION: z.string().default('europe-west1'),
  TASKS_QUEUE: z.string().default('orders'),
  /**
   * The most orders one persist-order task carries (task-queue-group.ts): the orders an instance
   * accepts in one turn travel together, so the queue's dispatch limit counts tasks, not orders.
   * 1 = one task per order. At most 100 (ORDERS_PER_TASK_MAX: a task well under 100 KB).
   */
  TASK_ORDERS_MAX: z.coerce.number().int().min(1).max(100).default(100),
  /** The order-worker function's base URL; each kind of task has its path below it (its own path kept). */
  WORKER_URL: z.string().url().default('http://127.0.0.1:8084/'),
  /** The OIDC audience of tasks; default: WORKER_URL without a trailing slash (Cloud Run takes its run.app URL). */
  WORKER_AUDIENCE: z.string().min(1).optional(),
  /**
   * host:port of a Cloud Tasks API spoken in plaintext gRPC without Google credentials (the
   * local cloud-parity run's stand-in); unset: Google's API with the instance's credentials.
   */
  TASKS_API_ENDPOINT: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, 'host:port')
    .optional(),
  /** The service account whose OIDC token Cloud Tasks attaches to each push. */
  TASKS_SERVICE_ACCOUNT: z.string().default(''),
  /** Where the local task queue (BullMQ) keeps its jobs; default: REDIS_URL. */
  QUEUE_REDIS_URL: z.string().url().optional(),
  /**
   * Which X-Forwarded-For entry, counted from the right (1 = the last), is the client's address:
   * entries further left are the client's own say. The local gateway appends one (1); Google's
   * front ends append `<client-ip>, <lb-ip>` (2; for API Gateway unconfirmed).
   */
  FORWARDED_FOR_HOP: positiveInt(1),
  /** POST /orders attempts per user and per client IP on one sale (0: no limit), and bursts. */
  ORDER_RATE_USER_PER_SECOND: z.coerce.number().min(0).default(2),
  ORDER_RATE_USER_BURST: positiveInt(5),
  ORDER_RATE_IP_PER_SECOND: z.coerce.number().min(0).default(100),
  ORDER_RATE_IP_BURST: positiveInt(200),
  /**
   * The most POST /orders attempts on one sale decided by one call of take-n.lua: the attempts
   * of one turn of the event loop go together (orders/take.ts); 1 is one call per attempt.
   */
  ORDER_TAKE_GROUP_MAX: positiveInt(100),
  /** POST /users/authenticate attempts per email and per client IP, per minute (0: no limit). */
  LOGIN_RATE_EMAIL_PER_MINUTE: z.coerce.number().min(0).default(10),
  LOGIN_RATE_IP_PER_MINUTE: z.coerce.number().min(0).default(120),
  /** Sign-ups and password checks (functions/src/users): POST /users per client IP per minute (0: no limit)… */
  SIGNUP_RATE_IP_PER_MINUTE: z.coerce.number().min(0).default(10),
  /** …scrypt's cost, N = 2^this (17: OWASP's floor), and hashes at once per instance, then waiting, then 503. */
  PASSWORD_SCRYPT_LOG2N: z.coerce.number().int().min(10).max(20).default(17),
  PASSWORD_HASH_CONCURRENCY: positiveInt(2),
  PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).default(32),
  IDEMPOTENCY_TTL_SECONDS: positiveInt(24 * 3600),
  /** The sweeper enqueues an order again when it is still pending after this long… */
  PENDING_REDRIVE_AFTER_MS: positiveInt(15_000),
  /** …and gives up on it (failed, token released) after this long. */
  PENDING_GIVE_UP_AFTER_MS: positiveInt(10 * 60_000),
  /**
   * Apply functions/migrations at cold start, before serving (node-pg-migrate's advisory lock
   * lets many instances start together): private-IP Cloud SQL is out of an operator's reach.
   */
  MIGRATE_ON_START: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** How long the in-process copy of the sale list is trusted. */
  SALES_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(500),
  /**
   * The Firestore project of the sales' live view (lib/live-view.ts); empty: no live view.
   * FIRESTORE_EMULATOR_HOST (read by the client itself) points it at an emulator.
   */
  FIRESTORE_PROJECT_ID: z.string().default(''),
  FIRESTORE_DATABASE_ID: z.string().min(1).default('(default)'),
});

/** URL parameters through which pg-connection-string replaces a pool's whole `ssl` option. */
const URL_SSL_PARAMS = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat', 'sslnegotiation'];

function urlSslParams(databaseUrl: string): string[] {
  try {
    const params = new URL(databaseUrl).searchParams;
    return URL_SSL_PARAMS.filter((name) => params.has(name));
  } catch {
    return [];
  }
}

export type Config = z.infer<typeof configSchema>;

/**
 * Settings whose defaults only fit the local stack: a deployment must set each of them
 * (terraform does; tests/unit/terraform.test.ts checks it).
 */
export const DEPLOY_REQUIRED: readonly (keyof Config)[] = [
  'REDIS_URL',
  'DATABASE_URL',
  'AUTH_MODE',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWKS_URL',
  'TASK_QUEUE',
  'TASKS_PROJECT',
  'TASKS_LOCATION',
  'TASKS_QUEUE',
  'TASKS_SERVICE_ACCOUNT',
  'WORKER_URL',
  'NODE_ENV',
];

let cached: Config | undefined;

/** The configuration of this instance; throws at cold start with every bad variable named. */
export function config(): Config {
  if (!cached) cached = parseConfig(process.env);
  return cached;
}

/** The schema with the checks that span settings. */
const checkedSchema = configSchema.superRefine((cfg, ctx) => {
  const sslParams = cfg.DATABASE_CA ? urlSslParams(cfg.DATABASE_URL) : [];
  if (sslParams.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: `with DATABASE_CA set, remove ${sslParams.join(', ')} (it would replace the CA check)` });
  }
});

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = checkedSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}
