'use strict';
// The server is TypeScript compiled by `npm run build:plugin` (scripts/build-plugin.js) into dist/server.
// Fail loudly instead of letting Strapi skip the plugin silently.
let server;
try {
  server = require('./dist/server');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/server')) {
    throw new Error('id-vault: the plugin server is not built. Run `npm run build:plugin` (or `npm run build`).');
  }
  throw e;
}
module.exports = server.default || server;
