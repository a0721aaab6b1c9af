/**
 * The Audit log in the admin panel (headless Chromium, as scans.test.ts): a super admin opens a customer
 * (a `customer.view` event), finds the view in Audit log filtered by action, opens the event, sees both
 * charts drawn and verifies the hash chain; then the customer's "Who has seen this customer" panel lists
 * the view and links to the log filtered by the customer.
 * Needs the admin panel built first (`npx strapi build`).
 */
import path from 'path';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { SHOTS, bootAdminPanel, launchChromium, signedInPage } from '../helpers/browser';
import { adminUser, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';

const CUSTOMER = 'plugin::id-vault.customer';
/** What adminUser names a super admin (firstname Test, lastname the role code). */
const ADMIN_NAME = 'Test strapi-super-admin';

let app: TestApp;
let browser: Browser;
let page: Page;
let base: string;
let customer: string;

beforeAll(async () => {
  ({ app, base } = await bootAdminPanel());
  const unit = (await systemDocs(app, 'plugin::id-vault.org-unit').create({ data: { name: 'E2E audit unit' } })).documentId;
  const person = syntheticPerson(720);
  customer = (
    await systemDocs(app, CUSTOMER).create({
      data: { kind: 'personal', name: 'E2E audit person', idType: 'resident-id', idNumber: person.idNumber, team: unit, hidden: false },
    })
  ).documentId;
  browser = await launchChromium();
  page = await signedInPage(browser, base, await adminUser(app, 'strapi-super-admin'));
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** The customer's edit view (which records a `customer.view`) and its Who-has-seen side panel. */
const openTrailPanel = async (): Promise<Locator> => {
  await page.goto(`${base}/admin/content-manager/collection-types/${CUSTOMER}/${customer}`);
  const panel = page.locator('aside').filter({ has: page.getByRole('heading', { name: 'Who has seen this customer', exact: true }) });
  await panel.waitFor({ timeout: 60000 });
  return panel;
};

/**
 * Polls until the canvas has drawn pixels (chart.js animates its first frame). Not waitForFunction: the
 * admin's CSP has no 'unsafe-eval', which Playwright's polled predicates need.
 */
const waitForDrawnCanvas = async (canvas: Locator, timeout = 30000) => {
  const deadline = Date.now() + timeout;
  for (;;) {
    // Typed by hand: the tests compile without the DOM library.
    const drawn = await canvas.evaluate((el) => {
      const c = el as unknown as { width: number; height: number; getContext: (t: '2d') => any };
      const pixels: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) n++;
      return n;
    });
    if (drawn > 0) return drawn;
    if (Date.now() > deadline) throw new Error('the chart canvas stayed blank');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

test('the Audit log finds the customer view by action, shows the event and the charts, and verifies the chain', async () => {
  await openTrailPanel();

  // The main-menu link, then the filter: the URL carries it and every row is a customer view.
  await page.getByRole('link', { name: 'Audit log' }).first().click();
  await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor({ timeout: 60000 });
  await page.getByRole('textbox', { name: 'Action' }).fill('customer.view');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL((url) => url.searchParams.get('action') === 'customer.view', { timeout: 30000 });
  const rows = page.locator('tbody tr');
  await rows.filter({ hasText: customer }).first().waitFor({ timeout: 30000 });
  const texts = await rows.allInnerTexts();
  expect(texts.length).toBeGreaterThan(0);
  expect(texts.every((text) => text.includes('customer.view') && text.includes(ADMIN_NAME))).toBe(true);

  // The event in full.
  await rows.first().getByRole('button', { name: 'Show the event' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('heading', { name: 'customer.view' }).waitFor();
  await dialog.getByText(customer, { exact: true }).waitFor();
  await dialog.getByText(CUSTOMER, { exact: true }).waitFor();
  await dialog.getByText(/HeadlessChrome|Chrome\//).first().waitFor(); // the user agent
  await page.screenshot({ path: path.join(SHOTS, 'audit-log-detail.png') });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  // Both charts have data (the view counts for the admin in the top actors) and are drawn.
  const charts = page.locator('canvas[role=img]');
  await charts.nth(1).waitFor({ timeout: 30000 });
  expect(await charts.count()).toBe(2);
  for (const i of [0, 1]) expect(await waitForDrawnCanvas(charts.nth(i))).toBeGreaterThan(0);

  // A fresh database was never verified; Verify now runs in the background and the badge follows it.
  await page.getByText('Never verified').waitFor({ timeout: 30000 });
  await page.getByRole('button', { name: 'Verify now' }).click();
  await page.getByText(/^Verified up to \d+ events at /).waitFor({ timeout: 60000 });
  await page.screenshot({ path: path.join(SHOTS, 'audit-log.png'), fullPage: true });
  const status = await app.strapi.plugin('id-vault').service('audit-log').status();
  expect(status).toMatchObject({ state: 'done', ok: true });
  expect(status.count).toBeGreaterThan(0);
});

test('the customer’s edit view shows who has seen it, and links to the Audit log filtered by the customer', async () => {
  const panel = await openTrailPanel();
  const view = panel.getByRole('listitem').filter({ hasText: 'Viewed the customer' }).first();
  await view.waitFor({ timeout: 30000 });
  await expect(view.innerText()).resolves.toContain(ADMIN_NAME);
  await panel.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, 'audit-trail-panel.png') });

  await panel.getByRole('link', { name: 'Open in the Audit log' }).click();
  await page.waitForURL((url) => url.pathname.endsWith('/plugins/id-vault/audit-log') && url.searchParams.get('subject') === customer, {
    timeout: 30000,
  });
  await expect(page.getByRole('textbox', { name: 'Customer or document id' }).inputValue()).resolves.toBe(customer);
  await page.locator('tbody tr').filter({ hasText: 'customer.view' }).first().waitFor({ timeout: 30000 });
  const texts = await page.locator('tbody tr').allInnerTexts();
  expect(texts.every((text) => text.includes(customer))).toBe(true);
});

test('an action prefix in the URL fills the filter form, and "Load more" pages on by keyset cursor', async () => {
  const audit = app.strapi.plugin('id-vault').service('audit');
  for (let i = 0; i < 55; i++) await audit.record({ action: 'e2e.paging', outcome: 'success', caller: { kind: 'system' }, details: { i } });
  await page.goto(`${base}/admin/plugins/id-vault/audit-log?action=e2e.`);
  const rows = page.locator('tbody tr');
  await rows.nth(49).waitFor({ timeout: 30000 });
  await expect(page.getByRole('textbox', { name: 'Action' }).inputValue()).resolves.toBe('e2e.');
  expect(await rows.count()).toBe(50);
  await page.getByRole('button', { name: 'Load more' }).click();
  await rows.nth(54).waitFor({ timeout: 30000 });
  expect(await rows.count()).toBe(55);
  await expect(page.getByRole('button', { name: 'Load more' }).count()).resolves.toBe(0);
  const texts = await rows.allInnerTexts();
  expect(texts.every((text) => text.includes('e2e.paging') && text.includes('System'))).toBe(true);
});
