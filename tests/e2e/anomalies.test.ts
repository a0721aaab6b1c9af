/**
 * Anomaly alerts in the admin panel (headless Chromium, as audit-log.test.ts): an archive admin exports more
 * than the (lowered) threshold over HTTP; a super admin sees the alert in the home-page widget and on the
 * Audit log page (badge, row), clears it with a reason there, and the account can export again; the
 * thresholds are edited there too.
 * Needs the admin panel built first (`npx strapi build`).
 */
import path from 'path';
import { randomBytes } from 'crypto';
import { type Browser, type Page } from 'playwright-core';
import { SHOTS, bootAdminPanel, launchChromium, signedInPage } from '../helpers/browser';
import { adminUser, adminSession, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { ARCHIVE_ADMIN_ROLE, UIDS } from '../../plugins/id-vault/shared';

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

let app: TestApp;
let browser: Browser;
let page: Page;
let base: string;
let tripper: { id: number; jwt: string };

const exportAs = (jwt: string) => app.http().get('/id-vault/customers/export?format=jsonl').set(bearer(jwt));

beforeAll(async () => {
  ({ app, base } = await bootAdminPanel());
  // The archive admin exports plain, as a file (the plain-only-encrypted switch is tested in exports.test.ts).
  app.strapi.config.set('plugin::id-vault.exports', { ...app.strapi.config.get('plugin::id-vault.exports'), plainOnlyEncrypted: false });
  const person = syntheticPerson(731);
  await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: 'E2E anomaly person', idType: 'resident-id', idNumber: person.idNumber } });

  // Thresholds low enough for a test; an archive admin over the export threshold.
  const superJwt = await adminSession(app, 'strapi-super-admin');
  const put = await app.http().put('/id-vault/anomaly-settings').set(bearer(superJwt)).send({ settings: { views: 100, reveals: 10, exports: 1, windowMinutes: 10, suspend: true } });
  expect(put.status).toBe(200);
  const role = await app.strapi.db.query('admin::role').findOne({ where: { code: ARCHIVE_ADMIN_ROLE } });
  const email = `tripper-${randomBytes(3).toString('hex')}@example.test`;
  const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
  const user = await app.strapi.service('admin::user').create({ email, firstname: 'Tripper', lastname: 'Archivist', password, isActive: true, roles: [role.id] });
  tripper = { id: user.id, jwt: (await app.http().post('/admin/login').send({ email, password })).body.data.token };
  for (let i = 0; i < 2; i++) expect((await exportAs(tripper.jwt)).status).toBe(200);
  await app.strapi.plugin('id-vault').service('audit').flush(); // chained, so detected
  expect((await exportAs(tripper.jwt)).status).toBe(403);

  browser = await launchChromium();
  page = await signedInPage(browser, base, await adminUser(app, 'strapi-super-admin'));
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test('the home page widget lists the open alert, linking to the account’s events', async () => {
  await page.goto(`${base}/admin`);
  const link = page.getByRole('link', { name: 'Tripper Archivist · Exports' });
  await link.waitFor({ timeout: 60000 });
  await page.getByText('1 open').waitFor();
  await page.getByText('2 in 10 min (more than 1)').waitFor();
  await link.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, 'anomaly-widget.png') });
  // The link opens the Audit log filtered by the account.
  await link.click();
  await page.waitForURL((url) => url.pathname.endsWith('/plugins/id-vault/audit-log') && url.searchParams.get('actorId') === String(tripper.id), { timeout: 30000 });
});

test('the Audit log page shows the badge and the alert; clearing it with a reason restores export', async () => {
  await page.goto(`${base}/admin/plugins/id-vault/audit-log`);
  await page.getByRole('heading', { name: 'Anomaly alerts' }).waitFor({ timeout: 60000 });
  await page.getByText('1 open').waitFor();
  const row = page.locator('tbody tr').filter({ hasText: 'Tripper Archivist' });
  await row.filter({ hasText: 'Exports' }).waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'anomaly-alerts.png'), fullPage: true });

  await row.getByRole('button', { name: 'Clear' }).click();
  const dialog = page.getByRole('alertdialog');
  await dialog.getByText('Clear this alert').waitFor();
  await dialog.locator('textarea').fill('monthly report, confirmed with the team head');
  await dialog.getByRole('button', { name: 'Clear' }).click();
  await page.getByText('Alert cleared').waitFor({ timeout: 30000 });
  await page.getByText('None open').waitFor({ timeout: 30000 });

  expect((await exportAs(tripper.jwt)).status).toBe(200);
  const cleared = await app.strapi.db.query(UIDS.auditEvent).findMany({ where: { action: 'anomaly.cleared', outcome: 'success' } });
  expect(cleared).toHaveLength(1);
  expect(cleared[0].details).toMatchObject({ kind: 'exports', actorType: 'admin', actorId: String(tripper.id), reason: 'monthly report, confirmed with the team head' });
});

test('the thresholds are edited on the Audit log page (settings.manage) and saved, audited', async () => {
  await page.goto(`${base}/admin/plugins/id-vault/audit-log`);
  await page.getByRole('button', { name: 'Thresholds' }).click();
  const exportsField = page.getByRole('textbox', { name: 'Exports' });
  await exportsField.fill('5');
  await page.getByRole('button', { name: 'Save thresholds' }).click();
  await page.getByText('Anomaly settings saved').waitFor({ timeout: 30000 });
  expect(await app.strapi.plugin('id-vault').service('anomalies').settings()).toEqual({ views: 100, reveals: 10, exports: 5, windowMinutes: 10, suspend: true });
  await app.strapi.plugin('id-vault').service('audit').flush();
  const [update] = await app.strapi.db.query(UIDS.auditEvent).findMany({ where: { action: 'anomaly-settings.update' }, orderBy: { id: 'desc' }, limit: 1 });
  expect(update.details).toMatchObject({ changed: ['exports'], exports: 5 });
});
