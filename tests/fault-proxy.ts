// A TCP proxy that breaks a real connection the way networks do, for the tests: in front of a
// real server (Redis, the Cloud Tasks stand-in), it forwards bytes both ways until told to
// - cut the connection whose server answer carries a marker, after the server has done the work
//   and before the answer reaches the client ("reset after the write"), then optionally refuse
//   connections for a while (the server unreachable right after);
// - or cut the connection whose request carries a marker, before the server sees it;
// - go down (every connection reset, new ones refused) and come back up.
// Nothing is mocked: the client and the server are the real ones and see a real reset.
import net from 'node:net';

export interface FaultProxy {
  /** The port clients connect to, on 127.0.0.1. */
  port: number;
  /** The next `times` server answers that contain `marker` are swallowed and their connection reset. */
  cutAnswerWith(marker: string, options?: { times?: number; refuseMs?: number }): void;
  /** The next `times` requests that contain `marker` never reach the server; their connection is reset. */
  cutRequestWith(marker: string, options?: { times?: number }): void;
  /** No more cuts. */
  heal(): void;
  /** How many answers or requests were cut so far. */
  cuts(): number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  let rule: { on: 'answer' | 'request'; marker: Buffer; left: number; refuseMs: number } | undefined;
  let cut = 0;
  let listening = false;
  /** Down on the test's word: a refusal period that ends meanwhile does not bring it back up. */
  let heldDown = false;
  let port = 0;

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.resetAndDestroy();
      upstream.destroy();
    };
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', forward('request', upstream));
    upstream.on('data', forward('answer', client));

    /** Passes `direction`'s bytes on to `to`, unless the rule cuts them (a marker split across two chunks is still seen). */
    function forward(direction: 'request' | 'answer', to: net.Socket) {
      let tail = Buffer.alloc(0);
      return (chunk: Buffer) => {
        const seen = Buffer.concat([tail, chunk]);
        if (rule && rule.on === direction && rule.left > 0 && seen.includes(rule.marker)) {
          rule.left -= 1;
          cut += 1;
          drop();
          if (rule.refuseMs > 0) void refuseFor(rule.refuseMs);
          return;
        }
        tail = seen.subarray(Math.max(0, seen.length - 256));
        to.write(chunk);
      };
    }
  });

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      if (listening) return resolve();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as net.AddressInfo).port;
        listening = true;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  async function refuseFor(ms: number): Promise<void> {
    await stopListening();
    await new Promise((r) => setTimeout(r, ms));
    if (!heldDown) await listen();
  }

  await listen();
  return {
    get port() {
      return port;
    },
    cutAnswerWith(marker, options = {}) {
      rule = { on: 'answer', marker: Buffer.from(marker), left: options.times ?? 1, refuseMs: options.refuseMs ?? 0 };
    },
    cutRequestWith(marker, options = {}) {
      rule = { on: 'request', marker: Buffer.from(marker), left: options.times ?? 1, refuseMs: 0 };
    },
    heal() {
      rule = undefined;
    },
    cuts: () => cut,
    down: () => {
      heldDown = true;
      return stopListening();
    },
    up: () => {
      heldDown = false;
      return listen();
    },
    close: stopListening,
  };
}
