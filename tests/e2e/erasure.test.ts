/**
 * Erasure in the admin panel (headless Chromium): a super admin opens a customer, the Erasure side panel's
 * "Erase for good" asks for a reason and the typed word ERASE (the confirm button stays disabled until both
 * are given), erases, and the reloaded edit view shows the husk; the tombstone keeps the reason.
 * Needs the admin panel built first (`npx strapi build`).
 */
import path from 'path';
import { type Browser, type Page } from 'playwright-core';
import { SHOTS, bootAdminPanel, launchChromium, signedInPage } from '../helpers/browser';
import { adminUser, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';

let app: TestApp;
let browser: Browser;
let page: Page;
let base: string;

beforeAll(async () => {
  ({ app, base } = await bootAdminPanel());
  browser = await launchChromium();
  page = await signedInPage(browser, base, await adminUser(app, 'strapi-super-admin'));
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test('Erase for good needs a reason and the typed word, then the edit view shows the husk', async () => {
  const person = syntheticPerson(4411);
  const customer = await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: 'E2E erasure person', idType: 'resident-id', idNumber: person.idNumber, phone: person.phone } });
  await page.goto(`${base}/admin/content-manager/collection-types/${UIDS.customer}/${customer.documentId}`);
  await page.getByRole('button', { name: 'Erase for good' }).click();
  const dialog = page.getByRole('alertdialog');
  const confirm = dialog.getByRole('button', { name: 'Erase for good' });
  await dialog.getByLabel('Reason').fill('Customer asked to be forgotten');
  await expect(confirm.isDisabled()).resolves.toBe(true); // the typed word is missing
  await dialog.getByLabel('Type ERASE to confirm').fill('ERASE');
  await expect(confirm.isDisabled()).resolves.toBe(false);
  await page.waitForTimeout(400); // the dialog's fade-in, for the screenshot
  await page.screenshot({ path: path.join(SHOTS, 'erasure-dialog.png') });
  await confirm.click();
  await page.getByRole('textbox', { name: /^name/i }).and(page.locator('[value="[erased]"]')).waitFor({ timeout: 60000 });
  await page.screenshot({ path: path.join(SHOTS, 'erasure-husk.png') });
  const tombstone = await app.strapi.db.query(UIDS.erasure).findOne({ where: { customerDocumentId: customer.documentId } });
  expect(tombstone).toMatchObject({ reason: 'Customer asked to be forgotten', replayed: false });
});
