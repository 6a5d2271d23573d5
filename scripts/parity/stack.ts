// The cloud-parity stack: the functions started with the environment Terraform gives them
// (scripts/parity/deployment.ts), answering at their run.app URLs behind a stand-in of Google's
// front (ID token audience, invoker, ingress: scripts/parity/platform.ts); the real Cloud Tasks
// client against a gRPC stand-in of Cloud Tasks (scripts/parity/cloud-tasks.ts); a stand-in of
// Cloud Scheduler calling the URI the job names; and the local gateway serving openapi.yaml
// rendered with the values Terraform renders it with. Only Redis and PostgreSQL are local (plain
// TCP: the TLS settings are unit-tested). A wrong URL, audience, ingress or missing setting in
// terraform/ fails here before it fails in the cloud.
import { mkdirSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type http from 'node:http';
import path from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { createGateway, type BackendRoute } from '../gateway.ts';
import { startPostgres } from '../local/postgres.ts';
import { startRedis } from '../local/redis.ts';
import { progress, waitFor } from '../local/system.ts';
import { isFunctionTarget, localFunctionPort } from '../../functions/src/function-names.ts';
import { healthy, ROOT, spawnFunction, startFirestoreEmulator, type FunctionName } from '../stack.ts';
import { startCloudTasksStandin, type CloudTasksStandin } from './cloud-tasks.ts';
import { parityDeployment, type ParityDeployment } from './deployment.ts';
import { createGoogleIdentity, createPlatform, type Platform } from './platform.ts';

export interface ParityProfile {
  gatewayPort: number;
  redisPort: number;
  postgresPort: number;
  keyPrefix: string;
  sweepEveryMs: number;
  logDir: string;
}

export interface ParityStack {
  gatewayUrl: string;
  deployment: ParityDeployment;
  platform: Platform;
  tasks: CloudTasksStandin;
  /** What the tests need to reach the stores and mint tokens as the users function does. */
  env: Record<string, string>;
  /** Restarts a function with its Terraform environment changed by `overrides`. */
  restartFunction(name: FunctionName, overrides?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

const PROJECT = { projectId: 'parity-project', projectNumber: '123456789012', region: 'europe-west1' };

const header = (headers: Readonly<Record<string, string>>, name: string) =>
  Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];

export async function startParityStack(profile: ParityProfile): Promise<ParityStack> {
  const dataDir = path.join(ROOT, '.local', 'parity');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(profile.logDir, { recursive: true });
  const stops: { what: string; stop: () => Promise<void> }[] = [];
  const stop = async () => {
    for (const part of stops.reverse()) await part.stop().catch((err: unknown) => progress(`stopping ${part.what}: ${String(err)}`));
    stops.length = 0;
  };
  try {
    const [redis, postgres] = await Promise.all([
      startRedis({ port: profile.redisPort, dir: path.join(dataDir, 'redis'), persistent: false }),
      startPostgres({ port: profile.postgresPort, dir: path.join(dataDir, 'postgres'), database: 'flashsale' }),
    ]);
    stops.push({ what: 'Redis', stop: () => redis.stop() }, { what: 'PostgreSQL', stop: () => postgres.stop() });
    // Firestore's stand-in for the live view (the functions Terraform gives FIRESTORE_PROJECT_ID).
    const firestore = await startFirestoreEmulator(profile.redisPort + 2, profile.logDir);
    stops.push({ what: 'the Firestore emulator', stop: () => firestore.stop() });

    // What the apply creates: the JWT key (tls_private_key) and the secrets' values.
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwtPrivateKey = await exportPKCS8(pair.privateKey);
    const gatewayUrl = `http://localhost:${profile.gatewayPort}`;
    const deployment = await parityDeployment({
      root: ROOT,
      ...PROJECT,
      jwtIssuer: gatewayUrl,
      corsAllowedOrigins: ['http://localhost:5173'],
      secrets: { DATABASE_URL: postgres.url, REDIS_URL: redis.url, JWT_PRIVATE_KEY: jwtPrivateKey },
      jwtPublicKeyPem: await exportSPKI(pair.publicKey),
    });

    const identity = await createGoogleIdentity();
    const localUrl = (name: string) => `http://127.0.0.1:${isFunctionTarget(name) ? localFunctionPort(profile.gatewayPort, name) : fail(`no local port for function ${name}`)}`;
    const platform = createPlatform(
      Object.values(deployment.functions).map((f) => ({ ...f, localUrl: localUrl(f.target) })),
      identity,
      `${PROJECT.region}-${PROJECT.projectId}.cloudfunctions.net`,
    );

    /** Cloud Tasks and Cloud Scheduler reach a function as internal traffic, with their ID token. */
    const deliverInternal = async (request: { url: string; method: string; headers: Readonly<Record<string, string>>; body?: Buffer }, signal?: AbortSignal) => {
      const admitted = await platform.admit(request.url, header(request.headers, 'authorization'), { internal: true });
      if (!admitted.ok) return { status: admitted.status };
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => k.toLowerCase() !== 'host'));
      const answer = await fetch(admitted.target, { method: request.method, headers, body: request.body ? new Uint8Array(request.body) : undefined, signal });
      await answer.arrayBuffer();
      return { status: answer.status };
    };
    const tasks = await startCloudTasksStandin({
      queues: [{ name: deployment.queue.name, retry: deployment.queue.retry, rateLimits: deployment.queue.rateLimits }],
      mintIdToken: (email, audience) => identity.mintIdToken(email, audience),
      deliver: (request, signal) => deliverInternal(request, signal),
    });
    stops.push({ what: 'the Cloud Tasks stand-in', stop: () => tasks.close() });

    const children = new Map<FunctionName, ChildProcess>();
    const stopFunction = async (name: FunctionName) => {
      const child = children.get(name);
      children.delete(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    };
    const restartFunction = async (name: FunctionName, overrides: Record<string, string> = {}) => {
      await stopFunction(name);
      const fn = deployment.functions[name] ?? fail(`terraform deploys no function ${name}`);
      const env = {
        ...fn.env,
        // Where this machine's stand-ins are, and this run's key prefix: the only additions.
        TASKS_API_ENDPOINT: `${tasks.endpoint.host}:${tasks.endpoint.port}`,
        ...(fn.env.FIRESTORE_PROJECT_ID ? { FIRESTORE_EMULATOR_HOST: firestore.env.FIRESTORE_EMULATOR_HOST ?? '' } : {}),
        REDIS_KEY_PREFIX: profile.keyPrefix,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        // No metadata server here: google-auth-library would probe for one (and warn) at start.
        METADATA_SERVER_DETECTION: 'none',
        ...overrides,
      };
      children.set(name, spawnFunction(name, localFunctionPort(profile.gatewayPort, name), env, profile.logDir));
      await waitFor(`function ${name} (parity)`, () => healthy(localUrl(name)), 120_000);
    };
    stops.push({
      what: 'the functions',
      stop: async () => {
        for (const name of [...children.keys()]) await stopFunction(name);
      },
    });
    const names = Object.keys(deployment.functions) as FunctionName[];
    await Promise.all(names.map((name) => restartFunction(name)));

    // Cloud Scheduler: the job's URI with its OIDC token, one run at a time.
    let sweeping = false;
    const timer = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      void identity
        .mintIdToken(deployment.scheduler.serviceAccount, deployment.scheduler.audience)
        .then((token) =>
          deliverInternal({
            url: deployment.scheduler.uri,
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'x-cloudscheduler': 'true', 'user-agent': 'Google-Cloud-Scheduler' },
          }),
        )
        .then(({ status }) => {
          if (status >= 300) progress(`parity scheduler: the sweeper answered ${status}`);
        })
        .catch((err: unknown) => progress(`parity scheduler: ${String(err)}`))
        .finally(() => (sweeping = false));
    }, profile.sweepEveryMs);
    stops.push({ what: 'the scheduler', stop: async () => clearInterval(timer) });

    // API Gateway: the gateway's account calls backends with an ID token for the backend's
    // audience (jwt_audience, default the address); the JWKS is fetched with no credentials.
    const backends: BackendRoute = {
      route: async (url, caller) => {
        const authorization = caller === 'anonymous' ? undefined : `Bearer ${await identity.mintIdToken(deployment.gatewayServiceAccount, caller.audience)}`;
        const admitted = await platform.admit(url, authorization, { internal: false });
        return admitted.ok ? { ok: true, target: admitted.target, authorization } : admitted;
      },
    };
    const gateway: http.Server = await createGateway({ openapiFile: path.join(ROOT, 'openapi.yaml'), variables: deployment.openapiVariables, backends });
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

    const users = deployment.functions.users?.env ?? {};
    return {
      gatewayUrl,
      deployment,
      platform,
      tasks,
      env: {
        DATABASE_URL: postgres.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: profile.keyPrefix,
        JWT_PRIVATE_KEY: jwtPrivateKey,
        JWT_ISSUER: users.JWT_ISSUER ?? '',
        JWT_AUDIENCE: users.JWT_AUDIENCE ?? '',
      },
      restartFunction,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function fail(message: string): never {
  throw new Error(message);
}
