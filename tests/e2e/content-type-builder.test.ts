/**
 * An admin adds an *Encrypted text* field in the Content-Type Builder and saves a value in it, in headless
 * Chromium at 1440×900, against the real `strapi develop --no-watch-admin` (tests/helpers/develop.ts: a copy of
 * the app outside the repository, its own port, SQLite file and secrets). The field goes on *Identity document*
 * (the builder cannot save Customer or Org unit: README, Known limits); after Save the server restarts behind
 * Strapi's "Waiting for restart" overlay. Then an entry is created in the Content Manager: its row holds
 * ciphertext (read from the SQLite file itself), and the value reads back in the panel. A second test opens the
 * dialog in 中文. No response is a 5xx.
 * Screenshots: .tmp/e2e/content-type-builder/ (git-ignored). Needs `npm run build` first.
 */
import fs from 'fs';
import path from 'path';
import { type Browser, type Page } from 'playwright-core';
import { CHROMIUM, launchChromium, signIn } from '../helpers/browser';
import { startDevelop, type DevelopServer } from '../helpers/develop';
import { ROOT } from '../helpers/strapi';

const SHOTS = path.join(ROOT, '.tmp', 'e2e', 'content-type-builder');
const UID = 'plugin::id-vault.identity-document';
const ADMIN = { email: 'builder@example.test', password: 'Builder-Pw-1a', firstname: 'Ada', lastname: 'Builder' };
const SERIAL = 'SN-4711-ZX'; // a fictitious document serial

let server: DevelopServer;
let browser: Browser;
const failures: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startDevelop();
  // A fresh database: the first admin registers (what the panel's welcome form does).
  const registered = await fetch(`${server.base}/admin/register-admin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
  expect(registered.status).toBe(200);
  browser = await launchChromium();
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** The stored column of the entry, straight from the SQLite file (not through Strapi). */
const storedSerial = (documentId: string): string => {
  const Database = require('better-sqlite3');
  const db = new Database(server.database, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('select serial_no from idv_identity_documents where document_id = ?').get(documentId).serial_no;
  } finally {
    db.close();
  }
};

/**
 * After Save the builder shows "Waiting for restart…" until the server answers again and the page reloads. If
 * the overlay outlives a bounded wait (a restart the page missed), the server's health check decides and the
 * page is reloaded by hand.
 */
const waitThroughRestart = async (page: Page) => {
  const overlay = page.getByText(/Waiting for restart/);
  await overlay.waitFor({ timeout: 30_000 }).catch(() => {}); // may come and go between two looks
  await shot(page, 'ctb-restarting');
  const gone = await overlay.waitFor({ state: 'hidden', timeout: 120_000 }).then(() => true, () => false);
  if (!gone) {
    console.warn('content-type-builder e2e: the restart overlay outlasted 120 s; reloading once /_health answers');
    await server.waitUntilUp(120_000);
    await page.reload();
  }
};

/** A signed-in page at 1440×900 in the given admin language; every 5xx it meets is a failure of the test. */
const logIn = async (locale: 'en' | 'zh-Hans'): Promise<Page> => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: locale === 'en' ? 'en-US' : 'zh-CN' });
  await context.addInitScript((l) => window.localStorage.setItem('strapi-admin-language', l), locale);
  const page = await context.newPage();
  page.on('response', (r) => {
    if (r.status() >= 500) failures.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  await signIn(page, server.base, ADMIN.email, ADMIN.password);
  return page;
};

test('an Encrypted text field added in the Content-Type Builder stores ciphertext and reads back in the panel', async () => {
  const page = await logIn('en');

  // 1. Content-Type Builder → Identity document → Add another field → Custom → Encrypted text.
  await page.goto(`${server.base}/admin/plugins/content-type-builder/content-types/${UID}`);
  await page.getByRole('heading', { name: 'Identity document' }).waitFor({ timeout: 60_000 });
  // The builder's guided tour greets a new admin.
  await page.getByRole('button', { name: 'Skip' }).click({ timeout: 10_000 }).catch(() => {});
  await shot(page, 'ctb-type');
  await page.getByRole('button', { name: 'Add another field', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('tab', { name: 'Custom' }).click();
  await dialog.getByRole('button', { name: /Encrypted text/ }).click();
  await dialog.locator('input[name=name]').fill('serialNo');
  // Options that apply to one choice only show with it: Prefix length with "exact match and a prefix", Keep
  // first/last N with the mask "keep first N / last N".
  const shown = async (...names: string[]) => Promise.all(names.map((n) => dialog.locator(`input[name="options.${n}"]`).count()));
  expect(await shown('prefixLength', 'keepFirst', 'keepLast')).toEqual([0, 0, 0]);
  await shot(page, 'ctb-encrypted-dialog');
  const choose = async (select: string, option: string) => {
    await dialog.getByRole('combobox', { name: select }).click();
    await page.getByRole('option', { name: option, exact: true }).click();
  };
  await choose('Searchable', 'Exact match and a prefix of N characters');
  await choose('Mask rule', 'Keep first N / last N');
  expect(await shown('prefixLength', 'keepFirst', 'keepLast')).toEqual([1, 1, 1]);
  await shot(page, 'ctb-encrypted-dialog-dependent-options');
  await choose('Searchable', 'Exact match');
  await choose('Mask rule', 'Hide all');
  expect(await shown('prefixLength', 'keepFirst', 'keepLast')).toEqual([0, 0, 0]);
  await dialog.getByRole('button', { name: 'Finish' }).click();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await waitThroughRestart(page);
  // Reloaded on the restarted server: the field is listed as saved (no longer marked NEW).
  await page.getByRole('button', { name: 'Edit serialNo' }).waitFor({ timeout: 60_000 });
  expect(await page.getByText('NEW', { exact: true }).count()).toBe(0);
  await shot(page, 'ctb-saved');

  // The builder wrote the field into the copy's extension of the plugin's type (never into the repository).
  const written = JSON.parse(fs.readFileSync(path.join(server.dir, 'src', 'extensions', 'id-vault', 'content-types', 'identity-document', 'schema.json'), 'utf8'));
  expect(written.attributes.serialNo).toMatchObject({ type: 'customField', customField: 'plugin::id-vault.encrypted', options: { searchable: 'exact' } });
  const inRepo = path.join(ROOT, 'src', 'extensions', 'id-vault', 'content-types', 'identity-document', 'schema.json');
  expect(fs.existsSync(inRepo) && fs.readFileSync(inRepo, 'utf8').includes('serialNo')).toBe(false);

  // 2. Content Manager → Identity document → Create new entry, with a value in the new field.
  await page.goto(`${server.base}/admin/content-manager/collection-types/${UID}/create`);
  await page.locator('input[name=serialNo]').waitFor({ timeout: 60_000 });
  await page.locator('[role=combobox][name=type]').click();
  await page.getByRole('option', { name: 'Passport' }).click();
  await page.locator('input[name=serialNo]').fill(SERIAL);
  await shot(page, 'cm-create');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL((url) => !url.pathname.endsWith('/create'), { timeout: 60_000 });
  const documentId = new URL(page.url()).pathname.split('/').pop()!;

  // 3. Stored as ciphertext: the vault's versioned format, not the value.
  const stored = storedSerial(documentId);
  expect(stored).toMatch(/^\$idv1\$/);
  expect(stored).not.toContain(SERIAL);

  // 4. Read back in the panel (a fresh load of the edit view; the Super Admin sees plaintext).
  await page.reload();
  const input = page.locator('input[name=serialNo]');
  await input.waitFor({ timeout: 60_000 });
  const deadline = Date.now() + 30_000;
  while ((await input.inputValue()) !== SERIAL && Date.now() < deadline) await page.waitForTimeout(200);
  expect(await input.inputValue()).toBe(SERIAL);
  await shot(page, 'cm-read-back');
  await page.context().close();
  expect(failures).toEqual([]);
}, 600_000);

test('the Encrypted text dialog in 中文: its labels and options translated, dependent options shown with their choice', async () => {
  const page = await logIn('zh-Hans');
  await page.goto(`${server.base}/admin/plugins/content-type-builder/content-types/${UID}`);
  await page.getByRole('button', { name: 'Edit serialNo' }).or(page.getByRole('button', { name: '编辑 serialNo' })).first().waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: /^(Skip|跳过)$/ }).click({ timeout: 10_000 }).catch(() => {});
  await page.getByRole('button', { name: '新增字段', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('tab', { name: '自定义' }).click();
  await dialog.getByRole('button', { name: /加密文本/ }).click();
  await dialog.getByRole('combobox', { name: '可搜索' }).waitFor({ timeout: 30_000 });
  expect(await dialog.locator('input[name="options.prefixLength"]').count()).toBe(0);
  await dialog.getByRole('combobox', { name: '可搜索' }).click();
  await page.getByRole('option', { name: '精确匹配及 N 个字符的前缀', exact: true }).click();
  await dialog.getByRole('combobox', { name: '脱敏规则' }).click();
  await page.getByRole('option', { name: '保留前 N 位 / 后 N 位', exact: true }).click();
  for (const label of ['前缀长度（N）', '保留前 N 位', '保留后 N 位']) await dialog.getByText(label, { exact: true }).waitFor({ timeout: 10_000 });
  await shot(page, 'ctb-encrypted-dialog-zh-Hans');
  await page.context().close();
  expect(failures).toEqual([]);
}, 300_000);
