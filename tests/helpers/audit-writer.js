'use strict';
/**
 * A second (third, …) Strapi process for the audit concurrency test: boots the compiled app on the
 * database in its environment and appends `count` audit events at once. Prints `wrote N`.
 */
const path = require('path');
const { createStrapi } = require('@strapi/strapi');

const ROOT = path.resolve(__dirname, '..', '..');
const count = Number(process.argv[2] || 20);

(async () => {
  const app = createStrapi({ appDir: ROOT, distDir: path.join(ROOT, 'dist'), autoReload: false, serveAdminPanel: false });
  app.log.level = 'error';
  await app.load();
  const audit = app.plugin('id-vault').service('audit');
  await Promise.all(
    Array.from({ length: count }, (_, i) => audit.record({ action: 'test.concurrent', outcome: 'success', caller: { kind: 'system' }, details: { writer: process.pid, i } }))
  );
  await app.destroy();
  console.log(`wrote ${count}`);
  process.exit(0);
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
