// npm test: brings up its own stack (own data, ports, database and key prefix, so a running
// npm start is never touched), runs every test file with node's test runner, tears it down.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, serversFromEnv, startStack } from './stack.ts';
import { onShutdown, orExplain, progress } from './local/system.ts';

const files = process.argv.slice(2);
const patterns =
  files.length > 0
    ? files
    : ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts', 'tests/parity/**/*.test.ts', 'tests/faults/**/*.test.ts', 'tests/stress/**/*.test.ts'];

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
onShutdown(() => stack.stop()); // Ctrl-C in the middle of a run stops it all too
progress(`test stack up in ${((Date.now() - started) / 1000).toFixed(1)} s; function logs in .local/test/logs`);

const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...patterns], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      ...stack.env,
      LOG_LEVEL: 'warn',
      TEST_GATEWAY_URL: stack.gatewayUrl,
      TEST_WEB_URL: stack.webUrl ?? '',
      TEST_FUNCTION_URLS: JSON.stringify(stack.functionUrls),
      TEST_ADMIN_EMAIL: stack.admin?.email ?? '',
      TEST_ADMIN_PASSWORD: stack.admin?.password ?? '',
    },
  });
  child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
});

await stack.stop();
process.exit(code || webTests);
