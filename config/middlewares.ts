export default [
  'plugin::id-vault.request-log', // strapi::logger, with filter values and search terms redacted
  'strapi::errors',
  'strapi::security',
  'strapi::cors',
  'strapi::poweredBy',
  'strapi::query',
  'strapi::body', // wrapped by the id-vault plugin: skips the scan upload routes (no plaintext temp files)
  'strapi::session',
  'strapi::favicon',
  'strapi::public',
];
