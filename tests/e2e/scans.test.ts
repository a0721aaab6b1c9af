/**
 * Identity-document scans in the admin panel (headless Chromium, as encrypted-input.test.ts): a sales
 * rep uploads two images in a customer's Documents panel and sees their watermarked thumbnails; a
 * customer-service lead sees them and the preview, with no Download button; a super admin downloads the
 * original under the server's file name and finds the scans in the identity document's edit view too.
 * Also the home-page widget (and its filtered customers link) and Settings → Required documents.
 * Needs the admin panel built first (`npx strapi build`).
 */
import fs from 'fs';
import path from 'path';
import { randomBytes } from 'crypto';
import sharp from 'sharp';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { SHOTS, bootAdminPanel, launchChromium, signIn } from '../helpers/browser';
import { adminUser, ROOT, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';

const CUSTOMER = 'plugin::id-vault.customer';
let app: TestApp;
let browser: Browser;
let base: string;
let unit: string;
let customer: string;
let idFront: string;
const scanDir = path.join(ROOT, '.tmp', 'test', `e2e-scans-${randomBytes(4).toString('hex')}`);

type Credentials = { email: string; password: string };

/** A small synthetic "card" photo: a tinted background and a label, as JPEG. */
const cardJpeg = (label: string, tint: { r: number; g: number; b: number }) =>
  sharp({ create: { width: 640, height: 400, channels: 3, background: tint } })
    .composite([
      {
        input: Buffer.from(`<svg width="640" height="400"><rect x="40" y="40" width="560" height="320" rx="24" fill="white" opacity="0.6"/>
          <text x="80" y="210" font-size="48" font-family="sans-serif" fill="#333">${label}</text></svg>`),
      },
    ])
    .jpeg()
    .toBuffer();

beforeAll(async () => {
  process.env.ID_VAULT_SCAN_STORE = 'local';
  process.env.ID_VAULT_SCAN_DIR = scanDir;
  ({ app, base } = await bootAdminPanel());
  unit = (await systemDocs(app, 'plugin::id-vault.org-unit').create({ data: { name: 'E2E scans unit' } })).documentId;
  const person = syntheticPerson(710);
  customer = (
    await systemDocs(app, CUSTOMER).create({
      data: { kind: 'personal', name: 'E2E scans person', idType: 'resident-id', idNumber: person.idNumber, team: unit, hidden: false },
    })
  ).documentId;
  idFront = (await systemDocs(app, 'plugin::id-vault.identity-document').create({ data: { type: 'id-front', customer } })).documentId;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  delete process.env.ID_VAULT_SCAN_DIR;
  fs.rmSync(scanDir, { recursive: true, force: true });
});

/** An admin of a default ID Vault role, member of the customer's org unit. */
const member = async (roleCode: string): Promise<Credentials> => {
  const credentials = await adminUser(app, roleCode);
  const user = await app.strapi.db.query('admin::user').findOne({ where: { email: credentials.email } });
  await systemDocs(app, 'plugin::id-vault.org-unit').update({ documentId: unit, data: { members: { connect: [user.documentId] } } });
  return credentials;
};

const logIn = async ({ email, password }: Credentials): Promise<Page> => {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true })).newPage();
  await signIn(page, base, email, password);
  return page;
};

/** The Documents side panel of the customer's edit view. */
const openDocumentsPanel = async (page: Page): Promise<Locator> => {
  await page.goto(`${base}/admin/content-manager/collection-types/${CUSTOMER}/${customer}`);
  const panel = page.locator('aside').filter({ has: page.getByRole('heading', { name: 'Documents', exact: true }) });
  await panel.getByText('ID card, front').first().waitFor({ timeout: 60000 });
  return panel;
};

/**
 * Polls until `within` holds `count` images shown from blob: URLs and decoded. Not waitForFunction: the
 * admin's CSP has no 'unsafe-eval', which Playwright's polled predicates need.
 */
const waitForBlobImages = async (within: Locator, count: number, timeout = 30000) => {
  const images = within.locator('img[src^="blob:"]');
  const deadline = Date.now() + timeout;
  for (;;) {
    // Typed by hand: the tests compile without the DOM library.
    const widths = await images.evaluateAll((els) =>
      (els as unknown as Array<{ complete: boolean; naturalWidth: number }>).map((img) => (img.complete ? img.naturalWidth : 0)),
    );
    if (widths.length === count && widths.every((w) => w > 0)) return widths;
    if (Date.now() > deadline) throw new Error(`expected ${count} loaded blob images, got widths ${JSON.stringify(widths)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

test('a sales rep uploads two scans in the Documents panel and sees their thumbnails', async () => {
  const page = await logIn(await member('id-vault-sales-rep'));
  const panel = await openDocumentsPanel(page);
  await panel.getByText('ID card, back').first().waitFor(); // what is missing, before any scan
  await panel.locator('input[type=file]').setInputFiles([
    { name: 'front-1.jpg', mimeType: 'image/jpeg', buffer: await cardJpeg('Front one', { r: 120, g: 160, b: 220 }) },
    { name: 'front-2.jpg', mimeType: 'image/jpeg', buffer: await cardJpeg('Front two', { r: 220, g: 170, b: 120 }) },
  ]);
  const widths = await waitForBlobImages(panel, 2);
  expect(widths.every((w) => w <= 320)).toBe(true); // thumbnails, not the originals
  // A refused file: the server's message is shown under the drop zone.
  await panel.locator('input[type=file]').setInputFiles([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a scan') }]);
  await panel.getByRole('alert').getByText('This file type is not accepted').waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(SHOTS, 'scans-rep-panel.png'), fullPage: true });
  const scans = await app.strapi.db.query('plugin::id-vault.scan').findMany({});
  expect(scans).toHaveLength(2);
  await page.context().close();
});

test('a customer-service lead sees the thumbnails and the preview, with no Download button', async () => {
  const page = await logIn(await member('id-vault-customer-service-lead'));
  const panel = await openDocumentsPanel(page);
  await waitForBlobImages(panel, 2);
  await expect(panel.getByText(/drop scans here/i).count()).resolves.toBe(0); // no scan.upload
  await panel.getByRole('button', { name: 'ID card, front, scan 1' }).click();
  const dialog = page.getByRole('dialog');
  const [width] = await waitForBlobImages(dialog, 1);
  expect(width).toBeGreaterThan(320); // the preview, larger than a thumbnail
  await expect(dialog.getByRole('button', { name: /download/i }).count()).resolves.toBe(0);
  await expect(dialog.getByRole('button', { name: /delete/i }).count()).resolves.toBe(0);
  await page.screenshot({ path: path.join(SHOTS, 'scans-lead-preview.png') });
  await page.context().close();
});

test('a super admin downloads the cleaned original under the server’s file name, and sees the scans in the document’s edit view', async () => {
  const page = await logIn(await adminUser(app, 'strapi-super-admin'));
  const panel = await openDocumentsPanel(page);
  await waitForBlobImages(panel, 2);
  await panel.getByRole('button', { name: 'ID card, front, scan 2' }).click();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page
      .getByRole('dialog')
      .getByRole('button', { name: /download/i })
      .click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^个人-E[*_]-身份证正面-\d{8}\.jpg$/);
  const bytes = fs.readFileSync(await download.path());
  expect((await sharp(bytes).metadata()).width).toBe(640);

  // The identity document's own edit view has the same scans in its Scans panel.
  await page.goto(`${base}/admin/content-manager/collection-types/plugin::id-vault.identity-document/${idFront}`);
  const scansPanel = page.locator('aside').filter({ has: page.getByRole('heading', { name: 'Scans', exact: true }) });
  await scansPanel.waitFor({ timeout: 60000 });
  await waitForBlobImages(scansPanel, 2);
  await page.context().close();
});

test('the home page lists the customer as missing documents; Settings → Required documents edits the rules', async () => {
  const page = await logIn(await adminUser(app, 'strapi-super-admin'));
  await page.goto(`${base}/admin`);
  const widget = page.getByRole('region', { name: 'Identity documents' });
  const link = widget.getByRole('link', { name: 'E2E scans person' });
  await link.waitFor({ timeout: 60000 });
  await expect(widget.getByText('Customers with missing documents (1)').count()).resolves.toBe(1);
  await widget.scrollIntoViewIfNeeded();
  await widget.screenshot({ path: path.join(SHOTS, 'scans-home-widget.png') });
  await link.click();
  await page.waitForURL((url) => url.pathname.endsWith(`/${CUSTOMER}/${customer}`), { timeout: 30000 });
  // The widget's own link: the customers list filtered to those missing documents.
  await page.goto(`${base}/admin`);
  await widget.getByRole('link', { name: 'Customers with missing documents', exact: true }).click();
  await page.getByRole('gridcell', { name: 'E2E scans person' }).waitFor({ timeout: 30000 });

  await page.goto(`${base}/admin/settings/id-vault/required-documents`);
  await page.getByRole('heading', { name: 'Personal customers' }).waitFor({ timeout: 60000 });
  const save = page.getByRole('button', { name: 'Save' });
  await expect(save.isDisabled()).resolves.toBe(true);
  // Personal, alternative 2 (the passport): also accept an ID card front with it.
  await page.getByRole('checkbox', { name: 'ID card, front', exact: true }).nth(1).click();
  await expect(save.isEnabled()).resolves.toBe(true);
  await page.screenshot({ path: path.join(SHOTS, 'scans-required-documents.png'), fullPage: true });
  await save.click();
  await page.getByText('Required documents saved').first().waitFor({ timeout: 30000 });
  const rules = await app.strapi.plugin('id-vault').service('documents').rules();
  expect(rules.personal).toEqual([
    ['id-front', 'id-back'],
    ['id-front', 'passport'],
  ]);
  await page.context().close();
});
