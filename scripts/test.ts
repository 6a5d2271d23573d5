// npm test: brings up its own stack (own data, ports, database and key prefix, so a running
// npm start is never touched), runs every test file with node's test runner, tears it down.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT, serversFromEnv, startStack } from './stack.ts';
import { onShutdown, orExplain, progress } from './local/system.ts';

const files = process.argv.slice(2);
/**
 * The whole suite runs in two steps. The fault suite brings up a stack of its own and spends
 * most of its time waiting out the faults it makes, so it runs beside the tests on the test
 * stack (its output prefixed). The stress spike judges its p99, so it runs last, alone.
 * Named files run as one part, as given.
 */
const parts: { label: string; patterns: string[] }[][] =
  files.length > 0
    ? [[{ label: '', patterns: files }]]
    : [
        [
          { label: '', patterns: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts', 'tests/parity/**/*.test.ts'] },
          { label: 'faults', patterns: ['tests/faults/**/*.test.ts'] },
        ],
        [{ label: '', patterns: ['tests/stress/**/*.test.ts'] }],
      ];

/** The React client's component tests (Vitest), before the stack is up: they need none of it. */
const webTests = files.length > 0 ? 0 : await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', path.join(ROOT, 'web')], { stdio: 'inherit' });
  child.on('exit', (c) => resolve(c ?? 1));
});

const started = Date.now();
const stack = await orExplain('npm test', startStack({
  name: 'test',
  gatewayPort: Number(process.env.TEST_GATEWAY_PORT ?? 18080),
  redisPort: Number(process.env.TEST_REDIS_PORT ?? 16390),
  postgresPort: Number(process.env.TEST_POSTGRES_PORT ?? 15440),
  database: 'flashsale_test',
  keyPrefix: 'test:',
  admin: { email: 'admin@test.local' },
  sweepEveryMs: 2000, // as the stress run: a pass reads every open sale, and the test stack has hundreds by the end
  webPort: Number(process.env.TEST_WEB_PORT ?? 18173),
  given: serversFromEnv(),
  fresh: true,
  logDir: path.join(ROOT, '.local/test/logs'),
}));
/** The test runs under way: a Ctrl-C or SIGTERM in the middle of a run stops them and the stack. */
const running = new Set<ReturnType<typeof spawn>>();
onShutdown(async () => {
  for (const child of running) child.kill('SIGTERM');
  await stack.stop();
});
progress(`test stack up in ${((Date.now() - started) / 1000).toFixed(1)} s; function logs in .local/test/logs`);

const testEnv = {
  ...process.env,
  ...stack.env,
  LOG_LEVEL: 'warn',
  TEST_GATEWAY_URL: stack.gatewayUrl,
  TEST_WEB_URL: stack.webUrl ?? '',
  TEST_FUNCTION_URLS: JSON.stringify(stack.functionUrls),
  TEST_ADMIN_EMAIL: stack.admin?.email ?? '',
  TEST_ADMIN_PASSWORD: stack.admin?.password ?? '',
};

/** One node --test run; a labelled one's lines are prefixed with its label. */
function runTests(label: string, patterns: string[]): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...patterns], {
      cwd: ROOT,
      stdio: label ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env: testEnv,
    });
    running.add(child);
    if (label) {
      for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
        readline.createInterface({ input: from! }).on('line', (line) => to.write(`${label} \u2502 ${line}\n`));
      }
    }
    // 'close', not 'exit': a labelled run's last lines are through its pipes by then.
    child.on('close', (exitCode, signal) => {
      running.delete(child);
      resolve(exitCode ?? (signal ? 1 : 0));
    });
  });
}

let code = 0;
for (const part of parts) {
  const codes = await Promise.all(part.map(({ label, patterns }) => runTests(label, patterns)));
  code ||= codes.find((c) => c !== 0) ?? 0;
}
progress(`tests ran in ${((Date.now() - started) / 1000).toFixed(0)} s`);

await stack.stop();
process.exit(code || webTests);
