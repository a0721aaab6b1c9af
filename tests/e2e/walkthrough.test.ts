/**
 * The demo as a newcomer meets it, in headless Chromium at 1440×900, in English and in 中文: from the data
 * `npm run demo` seeds (scripts/seed-demo.js, run as the child process it is), each seeded account logs in with
 * the credentials the seed printed and sees its own rows; the Sales rep gets no Reveal button; a request by
 * the Sales rep, approved by the Unit head and the Archive admin, makes Reveal work. No response of the session
 * is a 5xx. Screenshots of every page: .tmp/e2e/walkthrough/ (git-ignored). Needs `npm run build` first.
 */
import fs from 'fs';
import path from 'path';
import { type Browser, type Page } from 'playwright-core';
import { CHROMIUM, launchChromium, signIn } from '../helpers/browser';
import { asSystem, bootStrapi, demoCredentials, seedDemo, ROOT, type TestApp } from '../helpers/strapi';

const SHOTS = path.join(ROOT, '.tmp', 'e2e', 'walkthrough');
const UID = 'plugin::id-vault.customer';

let app: TestApp;
let browser: Browser;
let base: string;
let printed = '';
const failures: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'build', 'index.html'))) throw new Error('the admin panel is not built: run `npm run build` first');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const { database, printed: out } = await seedDemo(40);
  printed = out;
  app = await bootStrapi({ database, serveAdminPanel: true });
  await new Promise<void>((resolve) => app.strapi.server.httpServer.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${app.strapi.server.httpServer.address().port}`;
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

type Locale = 'en' | 'zh-Hans';
const logIn = async (email: string, locale: Locale): Promise<Page> => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: locale === 'en' ? 'en-US' : 'zh-CN' });
  await context.addInitScript((l) => window.localStorage.setItem('strapi-admin-language', l), locale);
  const page = await context.newPage();
  page.on('response', (r) => {
    if (r.status() >= 500) failures.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  const { password } = demoCredentials(printed, email);
  await signIn(page, base, email, password);
  return page;
};
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** Every customer with its unit's name, as stored (the system's view). */
const customers = () =>
  asSystem(app, () => app.strapi.db.query(UID).findMany({ select: ['documentId', 'name', 'kind', 'hidden'], populate: { team: { select: ['name'] } } }));
const SALES = ['销售部 Sales', '销售一组 Sales group 1', '销售二组 Sales group 2'];

/** The Content Manager's customer list as the page loads it: its total is what this account may see. */
const openList = async (page: Page) => {
  const listed = page.waitForResponse((r) => r.url().includes(`/content-manager/collection-types/${UID}?`) && r.request().method() === 'GET', { timeout: 60000 });
  await page.goto(`${base}/admin/content-manager/collection-types/${UID}`);
  const res = await listed;
  expect(res.status()).toBe(200);
  const body = await res.json();
  await page.locator('table tbody tr').first().waitFor({ timeout: 60000 });
  return body.pagination.total as number;
};

const openEdit = async (page: Page, documentId: string) => {
  const asked = page.waitForResponse((r) => r.url().endsWith(`/id-vault/customers/${documentId}/reveal`) && r.request().method() === 'GET', { timeout: 60000 });
  await page.goto(`${base}/admin/content-manager/collection-types/${UID}/${documentId}`);
  const idNumber = page.locator('input[name=idNumber]');
  await idNumber.waitFor({ timeout: 60000 });
  const reveal = (await (await asked).json()).data.reveal as boolean;
  return { idNumber, reveal };
};
const REVEAL = /^(Reveal|查看明文)$/;

describe.each<Locale>(['en', 'zh-Hans'])('in %s', (locale) => {
  test('each seeded account sees its own rows; the Sales rep has no Reveal button', async () => {
    const all = await customers();
    const visible = all.filter((c: any) => !c.hidden);
    const expected: Record<string, number> = {
      'archive@id-vault.local': all.length, // everything, hidden customers included
      'service@id-vault.local': visible.length, // every unit, no hidden customer
      'head@id-vault.local': visible.filter((c: any) => SALES.includes(c.team.name)).length, // Sales and below
      'rep@id-vault.local': visible.filter((c: any) => c.team.name === '销售一组 Sales group 1').length, // the group only
    };
    for (const [email, total] of Object.entries(expected)) {
      const page = await logIn(email, locale);
      await shot(page, `${locale}-home-${email.split('@')[0]}`);
      expect(await openList(page)).toBe(total);
      await shot(page, `${locale}-customers-${email.split('@')[0]}`);
      if (email === 'rep@id-vault.local') {
        const target = visible.find((c: any) => c.team.name === '销售一组 Sales group 1' && c.kind === 'personal');
        const { idNumber, reveal } = await openEdit(page, target.documentId);
        expect(reveal).toBe(false);
        await page.waitForTimeout(500);
        expect(await idNumber.inputValue()).toMatch(/\*/);
        expect(await page.getByRole('button', { name: REVEAL }).count()).toBe(0);
        await shot(page, `${locale}-edit-rep`);
        await page.goto(`${base}/admin/plugins/id-vault/access-requests`);
        await page.locator('form').first().waitFor({ timeout: 60000 });
        await shot(page, `${locale}-access-requests-rep`);
      }
      await page.context().close();
    }
    expect(failures).toEqual([]);
  }, 600_000);
});

test('request → unit head approves → archive admin approves → Reveal works (English)', async () => {
  const target = (await customers()).find((c: any) => c.team.name === '销售一组 Sales group 1' && c.kind === 'personal' && !c.hidden);
  const requests = async (email: string) => {
    const page = await logIn(email, 'en');
    await page.goto(`${base}/admin/plugins/id-vault/access-requests`);
    await page.getByRole('heading', { name: 'Access requests' }).first().waitFor({ timeout: 60000 });
    return page;
  };
  const rep = await requests('rep@id-vault.local');
  // Typed as a person types (fill() sets the value without the key events the picker listens to).
  await rep.getByRole('combobox', { name: 'Customers' }).click();
  await rep.getByRole('combobox', { name: 'Customers' }).pressSequentially(target.name, { delay: 30 });
  await rep.getByRole('option', { name: target.name }).waitFor({ timeout: 30000 });
  await shot(rep, 'en-picker');
  await rep.getByRole('option', { name: target.name }).click();
  await rep.getByLabel('Reason').fill('Customer called back about the contract');
  await rep.getByRole('button', { name: 'Request access' }).click();
  await rep.getByText('Pending').first().waitFor({ timeout: 30000 });
  await shot(rep, 'en-request-sent');
  await rep.context().close();

  for (const [email, state] of [['head@id-vault.local', 'Head: Lei Wang'], ['archive@id-vault.local', 'Active']]) {
    const page = await requests(email);
    await page.getByRole('button', { name: 'Approve' }).first().click();
    await page.getByText(state).first().waitFor({ timeout: 30000 });
    await shot(page, `en-approved-${email.split('@')[0]}`);
    await page.context().close();
  }

  const again = await logIn('rep@id-vault.local', 'en');
  const { idNumber, reveal } = await openEdit(again, target.documentId);
  expect(reveal).toBe(true);
  await idNumber.locator('xpath=..').getByRole('button', { name: 'Reveal' }).click();
  const dialog = again.getByRole('alertdialog');
  await dialog.locator('textarea').fill('Customer called back about the contract');
  await dialog.getByRole('button', { name: 'Reveal' }).click();
  const deadline = Date.now() + 30000;
  while ((await idNumber.inputValue()).includes('*') && Date.now() < deadline) await again.waitForTimeout(200);
  expect(await idNumber.inputValue()).toMatch(/^\d{17}[\dX]$/);
  await shot(again, 'en-revealed');
  await again.context().close();
  expect(failures).toEqual([]);
}, 600_000);
