// `npm run deploy:plan`: stages the functions' source, then terraform init (state in the GCS
// bucket TF_STATE_BUCKET, one prefix per environment) and plan into tfplan, for a human to
// read before `terraform apply tfplan`. FLASH_SALE_ENV: dev (default) or prod.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import { ROOT, stageFunctions } from './stage-functions.ts';

const env = z
  .object({
    FLASH_SALE_ENV: z.enum(['dev', 'prod']).default('dev'),
    TF_STATE_BUCKET: z.string().min(3, 'TF_STATE_BUCKET: the state bucket (README, Deploy, step 1)'),
  })
  .parse(process.env);

function terraform(...args: string[]): void {
  const dir = path.join(ROOT, 'terraform', 'environments', env.FLASH_SALE_ENV);
  const run = spawnSync('terraform', [`-chdir=${dir}`, ...args], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

const { outDir, lock } = stageFunctions();
console.log(`staged ${path.relative(ROOT, outDir)} (${Object.keys(lock.packages).length - 1} locked packages)`);
terraform('init', '-input=false', '-reconfigure', `-backend-config=bucket=${env.TF_STATE_BUCKET}`, `-backend-config=prefix=flash-sale/${env.FLASH_SALE_ENV}`);
terraform('plan', '-input=false', '-out=tfplan');
