'use strict';
/** Small helpers shared by the scripts. No personal data ever goes through here. */
const path = require('path');
const fs = require('fs');

const ROOT = path.resolve(__dirname, '..');
const PLUGIN_DIST = path.join(ROOT, 'plugins', 'id-vault', 'dist', 'server');

/** The compiled crypto core of the plugin (build it first with `npm run build:plugin`). */
const crypto = () => {
  const entry = path.join(PLUGIN_DIST, 'crypto', 'index.js');
  if (!fs.existsSync(entry)) {
    console.error('id-vault: the plugin is not built yet. Run `npm run build:plugin` first.');
    process.exit(1);
  }
  return require(entry);
};

/** Boots the compiled app (dist/) without serving HTTP, for command-line tasks. */
const loadStrapi = async () => {
  process.env.STRAPI_TELEMETRY_DISABLED = 'true';
  const { createStrapi } = require('@strapi/strapi');
  const distDir = path.join(ROOT, 'dist');
  if (!fs.existsSync(path.join(distDir, 'config'))) {
    console.error('id-vault: the app is not compiled yet. Run `npm run build` first.');
    process.exit(1);
  }
  // On SQLite a start-up write (Strapi syncs its permissions) can meet another process's write and fail
  // at once with "database is locked" (a read transaction that cannot become a write): start again.
  for (let attempt = 1; ; attempt += 1) {
    const app = createStrapi({ appDir: ROOT, distDir, autoReload: false, serveAdminPanel: false });
    app.log.level = process.env.STRAPI_LOG_LEVEL || 'warn';
    try {
      return await app.load();
    } catch (e) {
      if (attempt >= 5 || !/database is locked|SQLITE_BUSY/.test(String(e && e.message))) throw e;
      await app.destroy().catch(() => {});
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
};

module.exports = { ROOT, PLUGIN_DIST, crypto, loadStrapi };
