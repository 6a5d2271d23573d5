// The short artillery run (npm run stress -- --short): a spike of buyers through the gateway,
// artillery's `ensure` thresholds, and the invariant checker over the recorded attempts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('a short artillery spike meets its thresholds and breaks no invariant', { timeout: 180_000 }, async () => {
  const output: string[] = [];
  const code = await new Promise<number>((resolve) => {
    // Its own stack and servers: nothing of the test stack's environment is passed on.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(REDIS_URL|QUEUE_REDIS_URL|DATABASE_URL)$/.test(k)),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/stress.ts', '--short'], { cwd: ROOT, env });
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const text = output.join('');
  assert.equal(code, 0, text.slice(-4000));
  assert.match(text, /ok: http\.response_time\.p99 < 2000/);
  assert.match(text, /✓ oversold: 0/);
});
