'use strict';
/**
 * A second Strapi process on the database in its environment, serving HTTP on loopback (a port of its own):
 * prints `listening <port>` once ready, stops on SIGTERM. For tests of what several processes see.
 */
const path = require('path');
const { createStrapi } = require('@strapi/strapi');

const ROOT = path.resolve(__dirname, '..', '..');

(async () => {
  const app = createStrapi({ appDir: ROOT, distDir: path.join(ROOT, 'dist'), autoReload: false, serveAdminPanel: false });
  app.log.level = 'error';
  await app.load();
  app.server.mount();
  await new Promise((resolve) => app.server.httpServer.listen(0, '127.0.0.1', resolve));
  console.log(`listening ${app.server.httpServer.address().port}`);
  process.on('SIGTERM', () => app.destroy().finally(() => process.exit(0)));
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
