/**
 * The e2e tests' browser: Debian's Chromium through playwright-core (no browser download works here), the
 * app serving the built admin panel, and the panel's login.
 */
import fs from 'fs';
import path from 'path';
import { chromium, type Browser, type BrowserContextOptions, type LaunchOptions, type Page } from 'playwright-core';
import { bootStrapi, ROOT, type BootOptions, type TestApp } from './strapi';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Headless Chromium with the flags every e2e suite runs it with (and any launch options of its own). */
export const launchChromium = (options: LaunchOptions = {}): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, args: ARGS, ...options });

/** Logs in on the admin panel's login page; resolves once the panel has left it. */
export const signIn = async (page: Page, base: string, email: string, password: string): Promise<void> => {
  await page.goto(`${base}/admin/auth/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL((url) => !url.pathname.includes('/auth/login'), { timeout: 60000 });
};

/** Where the e2e suites put their screenshots. */
export const SHOTS = path.join(ROOT, '.tmp', 'e2e');

/**
 * The app serving the built admin panel on 127.0.0.1, on a port of its own, and its base URL; first checks
 * that the panel is built and Chromium is installed (a clear error instead of a timeout).
 */
export const bootAdminPanel = async (opts: BootOptions = {}): Promise<{ app: TestApp; base: string }> => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'build', 'index.html'))) throw new Error('the admin panel is not built: run `npm run build` first');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const app = await bootStrapi({ ...opts, serveAdminPanel: true });
  await new Promise<void>((resolve) => app.strapi.server.httpServer.listen(0, '127.0.0.1', resolve));
  return { app, base: `http://127.0.0.1:${app.strapi.server.httpServer.address().port}` };
};

/** A page of a new browser context (1440 × 900, and `options`), signed in on the admin panel as `user`. */
export const signedInPage = async (browser: Browser, base: string, user: { email: string; password: string }, options: BrowserContextOptions = {}): Promise<Page> => {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, ...options })).newPage();
  await signIn(page, base, user.email, user.password);
  return page;
};
