'use strict';
/**
 * Another Strapi process for the anomaly test across processes: boots the compiled app on the database in
 * its environment, records `count` successful `customer.export` events of the admin user `adminId` at once,
 * then chains them here (so detection runs in this process too) before it stops. Prints `wrote N`.
 */
const path = require('path');
const { createStrapi } = require('@strapi/strapi');

const ROOT = path.resolve(__dirname, '..', '..');
const count = Number(process.argv[2] || 5);
const adminId = Number(process.argv[3]);

(async () => {
  const app = createStrapi({ appDir: ROOT, distDir: path.join(ROOT, 'dist'), autoReload: false, serveAdminPanel: false });
  app.log.level = 'error';
  await app.load();
  const audit = app.plugin('id-vault').service('audit');
  const caller = { kind: 'admin', id: adminId, roles: [], actions: new Set() };
  await Promise.all(Array.from({ length: count }, (_, i) => audit.record({ action: 'customer.export', outcome: 'success', caller, details: { writer: process.pid, i } })));
  await audit.flush();
  await app.destroy();
  console.log(`wrote ${count}`);
  process.exit(0);
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
