// Before an instance serves (startup.ts): a function that publishes the live view loads its
// Firestore client then, not on its first publish, where the load (seconds of a blocked event
// loop) would stall the worker's first tasks of a sale; a function that never publishes never loads it.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

process.env.FIRESTORE_PROJECT_ID = 'demo-unit';
delete process.env.MIGRATE_ON_START;
const { beforeServing } = await import('../../functions/src/lib/startup.ts');

const firestoreLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('@google-cloud/firestore/'));

test('the orders function starts without the Firestore client; the order-worker loads it before serving', async () => {
  await beforeServing('orders');
  await beforeServing(undefined);
  assert.equal(firestoreLoaded(), false);
  await beforeServing('order-worker');
  assert.equal(firestoreLoaded(), true);
});
