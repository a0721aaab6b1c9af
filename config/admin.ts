export default ({ env }) => ({
  auth: { secret: env('ADMIN_JWT_SECRET') },
  apiToken: { salt: env('API_TOKEN_SALT') },
  transfer: { token: { salt: env('TRANSFER_TOKEN_SALT') } },
  secrets: { encryptionKey: env('ENCRYPTION_KEY') },
  flags: { nps: false, promoteEE: false },
  // `strapi develop` (npm run demo / develop) restarts on any file written under the project outside its ignore
  // list. Dot-folders (.tmp: the SQLite database and e2e screenshots; .vault-data: scans, erasure ledger) and
  // dist/build are ignored by Strapi already; tests and benchmarks write nothing the server needs either.
  watchIgnoreFiles: ['**/tests/**', '**/bench/**'],
  // `strapi develop` opens a browser by default (Strapi 5.54 has no --no-open flag): not on a server.
  autoOpen: false,
});
