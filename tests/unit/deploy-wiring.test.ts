// The Terraform against Google's documented behaviour (docs/cloud.md) and the runtime contract,
// offline: each test parses the .tf files (@cdktf/hcl2json) and checks one wiring that a
// review found wrong: what the first apply needs, what the functions get, who may call them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ORDER_QUEUE_RETRY } from '../../functions/src/lib/task-queue-port.ts';
import { ENVIRONMENTS, ROOT, TF, environment, first, optionalDefaults, parseModule, resourceBody, variable, type Json } from '../../scripts/terraform-model.ts';

const text = (file: string) => readFileSync(path.join(TF, file), 'utf8');
const allTf = (dir = TF): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === '.terraform' ? [] : allTf(path.join(dir, e.name))) : e.name.endsWith('.tf') ? [path.join(dir, e.name)] : [],
  );

test('Cloud SQL: the edition is explicit and fits the tier in every environment (PG16 defaults to ENTERPRISE_PLUS)', async () => {
  const instance = resourceBody(await parseModule('modules/data'), 'google_sql_database_instance', 'orders');
  assert.equal(first(instance.settings).edition, '${var.postgres.edition}');
  for (const name of ENVIRONMENTS) {
    const { postgres } = await environment(name);
    const fits =
      (postgres.edition === 'ENTERPRISE' && /^db-(f1-micro|g1-small|custom-\d+-\d+)$/.test(postgres.tier as string)) ||
      (postgres.edition === 'ENTERPRISE_PLUS' && /^db-perf-optimized-N-\d+$/.test(postgres.tier as string));
    assert.ok(fits, `${name}: ${postgres.edition} with ${postgres.tier}`);
  }
  assert.match(text('modules/data/variables.tf'), /var\.postgres\.edition == "ENTERPRISE" && can\(regex\(/, 'a validation ties edition and tier');
});

test('the JWT signing key is made by the apply: P-256 key, secret version, no `latest`, jwks gets the public PEM', async () => {
  const flashSale = await parseModule('modules/flash-sale');
  const key = resourceBody(flashSale, 'tls_private_key', 'jwt');
  assert.deepEqual([key.algorithm, key.ecdsa_curve], ['ECDSA', 'P256']);
  assert.equal(resourceBody(flashSale, 'google_secret_manager_secret_version', 'jwt_private_key').secret_data, '${tls_private_key.jwt.private_key_pem_pkcs8}');
  const functionsCall = first(flashSale.module?.functions);
  assert.equal(first(functionsCall.secrets).jwt_private_key && (first(functionsCall.secrets).jwt_private_key as Json).version, '${google_secret_manager_secret_version.jwt_private_key.version}');
  assert.match(functionsCall.jwt_public_keys as string, /tls_private_key\.jwt\.public_key_pem/);
  // The data module's secrets are pinned the same way.
  const outputs = (await parseModule('modules/data')).output ?? {};
  for (const secret of ['database_url', 'redis_url']) {
    assert.equal((first(outputs[`${secret}_secret`]).value as Json).version, `\${google_secret_manager_secret_version.${secret}.version}`);
  }
  const fn = resourceBody(await parseModule('modules/functions'), 'google_cloudfunctions2_function', 'function');
  const secretEnv = first((first(fn.service_config).dynamic as Json).secret_environment_variables);
  assert.equal(first(secretEnv.content).version, '${secret_environment_variables.value.version}');
  for (const file of allTf()) assert.doesNotMatch(readFileSync(file, 'utf8'), /version\s*=\s*"latest"/, file);
  const env = text('modules/function-env/main.tf');
  assert.match(env, /JWT_PRIVATE_KEY = var\.secrets\.jwt_private_key/);
  assert.match(env, /name == "jwks" \? \{ JWT_PUBLIC_KEYS = var\.jwt_public_keys \}/);
  assert.doesNotMatch(env, /JWT_PRIVATE_JWK/);
});

test('the functions are built by a dedicated build service account with the roles the build needs', async () => {
  const functions = await parseModule('modules/functions');
  const fn = resourceBody(functions, 'google_cloudfunctions2_function', 'function');
  assert.equal(first(fn.build_config).service_account, '${google_service_account.build.id}');
  const roles = resourceBody(functions, 'google_project_iam_member', 'build').for_each as string;
  for (const role of ['roles/logging.logWriter', 'roles/artifactregistry.writer', 'roles/storage.objectViewer']) assert.ok(roles.includes(role), role);
  const bucketGrant = resourceBody(functions, 'google_storage_bucket_iam_member', 'build_reads_source');
  assert.equal(bucketGrant.bucket, '${google_storage_bucket.source.name}');
  assert.equal(bucketGrant.member, 'serviceAccount:${google_service_account.build.email}');
});

test('IAM, IAM credentials and Resource Manager are enabled, and every module waits for the APIs', async () => {
  const flashSale = await parseModule('modules/flash-sale');
  const apis = resourceBody(flashSale, 'google_project_service', 'apis').for_each as string;
  for (const api of ['iam.googleapis.com', 'iamcredentials.googleapis.com', 'cloudresourcemanager.googleapis.com']) assert.ok(apis.includes(api), api);
  for (const [name, [call]] of Object.entries(flashSale.module ?? {})) {
    assert.deepEqual((call as Json).depends_on, ['${google_project_service.apis}'], `module ${name}`);
  }
  assert.deepEqual(first((flashSale.data?.google_project as unknown as Record<string, Json[]>).this).depends_on, ['${google_project_service.apis}']);
});

test('WORKER_URL is the order-worker run.app URL; the scheduler calls and signs for the sweeper run.app URL', async () => {
  const env = text('modules/function-env/main.tf');
  assert.match(env, /urls = \{ for name, f in var\.functions : name => "https:\/\/\$\{var\.name\}-\$\{name\}-\$\{var\.project_number\}\.\$\{var\.region\}\.run\.app" \}/);
  assert.match(env, /WORKER_URL\s+= local\.urls\["order-worker"\]/);
  const flashSale = first((await parseModule('modules/flash-sale')).module?.functions);
  assert.equal(flashSale.project_number, '${data.google_project.this.number}');
  const job = resourceBody(await parseModule('modules/functions'), 'google_cloud_scheduler_job', 'sweeper');
  const target = first(job.http_target);
  const uri = '${google_cloudfunctions2_function.function["sweeper"].service_config[0].uri}';
  assert.equal(target.uri, uri);
  assert.equal(first(target.oidc_token).audience, uri);
});

test('gateway: the contract template variables, run.app backends, jwks the only public function', async () => {
  const gateway = text('modules/gateway/main.tf');
  const passed = Object.fromEntries(
    [...(/templatefile\(var\.openapi_file, \{([\s\S]*?)\}\)\)/.exec(gateway)?.[1] ?? '').matchAll(/^\s+([a-z_]+)\s+=\s+(.+)$/gm)].map((m) => [m[1], m[2]]),
  );
  assert.deepEqual(Object.keys(passed).sort(), ['jwks_url', 'jwt_audience', 'jwt_issuer', 'managed_service', 'orders_url', 'sales_url', 'users_url']);
  for (const fn of ['users', 'sales', 'orders', 'jwks']) assert.equal(passed[`${fn}_url`], `var.backends["${fn}"].url`);
  assert.equal(passed.managed_service, 'google_api_gateway_api.flash_sale.managed_service');
  const backends = first((await parseModule('modules/functions')).output?.backends).value as string;
  assert.match(backends, /url\s+= f\.service_config\[0\]\.uri/);

  // allUsers appears once: the public_invoker binding, for invoker "public" only…
  const publicGrants = allTf().flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/allUsers|allAuthenticatedUsers/g)].map(() => path.relative(TF, file)));
  assert.deepEqual(publicGrants, ['modules/functions/main.tf']);
  const grant = resourceBody(await parseModule('modules/functions'), 'google_cloud_run_v2_service_iam_member', 'public_invoker');
  assert.equal(grant.member, 'allUsers');
  assert.match(grant.for_each as string, /if f\.invoker == "public"/);
  // …and in every environment only jwks is "public".
  for (const name of ENVIRONMENTS) {
    const { functions } = await environment(name);
    assert.deepEqual(Object.keys(functions).filter((fn) => functions[fn]?.invoker === 'public'), ['jwks'], name);
  }
});

test('PostgreSQL: DATABASE_URL has no sslmode, DATABASE_CA is the instance CA, every store function migrates on start', async () => {
  const data = await parseModule('modules/data');
  assert.doesNotMatch(resourceBody(data, 'google_secret_manager_secret_version', 'database_url').secret_data as string, /sslmode/);
  assert.equal(first(data.output?.database_ca_certificate).value, '${google_sql_database_instance.orders.server_ca_cert[0].cert}');
  assert.equal(first((await parseModule('modules/flash-sale')).module?.functions).database_ca, '${module.data.database_ca_certificate}');
  const env = text('modules/function-env/main.tf');
  assert.match(env, /DATABASE_CA\s+= var\.database_ca/);
  assert.match(env, /MIGRATE_ON_START\s+= "true"/);
  assert.match(env, /f\.stores \? merge\(local\.stores/);
  for (const name of ENVIRONMENTS) {
    const { functions } = await environment(name);
    const stores = Object.keys(functions).filter((fn) => functions[fn]?.stores).sort();
    assert.deepEqual(stores, ['order-worker', 'orders', 'sales', 'sweeper', 'users'], `${name}: the PostgreSQL functions`);
  }
});

test('connection budget: max_instances × pool size over the PostgreSQL functions fits max_connections less headroom, in every environment', async () => {
  const functionsModule = await parseModule('modules/functions');
  const locals = Object.assign({}, ...((functionsModule.locals as unknown as Json[]) ?? [])) as Json;
  const headroom = Number(locals.connection_headroom_percent);
  const reserved = Number(locals.reserved_connections);
  assert.ok(headroom >= 10 && reserved >= 3, 'at least 10% and Cloud SQL reserved connections held back');
  const fn = resourceBody(functionsModule, 'google_cloudfunctions2_function', 'function');
  assert.equal(first(first(fn.lifecycle).precondition).condition, '${local.connections_needed <= local.connection_budget}');
  assert.match(text('modules/functions/main.tf'), /f\.max_instances \* f\.pool_size/);
  assert.match(text('modules/function-env/main.tf'), /DATABASE_POOL_SIZE = "\$\{f\.pool_size\}"/);
  for (const name of ENVIRONMENTS) {
    const { functions, postgres } = await environment(name);
    const needed = Object.values(functions).filter((f) => f.stores).reduce((sum, f) => sum + f.max_instances * f.pool_size, 0);
    const budget = Math.floor(((postgres.max_connections as number) * (100 - headroom)) / 100) - reserved;
    assert.ok(needed <= budget, `${name}: ${needed} connections needed, budget ${budget}`);
  }
});

test('CORS origins, FORWARDED_FOR_HOP 2 (marked UNCONFIRMED) and ingress per invoker', async () => {
  const env = text('modules/function-env/main.tf');
  assert.match(env, /CORS_ALLOWED_ORIGINS = join\(",", var\.cors_allowed_origins\)/);
  assert.match(env, /UNCONFIRMED \(docs\/cloud\.md §4\)[\s\S]{0,300}FORWARDED_FOR_HOP = "2"/);
  for (const dir of ['environments/dev', 'environments/prod', 'modules/flash-sale']) {
    assert.equal(first((await parseModule(dir)).variable?.cors_allowed_origins).type, '${list(string)}', dir);
  }
  const fn = resourceBody(await parseModule('modules/functions'), 'google_cloudfunctions2_function', 'function');
  assert.equal(first(fn.service_config).ingress_settings, '${contains(["tasks", "scheduler"], each.value.invoker) ? "ALLOW_INTERNAL_ONLY" : "ALLOW_ALL"}');
  for (const name of ENVIRONMENTS) {
    const { functions } = await environment(name);
    assert.equal(functions['order-worker']?.invoker, 'tasks');
    assert.equal(functions.sweeper?.invoker, 'scheduler');
  }
});

test('state: both roots keep it in GCS (partial config), and deploy:plan passes the bucket', async () => {
  for (const name of ENVIRONMENTS) {
    const terraform = first((await parseModule(`environments/${name}`)).terraform);
    assert.deepEqual(terraform.backend, { gcs: [{}] }, name);
  }
  const plan = readFileSync(path.join(ROOT, 'scripts/deploy/plan.ts'), 'utf8');
  assert.match(plan, /-backend-config=bucket=\$\{env\.TF_STATE_BUCKET\}/);
  assert.match(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts['deploy:plan'], /scripts\/deploy\/plan\.ts/);
});

test('providers: google and google-beta pinned to one major everywhere; tls wherever a key is made', async () => {
  const constraints = new Set<string>();
  for (const file of allTf()) {
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/source\s+= "hashicorp\/(google|google-beta)"\n\s+version = "([^"]+)"/g)) constraints.add(m[2] as string);
  }
  assert.deepEqual([...constraints], ['~> 6.50']);
  for (const dir of ['modules/flash-sale', 'environments/dev', 'environments/prod']) assert.match(text(`${dir}/versions.tf`), /hashicorp\/tls/, dir);
});

test('operations: source bucket versioned with lifecycle, prod protected, dev destroyable, labels, typed variables, connector size', async () => {
  const functions = await parseModule('modules/functions');
  const bucket = resourceBody(functions, 'google_storage_bucket', 'source');
  assert.deepEqual(bucket.versioning, [{ enabled: true }]);
  assert.ok((bucket.lifecycle_rule as Json[]).length >= 1);
  const data = await parseModule('modules/data');
  assert.equal(resourceBody(data, 'google_sql_user', 'app').deletion_policy, 'ABANDON');
  assert.equal(resourceBody(await parseModule('modules/network'), 'google_service_networking_connection', 'private_services').deletion_policy, 'ABANDON');
  assert.equal((await environment('prod')).postgres.deletion_protection, true);
  assert.equal((await environment('dev')).postgres.deletion_protection, false);
  // Labels on everything that takes them (the google provider's `labels`, Cloud SQL's user_labels).
  for (const [dir, type, name] of [
    ['modules/data', 'google_redis_instance', 'tokens'],
    ['modules/data', 'google_secret_manager_secret', 'database_url'],
    ['modules/functions', 'google_storage_bucket', 'source'],
    ['modules/functions', 'google_cloudfunctions2_function', 'function'],
    ['modules/gateway', 'google_api_gateway_gateway', 'flash_sale'],
    ['modules/flash-sale', 'google_secret_manager_secret', 'jwt_private_key'],
  ] as const) {
    assert.ok(resourceBody(await parseModule(dir), type, name).labels, `${type}.${name}`);
  }
  assert.ok(first(resourceBody(data, 'google_sql_database_instance', 'orders').settings).user_labels);
  for (const file of allTf()) assert.doesNotMatch(readFileSync(file, 'utf8'), /type\s+= any\b/, file);
  const dev = await environment('dev');
  assert.deepEqual([dev.connector.machine_type, dev.connector.min_instances, dev.connector.max_instances], ['e2-micro', 2, 3]);
  assert.equal(first((await parseModule('modules/flash-sale')).module?.network).connector, '${var.connector}');
});

test('every Memorystore CA is passed on (several during a rotation)', async () => {
  assert.equal(first((await parseModule('modules/data')).output?.redis_ca_certificate).value, '${join("\\n", google_redis_instance.tokens.server_ca_certs[*].cert)}');
});

test('function-env is provider-free and uses only the expressions the parity harness evaluates', async () => {
  const module = await parseModule('modules/function-env');
  assert.deepEqual(Object.keys(module).sort(), ['locals', 'output', 'terraform', 'variable']);
  const main = text('modules/function-env/main.tf');
  assert.match(main.split('\n')[0] as string, /^# /);
  assert.match(main, /Keep the expressions to this subset/);
  const calls = new Set([...main.replace(/^\s*#.*$/gm, '').matchAll(/\b([a-z_]+)\(/g)].map((m) => m[1]));
  assert.deepEqual([...calls].filter((c) => !['join', 'merge'].includes(c as string)), []);
  assert.deepEqual(Object.keys(module.output ?? {}).sort(), ['environment', 'secret_environment', 'url']);
  assert.equal(first(first((await parseModule('modules/functions')).module?.env)).source, '../function-env');
});

test("the orders queue's retry policy is the code's ORDER_QUEUE_RETRY", async () => {
  const defaults = optionalDefaults((await variable('modules/queue', 'orders_queue')).type as string);
  const seconds = (s: unknown) => Math.round(Number(/^([\d.]+)s$/.exec(s as string)?.[1]) * 1000);
  assert.equal(defaults.max_attempts, ORDER_QUEUE_RETRY.maxAttempts);
  assert.equal(seconds(defaults.min_backoff), ORDER_QUEUE_RETRY.minBackoffMs);
  assert.equal(seconds(defaults.max_backoff), ORDER_QUEUE_RETRY.maxBackoffMs);
  // The code doubles until the cap; Cloud Tasks must double at least that often to reach it.
  assert.ok(ORDER_QUEUE_RETRY.minBackoffMs * 2 ** (defaults.max_doublings as number) >= ORDER_QUEUE_RETRY.maxBackoffMs);
  for (const name of ENVIRONMENTS) {
    const queue = ((await environment(name)).flashSale.orders_queue ?? {}) as Json;
    for (const key of ['max_attempts', 'min_backoff', 'max_backoff', 'max_doublings']) assert.ok(!(key in queue), `${name} overrides ${key}`);
  }
});
