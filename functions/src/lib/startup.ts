// What an instance does once before it serves: check every setting (a bad one stops it here,
// named), then, with MIGRATE_ON_START, bring the database schema up to date.
import { config } from './config.js';
import { connectionConfig } from './db.js';
import { log } from './log.js';
import { warmLiveView } from './live-view.js';
import { migrate } from './migrate.js';

/** The targets that write the live view (the worker's orders, an admin's change, the sweeper's pass). */
const PUBLISHERS: ReadonlySet<string> = new Set(['order-worker', 'sales', 'sweeper']);

/**
 * `target`: the function this instance serves (FUNCTION_TARGET, as Cloud Functions and the
 * local stack set it). A publisher loads its Firestore client here, before it serves
 * (live-view.ts warmLiveView); the others never load it.
 */
export async function beforeServing(target = process.env.FUNCTION_TARGET): Promise<void> {
  const cfg = config();
  if (cfg.MIGRATE_ON_START) await migrate(connectionConfig(cfg), (message) => log.info('migrations', { message }));
  if (target !== undefined && PUBLISHERS.has(target)) await warmLiveView();
}
