// The sales' live view (functions/src/lib/live-view.ts) against the local Firestore emulator:
// each sale's document follows the truth in Redis and PostgreSQL, at most one write a second.
// Read with the real @google-cloud/firestore client, as a server-side listener would.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { after, test } from 'node:test';
import { Firestore, type DocumentSnapshot } from '@google-cloud/firestore';
import { Redis } from 'ioredis';
import { api, buyer, closeHelpers, createSale, database, eventually, seedUsers, mintToken, type OrderBody, type SaleBody } from '../helpers.ts';
import type { LiveSaleDoc } from '../../functions/src/lib/live-view.ts';
import { saleKeys } from '../../functions/src/lib/redis.ts';

const projectId = process.env.FIRESTORE_PROJECT_ID ?? '';
const firestore = new Firestore({ projectId });
const redis = new Redis(process.env.REDIS_URL ?? '', { keyPrefix: process.env.REDIS_KEY_PREFIX ?? '' });

after(async () => {
  await closeHelpers();
  redis.disconnect();
  await firestore.terminate();
  // The Node emulator never ends a Listen stream its client cancelled: its socket would keep
  // this file's process alive after every test has passed.
  const emulatorPort = Number(process.env.FIRESTORE_EMULATOR_HOST?.split(':')[1]);
  for (const handle of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()) {
    if (handle instanceof Socket && handle.remotePort === emulatorPort) handle.destroy();
  }
});

const docOf = (saleId: string) => firestore.collection('sales').doc(saleId);

async function liveDoc(saleId: string): Promise<LiveSaleDoc | undefined> {
  const snap = await docOf(saleId).get();
  return snap.exists ? (snap.data() as LiveSaleDoc) : undefined;
}

/** PostgreSQL's and Redis's figures of a sale once nothing is pending. */
async function truth(saleId: string) {
  const { rows } = await database().query<{ stock: number; sold: number; confirmed: string; reserved: string }>(
    `SELECT s.stock, s.sold,
            count(o.order_id) FILTER (WHERE o.status = 'confirmed') AS confirmed,
            count(o.order_id) FILTER (WHERE o.status = 'reserved') AS reserved
       FROM flash_sales s LEFT JOIN orders o ON o.sale_id = s.sale_id WHERE s.sale_id = $1 GROUP BY s.stock, s.sold`,
    [saleId],
  );
  const row = rows[0];
  assert.ok(row);
  const keys = saleKeys(saleId);
  const [left, confirmed] = await Promise.all([redis.get(keys.stock), redis.hget(keys.meta, 'confirmed')]);
  return { stock: row.stock, sold: row.sold, confirmed: Number(row.confirmed), reserved: Number(row.reserved), redisLeft: Number(left), redisConfirmed: Number(confirmed ?? 0) };
}

test('the local stack runs the live view against the Firestore emulator', () => {
  assert.ok(process.env.FIRESTORE_EMULATOR_HOST, 'the local stack sets FIRESTORE_EMULATOR_HOST');
  assert.ok(projectId, 'and FIRESTORE_PROJECT_ID');
});

test('a sale\'s document appears on create with its figures and the time of them', async () => {
  const before = Date.now();
  const sale = await createSale({ stock: 7, holdSeconds: 0 });
  const doc = await eventually('the document', () => liveDoc(sale.sale_id), 10_000);
  assert.equal(doc.sale_id, sale.sale_id);
  assert.deepEqual(doc.product, sale.product);
  assert.equal(doc.starts_at, sale.starts_at);
  assert.equal(doc.ends_at, sale.ends_at);
  assert.equal(doc.state, 'active');
  assert.equal(doc.stock_total, 7);
  assert.equal(doc.stock_remaining, 7);
  assert.equal(doc.stock_held, 0);
  assert.equal(doc.stock_sold, 0);
  assert.equal(doc.hold_seconds, 0);
  assert.ok(Date.parse(doc.figures_at) >= before - 5_000, `figures_at ${doc.figures_at} is the time of the figures`);
});

test('a burst moves it, at most one write a second, and it ends equal to PostgreSQL and Redis; a listener sees the sequence', async () => {
  const stock = 40;
  const sale = await createSale({ stock });
  await eventually('the document', () => liveDoc(sale.sale_id), 10_000);
  const seen: LiveSaleDoc[] = [];
  const unsubscribe = docOf(sale.sale_id).onSnapshot((snap: DocumentSnapshot) => {
    if (snap.exists) seen.push(snap.data() as LiveSaleDoc);
  });
  try {
    // 60 buyers in six waves over about three seconds: more than the stock, so it sells out.
    const users = await seedUsers(60);
    const tokens = await Promise.all(users.map((u) => mintToken(u)));
    const accepted: string[] = [];
    for (let wave = 0; wave < 6; wave++) {
      const answers = await Promise.all(
        tokens.slice(wave * 10, wave * 10 + 10).map((token) => api<OrderBody>('POST', '/orders', { token, body: { product_id: sale.product.product_id } })),
      );
      for (const a of answers) if (a.status === 202) accepted.push(a.body.order_id);
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(accepted.length, stock, 'the stock sells out');
    await eventually('every order written', async () => {
      const { rows } = await database().query<{ n: string }>(
        "SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'confirmed'",
        [sale.sale_id],
      );
      return Number(rows[0]?.n) === stock ? true : undefined;
    });
    const final = await eventually('the document settles on the truth', async () => {
      const [doc, t] = [await liveDoc(sale.sale_id), await truth(sale.sale_id)];
      if (!doc) return undefined;
      const equal =
        doc.stock_remaining === t.redisLeft &&
        doc.stock_remaining === t.stock - t.sold &&
        doc.stock_sold === t.confirmed &&
        doc.stock_sold === t.redisConfirmed &&
        doc.stock_held === t.reserved;
      return equal ? doc : undefined;
    });
    assert.equal(final.stock_remaining, 0);
    assert.equal(final.stock_sold, stock);
    assert.equal(final.stock_held, 0);
    await eventually('the listener has the last figures', async () => (seen.at(-1)?.stock_sold === stock ? true : undefined), 10_000);
  } finally {
    unsubscribe();
  }
  // Writes, counted by the figures' times (Redis's clock, read under the lock that spaces them).
  const writes = [...new Set(seen.map((d) => d.figures_at))].map((t) => Date.parse(t)).sort((a, b) => a - b);
  const gaps = writes.slice(1).map((t, i) => t - (writes[i] as number));
  assert.ok(gaps.every((g) => g >= 1000), `at most one write a second: gaps ${gaps.join(', ')} ms`);
  const span = (writes.at(-1) ?? 0) - (writes[0] ?? 0);
  assert.ok(writes.length <= Math.floor(span / 1000) + 1, `${writes.length} writes in ${span} ms`);
  // The listener saw it move with the burst, never back: figures only go down as units sell.
  const moving = seen.map((d) => d.stock_remaining);
  assert.ok(new Set(moving).size >= 2, `it moved during the burst: ${moving.join(' → ')}`);
  for (let i = 1; i < seen.length; i++) {
    const [a, b] = [seen[i - 1] as LiveSaleDoc, seen[i] as LiveSaleDoc];
    assert.ok(Date.parse(b.figures_at) >= Date.parse(a.figures_at), 'in the order of their figures');
    assert.ok(b.stock_remaining <= a.stock_remaining && b.stock_sold >= a.stock_sold, `monotone: ${moving.join(' → ')}`);
  }
});

async function hold(sale: SaleBody, token: string): Promise<OrderBody> {
  const order = await api<OrderBody>('POST', '/orders', { token, body: { product_id: sale.product.product_id } });
  assert.equal(order.status, 202, JSON.stringify(order.body));
  return eventually('order reserved', async () => {
    const seen = await api<OrderBody>('GET', `/orders/${order.body.order_id}`, { token });
    return seen.body.status === 'reserved' ? seen.body : undefined;
  });
}

const docShows = (saleId: string, want: Partial<LiveSaleDoc>) =>
  eventually(`the document shows ${JSON.stringify(want)}`, async () => {
    const doc = await liveDoc(saleId);
    return doc && Object.entries(want).every(([k, v]) => doc[k as keyof LiveSaleDoc] === v) ? doc : undefined;
  }, 15_000);

test('held comes with a hold and goes with its checkout, its cancel and its expiry', async () => {
  const sale = await createSale({ stock: 3, holdSeconds: 60 });
  await docShows(sale.sale_id, { stock_remaining: 3, stock_held: 0 });
  const ann = await buyer();
  const annHold = await hold(sale, ann.token);
  await docShows(sale.sale_id, { stock_remaining: 2, stock_held: 1, stock_sold: 0 });
  assert.equal((await api('POST', `/orders/${annHold.order_id}/checkout`, { token: ann.token, body: {} })).status, 200);
  await docShows(sale.sale_id, { stock_remaining: 2, stock_held: 0, stock_sold: 1 });

  const bob = await buyer();
  const bobHold = await hold(sale, bob.token);
  await docShows(sale.sale_id, { stock_remaining: 1, stock_held: 1, stock_sold: 1 });
  assert.equal((await api('DELETE', `/orders/${bobHold.order_id}`, { token: bob.token })).status, 200);
  await docShows(sale.sale_id, { stock_remaining: 2, stock_held: 0, stock_sold: 1 });

  const short = await createSale({ stock: 2, holdSeconds: 2 });
  const cy = await buyer();
  await hold(short, cy.token);
  await docShows(short.sale_id, { stock_remaining: 1, stock_held: 1 });
  // The expiry task (or the sweeper) ends it: the unit is back and held is gone.
  await docShows(short.sale_id, { stock_remaining: 2, stock_held: 0, stock_sold: 0 });
});

test('a document deleted by hand is written again by the next pass', async () => {
  const sale = await createSale({ stock: 5 });
  const first = await eventually('the document', () => liveDoc(sale.sale_id), 10_000);
  await docOf(sale.sale_id).delete();
  assert.equal(await liveDoc(sale.sale_id), undefined);
  // The sweeper rewrites each sale at most every REPAIR_EVERY_MS (10 s).
  const again = await eventually('the document again', () => liveDoc(sale.sale_id), 30_000);
  assert.equal(again.stock_remaining, 5);
  assert.ok(Date.parse(again.figures_at) > Date.parse(first.figures_at), 'with figures read after the deletion');
});
