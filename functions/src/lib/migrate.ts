// Applies functions/migrations/*.sql in order (node-pg-migrate) under its advisory lock: from
// `npm run migrate`, and at a function's cold start when MIGRATE_ON_START is true.
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';

/** functions/migrations, from functions/src/lib (tsx) and functions/dist/lib (deployed) alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** node-pg-migrate's words when another process holds the lock: it tries once, it does not wait. */
const LOCK_HELD = 'Another migration is already running';
const LOCK_WAIT_MS = 5 * 60_000;

export async function migrate(database: string | pg.ClientConfig, log: (message: string) => void = () => undefined): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 2000)) {
    try {
      const applied = await runner({
        databaseUrl: database,
        dir: MIGRATIONS_DIR,
        direction: 'up',
        migrationsTable: 'schema_migrations',
        count: Infinity,
        singleTransaction: true,
        log,
        logger: { debug: () => undefined, info: log, warn: log, error: log },
      });
      if (applied.length > 0) log(`applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`);
      return;
    } catch (err) {
      // Many instances start together: one migrates, the others wait for it and then find nothing to do.
      if (!(err instanceof Error && err.message.includes(LOCK_HELD)) || Date.now() > deadline) throw err;
      log(`another instance is migrating; trying again in ${delayMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
