// What Terraform would deploy, read from terraform/ for the cloud-parity run: each function's
// environment (the function-env module, with the arguments the dev root, the flash-sale module
// and the functions module pass down), its run.app URL, ingress and invokers; the queue's
// retry and rate settings; the Scheduler job's URI and audience; the values the gateway's
// openapi.yaml is rendered with. Only what a real apply would take from a created resource
// (project number, secret ids, CA certificates, service-account emails…) is given here, as
// `ParityValues` and the `CLOUD_RESOURCES` below; the wiring between them is Terraform's own.
import path from 'node:path';
import { childModuleInputs, loadModule, type LoadedModule, type Value } from './hcl.ts';
import type { DeployedFunction } from './platform.ts';

export interface ParityValues {
  root: string;
  projectId: string;
  projectNumber: string;
  region: string;
  /** The token issuer: the gateway's own URL. */
  jwtIssuer: string;
  corsAllowedOrigins: string[];
  /** The values of the secrets Terraform creates, by environment variable. */
  secrets: { DATABASE_URL: string; REDIS_URL: string; JWT_PRIVATE_KEY: string };
  jwtPublicKeyPem: string;
}

export interface ParityFunction extends Omit<DeployedFunction, 'localUrl'> {
  /** Every environment variable Terraform gives it, secrets resolved. */
  env: Record<string, string>;
}

export interface ParityDeployment {
  functions: Record<string, ParityFunction>;
  queue: { name: string; retry: { maxAttempts: number; minBackoffMs: number; maxBackoffMs: number; maxDoublings: number }; rateLimits: { maxDispatchesPerSecond: number; maxConcurrentDispatches: number } };
  scheduler: { uri: string; audience: string; serviceAccount: string };
  gatewayServiceAccount: string;
  /** openapi.yaml's template values, as the gateway module passes them to templatefile(). */
  openapiVariables: Record<string, string>;
}

type Obj = Record<string, Value>;
const obj = (v: Value | undefined): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

/** "0.200s", "10s" → milliseconds (Terraform's duration strings for Cloud Tasks). */
function durationMs(v: Value | undefined): number {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(String(v));
  if (!m) throw new Error(`not a duration: ${String(v)}`);
  return Math.round(Number(m[1]) * 1000);
}

function firstBlock(module: LoadedModule, type: string, name: string): Record<string, unknown> {
  for (const file of module.files) {
    const block = ((file.resource as Record<string, Record<string, unknown[]>> | undefined)?.[type]?.[name] ?? [])[0];
    if (block) return block as Record<string, unknown>;
  }
  throw new Error(`no resource ${type}.${name}`);
}

const at = (block: Record<string, unknown>, ...keys: string[]): unknown =>
  keys.reduce<unknown>((v, k) => (Array.isArray(v) ? (v[0] as Record<string, unknown>) : (v as Record<string, unknown>))?.[k], block);

export async function parityDeployment(values: ParityValues): Promise<ParityDeployment> {
  const tf = path.join(values.root, 'terraform');
  const devRoot = await loadModule(path.join(tf, 'environments/dev'), {
    project_id: values.projectId,
    region: values.region,
    jwt_issuer: values.jwtIssuer,
    cors_allowed_origins: values.corsAllowedOrigins,
  }, { allowResources: true });
  const flashSaleInputs = childModuleInputs(devRoot, 'flash_sale');
  const name = String(flashSaleInputs.name);

  // What created resources would hand on: ids, emails, certificates. Local stores speak plain
  // TCP, so the CAs are empty (the TLS settings' own tests are unit tests).
  const queueName = `${name}-orders`;
  const emails = {
    tasks: `${name.slice(0, 18)}-tasks@${values.projectId}.iam.gserviceaccount.com`,
    scheduler: `${name.slice(0, 18)}-sched@${values.projectId}.iam.gserviceaccount.com`,
    gateway: `${name.slice(0, 20)}-gw@${values.projectId}.iam.gserviceaccount.com`,
  };
  const secret = (id: string) => ({ secret: id, version: '1' });
  const flashSale = await loadModule(path.join(tf, 'modules/flash-sale'), flashSaleInputs, {
    allowResources: true,
    refs: {
      data: { google_project: { this: { number: values.projectNumber } } },
      tls_private_key: { jwt: { public_key_pem: values.jwtPublicKeyPem } },
      google_secret_manager_secret: { jwt_private_key: { secret_id: `${name}-jwt-private-key` } },
      google_secret_manager_secret_version: { jwt_private_key: { version: '1' } },
      module: {
        network: { connector_id: `projects/${values.projectId}/locations/${values.region}/connectors/parity` },
        data: {
          redis_ca_certificate: '',
          database_ca_certificate: '',
          database_url_secret: secret(`${name}-database-url`),
          redis_url_secret: secret(`${name}-redis-url`),
          max_connections: 200,
        },
        queue: {
          queue_id: `projects/${values.projectId}/locations/${values.region}/queues/${queueName}`,
          queue_name: queueName,
          tasks_invoker_email: emails.tasks,
          scheduler_invoker_email: emails.scheduler,
        },
      },
    },
  });
  const secretValues: Record<string, string> = {
    [`${name}-database-url`]: values.secrets.DATABASE_URL,
    [`${name}-redis-url`]: values.secrets.REDIS_URL,
    [`${name}-jwt-private-key`]: values.secrets.JWT_PRIVATE_KEY,
  };

  const functionsModule = await loadModule(path.join(tf, 'modules/functions'), childModuleInputs(flashSale, 'functions'), { allowResources: true });
  const envModule = await loadModule(path.join(tf, 'modules/function-env'), childModuleInputs(functionsModule, 'env'));
  const outputs = Object.fromEntries(
    ['environment', 'secret_environment', 'url'].map((o) => [o, obj(envModule.evaluate(`\${local.${o === 'url' ? 'urls' : o}}`))]),
  );
  const functionSettings = obj(functionsModule.evaluate('${var.functions}'));
  const functionResource = firstBlock(functionsModule, 'google_cloudfunctions2_function', 'function');
  const invokerEmails: Record<string, DeployedFunction['invokers']> = {
    gateway: [emails.gateway],
    tasks: [emails.tasks],
    scheduler: [emails.scheduler],
    public: 'allUsers',
  };

  const functions: Record<string, ParityFunction> = {};
  for (const [target, settings] of Object.entries(functionSettings)) {
    const each = { each: { key: target, value: settings } };
    const env: Record<string, string> = {};
    for (const [key, v] of Object.entries(obj(outputs.environment?.[target]))) env[key] = String(v);
    for (const [key, ref] of Object.entries(obj(outputs.secret_environment?.[target]))) {
      const id = String(obj(ref).secret);
      const found = secretValues[id];
      if (found === undefined) throw new Error(`${target}: ${key} names secret ${id}, which the deployment does not create`);
      env[key] = found;
    }
    functions[target] = {
      target,
      service: String(functionsModule.evaluate(at(functionResource, 'name'), each)),
      url: String(outputs.url?.[target]),
      ingress: String(functionsModule.evaluate(at(functionResource, 'service_config', 'ingress_settings'), each)) as DeployedFunction['ingress'],
      invokers: invokerEmails[String(obj(settings).invoker)] ?? [],
      env,
    };
  }

  // A created function's service_config: its run.app URL (docs/cloud.md §5) and service name.
  const created = {
    google_cloudfunctions2_function: {
      function: Object.fromEntries(Object.values(functions).map((f) => [f.target, { service_config: [{ uri: f.url, service: f.service }] }])),
    },
  };
  const job = firstBlock(functionsModule, 'google_cloud_scheduler_job', 'sweeper');
  const scheduler = {
    uri: String(functionsModule.evaluate(at(job, 'http_target', 'uri'), created)),
    audience: String(functionsModule.evaluate(at(job, 'http_target', 'oidc_token', 'audience'), created)),
    serviceAccount: String(functionsModule.evaluate(at(job, 'http_target', 'oidc_token', 'service_account_email'))),
  };
  const backendsOutput = functionsModule.files
    .map((f) => (f.output as Record<string, { value: unknown }[]> | undefined)?.backends?.[0])
    .find((o) => o !== undefined);
  if (!backendsOutput) throw new Error('the functions module has no output "backends"');
  const backends = functionsModule.evaluate(backendsOutput.value, created);

  const queueModule = await loadModule(path.join(tf, 'modules/queue'), childModuleInputs(flashSale, 'queue'), { allowResources: true });
  const queueResource = firstBlock(queueModule, 'google_cloud_tasks_queue', 'orders');
  const q = (...keys: string[]) => queueModule.evaluate(at(queueResource, ...keys));
  const queue = {
    name: `projects/${values.projectId}/locations/${values.region}/queues/${String(q('name'))}`,
    retry: {
      maxAttempts: Number(q('retry_config', 'max_attempts')),
      minBackoffMs: durationMs(q('retry_config', 'min_backoff')),
      maxBackoffMs: durationMs(q('retry_config', 'max_backoff')),
      maxDoublings: Number(q('retry_config', 'max_doublings')),
    },
    rateLimits: {
      maxDispatchesPerSecond: Number(q('rate_limits', 'max_dispatches_per_second')),
      maxConcurrentDispatches: Number(q('rate_limits', 'max_concurrent_dispatches')),
    },
  };

  const gatewayInputs = childModuleInputs(
    { files: flashSale.files, evaluate: (json, extra = {}) => flashSale.evaluate(json, { ...extra, module: { functions: { backends } } }) },
    'gateway',
  );
  const rendered: Obj = {};
  const gatewayModule = await loadModule(path.join(tf, 'modules/gateway'), gatewayInputs, {
    allowResources: true,
    refs: { google_api_gateway_api: { flash_sale: { managed_service: `${name}-parity.apigateway.${values.projectId}.cloud.goog` } } },
    functions: {
      templatefile: (_file, vars) => Object.assign(rendered, obj(vars)),
      base64encode: (v) => v,
    },
  });
  gatewayModule.evaluate(at(firstBlock(gatewayModule, 'google_api_gateway_api_config', 'flash_sale'), 'openapi_documents', 'document', 'contents'));

  return {
    functions,
    queue,
    scheduler,
    gatewayServiceAccount: emails.gateway,
    openapiVariables: Object.fromEntries(Object.entries(rendered).map(([k, v]) => [k, String(v)])),
  };
}

