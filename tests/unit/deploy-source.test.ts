// The functions' source archive, offline: scripts/deploy/stage-functions.ts builds the dir
// Terraform zips (archive_file); it must hold a lockfile with exactly the root lock's
// versions for the functions' dependency closure, and install and load on its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FUNCTIONS_DIR, ROOT, STAGED_DIRS, STAGING_DIR, dependenciesOf, lockfileSchema, resolveIn, stageFunctions, type LockEntry, type Lockfile } from '../../scripts/deploy/stage-functions.ts';
import { ENVIRONMENTS, first, parseModule, resourceBody, type Json } from '../../scripts/terraform-model.ts';

const rootLock = lockfileSchema.parse(JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')));
const TF_ENV = (name: string) => path.join(ROOT, 'terraform', 'environments', name);
let outDir = '';
let staged: Lockfile;
let packageJson: Record<string, unknown>;

before(() => {
  if (!existsSync(path.join(FUNCTIONS_DIR, 'dist', 'index.js'))) {
    const build = spawnSync('npm', ['run', 'build', '-w', 'functions'], { cwd: ROOT, stdio: 'ignore' });
    assert.equal(build.status, 0, 'npm run build -w functions');
  }
  outDir = mkdtempSync(path.join(tmpdir(), 'flash-sale-stage-'));
  stageFunctions(outDir);
  staged = lockfileSchema.parse(JSON.parse(readFileSync(path.join(outDir, 'package-lock.json'), 'utf8')));
  packageJson = JSON.parse(readFileSync(path.join(outDir, 'package.json'), 'utf8')) as Record<string, unknown>;
});

after(() => rmSync(outDir, { recursive: true, force: true }));

test("Terraform zips the staging dir, whole: both environments point archive_file's source at it", async () => {
  const archive = first(((await parseModule('modules/functions')).data?.archive_file as unknown as Record<string, Json[]>).source);
  assert.equal(archive.source_dir, '${var.source_dir}');
  assert.equal(archive.excludes, undefined, 'nothing of the staged dir is left out');
  for (const name of ENVIRONMENTS) {
    const call = first((await parseModule(`environments/${name}`)).module?.flash_sale);
    assert.equal(path.resolve(TF_ENV(name), String(call.functions_source_dir).replace('${path.module}', '.')), STAGING_DIR, name);
  }
  assert.equal(resourceBody(await parseModule('modules/functions'), 'google_storage_bucket_object', 'source').source, '${data.archive_file.source.output_path}');
});

test('the staged package: main is built, no build step left for Cloud Build, lua and migrations shipped', () => {
  const source = JSON.parse(readFileSync(path.join(FUNCTIONS_DIR, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string> };
  assert.equal(packageJson.main, source.main);
  assert.ok(existsSync(path.join(outDir, source.main)), `${source.main} is in the archive`);
  assert.equal(packageJson.scripts, undefined, 'no gcp-build: dist is prebuilt, and TypeScript is not installed in the cloud');
  assert.equal(packageJson.devDependencies, undefined);
  assert.deepEqual(packageJson.dependencies, source.dependencies);
  for (const dir of STAGED_DIRS.filter((d) => d !== 'dist')) {
    assert.deepEqual(readdirSync(path.join(outDir, dir), { recursive: true }).sort(), readdirSync(path.join(FUNCTIONS_DIR, dir), { recursive: true }).sort(), dir);
  }
});

test('the lockfile: the closure of the functions workspace, each at the root lock version and integrity', () => {
  const root = staged.packages[''] as LockEntry;
  assert.deepEqual(root.dependencies, packageJson.dependencies);
  // Every dependency of every staged package resolves in the staged tree (node's lookup),
  // to what the same lookup finds in the root lock from the functions workspace.
  const missing: string[] = [];
  const different: string[] = [];
  const toRoot = (location: string) => (location in rootLock.packages && !(`functions/${location}` in rootLock.packages) ? location : `functions/${location}`);
  for (const [location, entry] of Object.entries(staged.packages)) {
    for (const dep of dependenciesOf(entry)) {
      const here = resolveIn(staged.packages, location, dep.name);
      if (!here) {
        if (!dep.optional) missing.push(`${location || 'root'} → ${dep.name}`);
        continue;
      }
      const there = resolveIn(rootLock.packages, location === '' ? 'functions' : toRoot(location), dep.name);
      const a = staged.packages[here] as LockEntry;
      const b = there ? (rootLock.packages[there] as LockEntry) : undefined;
      if (!b || a.version !== b.version || a.integrity !== b.integrity || a.resolved !== b.resolved) different.push(`${here}@${a.version}`);
    }
  }
  assert.deepEqual(missing, []);
  assert.deepEqual(different, []);
  assert.ok(Object.keys(staged.packages).length > 50, 'the whole closure, not just the direct dependencies');
  assert.ok(!Object.values(staged.packages).some((e) => e.dev || e.devOptional), 'no dev flags: everything is a runtime dependency here');
});

test('npm ci --offline installs the staged lock from the local cache, and the entry point loads on its own', (t) => {
  const ci = spawnSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: outDir, encoding: 'utf8' });
  if (ci.status !== 0 && /ENOTCACHED/.test(ci.stderr)) {
    t.skip('a package of the lock is not in the local npm cache');
    return;
  }
  assert.equal(ci.status, 0, ci.stderr);
  // Outside the repository, so nothing resolves from the root node_modules.
  const load = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(path.join(outDir, 'dist/index.js'))}); console.log(Object.keys(m.FUNCTION_TARGETS).join(','))`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(load.status, 0, load.stderr);
  assert.match(load.stdout, /users,sales,orders/);
});
