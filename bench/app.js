'use strict';
/**
 * What the benchmarks share: the throw-away copy of the compiled app with the unencrypted twin type,
 * fresh secrets, and the PostgreSQL admin connection.
 */
const path = require('path');
const fs = require('fs');
const { randomBytes } = require('crypto');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'plugins', 'id-vault', 'dist', 'server');
const PG = process.env.ID_VAULT_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const secret = () => randomBytes(24).toString('base64');

/** Strapi's secrets and a master key ring, random per run (assign them to process.env or a child's env). */
const secretsEnv = () => ({
  STRAPI_TELEMETRY_DISABLED: 'true',
  APP_KEYS: `${secret()},${secret()}`,
  API_TOKEN_SALT: secret(),
  ADMIN_JWT_SECRET: secret(),
  TRANSFER_TOKEN_SALT: secret(),
  JWT_SECRET: secret(),
  ENCRYPTION_KEY: secret(),
  ID_VAULT_MASTER_KEYS: `bench:${randomBytes(32).toString('base64')}`,
});

/** A throw-away JavaScript copy of the compiled app (config, src) plus the twin as `api::bench-twin.bench-twin`. */
const benchApp = () => {
  fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'bench-app-'));
  fs.cpSync(path.join(ROOT, 'dist', 'config'), path.join(dir, 'config'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist', 'src'), path.join(dir, 'src'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  for (const link of ['plugins', 'node_modules']) fs.symlinkSync(path.join(ROOT, link), path.join(dir, link), 'dir');
  fs.mkdirSync(path.join(dir, 'public', 'uploads'), { recursive: true });
  const api = path.join(dir, 'src', 'api', 'bench-twin');
  fs.mkdirSync(path.join(api, 'content-types', 'bench-twin'), { recursive: true });
  fs.copyFileSync(path.join(__dirname, 'twin', 'schema.json'), path.join(api, 'content-types', 'bench-twin', 'schema.json'));
  for (const [kind, factory] of [['routes', 'createCoreRouter'], ['controllers', 'createCoreController'], ['services', 'createCoreService']]) {
    fs.mkdirSync(path.join(api, kind), { recursive: true });
    fs.writeFileSync(path.join(api, kind, 'bench-twin.js'), `module.exports = require('@strapi/strapi').factories.${factory}('api::bench-twin.bench-twin');\n`);
  }
  return dir;
};

/** One statement (with optional parameters) on the PostgreSQL database at `url`, on a connection of its own. */
const pgQuery = async (url, sql, params) => {
  const { Client } = require('pg');
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
};

/** One statement on the PostgreSQL server's admin database (CREATE / DROP DATABASE). */
const pgAdmin = (sql) => pgQuery(PG, sql);

/** The URL of database `name` on the same server. */
const pgUrl = (name) => PG.replace(/\/[^/]*$/, `/${name}`);

/**
 * The V8 flags a measured server runs with: those `npm start` sets (the heap cap of package.json's
 * `config.max_heap_mb`), or BENCH_SERVER_NODE_FLAGS (empty: none, as plain `strapi start`).
 */
const serverNodeFlags = () =>
  (process.env.BENCH_SERVER_NODE_FLAGS ?? `--max-old-space-size=${require(path.join(ROOT, 'package.json')).config.max_heap_mb}`).split(' ').filter(Boolean);

/** Removes a SQLite database file and its companions. */
const removeSqlite = (file) => {
  for (const ext of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${file}${ext}`, { force: true });
};

module.exports = { ROOT, DIST, PG, secretsEnv, benchApp, pgAdmin, pgQuery, pgUrl, removeSqlite, serverNodeFlags };
