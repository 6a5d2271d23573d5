// The local Redis: Debian's redis-server, installed if missing, run as our own instance.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { installDebianPackage, findBinary, waitFor, progress } from './system.ts';

export interface RunningService {
  url: string;
  stop(): Promise<void>;
}

function redisServerBinary(): string {
  const found = findBinary('redis-server', ['/usr/bin/redis-server', '/usr/sbin/redis-server']);
  if (found) return found;
  installDebianPackage('redis-server');
  const installed = findBinary('redis-server', ['/usr/bin/redis-server']);
  if (!installed) throw new Error('redis-server is still missing after installing the redis-server package');
  return installed;
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined); // "not there yet" is the answer, not a fault
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface LocalRedis extends RunningService {
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
}

/** Starts redis-server on `port` with its data in `dir`, or reuses one already answering there. */
export async function startRedis(options: { port: number; dir: string; persistent: boolean }): Promise<LocalRedis> {
  const url = `redis://127.0.0.1:${options.port}`;
  if (await answers(url)) {
    progress(`Redis already answers on port ${options.port}; using it`);
    const fixed = async () => {
      throw new Error('this Redis was not started here');
    };
    return { url, stop: async () => undefined, kill: fixed, restart: fixed };
  }
  const binary = redisServerBinary();
  mkdirSync(options.dir, { recursive: true });
  const args = [
    '--port', String(options.port),
    '--bind', '127.0.0.1',
    '--dir', options.dir,
    '--save', '',
    '--appendonly', options.persistent ? 'yes' : 'no',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
  ];
  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    let exited = false;
    started.on('exit', () => (exited = true));
    child = started;
    await waitFor(`Redis on port ${options.port}`, async () => {
      if (exited) throw new Error(`redis-server exited at start (${binary} ${args.join(' ')})`);
      return answers(url);
    });
  };
  const end = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const gone = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await gone;
  };
  await launch();
  progress(`Redis ${execFileSync(binary, ['--version']).toString().split(' ')[2]} on ${url}`);
  return { url, stop: () => end('SIGTERM'), kill: () => end('SIGKILL'), restart: launch };
}
