// The floor of POST /orders on node:http: each request answered after one call of the take
// script (the real script and keys, through the functions' own Redis client) and nothing else
// of the handler: no routing, authentication, body, sale lookup or error mapping. A distinct
// buyer per request, against SALE_ID (sold out: the refusal most attempts end in). The bench
// runs it with ORDER_TAKE_GROUP_MAX=1: one call per attempt, today's floor.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { takeStockToken } from '../../functions/dist/orders/take.js';

const saleId = process.env.SALE_ID ?? '';
const body = JSON.stringify({ error: 'sold_out', message: 'Sold out.' });

http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const attempt = { saleId, userId: randomUUID(), orderId: randomUUID(), clientIp: '127.0.0.1' };
      void takeStockToken(attempt)
        .catch(() => undefined)
        .then(() => {
          res.writeHead(409, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
    });
  })
  .listen(Number(process.env.PORT));
