/**
 * The admin panel in headless Chromium (Debian's package, driven by playwright-core): the Encrypted text
 * input shows plaintext to a super admin and the mask to an editor, and an editor who saves the form
 * with the mask untouched keeps the stored value; Reveal (with a reason) shows one field's plaintext; the
 * Field access settings page lists roles and fields. Needs `npm run build` (the admin bundle) first.
 */
import { type Browser, type Locator, type Page } from 'playwright-core';
import { bootAdminPanel, launchChromium, signIn } from '../helpers/browser';
import { adminUser, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson, mask } from '../../plugins/id-vault/server/src/domain';

const UID = 'plugin::id-vault.customer';

let app: TestApp;
let browser: Browser;
let base: string;
let documentId: string;
const person = syntheticPerson(700);

beforeAll(async () => {
  ({ app, base } = await bootAdminPanel());
  const created = await systemDocs(app, UID).create({
    data: { kind: 'personal', name: 'E2E test person', idType: 'resident-id', idNumber: person.idNumber, phone: person.phone, email: person.email, address: person.address, hidden: false },
  });
  documentId = created.documentId;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

type Credentials = { email: string; password: string };

const logIn = async (who: string | Credentials): Promise<Page> => {
  const { email, password } = typeof who === 'string' ? await adminUser(app, who) : who;
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
  await signIn(page, base, email, password);
  return page;
};

/**
 * Polls an input until its value passes `ok`. Not page.waitForFunction: the admin's CSP has no
 * 'unsafe-eval', and Playwright evaluates a polled predicate with eval inside the page.
 */
const waitForValue = async (input: Locator, ok: (value: string) => boolean, timeout = 30000) => {
  const deadline = Date.now() + timeout;
  let value = await input.inputValue();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${input}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await input.inputValue();
  }
};

const openEditView = async (page: Page) => {
  await page.goto(`${base}/admin/content-manager/collection-types/${UID}/${documentId}`);
  const idNumber = page.locator('input[name=idNumber]');
  await idNumber.waitFor({ timeout: 60000 });
  // The form renders before the document arrives.
  await waitForValue(idNumber, (value) => value !== '');
  return idNumber;
};

test('a super admin sees plaintext in the encrypted inputs', async () => {
  const page = await logIn('strapi-super-admin');
  const idNumber = await openEditView(page);
  await expect(idNumber.inputValue()).resolves.toBe(person.idNumber);
  await expect(page.locator('input[name=phone]').inputValue()).resolves.toBe(person.phone);
});

test('an editor sees masks, and saving with the masks untouched keeps the stored values', async () => {
  const page = await logIn('strapi-editor');
  const idNumber = await openEditView(page);
  await expect(idNumber.inputValue()).resolves.toBe(mask(person.idNumber, 'id-number'));
  await page.getByText('Shown masked.').first().waitFor({ timeout: 10000 });
  await page.fill('textarea[name=notes], input[name=notes]', 'Edited in the browser');
  await page.getByRole('button', { name: 'Save' }).click();
  const deadline = Date.now() + 30000;
  while ((await systemDocs(app, UID).findOne({ documentId }))?.notes !== 'Edited in the browser' && Date.now() < deadline) {
    await page.waitForTimeout(250);
  }
  const stored = await systemDocs(app, UID).findOne({ documentId });
  expect(stored).toMatchObject({ notes: 'Edited in the browser', idNumber: person.idNumber, phone: person.phone, email: person.email, address: person.address });
});

test('a user with the reveal action reveals one masked field with a reason; it is shown, not saved, and audited', async () => {
  const roles = app.strapi.service('admin::role');
  const role = await roles.create({ name: 'E2E revealer', code: 'e2e-revealer', description: 'test' });
  const fields = Object.keys(app.strapi.getModel(UID).attributes);
  await roles.assignPermissions(role.id, [
    { action: 'plugin::content-manager.explorer.read', subject: UID, properties: { fields }, conditions: [] },
    { action: 'plugin::id-vault.customer.reveal', subject: null, properties: {}, conditions: [] },
  ]);
  const page = await logIn('e2e-revealer');
  const idNumber = await openEditView(page);
  await expect(idNumber.inputValue()).resolves.toBe(mask(person.idNumber, 'id-number'));
  await idNumber.locator('xpath=..').getByRole('button', { name: 'Reveal' }).click();
  const dialog = page.getByRole('alertdialog');
  await dialog.locator('textarea').fill('Customer called to verify identity');
  await dialog.getByRole('button', { name: 'Reveal' }).click();
  await waitForValue(idNumber, (value) => value === person.idNumber);
  await expect(page.locator('input[name=phone]').inputValue()).resolves.toBe(mask(person.phone, 'phone')); // only the asked field
  const [event] = await app.strapi.db.query('plugin::id-vault.audit-event').findMany({ where: { action: 'customer.reveal', outcome: 'success' } });
  expect(event).toMatchObject({ subjectId: documentId, fields: ['idNumber'], details: { reason: 'Customer called to verify identity' } });
});

test('a user who may read but not reveal sees the mask and no Reveal button', async () => {
  const roles = app.strapi.service('admin::role');
  const role = await roles.create({ name: 'E2E reader', code: 'e2e-reader', description: 'test' });
  const fields = Object.keys(app.strapi.getModel(UID).attributes);
  await roles.assignPermissions(role.id, [{ action: 'plugin::content-manager.explorer.read', subject: UID, properties: { fields }, conditions: [] }]);
  const page = await logIn('e2e-reader');
  // The edit view asks whether this admin may reveal (no action, no grant: no), then shows no button to press.
  const asked = page.waitForResponse((r) => r.url().endsWith(`/id-vault/customers/${documentId}/reveal`) && r.request().method() === 'GET', { timeout: 60000 });
  const idNumber = await openEditView(page);
  await expect(idNumber.inputValue()).resolves.toBe(mask(person.idNumber, 'id-number'));
  expect(await (await asked).json()).toEqual({ data: { reveal: false } });
  await expect(idNumber.locator('xpath=..').getByRole('button', { name: 'Reveal' }).count()).resolves.toBe(0);
});

test('Settings → ID Vault → Field access shows the matrix of roles and encrypted fields', async () => {
  const page = await logIn('strapi-super-admin');
  await page.goto(`${base}/admin/settings/id-vault/field-access`);
  // Readable labels, not attribute names; Save stays disabled until something changes; Public has nothing to set.
  await page.getByText('Customer · ID number').first().waitFor({ timeout: 60000 });
  await page.getByText('Sales rep').first().waitFor({ timeout: 10000 });
  await page.getByText('Customer-service lead').first().waitFor({ timeout: 10000 });
  await page.getByText(/Public callers \(no login\) never reach/).first().waitFor({ timeout: 10000 });
  const save = page.getByRole('button', { name: 'Save' });
  expect(await save.isDisabled()).toBe(true);
  await page.getByRole('combobox', { name: 'Sales rep · Customer · ID number' }).first().click();
  await page.getByRole('option', { name: 'Hidden' }).click();
  expect(await save.isDisabled()).toBe(false);
});

test('Access requests: a sales rep asks, the unit head and an archive admin approve, the rep revokes', async () => {
  const roles = app.strapi.service('admin::role');
  const headRole = await roles.create({ name: 'E2E unit head', code: 'e2e-unit-head', description: 'test' });
  await roles.assignPermissions(headRole.id, [{ action: 'plugin::id-vault.grant.approve', subject: null, properties: {}, conditions: [] }]);
  const rep = await adminUser(app, 'id-vault-sales-rep');
  const head = await adminUser(app, 'e2e-unit-head');
  const archivist = await adminUser(app, 'id-vault-archive-admin');
  const idOf = async (c: Credentials) => (await app.strapi.db.query('admin::user').findOne({ where: { email: c.email } })).id;
  const unit = await app.strapi.db.query('plugin::id-vault.org-unit').create({ data: { name: 'E2E unit', members: [await idOf(rep)], heads: [await idOf(head)] } });
  // The form's picker finds customers the requester can read: the customer is in the rep's unit.
  await systemDocs(app, UID).update({ documentId, data: { team: unit.documentId } });
  const grant = () => app.strapi.db.query('plugin::id-vault.access-grant').findOne({ where: { reason: 'Customer asked for a callback' } });
  const page = async (who: Credentials) => {
    const p = await logIn(who);
    await p.goto(`${base}/admin/plugins/id-vault/access-requests`);
    await p.getByRole('heading', { name: 'Access requests' }).first().waitFor({ timeout: 60000 });
    return p;
  };
  const decide = async (who: Credentials, verb: string, status: string) => {
    const p = await page(who);
    await p.getByRole('button', { name: verb }).first().click();
    await p.getByText(status).first().waitFor({ timeout: 30000 });
    await p.context().close();
  };

  const asRep = await page(rep);
  await asRep.getByRole('combobox', { name: 'Customers' }).click();
  await asRep.getByRole('combobox', { name: 'Customers' }).pressSequentially('E2E test', { delay: 30 });
  await asRep.getByRole('option', { name: 'E2E test person' }).click();
  await asRep.getByLabel('Reason').fill('Customer asked for a callback');
  await asRep.getByRole('button', { name: 'Request access' }).click();
  await asRep.getByText('Pending').first().waitFor({ timeout: 30000 });
  await expect(asRep.getByText('E2E test person').count()).resolves.toBeGreaterThan(0);
  expect(await grant()).toMatchObject({ state: 'pending', actions: ['reveal'], days: 7 });
  await asRep.context().close();

  await decide(head, 'Approve', 'Head: Test');
  expect((await grant()).state).toBe('pending');
  await decide(archivist, 'Approve', 'Active');
  expect((await grant()).state).toBe('approved');
  const asArchivist = await page(archivist);
  await asArchivist.getByText('E2E test person').first().waitFor({ timeout: 30000 }); // who may read it sees the name
  await asArchivist.context().close();
  await decide(rep, 'Revoke', 'Revoked');
  expect((await grant()).state).toBe('revoked');
});
