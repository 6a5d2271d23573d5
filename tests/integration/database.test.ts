// The functions' PostgreSQL pool (lib/db.ts) when the server cuts a connection, as a restart
// does: the transaction on it fails, the process goes on, the pool serves the next caller.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { db, withTransaction } from '../../functions/src/lib/db.ts';
import { closeHelpers, database } from '../helpers.ts';

after(async () => {
  await closeHelpers();
  await db().end();
});

test('a transaction whose connection is cut between its queries fails, and the process does not', async () => {
  await assert.rejects(
    withTransaction(async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await database().query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
      // The termination arrives while the client is checked out and runs no query: pg emits
      // 'error' on it, which ends the process unless someone listens.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await client.query('SELECT 1');
    }),
  );
  const { rows } = await db().query<{ one: number }>('SELECT 1 AS one');
  assert.equal(rows[0]?.one, 1, 'the pool serves the next caller with a sound connection');
});
