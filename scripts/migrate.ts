// Applies functions/migrations/*.sql to DATABASE_URL (node-pg-migrate, under its lock).
// Usage: npm run migrate
import { fileURLToPath } from 'node:url';
import { migrate } from '../functions/src/lib/migrate.ts';

export { migrate };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set');
    process.exit(2);
  }
  await migrate(url, (m) => console.error(m));
}
