// The local stack of docs/design.md §7, from nothing: Redis, PostgreSQL, migrations, every function
// on its own port under the Functions Framework, the task dispatcher and the gateway.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createGateway } from './gateway.ts';
import { localSigningKey } from './local/keys.ts';
import { ensureDatabase, startPostgres } from './local/postgres.ts';
import { startRedis, type LocalRedis, type RunningService } from './local/redis.ts';
import { progress, waitFor } from './local/system.ts';
import { FUNCTION_NAMES, localFunctionPort, type FunctionTarget } from '../functions/src/function-names.ts';
import { migrate } from '../functions/src/lib/migrate.ts';
import { scryptParams } from '../functions/src/lib/passwords.ts';
import { ensureAdminAccount } from './admin.ts';
import { startDispatcher, type DispatchCounts } from './task-dispatcher.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FRAMEWORK_MAIN = path.join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');
/** Makes a spawned function listen on HOST: the framework's CLI has no option for it. */
const LISTEN_ON_HOST = path.join(ROOT, 'scripts/local/listen-on-host.mjs');
/**
 * Locally the functions listen on loopback alone: they trust the gateway's claims header, so
 * anyone who could reach them directly could be admin. Only the gateway (and the tests) call them.
 */
export const FUNCTION_HOST = '127.0.0.1';

/** Every function the stack runs, each on its own port after the gateway's (functions/src/function-names.ts). */
export type FunctionName = FunctionTarget;

export interface StackProfile {
  name: 'dev' | 'test' | 'faults' | 'bench' | 'stress';
  gatewayPort: number;
  redisPort: number;
  postgresPort: number;
  database: string;
  keyPrefix: string;
  /** The admin account the stack makes (as scripts/admin.ts would), with `password` or one it generates. */
  admin?: { email: string; password?: string };
  /** Start from empty data (tests) or keep it across runs (npm start). */
  fresh: boolean;
  /** Where function logs go; undefined: this process's stdout. */
  logDir?: string;
  /** How often the local stand-in for Cloud Scheduler calls the sweeper. */
  sweepEveryMs: number;
  /** The queue's dispatch rate and concurrency (Cloud Tasks maxDispatchesPerSecond, maxConcurrentDispatches). */
  dispatch?: { perSecond: number; concurrency: number };
  /** Settings for every function beyond the stack's own (the fault suite's shorter bounds). */
  extraEnv?: Record<string, string>;
  /** Serve the React client (web/dist, built) on this port, talking to this stack's gateway. */
  webPort?: number;
  /** Servers to use instead of starting our own (REDIS_URL, QUEUE_REDIS_URL, DATABASE_URL). */
  given?: { redisUrl?: string; queueRedisUrl?: string; databaseUrl?: string };
}

/** The servers the environment names, if any: npm start and npm test honour them. */
export function serversFromEnv(env: NodeJS.ProcessEnv = process.env): StackProfile['given'] {
  return { redisUrl: env.REDIS_URL || undefined, queueRedisUrl: env.QUEUE_REDIS_URL || undefined, databaseUrl: env.DATABASE_URL || undefined };
}

/** Handles on the running parts, for the fault suite: crash, stop and start each of them. */
export interface StackControl {
  redis: { kill(): Promise<void>; restart(): Promise<void> };
  postgres: { stop(): Promise<void>; start(): Promise<void> };
  stopFunction(name: FunctionName): Promise<void>;
  /** (Re)starts a function; `awaitHealthy: false` for one that is meant to die at once. */
  startFunction(name: FunctionName, extraEnv?: Record<string, string>, options?: { awaitHealthy: boolean }): Promise<void>;
  restartDispatcher(options: { deliverTwice: boolean }): Promise<void>;
  pauseDispatcher(): Promise<void>;
  resumeDispatcher(): void;
  /** Persist-order tasks the current dispatcher delivered, and their orders. */
  dispatched(): DispatchCounts;
  /** Sends a signal to a running function (SIGSTOP hangs it, SIGCONT wakes it). */
  signalFunction(name: FunctionName, signal: NodeJS.Signals): void;
  /** A second instance of a function on `port`, with the stack's environment; its stop ends it. */
  startInstance(name: FunctionName, port: number): Promise<{ url: string; stop(): Promise<void> }>;
  /**
   * The local Cloud Scheduler: `pause` holds the sweeper off (a pass under way finishes) until
   * `resume`; `sweepOnce` calls one pass and returns its report, paused or not.
   */
  sweeper: { pause(): Promise<void>; resume(): void; sweepOnce(): Promise<Record<string, number>> };
}

export interface Stack {
  gatewayUrl: string;
  /** The React client, when the profile serves it. */
  webUrl?: string;
  functionUrls: Record<FunctionName, string>;
  /** The environment every function runs with: the stack's whole configuration. */
  env: Record<string, string>;
  /** The admin account, when the profile asks for one: its password logs in (POST /users/authenticate). */
  admin?: { email: string; password: string; userId: string };
  control: StackControl;
  stop(): Promise<void>;
}

export function spawnFunction(name: FunctionName, port: number, env: Record<string, string>, logDir?: string): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--import', LISTEN_ON_HOST, FRAMEWORK_MAIN, `--target=${name}`, `--port=${port}`, `--source=${path.join(ROOT, 'functions')}`],
    // FUNCTION_TARGET as in the cloud, where the platform sets it (startup.ts reads it).
    { env: { ...process.env, ...env, HOST: FUNCTION_HOST, FUNCTION_TARGET: name }, stdio: ['ignore', logDir ? 'pipe' : 'inherit', logDir ? 'pipe' : 'inherit'] },
  );
  if (logDir) {
    const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  return child;
}

export async function healthy(url: string): Promise<boolean> {
  try {
    const answer = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return answer.ok;
  } catch {
    return false;
  }
}

/**
 * Firestore's part locally (the sales' live view): the Node emulator on the Redis port + 2,
 * unless LOCAL_FIRESTORE=off (then the functions publish nothing, as with no Firestore).
 */
export async function startFirestoreEmulator(port: number, logDir?: string): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  if (process.env.LOCAL_FIRESTORE === 'off') return { env: {}, stop: async () => undefined };
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/local/firestore-emulator.mjs')], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', logDir ? 'pipe' : 'inherit'],
  });
  if (logDir) child.stderr?.pipe(createWriteStream(path.join(logDir, 'firestore-emulator.log'), { flags: 'a' }));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the Firestore emulator exited (${code}) on port ${port}`)));
    child.stdout?.once('data', () => resolve());
  });
  return {
    // No metadata server here: without this, Google's auth library looks for one first.
    env: { FIRESTORE_EMULATOR_HOST: `127.0.0.1:${port}`, FIRESTORE_PROJECT_ID: 'demo-flash-sale', METADATA_SERVER_DETECTION: 'none' },
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** Cloud Scheduler's part locally: POST the sweeper every `everyMs`, one pass at a time. */
function startSweepLoop(url: string, everyMs: number): { stop(): void; pause(): Promise<void>; resume(): void } {
  let pass: Promise<unknown> | undefined;
  let paused = false;
  const timer = setInterval(() => {
    if (pass || paused) return;
    pass = fetch(`${url}/`, { method: 'POST', signal: AbortSignal.timeout(60_000) })
      .then((answer) => answer.arrayBuffer())
      .catch((err: unknown) => progress(`sweeper: ${String(err)}`))
      .finally(() => (pass = undefined));
  }, everyMs);
  return {
    stop: () => clearInterval(timer),
    pause: async () => {
      paused = true;
      await pass;
    },
    resume: () => (paused = false),
  };
}

export async function startStack(profile: StackProfile): Promise<Stack> {
  const dataDir = path.join(ROOT, '.local', profile.name);
  if (profile.fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  if (profile.logDir) mkdirSync(profile.logDir, { recursive: true });
  const stops: { what: string; stop: () => Promise<void> }[] = [];
  const stop = async () => {
    for (const part of stops.reverse()) {
      progress(`stopping ${part.what}`);
      await part.stop().catch((err: unknown) => progress(`stopping ${part.what}: ${String(err)}`));
    }
    stops.length = 0;
  };

  try {
    const notOurs = async () => {
      throw new Error('this server was given by the environment, not started by this stack');
    };
    const given = (url: string): Promise<LocalRedis> => Promise.resolve({ url, stop: async () => undefined, kill: notOurs, restart: notOurs });
    const servers = profile.given ?? {};
    const started = await Promise.allSettled([
      servers.redisUrl
        ? given(servers.redisUrl)
        : startRedis({ port: profile.redisPort, dir: path.join(dataDir, 'redis'), persistent: !profile.fresh }),
      // The queue's jobs live apart from the sale's keys, as Cloud Tasks does from Memorystore:
      // losing the app's Redis (a fault the tests inject) must not lose queued orders.
      servers.queueRedisUrl || servers.redisUrl
        ? given(servers.queueRedisUrl ?? servers.redisUrl ?? '')
        : startRedis({ port: profile.redisPort + 1, dir: path.join(dataDir, 'queue-redis'), persistent: !profile.fresh }),
      servers.databaseUrl
        ? ensureDatabase(servers.databaseUrl, profile.database).then((url) => ({ url, stop: async () => undefined, start: notOurs }))
        : startPostgres({ port: profile.postgresPort, dir: path.join(dataDir, 'postgres'), database: profile.database }),
    ]);
    for (const result of started) if (result.status === 'fulfilled') stops.push({ what: result.value.url, stop: () => result.value.stop() });
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [redisService, queueRedisService, postgresService] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
      LocalRedis,
      LocalRedis,
      RunningService & { start(): Promise<void> },
    ];
    await migrate(postgresService.url, (m) => progress(`migrations: ${m}`));
    const firestore = await startFirestoreEmulator(profile.redisPort + 2, profile.logDir);
    stops.push({ what: 'the Firestore emulator', stop: () => firestore.stop() });

    const functionUrls = Object.fromEntries(
      FUNCTION_NAMES.map((name) => [name, `http://127.0.0.1:${localFunctionPort(profile.gatewayPort, name)}`]),
    ) as Record<FunctionName, string>;
    const gatewayUrl = `http://localhost:${profile.gatewayPort}`;
    const keys = await localSigningKey(path.join(ROOT, '.local'));
    const env: Record<string, string> = {
      NODE_ENV: profile.name === 'test' ? 'test' : 'development',
      REDIS_URL: redisService.url,
      REDIS_KEY_PREFIX: profile.keyPrefix,
      QUEUE_REDIS_URL: queueRedisService.url,
      // Every local client is 127.0.0.1: a per-IP limit would throttle the whole crowd as one.
      ORDER_RATE_IP_PER_SECOND: '0',
      // Logins too, but as a limit no local crowd reaches rather than none: its per-IP bucket
      // still shows which address the functions took as the client's (cloud-wiring.test.ts).
      LOGIN_RATE_IP_PER_MINUTE: '1000000',
      SIGNUP_RATE_IP_PER_MINUTE: '1000000',
      // A laptop signing up and logging in hundreds of test buyers: scrypt at 2^15 (~130 ms a
      // hash here) rather than the product's 2^17 (~500 ms), and a waiting line no local crowd
      // fills. Deployments keep the defaults (lib/config.ts).
      PASSWORD_SCRYPT_LOG2N: '15',
      PASSWORD_HASH_QUEUE: '100000',
      DATABASE_URL: postgresService.url,
      AUTH_MODE: 'gateway',
      JWT_ISSUER: gatewayUrl,
      JWT_AUDIENCE: 'flash-sale',
      JWKS_URL: `${functionUrls.jwks}/.well-known/jwks.json`,
      JWT_PRIVATE_KEY: keys.privateKey,
      JWT_PUBLIC_KEYS: keys.publicKeys,
      CORS_ALLOWED_ORIGINS: `http://localhost:${profile.webPort ?? 5173}`,
      TASK_QUEUE: 'local',
      TASKS_QUEUE: 'orders',
      WORKER_URL: `${functionUrls['order-worker']}/`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...firestore.env,
      ...profile.extraEnv,
    };

    const admin = profile.admin && (await makeAdmin(postgresService.url, profile.admin, dataDir, Number(env.PASSWORD_SCRYPT_LOG2N)));

    const children = new Map<FunctionName, ChildProcess>();
    const stopFunction = async (name: FunctionName) => {
      const child = children.get(name);
      children.delete(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    };
    const startFunction = async (name: FunctionName, overrides: Record<string, string> = {}, options = { awaitHealthy: true }) => {
      await stopFunction(name);
      children.set(name, spawnFunction(name, localFunctionPort(profile.gatewayPort, name), { ...env, ...overrides }, profile.logDir));
      if (options.awaitHealthy) await waitFor(`function ${name} (${functionUrls[name]})`, () => healthy(functionUrls[name]));
    };
    stops.push({
      what: 'the functions',
      stop: async () => {
        for (const name of [...children.keys()]) await stopFunction(name);
      },
    });
    await Promise.all(FUNCTION_NAMES.map((name) => startFunction(name)));

    const dispatcherOptions = {
      redisUrl: queueRedisService.url,
      keyPrefix: profile.keyPrefix,
      queueName: env.TASKS_QUEUE ?? 'orders',
      workerUrl: env.WORKER_URL ?? '',
      maxPerSecond: profile.dispatch?.perSecond ?? 500,
      concurrency: profile.dispatch?.concurrency ?? 32,
    };
    let dispatcher = startDispatcher(dispatcherOptions);
    stops.push({ what: 'the task dispatcher', stop: () => dispatcher.close() });

    const sweeper = startSweepLoop(functionUrls.sweeper, profile.sweepEveryMs);
    stops.push({ what: 'the sweeper loop', stop: async () => sweeper.stop() });

    const gateway: http.Server = await createGateway({
      openapiFile: path.join(ROOT, 'openapi.yaml'),
      variables: {
        users_url: functionUrls.users,
        sales_url: functionUrls.sales,
        orders_url: functionUrls.orders,
        jwt_issuer: env.JWT_ISSUER ?? '',
        jwt_audience: env.JWT_AUDIENCE ?? '',
        jwks_url: functionUrls.jwks,
        // Locally there is no managed service; the name only has to be filled in.
        managed_service: 'flash-sale.local',
      },
    });
    await new Promise<void>((resolve, reject) => {
      gateway.once('error', reject);
      gateway.listen(profile.gatewayPort, '127.0.0.1', resolve);
    });
    stops.push({
      what: 'the gateway',
      stop: () =>
        new Promise<void>((resolve) => {
          gateway.close(() => resolve());
          gateway.closeAllConnections();
        }),
    });
    let webUrl: string | undefined;
    if (profile.webPort) {
      const web = spawn(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'preview', path.join(ROOT, 'web')], {
        env: { ...process.env, GATEWAY_URL: gatewayUrl, WEB_PORT: String(profile.webPort) },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      stops.push({
        what: 'the web client',
        stop: async () => {
          if (web.exitCode !== null) return;
          const gone = new Promise((resolve) => web.once('exit', resolve));
          web.kill('SIGTERM');
          await gone;
        },
      });
      webUrl = `http://localhost:${profile.webPort}`;
      await waitFor(`the web client on ${webUrl}`, async () => {
        if (web.exitCode !== null) throw new Error(`vite preview exited (${web.exitCode}); is web/ built? (npm run build)`);
        try {
          return (await fetch(webUrl ?? '')).ok;
        } catch {
          return false;
        }
      });
    }

    const control: StackControl = {
      redis: { kill: () => redisService.kill(), restart: () => redisService.restart() },
      postgres: { stop: () => postgresService.stop(), start: () => postgresService.start() },
      stopFunction,
      startFunction,
      restartDispatcher: async ({ deliverTwice }) => {
        await dispatcher.close();
        dispatcher = startDispatcher({ ...dispatcherOptions, deliverTwice });
      },
      pauseDispatcher: () => dispatcher.pause(),
      resumeDispatcher: () => dispatcher.resume(),
      dispatched: () => dispatcher.counts(),
      signalFunction: (name, signal) => void children.get(name)?.kill(signal),
      startInstance: async (name, port) => {
        const child = spawnFunction(name, port, env, profile.logDir);
        const url = `http://${FUNCTION_HOST}:${port}`;
        const stopInstance = async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const gone = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await gone;
        };
        stops.push({ what: `a second ${name}`, stop: stopInstance });
        await waitFor(`function ${name} (${url})`, () => healthy(url));
        return { url, stop: stopInstance };
      },
      sweeper: {
        pause: () => sweeper.pause(),
        resume: () => sweeper.resume(),
        sweepOnce: async () => {
          const answer = await fetch(`${functionUrls.sweeper}/`, { method: 'POST', signal: AbortSignal.timeout(60_000) });
          if (!answer.ok) throw new Error(`sweeper: ${answer.status} ${await answer.text()}`);
          return (await answer.json()) as Record<string, number>;
        },
      },
    };
    return { gatewayUrl, webUrl, functionUrls, env, admin, control, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The stack's admin account, made as an operator would (scripts/admin.ts): its password is the
 * profile's, else the one kept in <data>/admin-password (git-ignored, so a restart of npm start
 * prints the same one), else a new one written there.
 */
async function makeAdmin(
  databaseUrl: string,
  wanted: { email: string; password?: string },
  dataDir: string,
  log2N: number,
): Promise<{ email: string; password: string; userId: string }> {
  const file = path.join(dataDir, 'admin-password');
  let password = wanted.password || (existsSync(file) ? readFileSync(file, 'utf8').trim() : '');
  if (!password) {
    password = randomBytes(12).toString('base64url');
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const userId = await ensureAdminAccount(client, wanted.email, password, scryptParams(log2N));
    return { email: wanted.email, password, userId };
  } finally {
    await client.end();
  }
}
