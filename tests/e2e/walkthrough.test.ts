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
import { bootAdminPanel, launchChromium, signIn } from '../helpers/browser';
import { asSystem, demoCredentials, seedDemo, ROOT, type TestApp } from '../helpers/strapi';

const SHOTS = path.join(ROOT, '.tmp', 'e2e', 'walkthrough');
const UID = 'plugin::id-vault.customer';

let app: TestApp;
let browser: Browser;
let base: string;
let printed = '';
const failures: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const { database, printed: out } = await seedDemo(40);
  printed = out;
  ({ app, base } = await bootAdminPanel({ database }));
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

/** What the request flow clicks and reads, as each language shows it (translations/{en,zh-Hans}.json). */
const LABELS: Record<Locale, Record<'requests' | 'customers' | 'reason' | 'submit' | 'pending' | 'approve' | 'head' | 'active' | 'reveal', string>> = {
  en: { requests: 'Access requests', customers: 'Customers', reason: 'Reason', submit: 'Request access', pending: 'Pending', approve: 'Approve', head: 'Head: Lei Wang', active: 'Active', reveal: 'Reveal' },
  'zh-Hans': { requests: '访问申请', customers: '客户', reason: '原因', submit: '提交申请', pending: '待审批', approve: '批准', head: '负责人：Lei Wang', active: '生效中', reveal: '查看明文' },
};

// A customer of its own per language: the English run's grant must not make the 中文 run's Reveal work.
test.each<[Locale, number]>([['en', 0], ['zh-Hans', 1]])('request → unit head approves → archive admin approves → Reveal works (%s)', async (locale, nth) => {
  const L = LABELS[locale];
  const target = (await customers()).filter((c: any) => c.team.name === '销售一组 Sales group 1' && c.kind === 'personal' && !c.hidden)[nth];
  const requests = async (email: string) => {
    const page = await logIn(email, locale);
    await page.goto(`${base}/admin/plugins/id-vault/access-requests`);
    await page.getByRole('heading', { name: L.requests }).first().waitFor({ timeout: 60000 });
    return page;
  };
  const rep = await requests('rep@id-vault.local');
  // Typed as a person types (fill() sets the value without the key events the picker listens to).
  await rep.getByRole('combobox', { name: L.customers }).click();
  await rep.getByRole('combobox', { name: L.customers }).pressSequentially(target.name, { delay: 30 });
  await rep.getByRole('option', { name: target.name }).waitFor({ timeout: 30000 });
  await shot(rep, `${locale}-picker`);
  await rep.getByRole('option', { name: target.name }).click();
  await rep.getByLabel(L.reason).fill('Customer called back about the contract');
  await rep.getByRole('button', { name: L.submit }).click();
  await rep.getByText(L.pending).first().waitFor({ timeout: 30000 });
  await shot(rep, `${locale}-request-sent`);
  // The Sales rep's session stays open for the Reveal below (admin logins are limited to 5 in 5 minutes per account).

  for (const [email, state] of [['head@id-vault.local', L.head], ['archive@id-vault.local', L.active]]) {
    const page = await requests(email);
    const approved = page.waitForResponse((r) => /\/id-vault\/grants\/[^/]+\/approve$/.test(r.url()) && r.request().method() === 'POST', { timeout: 30000 });
    await page.getByRole('button', { name: L.approve }).first().click();
    expect((await approved).status()).toBe(200);
    await page.getByText(state).first().waitFor({ timeout: 30000 });
    await shot(page, `${locale}-approved-${email.split('@')[0]}`);
    await page.context().close();
  }

  const { idNumber, reveal } = await openEdit(rep, target.documentId);
  expect(reveal).toBe(true);
  await idNumber.locator('xpath=..').getByRole('button', { name: L.reveal }).click();
  const dialog = rep.getByRole('alertdialog');
  await dialog.locator('textarea').fill('Customer called back about the contract');
  await dialog.getByRole('button', { name: L.reveal }).click();
  const deadline = Date.now() + 30000;
  while ((await idNumber.inputValue()).includes('*') && Date.now() < deadline) await rep.waitForTimeout(200);
  expect(await idNumber.inputValue()).toMatch(/^\d{17}[\dX]$/);
  await shot(rep, `${locale}-revealed`);
  await rep.context().close();
  expect(failures).toEqual([]);
}, 600_000);
