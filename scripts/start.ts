// npm start: the whole local stack on this machine, until Ctrl-C.
import { onShutdown, orExplain } from './local/system.ts';
import { localDatabaseUrl } from './admin.ts';
import { serversFromEnv, startStack } from './stack.ts';

const gatewayPort = Number(process.env.PORT ?? 8080);
const stack = await orExplain('npm start', startStack({
  name: 'dev',
  gatewayPort,
  redisPort: Number(process.env.LOCAL_REDIS_PORT ?? 6390),
  postgresPort: Number(process.env.LOCAL_POSTGRES_PORT ?? 5440),
  database: 'flashsale',
  keyPrefix: '',
  admin: { email: 'admin@example.com', password: process.env.LOCAL_ADMIN_PASSWORD },
  sweepEveryMs: 3000,
  webPort: Number(process.env.WEB_PORT ?? 5173),
  given: serversFromEnv(),
  fresh: false,
}));

const adminCommand = stack.env.DATABASE_URL === localDatabaseUrl() ? 'npm run admin' : `DATABASE_URL='${stack.env.DATABASE_URL}' npm run admin`;
console.log(`
Flash sale is up.
  web client      ${stack.webUrl}
  API (gateway)   ${stack.gatewayUrl}
  functions       ${Object.entries(stack.functionUrls).map(([n, u]) => `${n} ${u}`).join(', ')}
  Redis           ${stack.env.REDIS_URL}
  PostgreSQL      ${stack.env.DATABASE_URL}
  admin           ${stack.admin?.email}, password ${stack.admin?.password}${process.env.LOCAL_ADMIN_PASSWORD ? ' (LOCAL_ADMIN_PASSWORD)' : ' (kept in .local/dev/admin-password; LOCAL_ADMIN_PASSWORD sets another)'}
  more admins     ${adminCommand} -- grant <email>   (revoke <email>, list)
Ctrl-C stops everything.
`);

onShutdown(() => stack.stop());
