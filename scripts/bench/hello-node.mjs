// The floor: a node:http hello-world answering every request with a small JSON body.
import http from 'node:http';

const body = JSON.stringify({ hello: 'world' });
http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  })
  .listen(Number(process.env.PORT));
