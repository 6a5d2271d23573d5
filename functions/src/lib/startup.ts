// What an instance does once before it serves: check every setting (a bad one stops it here,
// named), then, with MIGRATE_ON_START, bring the database schema up to date.
import { config } from './config.js';
import { connectionConfig } from './db.js';
import { log } from './log.js';
import { migrate } from './migrate.js';

export async function beforeServing(): Promise<void> {
  const cfg = config();
  if (cfg.MIGRATE_ON_START) await migrate(connectionConfig(cfg), (message) => log.info('migrations', { message }));
}
