// The web client on Firebase Hosting and the live view's rules: firebase.json as the Firebase
// CLI's own schema check sees it, and the built client served by the CLI's Hosting emulator
// (offline, no Java): the app's routes get index.html uncached, hashed assets a year's cache.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.join(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const config = JSON.parse(readFileSync(path.join(ROOT, 'firebase.json'), 'utf8')) as {
  hosting: { public: string };
  firestore: { rules: string };
  emulators: Record<string, unknown>;
};

test("firebase.json passes the Firebase CLI's own schema check", () => {
  const { getValidator, getErrorMessage } = require('firebase-tools/lib/firebaseConfigValidate.js') as {
    getValidator(): ((c: unknown) => boolean) & { errors?: unknown[] | null };
    getErrorMessage(e: unknown): string;
  };
  const validate = getValidator();
  const valid = validate(config);
  assert.ok(valid, (validate.errors ?? []).map(getErrorMessage).join('\n'));
  assert.equal(config.hosting.public, 'web/dist', 'Hosting serves the built client (vite build writes web/dist)');
  assert.ok(existsSync(path.join(ROOT, config.firestore.rules)));
});

test('firestore.rules: anyone reads a sale, no client writes anything', () => {
  const rules = readFileSync(path.join(ROOT, config.firestore.rules), 'utf8').replace(/\/\/.*$/gm, '');
  assert.match(rules, /rules_version = '2';/);
  assert.match(rules, /match \/sales\/\{saleId\} \{\s*allow read: if true;\s*allow write: if false;\s*\}/);
  assert.match(rules, /match \/\{document=\*\*\} \{\s*allow read, write: if false;\s*\}/);
  const allows = [...rules.matchAll(/allow ([a-z, ]+): if (\w+);/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(allows.filter(([, cond]) => cond !== 'false'), [['read', 'true']], 'the one grant is reading sales');
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('firebase emulators:start --only hosting serves the built client and its routes', { timeout: 180_000 }, async () => {
  const dist = path.join(ROOT, config.hosting.public);
  assert.ok(existsSync(path.join(dist, 'index.html')), 'the client is built (npm run build)');
  const asset = readdirSync(path.join(dist, 'assets')).find((f) => /^index-[\w-]+\.js$/.test(f));
  assert.ok(asset, 'a hashed entry chunk');

  // The same firebase.json with ports of its own, in a folder whose web/ is the project's
  // (Hosting takes `public` relative to the config's folder).
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flash-sale-hosting-'));
  symlinkSync(path.join(ROOT, 'web'), path.join(dir, 'web'));
  const [hosting, hub, logging] = [await freePort(), await freePort(), await freePort()];
  const emulators = { ...config.emulators, hosting: { host: '127.0.0.1', port: hosting }, hub: { host: '127.0.0.1', port: hub }, logging: { host: '127.0.0.1', port: logging } };
  writeFileSync(path.join(dir, 'firebase.json'), JSON.stringify({ ...config, firestore: undefined, emulators }));
  const cli = spawn(process.execPath, [require.resolve('firebase-tools/lib/bin/firebase.js'), 'emulators:start', '--only', 'hosting', '--project', 'demo-flash-sale'], {
    cwd: dir,
    env: { ...process.env, CI: '1', NO_UPDATE_NOTIFIER: '1', FIREBASE_CLI_DISABLE_UPDATE_CHECK: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  cli.stdout.on('data', (d: Buffer) => (output += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (output.includes('All emulators ready')) {
          clearInterval(timer);
          resolve();
        }
      }, 200);
      cli.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`firebase exited (${code}):\n${output}`));
      });
    });
    assert.doesNotMatch(output, /is possibly invalid|has unknown property|is missing required property/);
    const get = async (p: string) => {
      const answer = await fetch(`http://127.0.0.1:${hosting}${p}`);
      return { status: answer.status, type: answer.headers.get('content-type') ?? '', cache: answer.headers.get('cache-control'), body: await answer.text() };
    };
    const index = readFileSync(path.join(dist, 'index.html'), 'utf8');
    for (const route of ['/', '/index.html', `/sales/${'3f1c2b4a-0000-4000-8000-000000000000'}`, '/orders', '/admin']) {
      const page = await get(route);
      assert.equal(page.status, 200, route);
      assert.equal(page.body, index, `${route} is the app`);
      assert.equal(page.cache, 'no-cache', `${route}: index.html is never cached`);
    }
    const chunk = await get(`/assets/${asset}`);
    assert.equal(chunk.status, 200);
    assert.match(chunk.type, /javascript/);
    assert.equal(chunk.cache, 'public, max-age=31536000, immutable', 'hashed assets: a year');
    assert.equal(chunk.body, readFileSync(path.join(dist, 'assets', asset), 'utf8'));
    // A missing asset is a 404, not the app under a year-long cache.
    assert.equal((await get('/assets/index-missing.js')).status, 404);
  } finally {
    if (cli.exitCode === null && cli.pid) {
      const gone = new Promise((resolve) => cli.once('exit', resolve));
      process.kill(-cli.pid, 'SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
