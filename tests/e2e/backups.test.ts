/**
 * Settings → ID Vault → Backups in the admin panel (headless Chromium): a super admin clicks "Back up now";
 * the request answers at once, the page follows the backup while it is written and says when it is; the new
 * file is listed with its size and the master key it needs. Needs the admin panel built first (`npx strapi build`).
 */
import fs from 'fs';
import path from 'path';
import { randomBytes } from 'crypto';
import { type Browser, type Page } from 'playwright-core';
import { SHOTS, bootAdminPanel, launchChromium, signedInPage } from '../helpers/browser';
import { adminUser, ROOT, type TestApp } from '../helpers/strapi';

const BACKUPS = path.join(ROOT, '.tmp', 'test', `e2e-backups-${randomBytes(4).toString('hex')}`);
const saved = process.env.ID_VAULT_BACKUP_DIR;

let app: TestApp;
let browser: Browser;
let page: Page;
let base: string;

beforeAll(async () => {
  process.env.ID_VAULT_BACKUP_DIR = BACKUPS;
  ({ app, base } = await bootAdminPanel());
  browser = await launchChromium();
  page = await signedInPage(browser, base, await adminUser(app, 'strapi-super-admin'));
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  fs.rmSync(BACKUPS, { recursive: true, force: true });
  if (saved === undefined) delete process.env.ID_VAULT_BACKUP_DIR;
  else process.env.ID_VAULT_BACKUP_DIR = saved;
});

test('Back up now starts a backup, the page follows it and lists the new file', async () => {
  await page.goto(`${base}/admin/settings/id-vault/backups`);
  await page.getByText('No backup has been written yet.').waitFor({ timeout: 60000 });
  const started = page.waitForResponse((r) => r.url().endsWith('/id-vault/backups') && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Back up now' }).click();
  expect((await started).status()).toBe(202);
  await page.getByText('Backup written.').waitFor({ timeout: 60000 });
  const files = fs.readdirSync(BACKUPS).filter((f) => f.endsWith('.idvb'));
  expect(files).toHaveLength(1);
  await page.getByText(/^Last success: /).waitFor();
  await expect(page.getByRole('row').filter({ hasText: 'Complete' }).count()).resolves.toBe(1);
  await expect(page.getByRole('button', { name: 'Back up now' }).isEnabled()).resolves.toBe(true);
  await page.screenshot({ path: path.join(SHOTS, 'backups.png') });
});
