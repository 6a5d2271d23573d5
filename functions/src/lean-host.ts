// The lean host: the same handler on a bare node:http server, without the Functions
// Framework's Express stack — what a Cloud Run service of this code runs.
// Usage: TARGET=orders PORT=8080 node dist/lean-host.js
import http from 'node:http';
import { log } from './lib/log.js';
import { beforeServing } from './lib/startup.js';
import { FUNCTION_TARGETS, type FunctionTarget } from './targets.js';

const target = process.env.TARGET as FunctionTarget | undefined;
const handler = target ? FUNCTION_TARGETS[target] : undefined;
if (!handler) {
  console.error(`TARGET must be one of: ${Object.keys(FUNCTION_TARGETS).join(', ')}`);
  process.exit(2);
}
await beforeServing(); // settings checked, schema current (MIGRATE_ON_START), or the instance stops here
const port = Number(process.env.PORT ?? 8080);
// Every interface unless HOST says (Cloud Run must reach the container); locally 127.0.0.1,
// since the functions trust the gateway's claims header (README, Deploy: the trust boundary).
const host = process.env.HOST || undefined;
const server = http.createServer((req, res) => void handler(req, res));
server.keepAliveTimeout = 65_000; // longer than the load balancer's, so it never reuses a closed socket
server.listen(port, host, () => log.info('serving', { target, port, host: host ?? 'every interface' }));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => server.close(() => process.exit(0)));
