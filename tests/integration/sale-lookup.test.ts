// GET /sales/{id} is public: an unknown id must cost no PostgreSQL query (the sales handler,
// in this process against the test stack's Redis and PostgreSQL, its pool's check-outs counted).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { db } from '../../functions/src/lib/db.ts';
import { redis } from '../../functions/src/lib/redis.ts';
import { salesHandler } from '../../functions/src/sales/index.ts';
import { closeHelpers, createSale } from '../helpers.ts';

after(async () => {
  await closeHelpers();
  await redis().quit();
  await db().end();
});

test('GET /sales/{unknown id} answers 404 from the sale index, without a PostgreSQL query', async () => {
  const sale = await createSale({ stock: 1 }); // the index is not empty: it is read, not rebuilt
  const server = http.createServer((req, res) => salesHandler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let queries = 0;
  // Every query, pool.query or a checked-out client, first acquires a client from the pool.
  const count = () => void (queries += 1);
  db().on('acquire', count);
  try {
    const known = await fetch(`${base}/sales/${sale.sale_id}`);
    assert.equal(known.status, 200);
    queries = 0;
    for (let i = 0; i < 50; i += 1) {
      const answer = await fetch(`${base}/sales/${randomUUID()}`);
      assert.equal(answer.status, 404);
      assert.equal(((await answer.json()) as { error: string }).error, 'not_found');
    }
    assert.equal(queries, 0, 'unknown ids reached PostgreSQL');
  } finally {
    db().off('acquire', count);
    await new Promise((resolve) => server.close(resolve));
  }
});
