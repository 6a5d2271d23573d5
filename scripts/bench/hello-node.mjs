// The floor: a node:http hello-world answering every request with a small JSON body.
// AWAITS=n: the handler awaits n resolved promises first, to price a promise without a framework.
import http from 'node:http';

const body = JSON.stringify({ hello: 'world' });
const awaits = Number(process.env.AWAITS ?? 0);

async function settle() {
  for (let i = 0; i < awaits; i++) await Promise.resolve(i);
}

http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (awaits === 0) answer();
      else void settle().then(answer);
    });
  })
  .listen(Number(process.env.PORT));
