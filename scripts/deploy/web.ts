// `npm run deploy:web`: builds the web client against the deployed gateway and the live view's
// Firebase project (both read from `terraform output` of FLASH_SALE_ENV, dev by default), then
// `firebase deploy --only hosting,firestore:rules` (firebase.json, firestore.rules). Run it
// after `terraform apply`; the Firebase CLI uses your gcloud application-default login.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';

const ROOT = path.join(import.meta.dirname, '../..');
const env = z.object({ FLASH_SALE_ENV: z.enum(['dev', 'prod']).default('dev') }).parse(process.env);

function run(command: string, args: string[], extraEnv: Record<string, string> = {}): string {
  const done = spawnSync(command, args, { cwd: ROOT, env: { ...process.env, ...extraEnv }, stdio: ['inherit', 'pipe', 'inherit'], encoding: 'utf8' });
  if (done.status !== 0) {
    console.error(`${command} ${args.join(' ')} failed (${done.status ?? done.signal})`);
    process.exit(done.status ?? 1);
  }
  return done.stdout;
}

const terraformDir = `-chdir=${path.join(ROOT, 'terraform', 'environments', env.FLASH_SALE_ENV)}`;
const output = (name: string) => JSON.parse(run('terraform', [terraformDir, 'output', '-json', name])) as unknown;
const gatewayUrl = z.string().url().parse(output('gateway_url'));
const web = z
  .object({ firebase_project: z.string(), hosting_site: z.string(), api_key: z.string(), app_id: z.string(), auth_domain: z.string(), firestore: z.string() })
  .parse(output('web'));

process.stdout.write(
  run('npm', ['run', 'build', '-w', 'web'], {
    VITE_API_URL: gatewayUrl,
    VITE_FIREBASE_API_KEY: web.api_key,
    VITE_FIREBASE_PROJECT_ID: web.firebase_project,
    VITE_FIREBASE_APP_ID: web.app_id,
    VITE_FIREBASE_AUTH_DOMAIN: web.auth_domain,
    VITE_FIREBASE_DATABASE_ID: web.firestore,
  }),
);
process.stdout.write(
  run(path.join(ROOT, 'node_modules/.bin/firebase'), ['deploy', '--only', 'hosting,firestore:rules', '--project', web.firebase_project, '--non-interactive']),
);
console.log(`the web client is at https://${web.hosting_site}.web.app (API: ${gatewayUrl})`);
