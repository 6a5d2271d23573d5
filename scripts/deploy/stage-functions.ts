// Builds the directory Terraform zips and uploads as the functions' source: the functions
// workspace's package.json (runtime dependencies only), the prebuilt dist/, lua/, migrations/,
// and a package-lock.json cut from the ROOT lock, so Cloud Build installs exactly the versions
// `npm test` ran, with no re-resolution. Usage: tsx scripts/deploy/stage-functions.ts [outDir]
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FUNCTIONS_DIR = path.join(ROOT, 'functions');
/** Where the environments' archive_file looks (terraform/environments/{dev,prod}/main.tf). */
export const STAGING_DIR = path.join(ROOT, '.deploy', 'functions');
/** What the staged package ships besides package.json and the lock. */
export const STAGED_DIRS = ['dist', 'lua', 'migrations'] as const;

const depMap = z.record(z.string(), z.string());

export const lockEntrySchema = z
  .object({
    version: z.string().optional(),
    resolved: z.string().optional(),
    integrity: z.string().optional(),
    link: z.boolean().optional(),
    dev: z.boolean().optional(),
    devOptional: z.boolean().optional(),
    optional: z.boolean().optional(),
    peer: z.boolean().optional(),
    dependencies: depMap.optional(),
    optionalDependencies: depMap.optional(),
    peerDependencies: depMap.optional(),
    peerDependenciesMeta: z.record(z.string(), z.object({ optional: z.boolean().optional() }).loose()).optional(),
  })
  .loose();

export type LockEntry = z.infer<typeof lockEntrySchema>;

export const lockfileSchema = z
  .object({
    name: z.string().optional(),
    lockfileVersion: z.literal(3),
    requires: z.boolean().optional(),
    packages: z.record(z.string(), lockEntrySchema),
  })
  .loose();

export type Lockfile = z.infer<typeof lockfileSchema>;

const packageJsonSchema = z
  .object({
    name: z.string(),
    type: z.string().optional(),
    main: z.string(),
    engines: depMap.optional(),
    scripts: depMap.optional(),
    dependencies: depMap.default({}),
  })
  .loose();

/** The location a package resolves from: the folder holding the node_modules it searches first. */
function parentOf(location: string): string | undefined {
  if (location === '') return undefined;
  const nested = location.lastIndexOf('/node_modules/');
  if (nested >= 0) return location.slice(0, nested);
  return '';
}

/** Node's resolution over a lockfile's package locations: the nearest node_modules/<name> up the tree. */
export function resolveIn(packages: Record<string, unknown>, from: string, name: string): string | undefined {
  for (let dir: string | undefined = from; dir !== undefined; dir = parentOf(dir)) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (candidate in packages) return candidate;
  }
  return undefined;
}

/** The dependencies npm installs for a lock entry, each with whether it may be missing. */
export function dependenciesOf(entry: LockEntry): { name: string; optional: boolean }[] {
  const peersOptional = entry.peerDependenciesMeta ?? {};
  return [
    ...Object.keys(entry.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...Object.keys(entry.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    ...Object.keys(entry.peerDependencies ?? {}).map((name) => ({ name, optional: peersOptional[name]?.optional === true })),
  ];
}

/**
 * The lockfile of the functions workspace alone: the dependency closure of `workspace` in the
 * root lock, its paths moved from `<workspace>/node_modules/…` to `node_modules/…`, each entry
 * unchanged (version, resolved, integrity) but for the dev flags of the root's tree.
 */
export function workspaceLock(root: Lockfile, workspace: string, pkg: { name: string; dependencies: Record<string, string>; engines?: Record<string, string> }): Lockfile {
  const closure = new Map<string, string>(); // root location → staged location
  const queue: { from: string; name: string; optional: boolean }[] = Object.keys(pkg.dependencies).map((name) => ({ from: workspace, name, optional: false }));
  while (queue.length > 0) {
    const { from, name, optional } = queue.shift() as { from: string; name: string; optional: boolean };
    const location = resolveIn(root.packages, from, name);
    if (!location) {
      if (optional) continue;
      throw new Error(`${name} (needed from ${from || 'the root'}) is not in package-lock.json: run npm install`);
    }
    if (closure.has(location)) continue;
    const staged = location.startsWith(`${workspace}/`) ? location.slice(workspace.length + 1) : location;
    const clash = [...closure].find(([other, target]) => target === staged && other !== location);
    if (clash) throw new Error(`${location} and ${clash[0]} would both be ${staged} in the staged tree`);
    closure.set(location, staged);
    const entry = root.packages[location] as LockEntry;
    if (entry.link) throw new Error(`${location} is a link: a workspace package cannot be deployed alone`);
    for (const dep of dependenciesOf(entry)) queue.push({ from: location, ...dep });
  }
  const packages: Record<string, LockEntry> = {
    '': { name: pkg.name, dependencies: pkg.dependencies, ...(pkg.engines ? { engines: pkg.engines } : {}) },
  };
  for (const [location, staged] of [...closure].sort((a, b) => a[1].localeCompare(b[1]))) {
    const entry: LockEntry = { ...(root.packages[location] as LockEntry) };
    const devOptional = entry.devOptional === true;
    delete entry.dev;
    delete entry.devOptional;
    // The root lock holds only the platform packages of where it was made (linux-x64 among
    // them, what Cloud Build runs on); npm ci refuses a lock whose optionalDependencies name
    // packages it does not hold, so list only the ones it holds.
    if (entry.optionalDependencies) {
      entry.optionalDependencies = Object.fromEntries(
        Object.entries(entry.optionalDependencies).filter(([name]) => resolveIn(root.packages, location, name) !== undefined),
      );
    }
    packages[staged] = devOptional ? { ...entry, optional: true } : entry;
  }
  return { name: pkg.name, lockfileVersion: 3, requires: true, packages };
}

/** Writes the staging dir; throws if the workspace is not built. Returns what it wrote. */
export function stageFunctions(outDir = STAGING_DIR): { outDir: string; packageJson: Record<string, unknown>; lock: Lockfile } {
  const source = packageJsonSchema.parse(JSON.parse(readFileSync(path.join(FUNCTIONS_DIR, 'package.json'), 'utf8')));
  if (!existsSync(path.join(FUNCTIONS_DIR, source.main))) {
    throw new Error(`functions/${source.main} is missing: run npm run build first`);
  }
  // Prebuilt: dist/ is what the tests ran, so the cloud build only installs (no gcp-build,
  // no TypeScript, no devDependencies).
  const packageJson: Record<string, unknown> = { ...source };
  delete packageJson.scripts;
  delete packageJson.devDependencies;
  const rootLock = lockfileSchema.parse(JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')));
  const lock = workspaceLock(rootLock, path.relative(ROOT, FUNCTIONS_DIR), source);

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const dir of STAGED_DIRS) {
    cpSync(path.join(FUNCTIONS_DIR, dir), path.join(outDir, dir), { recursive: true, filter: (p) => !p.endsWith('.map') });
  }
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  return { outDir, packageJson, lock };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, lock } = stageFunctions(process.argv[2] ? path.resolve(process.argv[2]) : STAGING_DIR);
  console.log(`staged ${path.relative(ROOT, outDir)}: ${Object.keys(lock.packages).length - 1} locked packages`);
}
