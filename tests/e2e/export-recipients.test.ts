/**
 * Export recipients in the admin panel (headless Chromium, as audit-log.test.ts): a super admin adds an
 * integrator's certificate under Settings → ID Vault → Export recipients (a refused one first), sees it
 * listed; in the customers list the Export button is then a menu that offers a super admin (plain export,
 * switch on) only the encrypted file, which openssl opens; finally the recipient is deleted after a confirmation.
 * Needs the admin panel built first (`npx strapi build`).
 */
import fs from 'fs';
import path from 'path';
import { type Browser, type Page } from 'playwright-core';
import { SHOTS, bootAdminPanel, launchChromium, signedInPage } from '../helpers/browser';
import { adminUser, systemDocs, type TestApp } from '../helpers/strapi';
import { makeCertificate, opensslDir, type TestCertificate } from '../helpers/certificates';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';

const CUSTOMER = 'plugin::id-vault.customer';
let app: TestApp;
let browser: Browser;
let page: Page;
let base: string;
let cert: TestCertificate;
const openssl = opensslDir();

beforeAll(async () => {
  ({ app, base } = await bootAdminPanel());
  const person = syntheticPerson(731);
  await systemDocs(app, CUSTOMER).create({ data: { kind: 'personal', name: 'E2E export person', idType: 'resident-id', idNumber: person.idNumber, hidden: false } });
  cert = makeCertificate({ cn: 'e2e.integrator.test' });
  browser = await launchChromium();
  page = await signedInPage(browser, base, await adminUser(app, 'strapi-super-admin'), { acceptDownloads: true });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  openssl.remove();
});

test('add a recipient, export encrypted to it from the customers list, delete it', async () => {
  await page.goto(`${base}/admin/settings/id-vault/export-recipients`);
  await page.getByRole('heading', { name: 'Export recipients', level: 1 }).waitFor({ timeout: 60000 });
  await page.getByText('No export recipients yet.').waitFor();

  // A refused certificate: the server's reason as a notification, nothing listed.
  await page.getByRole('textbox', { name: 'Name' }).fill('Old integrator');
  const old = makeCertificate({ notBefore: new Date(Date.now() - 30 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
  await page.getByRole('textbox', { name: 'Certificate (PEM)' }).fill(old.certPem);
  await page.getByRole('button', { name: 'Add recipient' }).click();
  await page.getByText('certificate refused: the certificate has expired').waitFor({ timeout: 30000 });

  await page.getByRole('textbox', { name: 'Name' }).fill('Integrator');
  await page.getByRole('textbox', { name: 'Certificate (PEM)' }).fill(cert.certPem);
  await page.getByRole('button', { name: 'Add recipient' }).click();
  const row = page.getByRole('row').filter({ hasText: 'Integrator' });
  await row.waitFor({ timeout: 30000 });
  const fingerprint = (await app.knex('idv_export_recipients').first('fingerprint')).fingerprint as string;
  await expect(row.innerText()).resolves.toContain('CN=e2e.integrator.test,O=Example Integrator Ltd,C=CN');
  await expect(row.getByText(fingerprint).count()).resolves.toBe(1);
  await page.screenshot({ path: path.join(SHOTS, 'export-recipients.png') });

  // The customers list: the Export button is a menu; a super admin exports plain, so no plain file is offered.
  await page.goto(`${base}/admin/content-manager/collection-types/${CUSTOMER}`);
  await page.getByRole('button', { name: 'Export' }).click();
  const encrypted = page.getByRole('menuitem', { name: 'Encrypted to Integrator' });
  await encrypted.waitFor({ timeout: 30000 });
  await expect(page.getByRole('menuitem', { name: 'CSV file' }).count()).resolves.toBe(0);
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), encrypted.click()]);
  expect(download.suggestedFilename()).toMatch(/^customers-\d{8}-\d{4}\.csv\.p7m$/);
  const file = await download.path();
  const opened = openssl.decrypt(fs.readFileSync(file!), cert);
  expect([opened.status, opened.stderr]).toEqual([0, '']);
  expect(opened.stdout.toString('utf8')).toContain('E2E export person');
  await download.delete();

  // Delete, after the confirmation.
  await page.goto(`${base}/admin/settings/id-vault/export-recipients`);
  await page.getByRole('button', { name: 'Delete Integrator' }).click();
  const dialog = page.getByRole('alertdialog');
  await dialog.getByText('Exports can no longer be encrypted to Integrator.', { exact: false }).waitFor();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('No export recipients yet.').waitFor({ timeout: 30000 });
  await expect(app.knex('idv_export_recipients').count({ n: '*' }).first()).resolves.toMatchObject({ n: 0 });
});
