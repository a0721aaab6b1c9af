/**
 * The e2e tests' browser: Debian's Chromium through playwright-core (no browser download works here), and
 * the admin panel's login.
 */
import { chromium, type Browser, type LaunchOptions, type Page } from 'playwright-core';

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
