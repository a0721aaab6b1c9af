/**
 * The Export button of the customers list (headless Chromium, as audit-log.test.ts): an admin whose role
 * reads customers in the Content Manager and holds *Export masked* — with the Field access matrix showing
 * it the ID number plain, the phone masked and the e-mail hidden — clicks Export and gets a CSV: BOM and
 * header, one row per customer, the ID number and phone masked (no plaintext of either anywhere in the
 * file), no e-mail column; with a list filter in the URL, only the filtered rows.
 * The download is read from Playwright's stream and lives only in a private temp dir removed at the end.
 * Needs the admin panel built first (`npx strapi build`).
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { type Browser, type Page } from 'playwright-core';
import { bootAdminPanel, launchChromium, signedInPage } from '../helpers/browser';
import { adminUser, systemDocs, type TestApp } from '../helpers/strapi';
import { mask, syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { parse } from 'csv-parse/sync';

const CUSTOMER = 'plugin::id-vault.customer';
const ROLE = 'e2e-exporter';

let app: TestApp;
let browser: Browser;
let page: Page;
let base: string;
let downloads: string;
const people: Record<string, { idNumber: string; phone: string; email: string; industry: string }> = {};

beforeAll(async () => {
  // Playwright keeps each download in this directory until the browser closes: ours, private, removed in afterAll.
  downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'idv-e2e-export-'));
  fs.chmodSync(downloads, 0o700);
  ({ app, base } = await bootAdminPanel());

  const unit = (await systemDocs(app, 'plugin::id-vault.org-unit').create({ data: { name: 'E2E export unit' } })).documentId;
  for (let i = 0; i < 6; i++) {
    const p = syntheticPerson(730 + i);
    const industry = i < 2 ? 'Retail' : 'Logistics';
    const data = { kind: 'personal', name: `E2E export ${i}`, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, industry, team: unit, hidden: false };
    const { documentId } = await systemDocs(app, CUSTOMER).create({ data });
    people[documentId] = { idNumber: p.idNumber, phone: p.phone, email: p.email, industry };
  }

  // The role: read customers (every field) and org units in the Content Manager, and export masked.
  const roles = app.strapi.service('admin::role');
  const role = await roles.create({ name: 'E2E exporter', code: ROLE, description: 'test' });
  const fieldsOf = (uid: string) => Object.keys(app.strapi.getModel(uid).attributes);
  await roles.assignPermissions(role.id, [
    { action: 'plugin::content-manager.explorer.read', subject: CUSTOMER, properties: { fields: fieldsOf(CUSTOMER) }, conditions: [] },
    { action: 'plugin::content-manager.explorer.read', subject: 'plugin::id-vault.org-unit', properties: { fields: fieldsOf('plugin::id-vault.org-unit') }, conditions: [] },
    { action: 'plugin::id-vault.export.masked', subject: null, properties: {}, conditions: [] },
  ]);
  // Field access: what the role sees in the list; the masked export right masks even what it sees plain.
  const access = app.strapi.plugin('id-vault').service('access');
  const policy = await access.policy();
  policy.subjects[`admin-role:${ROLE}`] = { fields: { [`${CUSTOMER}#idNumber`]: 'plain', [`${CUSTOMER}#phone`]: 'masked', [`${CUSTOMER}#email`]: 'hidden' } };
  await access.save(policy);

  browser = await launchChromium({ downloadsPath: downloads });
  page = await signedInPage(browser, base, await adminUser(app, ROLE), { acceptDownloads: true });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (downloads) fs.rmSync(downloads, { recursive: true, force: true });
});

/** RFC 4180 records (quoted cells, doubled quotes, CRLF between records), every cell a string. */
const parseCsv = (text: string): string[][] => parse(text);

/** Opens the customers list with this query, clicks Export and returns the file's bytes (read from Playwright's stream). */
const exportFromList = async (query: string): Promise<{ name: string; bytes: Buffer }> => {
  await page.goto(`${base}/admin/content-manager/collection-types/${CUSTOMER}?${query}`);
  const button = page.getByRole('button', { name: 'Export', exact: true });
  await button.waitFor({ timeout: 60000 });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), button.click()]);
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const name = download.suggestedFilename();
  await download.delete();
  return { name, bytes: Buffer.concat(chunks) };
};

/**
 * The file's records keyed by its header, after checking the BOM; the formula guard's apostrophe undone
 * (a cell starting with = + - @ is written with a ' first: a masked phone `+86 138****0730` among them).
 */
const records = (bytes: Buffer) => {
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const [header, ...rows] = parseCsv(bytes.subarray(3).toString('utf8'));
  const unguard = (v: string) => (/^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v);
  return { header, rows: rows.map((r) => Object.fromEntries(header.map((h, i) => [h, unguard(r[i])]))) };
};

const noPlaintext = (text: string, ids: string[]) => {
  for (const id of ids) {
    expect(text.includes(people[id].idNumber)).toBe(false);
    expect(text.includes(people[id].phone)).toBe(false);
    expect(text.includes(people[id].email)).toBe(false);
  }
};

test('the Export button downloads every customer as CSV, the ID number and phone masked, no e-mail column', async () => {
  const { name, bytes } = await exportFromList('page=1&pageSize=10&sort=name:ASC');
  expect(name).toMatch(/\.csv$/);
  const { header, rows } = records(bytes);
  expect(header.slice(0, 5)).toEqual(['documentId', 'kind', 'name', 'idNumber', 'phone']);
  expect(header).not.toContain('email');
  expect(rows.map((r) => r.documentId).sort()).toEqual(Object.keys(people).sort());
  for (const r of rows) {
    expect(r.idNumber).toBe(mask(people[r.documentId].idNumber, 'id-number'));
    expect(r.phone).toBe(mask(people[r.documentId].phone, 'phone'));
  }
  noPlaintext(bytes.toString('utf8'), Object.keys(people));
});

test('with a filter applied to the list, the export has only the filtered rows', async () => {
  const { bytes } = await exportFromList(`page=1&pageSize=10&sort=name:ASC&${encodeURI('filters[$and][0][industry][$eq]=Retail')}`);
  const { rows } = records(bytes);
  const retail = Object.keys(people).filter((id) => people[id].industry === 'Retail');
  expect(rows.map((r) => r.documentId).sort()).toEqual(retail.sort());
  expect(rows.every((r) => r.industry === 'Retail' && r.idNumber === mask(people[r.documentId].idNumber, 'id-number'))).toBe(true);
  noPlaintext(bytes.toString('utf8'), Object.keys(people));
  // The export's event says how many rows it sent (and names the filter, never its value).
  const [event] = await app.strapi.db.query('plugin::id-vault.audit-event').findMany({ where: { action: 'customer.export' }, orderBy: { id: 'desc' }, limit: 1 });
  expect(event).toMatchObject({ outcome: 'success', details: { rows: retail.length, masked: expect.arrayContaining(['idNumber', 'phone']) } });
});
