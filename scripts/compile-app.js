'use strict';
/** Compiles the app's TypeScript (config/, src/) into dist/ without building the admin panel. */
const { compileStrapi } = require('@strapi/strapi');

compileStrapi({ ignoreDiagnostics: false })
  .then(() => console.log('id-vault: app compiled (dist/).'))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
