// The React client in a real browser (Debian's Chromium driven by playwright-core) against the
// running test stack, as buyers and admins use it: real URLs (deep links, back, refresh, sign-in
// that returns to the sale), the sales open to visitors, each state in the buyer's words (own
// hold, nothing to buy after a purchase), my orders with the products, sessions across tabs and
// their end, plain words for trouble (no connection, 429, 503). Every page is checked by axe-core
// (no serious or critical violation) and shot at a phone's width (360 × 740) and a desktop's
// into tests/e2e/screenshots/ (git-ignored) for a person to look at.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { AxeResults } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../../scripts/local/chromium.ts';
import { admin, api, buyer, closeHelpers, createSale, database, eventually, listAllSales, mintToken, type OrderBody, type SaleBody } from '../helpers.ts';
import { joinChallenge, solveChallenge } from '../../web/src/proof-of-work.ts';

const SHOTS = path.join(import.meta.dirname, 'screenshots');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** The client's localStorage key of the session (web/src/session.tsx). */
const SESSION_KEY = 'flash-sale-session';
const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };
let browser: Browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await closeHelpers();
});

function webUrl(): string {
  const url = process.env.TEST_WEB_URL;
  if (!url) throw new Error('TEST_WEB_URL is not set: run with npm test');
  return url;
}

/** A browser context, signed in with `token` as the client keeps a session, or a visitor's. */
async function newContext(viewport = PHONE, token?: string, ttlMs = 50 * 60_000): Promise<BrowserContext> {
  const session = token && { token, expiresAtMs: Date.now() + ttlMs, userId: '', email: 'e2e@test.local' };
  return browser.newContext({
    viewport,
    storageState: { cookies: [], origins: session ? [{ origin: webUrl(), localStorage: [{ name: SESSION_KEY, value: JSON.stringify(session) }] }] : [] },
  });
}

async function open(context: BrowserContext, where: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${webUrl()}${where}`);
  return page;
}

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });

/**
 * The page as it is now: axe-core finds no serious or critical violation, nothing is wider than
 * the screen, and a screenshot for a person to look at.
 */
async function check(page: Page, name: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const results = await page.evaluate(() => (window as unknown as { axe: { run(): Promise<AxeResults> } }).axe.run());
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `accessibility of ${name}`,
  );
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${name}: ${overflow} px wider than the screen`);
  const width = page.viewportSize()?.width ?? 0;
  await page.screenshot({ path: path.join(SHOTS, `${width <= 400 ? 'phone' : 'desktop'}-${name}.png`), fullPage: true });
}

/** An order by the API, followed until the worker wrote it (confirmed or reserved). */
async function orderThroughApi(token: string, sale: SaleBody): Promise<OrderBody> {
  const placed = await api<OrderBody>('POST', '/orders', { token, body: { product_id: sale.product.product_id } });
  assert.equal(placed.status, 202);
  return eventually('the order written', async () => {
    const o = await api<OrderBody>('GET', `/orders/${placed.body.order_id}`, { token });
    return o.body.status === 'pending' ? undefined : o.body;
  });
}

describe('addresses', () => {
  test('every route of the client is answered with the app by the server that serves it', async () => {
    for (const where of ['/', `/sales/${randomUUID()}`, '/orders', '/admin', '/signin?next=%2Forders', '/no/such/page']) {
      const answer = await fetch(`${webUrl()}${where}`, { headers: { accept: 'text/html' } });
      assert.equal(answer.status, 200, where);
      assert.match(await answer.text(), /<div id="root">/, where);
    }
  });

  test('a visitor sees the sales without signing in; a deep link opens the sale', { timeout: 60_000 }, async () => {
    const sale = await createSale({ stock: 3 });
    const context = await newContext();
    const page = await open(context, '/');
    await heading(page, 'Sales').waitFor();
    await page.getByRole('link', { name: sale.product.name }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByLabel('Password').count(), 0, 'no sign-in form in the way');

    const deep = await open(context, `/sales/${sale.sale_id}`);
    await heading(deep, sale.product.name).waitFor();
    await deep.locator('[data-state="active"]').waitFor();
    await deep.getByRole('link', { name: 'Sign in to buy' }).waitFor();
    assert.equal(await deep.getByRole('button', { name: 'Buy now' }).count(), 0, 'a visitor is asked to sign in, not offered a button that cannot work');
    assert.match(await deep.title(), new RegExp(sale.product.name));
    await context.close();
  });

  test('back and refresh keep the page', { timeout: 60_000 }, async () => {
    const sale = await createSale({ stock: 3 });
    const context = await newContext();
    const page = await open(context, '/');
    await page.getByRole('link', { name: sale.product.name }).click({ timeout: 15_000 });
    await heading(page, sale.product.name).waitFor();
    assert.equal(new URL(page.url()).pathname, `/sales/${sale.sale_id}`);

    await page.reload();
    await heading(page, sale.product.name).waitFor();
    await page.goBack();
    await heading(page, 'Sales').waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    await page.goForward();
    await heading(page, sale.product.name).waitFor();
    await context.close();
  });

  test('an address that is no page says so', { timeout: 30_000 }, async () => {
    const context = await newContext();
    const page = await open(context, '/no/such/page');
    await heading(page, 'Page not found').waitFor();
    const missing = await open(context, `/sales/${randomUUID()}`);
    await heading(missing, 'Sale not found').waitFor();
    await context.close();
  });
});

describe('buying', () => {
  test('sign-in from a sale page returns to it; the session holds in a new tab and ends on sign-out', { timeout: 90_000 }, async () => {
    const sale = await createSale({ stock: 3 });
    const context = await newContext();
    const page = await open(context, `/sales/${sale.sale_id}`);
    await page.getByRole('link', { name: 'Sign in to buy' }).click();
    await heading(page, 'Sign in').waitFor();
    await page.getByRole('link', { name: 'Create an account' }).click();
    await heading(page, 'Create an account').waitFor();
    await page.getByLabel('Email').fill(`web-${randomUUID()}@example.com`);
    await page.getByLabel('Password').fill('web-password-1');
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading(page, sale.product.name).waitFor({ timeout: 15_000 });
    assert.equal(new URL(page.url()).pathname, `/sales/${sale.sale_id}`);
    await page.getByRole('button', { name: 'Buy now' }).waitFor();

    const tab = await open(context, '/orders');
    await heading(tab, 'My orders').waitFor();
    await tab.getByText('No orders yet.').waitFor();
    await tab.getByRole('button', { name: 'Sign out' }).click();
    await tab.getByRole('link', { name: 'Sign in' }).waitFor();
    await eventually('the other tab follows the sign-out', async () => ((await page.getByRole('link', { name: 'Sign in to buy' }).count()) > 0 ? true : undefined), 10_000);
    await context.close();
  });

  test('wait for the sale to open, buy, see success, and no "Buy now" after it', { timeout: 90_000 }, async () => {
    const sale = await createSale({ stock: 3, startsInMs: 6000, durationMs: 600_000 });
    const { token } = await buyer();
    const context = await newContext(PHONE, token);
    const page = await open(context, `/sales/${sale.sale_id}`);
    await page.locator('[data-state="upcoming"]').waitFor();
    assert.match((await page.locator('[data-countdown]').textContent()) ?? '', /^0:0\d$/);
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).isDisabled(), true, 'disabled before the window');
    await check(page, 'sale-upcoming');

    await page.locator('[data-state="active"]').waitFor({ timeout: 15_000 });
    await page.getByText('The sale is open: you can buy now.').waitFor({ state: 'attached' });
    await page.getByRole('button', { name: 'Buy now' }).click();
    await page.locator('[data-result="success"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-bought]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).count(), 0, 'nothing more to buy');
    await check(page, 'sale-bought');

    await page.reload();
    await page.locator('[data-bought]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).count(), 0, 'nor after a refresh');

    await page.getByRole('link', { name: 'See my orders' }).click();
    await heading(page, 'My orders').waitFor();
    const row = page.locator('li.order').first();
    await row.getByRole('link', { name: sale.product.name }).waitFor();
    assert.equal(await row.locator('[data-order-state]').textContent(), 'Bought');
    await row.getByText('€19.99').waitFor();
    await row.getByRole('link', { name: sale.product.name }).click();
    await heading(page, sale.product.name).waitFor();
    await context.close();
  });

  test('a held unit is shown as the buyer\'s own, and as in other carts to everyone else', { timeout: 90_000 }, async () => {
    const sale = await createSale({ stock: 3, holdSeconds: 120 });
    const a = await buyer();
    const contextA = await newContext(PHONE, a.token);
    const page = await open(contextA, `/sales/${sale.sale_id}`);
    await page.getByRole('button', { name: 'Buy now' }).click();
    await page.locator('[data-result="held"]').waitFor({ timeout: 30_000 });
    await page.getByText(/pay within \d+:\d\d/).waitFor();
    await eventually('the figures count the hold', async () => ((await page.locator('[data-remaining]').textContent()) === '2' ? true : undefined), 15_000);
    await page.locator('[data-own-hold]').waitFor();
    assert.equal(await page.locator('[data-other-holds]').count(), 0, 'the buyer\'s own hold is not "in other carts"');
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).count(), 0);
    await check(page, 'sale-held');

    const b = await buyer();
    const contextB = await newContext(PHONE, b.token);
    const other = await open(contextB, `/sales/${sale.sale_id}`);
    await other.locator('[data-other-holds]').waitFor({ timeout: 15_000 });
    assert.match((await other.locator('[data-figures]').textContent()) ?? '', /1 in other carts/);
    assert.equal(await other.locator('[data-own-hold]').count(), 0);
    await contextB.close();

    const orders = await open(contextA, '/orders');
    const row = orders.locator('li.order').first();
    await row.getByRole('link', { name: sale.product.name }).waitFor({ timeout: 15_000 });
    assert.match((await row.locator('[data-order-state]').textContent()) ?? '', /^Held for you/);
    assert.match((await row.locator('[data-hold-left]').textContent()) ?? '', /^\d:\d\d$/);
    await check(orders, 'my-orders-held');
    await orders.close();

    await page.getByRole('button', { name: 'Pay now' }).click();
    await page.locator('[data-result="success"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-bought]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Pay now' }).count(), 0);
    await contextA.close();
  });

  test('a second account sees "sold out" on a stock-1 sale', { timeout: 60_000 }, async () => {
    const sale = await createSale({ stock: 1 });
    await orderThroughApi((await buyer()).token, sale);
    const context = await newContext(PHONE, (await buyer()).token);
    const page = await open(context, `/sales/${sale.sale_id}`);
    await page.locator('[data-state="sold out"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).count(), 0);
    assert.equal(await page.locator('[data-remaining]').textContent(), '0');
    await check(page, 'sale-sold-out');
    await context.close();
  });

  test('a double click buys one unit', { timeout: 60_000 }, async () => {
    const sale = await createSale({ stock: 5 });
    const { userId, token } = await buyer();
    const context = await newContext(PHONE, token);
    const page = await open(context, `/sales/${sale.sale_id}`);
    await page.getByRole('button', { name: 'Buy now' }).dblclick();
    await page.locator('[data-result="success"]').waitFor({ timeout: 30_000 });
    const { rows } = await database().query(`SELECT order_id FROM orders WHERE user_id = $1 AND sale_id = $2`, [userId, sale.sale_id]);
    assert.equal(rows.length, 1, 'one order for a double click');
    await context.close();
  });
});

describe('sessions and trouble', () => {
  test('a session ends with a clear sign-out when its token expires, or when the API refuses it', { timeout: 60_000 }, async () => {
    const { userId } = await buyer();
    const context = await newContext(PHONE, await mintToken(userId, 'user', 8), 8000);
    const page = await open(context, '/orders');
    await heading(page, 'My orders').waitFor();
    await page.getByRole('alert').filter({ hasText: 'Your session has ended' }).waitFor({ timeout: 15_000 });
    await heading(page, 'Sign in').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('next'), '/orders', 'signing in again returns to the page');
    await check(page, 'session-ended');
    await context.close();

    // The stored clock says valid, the API says not (a token signed with another key).
    const refused = await newContext(PHONE, 'e30.e30.bad');
    const page2 = await open(refused, '/orders');
    await page2.getByRole('alert').filter({ hasText: 'Your session has ended' }).waitFor({ timeout: 15_000 });
    await refused.close();
  });

  test('no connection, 429 and 503 are said plainly, with when to try again; the retry buys once', { timeout: 60_000 }, async () => {
    const sale = await createSale({ stock: 5 });
    const { userId, token } = await buyer();
    const context = await newContext(PHONE, token);
    const page = await open(context, `/sales/${sale.sale_id}`);
    await page.getByRole('button', { name: 'Buy now' }).waitFor();

    await page.route('**/api/sales/**', (route) => route.abort('internetdisconnected'));
    await page.locator('[data-problem]').filter({ hasText: 'No connection' }).waitFor({ timeout: 10_000 });
    await check(page, 'no-connection');
    await page.unroute('**/api/sales/**');
    await page.locator('[data-problem]').waitFor({ state: 'detached', timeout: 10_000 });

    await page.route('**/api/orders', (route) =>
      route.fulfill({ status: 429, headers: { 'retry-after': '3', 'content-type': 'application/json' }, body: JSON.stringify({ error: 'rate_limited', message: 'Too many requests; try again later.' }) }),
    );
    await page.getByRole('button', { name: 'Buy now' }).click();
    await page.getByText('Too many tries: try again in 3 s. Nothing was taken.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).isDisabled(), true, 'no retry before Retry-After');
    await page.getByText(/Try again in \d s\./).waitFor();
    await check(page, 'rate-limited');
    await page.unroute('**/api/orders');

    await page.route('**/api/orders', (route) =>
      route.fulfill({ status: 503, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'unavailable', message: 'The service is temporarily unavailable; try again.' }) }),
    );
    await eventually('Buy now again after Retry-After', async () => ((await page.getByRole('button', { name: 'Buy now' }).isEnabled()) ? true : undefined), 10_000);
    await page.getByRole('button', { name: 'Buy now' }).click();
    await page.locator('[data-result]').filter({ hasText: 'busy right now. Try again in a moment. Nothing was taken.' }).waitFor();
    await page.unroute('**/api/orders');
    await page.route('**/api/orders', (route) => route.abort('internetdisconnected'));
    await page.getByRole('button', { name: 'Buy now' }).click();
    await page.locator('[data-result]').filter({ hasText: 'cannot tell yet whether it worked' }).waitFor();
    await page.unroute('**/api/orders');
    // The same intent, retried, buys once.
    await page.getByRole('button', { name: 'Buy now' }).click();
    await page.locator('[data-result="success"]').waitFor({ timeout: 30_000 });
    const { rows } = await database().query(`SELECT order_id FROM orders WHERE user_id = $1 AND sale_id = $2`, [userId, sale.sale_id]);
    assert.equal(rows.length, 1, 'one order for one intent, however many tries');
    await context.close();
  });
});

describe('waiting room', () => {
  /** The room's settings of these tests: two places a second, a proof of work of 12 bits. */
  const ROOM = { mode: 'always', admit_per_second: 2, admission_seconds: 120, proof_of_work_bits: 12 };

  /** A sale with a waiting room, opening in `startsInMs`, letting in `rate` places a second. */
  async function createRoomSale(stock: number, startsInMs: number, rate = ROOM.admit_per_second): Promise<SaleBody> {
    const token = await admin();
    const product = await api<{ product_id: string }>('POST', '/products', { token, body: { name: `Queued ${randomUUID().slice(0, 8)}`, price_in_cent: 1999 } });
    assert.equal(product.status, 201);
    const startsAt = Date.now() + startsInMs;
    const sale = await api<SaleBody>('POST', '/sales', {
      token,
      body: { product_id: product.body.product_id, starts_at: new Date(startsAt).toISOString(), ends_at: new Date(startsAt + 600_000).toISOString(), stock, waiting_room: { ...ROOM, admit_per_second: rate } },
    });
    assert.equal(sale.status, 201, JSON.stringify(sale.body));
    return sale.body;
  }

  /** A buyer in the queue through the API, with the proof of work the web client does (web/src/proof-of-work.ts). */
  async function joinThroughApi(sale: SaleBody): Promise<void> {
    const { userId, token } = await buyer();
    const proof = await solveChallenge(joinChallenge(sale.sale_id, userId, ROOM.proof_of_work_bits));
    const joined = await api('POST', `/sales/${sale.sale_id}/queue`, { token, body: { proof_of_work: proof } });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
  }

  test('a buyer joins the room, sees the place count down, is admitted and buys', { timeout: 90_000 }, async () => {
    // An open sale whose room lets in one place per 100 s (nobody, in this test) until the admin
    // raises the rate: the buyer's place does not depend on how fast this machine is. Six people
    // are in the queue before the buyer.
    const sale = await createRoomSale(10, -1000, 0.01);
    await Promise.all(Array.from({ length: 6 }, () => joinThroughApi(sale)));

    const { token } = await buyer();
    const context = await newContext(PHONE, token);
    // The join held back a moment, so that "joining" is seen whatever the proof of work took.
    await context.route('**/api/sales/*/queue', async (route) => {
      await new Promise((r) => setTimeout(r, 1000));
      await route.continue();
    });
    const page = await open(context, `/sales/${sale.sale_id}`);
    await page.locator('[data-room="joining"]').getByText('Joining the queue…').waitFor({ timeout: 10_000 });
    await check(page, 'room-joining');
    await page.locator('[data-ahead]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('[data-place]').textContent(), '7');
    assert.equal(await page.locator('[data-ahead]').textContent(), '6');
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).count(), 0, 'no "Buy now" while waiting');
    await page.getByRole('progressbar', { name: 'Your progress through the queue' }).waitFor();
    assert.match((await page.locator('[data-estimate]').textContent()) ?? '', /^(about \d+ (s|min)|any moment now)$/);
    await check(page, 'room-waiting');

    // The admin lets two places a second in; the buyer comes back to the tab (the page asks at
    // once, instead of at its next poll, up to 10 s away with a wait estimated at 10 minutes).
    const raised = await api('POST', '/sales/update', { token: await admin(), body: { sale_id: sale.sale_id, waiting_room: ROOM } });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));

    // The people ahead, as the page shows them, until it offers "Buy now" by itself.
    const ahead: number[] = [6];
    await eventually('admitted: "Buy now" by itself', async () => {
      const shown = await page.locator('[data-ahead]').textContent({ timeout: 50 }).catch(() => null);
      if (shown !== null && ahead.at(-1) !== Number(shown)) ahead.push(Number(shown));
      return (await page.getByRole('button', { name: 'Buy now' }).count()) > 0 ? true : undefined;
    }, 30_000);
    assert.ok(ahead.length >= 2, `the place was seen to count down: ${ahead.join(' → ')}`);
    assert.deepEqual([...ahead].sort((a, b) => b - a), ahead, `people ahead only ever fewer: ${ahead.join(' → ')}`);
    await page.locator('[data-room="admitted"]').waitFor();
    await page.getByText('It is your turn: you can buy now.').waitFor({ state: 'attached' });
    assert.match(await page.title(), /^Your turn/);
    await check(page, 'room-admitted');

    await page.getByRole('button', { name: 'Buy now' }).click();
    await page.locator('[data-result="success"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-bought]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Buy now' }).count(), 0, 'nothing more to buy');
    await check(page, 'room-bought');
    // queue/me tells the same journey after a refresh.
    await page.reload();
    await page.locator('[data-bought]').waitFor({ timeout: 15_000 });
    await context.close();
  });

  test('the admin page shows the queue and changes the admission rate', { timeout: 60_000 }, async () => {
    const sale = await createRoomSale(5, 60_000);
    await joinThroughApi(sale);
    const context = await newContext(DESKTOP, await admin());
    const page = await open(context, '/admin');
    const row = page.locator(`tr[data-sale="${sale.product.name}"]`);
    await row.waitFor({ timeout: 15_000 });
    await eventually('the queue is counted', async () => ((await row.locator('[data-col="queue"]').textContent()) === '1' ? true : undefined), 10_000);
    assert.equal(await row.locator('[data-col="admitted"]').textContent(), '0');
    assert.match((await row.locator('[data-col="rate"]').textContent()) ?? '', /^2 \//);

    await page.getByLabel('Sale with a waiting room').selectOption({ label: sale.product.name });
    await page.getByLabel('New admission rate (per second)').fill('25');
    await page.getByRole('button', { name: 'Change rate' }).click();
    await page.getByText('Admission rate changed to 25 per second.').waitFor();
    // GET /sales/{id} may answer from its cache for a moment.
    const after = await eventually('the new rate read back', async () => {
      const read = await api<SaleBody>('GET', `/sales/${sale.sale_id}`);
      return read.body.waiting_room.admit_per_second === 25 ? read.body.waiting_room : undefined;
    }, 10_000);
    assert.equal(after.admission_seconds, ROOM.admission_seconds, 'the rest of the room kept');
    assert.equal(after.proof_of_work_bits, ROOM.proof_of_work_bits, 'the rest of the room kept');
    await eventually('the table follows', async () => (/^25 \//.test((await row.locator('[data-col="rate"]').textContent()) ?? '') ? true : undefined), 10_000);
    await check(page, 'admin-room');
    await context.close();
  });
});

test('an admin creates a sale in the admin page and sees its numbers move', { timeout: 60_000 }, async () => {
  const context = await newContext(DESKTOP, await admin());
  const page = await open(context, '/admin');
  await heading(page, 'Admin').waitFor();

  const name = `Admin-made ${randomUUID().slice(0, 6)}`;
  await page.getByLabel('Product name').fill(name);
  await page.getByLabel('Stock', { exact: true }).fill('4');
  await page.getByLabel('Starts in (minutes)').fill('0');
  await page.getByRole('button', { name: 'Create sale' }).click();
  await page.getByText(`Sale of ${name} created.`).waitFor();
  const row = page.locator(`tr[data-sale="${name}"]`);
  await row.waitFor({ timeout: 10_000 });
  assert.equal(await row.locator('[data-col="left"]').textContent(), '4');

  const listed = await eventually('sale listed', async () => {
    return (await listAllSales()).find((s) => s.product.name === name);
  });
  const { token } = await buyer();
  assert.equal((await api('POST', '/orders', { token, body: { product_id: listed.product.product_id } })).status, 202);
  await eventually('the admin table moves', async () => ((await row.locator('[data-col="left"]').textContent()) === '3' ? true : undefined), 10_000);
  await eventually('and counts it sold', async () => ((await row.locator('[data-col="sold"]').textContent()) === '1' ? true : undefined), 10_000);
  await context.close();
});

for (const [size, viewport] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
  test(`every page at ${size} width (${viewport.width} × ${viewport.height}): laid out, accessible, shot`, { timeout: 120_000 }, async () => {
    const bought = await createSale({ stock: 5 });
    const held = await createSale({ stock: 5, holdSeconds: 600 });
    const upcoming = await createSale({ stock: 5, startsInMs: 3_600_000 });
    const { token } = await buyer();
    await orderThroughApi(token, bought);
    await orderThroughApi(token, held);

    const visitor = await newContext(viewport);
    const page = await open(visitor, '/');
    await page.getByRole('link', { name: upcoming.product.name }).waitFor({ timeout: 15_000 });
    await check(page, 'sales');
    await page.goto(`${webUrl()}/sales/${bought.sale_id}`);
    await page.getByRole('link', { name: 'Sign in to buy' }).waitFor();
    await check(page, 'sale-visitor');
    await page.goto(`${webUrl()}/signin?next=%2F`);
    await heading(page, 'Sign in').waitFor();
    await check(page, 'signin');
    await page.goto(`${webUrl()}/signup`);
    await heading(page, 'Create an account').waitFor();
    await check(page, 'signup');
    await page.goto(`${webUrl()}/no/such/page`);
    await heading(page, 'Page not found').waitFor();
    await check(page, 'not-found');
    await visitor.close();

    const signedIn = await newContext(viewport, token);
    const mine = await open(signedIn, '/');
    await mine.getByRole('link', { name: 'My orders' }).waitFor();
    if (size === 'desktop') {
      const middles = await mine.locator('header a, header button').evaluateAll((els) => els.map((e) => { const r = e.getBoundingClientRect(); return (r.top + r.bottom) / 2; }));
      assert.ok(Math.max(...middles) - Math.min(...middles) < 4, `the header is one row at ${viewport.width} px: ${middles.join(', ')}`);
    }
    await mine.goto(`${webUrl()}/sales/${upcoming.sale_id}`);
    await mine.locator('[data-countdown]').waitFor();
    await check(mine, 'sale-upcoming-signed-in');
    await mine.goto(`${webUrl()}/sales/${bought.sale_id}`);
    await mine.locator('[data-bought]').waitFor();
    await check(mine, 'sale-bought-on-load');
    await mine.goto(`${webUrl()}/sales/${held.sale_id}`);
    await mine.locator('[data-hold]').waitFor();
    await check(mine, 'sale-held-on-load');
    await mine.goto(`${webUrl()}/orders`);
    await mine.getByRole('link', { name: bought.product.name }).waitFor({ timeout: 15_000 });
    await mine.getByRole('link', { name: held.product.name }).waitFor();
    await check(mine, 'my-orders');
    await mine.goto(`${webUrl()}/admin`);
    await heading(mine, 'Admins only').waitFor();
    await check(mine, 'admin-refused');
    await signedIn.close();

    const adminContext = await newContext(viewport, await admin());
    const adminPage = await open(adminContext, '/admin');
    await adminPage.locator(`tr[data-sale="${bought.product.name}"]`).waitFor({ timeout: 15_000 });
    await check(adminPage, 'admin');
    await adminContext.close();
  });
}
