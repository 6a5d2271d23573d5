// The React client in a real browser (Debian's Chromium driven by playwright-core) against
// the running test stack: sign up, wait for a sale to open, buy, see "success"; a second
// account sees "sold out"; a double click buys one unit; an admin creates a sale and sees its
// numbers move. Screenshots go to tests/e2e/screenshots/ (git-ignored) for a person to look at.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../../scripts/local/chromium.ts';
import { admin, api, buyer, closeHelpers, createSale, database, eventually, type SaleBody } from '../helpers.ts';

const SHOTS = path.join(import.meta.dirname, 'screenshots');
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

async function newBuyerPage(): Promise<{ page: Page; email: string }> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } }); // a phone
  const page = await context.newPage();
  await page.goto(webUrl());
  const email = `web-${randomUUID()}@example.com`;
  await page.getByRole('button', { name: 'New here? Sign up' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('web-password-1');
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await page.getByRole('heading', { name: 'Sales' }).waitFor();
  return { page, email };
}

async function openSale(page: Page, sale: SaleBody): Promise<void> {
  await page.getByRole('button', { name: 'Sales' }).click();
  await page.getByRole('button', { name: `Open the sale of ${sale.product.name}` }).click({ timeout: 15_000 });
  await page.getByRole('heading', { name: sale.product.name }).waitFor();
}

test('sign up, wait for the sale to open, buy, see success', { timeout: 60_000 }, async () => {
  const sale = await createSale({ stock: 3, startsInMs: 6000, durationMs: 600_000 });
  const { page } = await newBuyerPage();
  await openSale(page, sale);
  await page.locator('[data-state="upcoming"]').waitFor();
  assert.match((await page.locator('[data-countdown]').textContent()) ?? '', /^0:0\d$/);
  assert.equal(await page.getByRole('button', { name: 'Buy now' }).isDisabled(), true, 'disabled before the window');
  await page.screenshot({ path: path.join(SHOTS, 'sale-upcoming.png'), fullPage: true });

  await page.locator('[data-state="active"]').waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Buy now' }).click();
  await page.locator('[data-result="success"]').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(SHOTS, 'result-success.png'), fullPage: true });

  await page.getByRole('button', { name: 'My orders' }).click();
  await page.getByText('Success! It is yours.').waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'my-orders.png'), fullPage: true });
});

test('a second account sees "sold out" on a stock-1 sale', { timeout: 60_000 }, async () => {
  const sale = await createSale({ stock: 1 });
  const first = await newBuyerPage();
  await openSale(first.page, sale);
  await first.page.getByRole('button', { name: 'Buy now' }).click();
  await first.page.locator('[data-result="success"]').waitFor({ timeout: 30_000 });

  const second = await newBuyerPage();
  await openSale(second.page, sale);
  await second.page.locator('[data-state="sold out"]').waitFor({ timeout: 10_000 });
  assert.equal(await second.page.getByRole('button', { name: 'Buy now' }).isDisabled(), true);
  assert.equal(await second.page.locator('[data-remaining]').textContent(), '0');
  await second.page.screenshot({ path: path.join(SHOTS, 'result-sold-out.png'), fullPage: true });
});

test('a double click buys one unit', { timeout: 60_000 }, async () => {
  const sale = await createSale({ stock: 5 });
  const { page, email } = await newBuyerPage();
  await openSale(page, sale);
  await page.getByRole('button', { name: 'Buy now' }).dblclick();
  await page.locator('[data-result="success"]').waitFor({ timeout: 30_000 });
  const { rows } = await database().query(
    `SELECT o.order_id FROM orders o JOIN users u USING (user_id) WHERE lower(u.email) = lower($1) AND o.sale_id = $2`,
    [email, sale.sale_id],
  );
  assert.equal(rows.length, 1, 'one order for a double click');
  await page.screenshot({ path: path.join(SHOTS, 'double-click.png'), fullPage: true });
});

test('a held unit shows its countdown and can be paid', { timeout: 60_000 }, async () => {
  const sale = await createSale({ stock: 2, holdSeconds: 120 });
  const { page } = await newBuyerPage();
  await openSale(page, sale);
  await page.getByRole('button', { name: 'Buy now' }).click();
  await page.locator('[data-result="held"]').waitFor({ timeout: 30_000 });
  await page.getByText(/Pay within \d+:\d\d/).waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'result-held.png'), fullPage: true });
  await page.getByRole('button', { name: 'Pay now' }).click();
  await page.locator('[data-result="success"]').waitFor({ timeout: 10_000 });
});

test('an admin creates a sale in the admin page and sees its numbers move', { timeout: 60_000 }, async () => {
  await admin(); // the stack's admin account logs in with the password it was made with
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  await page.goto(webUrl());
  await page.getByLabel('Email').fill(process.env.TEST_ADMIN_EMAIL ?? '');
  await page.getByLabel('Password').fill(process.env.TEST_ADMIN_PASSWORD ?? '');
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByRole('button', { name: 'Admin' }).click();

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
    const sales = await api<{ sales: SaleBody[] }>('GET', '/sales');
    return sales.body.sales.find((s) => s.product.name === name);
  });
  const { token } = await buyer();
  assert.equal((await api('POST', '/orders', { token, body: { product_id: listed.product.product_id } })).status, 202);
  await eventually('the admin table moves', async () => ((await row.locator('[data-col="left"]').textContent()) === '3' ? true : undefined), 10_000);
  await eventually('and counts it sold', async () => ((await row.locator('[data-col="sold"]').textContent()) === '1' ? true : undefined), 10_000);
  await page.screenshot({ path: path.join(SHOTS, 'admin.png'), fullPage: true });
});
