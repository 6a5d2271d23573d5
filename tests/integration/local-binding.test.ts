// The local functions trust the gateway's claims header (AUTH_MODE=gateway): they must listen
// on loopback alone, so that no one else on the network can call them directly as an admin.
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { test } from 'node:test';
import { FUNCTION_NAMES } from '../../functions/src/function-names.ts';
import { functionUrl } from '../helpers.ts';

/** 'connected', or the error code of the attempt (ECONNREFUSED when nothing listens there). */
function connect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

const external = Object.values(os.networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

test(
  'each spawned function listens on 127.0.0.1 only: its port on the machine\'s network address is refused',
  { skip: external ? false : 'this machine has no non-loopback IPv4 address to try' },
  async () => {
    for (const name of FUNCTION_NAMES) {
      const port = Number(new URL(functionUrl(name)).port);
      assert.equal(await connect('127.0.0.1', port), 'connected', `${name} on loopback`);
      assert.equal(await connect(external ?? '', port), 'ECONNREFUSED', `${name} on ${external}:${port}`);
    }
  },
);
