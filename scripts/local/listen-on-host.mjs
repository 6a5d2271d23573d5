// Preloaded (node --import) into each locally spawned function: a server that listens on a
// port alone listens on HOST instead (127.0.0.1 locally). The Functions Framework's CLI has
// no host option (main.js calls server.listen(port)), so without this the functions, which
// trust the gateway's claims header (AUTH_MODE=gateway), would be reachable by anyone on the
// network. Plain JavaScript: the functions run their built code, without tsx.
import net from 'node:net';

const host = process.env.HOST;
if (host) {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function listenOnHost(...args) {
    const [port, second] = args;
    const portOnly = typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port));
    if (portOnly && typeof second !== 'string') args.splice(1, 0, host);
    return listen.apply(this, args);
  };
}
