'use strict';
/**
 * Figures 19 and 20 of `npm run bench`: backup and restore throughput, in a process of its own per database:
 *   node bench/backup-bench.js sqlite|postgres
 * Seeds BENCH_CUSTOMERS (default 50000) encrypted customers (data keys, blind indexes) and BENCH_BACKUP_SCANS
 * (default 100) scan objects of 256 KiB, then, medians of BENCH_BACKUP_ROUNDS (default 3), interleaved:
 * 19. `npm run backup`'s work (the backup service: snapshot the database — SQLite: its page image; PostgreSQL:
 *     COPY of every table —, seal everything in one segmented AES-256-GCM stream, fsync — the file's SHA-256 read
 *     back on another core meanwhile —, rename) vs the same data as `tar | openssl enc -aes-256-cbc -pbkdf2` —
 *     SQLite: the database file (WAL checkpointed first) and the scan directory; PostgreSQL: `pg_dump` of the
 *     database (its time included) and the scan directory;
 * 20. `npm run backup:restore`'s work once Strapi runs (verify the whole file — SQLite: the image staged beside
 *     the database meanwhile, in a worker thread —, then load the database — SQLite: the staged image fsynced,
 *     checked there (its SHA-256 read back on another core), renamed into place; PostgreSQL: COPY of every table in one
 *     transaction —, the decrypt check of a sample, write the scan objects) vs `openssl enc -d | tar -x` of the
 *     baseline's file (PostgreSQL: then `psql` of the dump into an empty database). The restore command's two
 *     Strapi starts (schema, then the ledger replay and checks) are not in the figure.
 * Ratio = baseline time / ours (≥ 1: ours is faster). Then one line `BENCH_BACKUP <json>`.
 */
const path = require('path');
const fs = require('fs');
const { execFileSync } = require('child_process');
const { randomBytes } = require('crypto');
const { ROOT, secretsEnv, benchApp, pgAdmin, pgUrl, removeSqlite } = require('./app');
const { seedCustomers } = require('./seed');

const client = process.argv[2] || 'sqlite';
const N = Number(process.env.BENCH_CUSTOMERS || 50000);
const SCANS = Number(process.env.BENCH_BACKUP_SCANS || 100);
const ROUNDS = Number(process.env.BENCH_BACKUP_ROUNDS || 3);
const log = (...a) => console.error(`[bench backup ${client}]`, ...a);

Object.assign(process.env, secretsEnv());
const dbName = `idvault_bench_bk_${process.pid}`;
const work = path.join(ROOT, '.tmp', 'bench', `backup-${process.pid}`);
const scanDir = path.join(work, 'scans');
const sh = (cmd, env = {}) => execFileSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
const seconds = (fn) => async () => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

(async () => {
  fs.mkdirSync(work, { recursive: true });
  if (client === 'postgres') {
    await pgAdmin(`CREATE DATABASE ${dbName}`);
    Object.assign(process.env, { DATABASE_CLIENT: 'postgres', DATABASE_URL: pgUrl(dbName) });
  } else process.env.DATABASE_FILENAME = path.join(work, 'data.db');
  Object.assign(process.env, { ID_VAULT_LEDGER_DIR: path.join(work, 'ledger'), ID_VAULT_BACKUP_DIR: path.join(work, 'backups'), ID_VAULT_SCAN_DIR: scanDir, ID_VAULT_BACKUP_KEEP: '1' });
  const { createStrapi } = require('@strapi/strapi');
  const appDir = benchApp();
  const strapi = createStrapi({ appDir, distDir: appDir, autoReload: false, serveAdminPanel: false });
  strapi.log.level = 'error';
  try {
    await strapi.load();
    log(`seeding ${N} customers and ${SCANS} scan objects…`);
    await seedCustomers(strapi, { client, to: N, twins: false, log });
    const store = strapi.plugin('id-vault').service('scans').store();
    const now = client === 'postgres' ? new Date() : Date.now();
    const scanRows = [];
    for (let i = 0; i < SCANS; i += 1) {
      const name = randomBytes(16).toString('hex');
      await store.put(name, randomBytes(256 * 1024)); // stands for a sealed object: the backup copies it as it is
      scanRows.push({ document_id: `s${randomBytes(12).toString('hex').slice(0, 23)}`, document_ref: `bench${i}`, object_name: name, store: 'local', key_id: 'dk_bench', kind: 'jpeg', mime: 'image/jpeg', size: 262144, stored_size: 262144, cleaned: true, digest: 'bench', created_at: now, updated_at: now });
    }
    await strapi.db.connection.batchInsert('idv_scans', scanRows, 100);
    const backup = strapi.plugin('id-vault').service('backup');
    // Both sides start from a checkpointed database (the seeding's WAL folded into the file).
    await strapi.db.connection.raw(client === 'postgres' ? 'vacuum analyze' : 'pragma wal_checkpoint(TRUNCATE)');

    const baseFile = path.join(work, 'baseline.tar.enc');
    const pass = { BENCH_PASS: randomBytes(24).toString('base64') };
    const baseBackup = async () => {
      if (client === 'postgres') {
        sh(`pg_dump -Fp -d "$DATABASE_URL" -f "${work}/dump.sql"`);
        sh(`tar -cf - -C "${work}" dump.sql scans | openssl enc -aes-256-cbc -pbkdf2 -pass env:BENCH_PASS -out "${baseFile}"`, pass);
      } else {
        await strapi.db.connection.raw('pragma wal_checkpoint(TRUNCATE)');
        sh(`tar -cf - -C "${work}" data.db scans | openssl enc -aes-256-cbc -pbkdf2 -pass env:BENCH_PASS -out "${baseFile}" && sync "${baseFile}"`, pass);
      }
    };
    const out = path.join(work, 'restore-baseline');
    const emptyDb = `${dbName}_base`;
    const baseRestore = async () => {
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(out);
      sh(`openssl enc -d -aes-256-cbc -pbkdf2 -pass env:BENCH_PASS -in "${baseFile}" | tar -xf - -C "${out}"`, pass);
      if (client === 'postgres') {
        await pgAdmin(`DROP DATABASE IF EXISTS ${emptyDb}`);
        await pgAdmin(`CREATE DATABASE ${emptyDb}`);
        sh(`psql -q -X -v ON_ERROR_STOP=1 -d "${pgUrl(emptyDb)}" -f "${out}/dump.sql" > /dev/null`);
      }
    };
    let last = null;
    const ours = async () => {
      last = await backup.create({ trigger: 'bench' });
    };
    const times = { backup: [], baseBackup: [], restore: [], baseRestore: [] };
    for (let r = 0; r < ROUNDS; r += 1) {
      log(`round ${r + 1}/${ROUNDS}: backup…`);
      times.backup.push(await seconds(ours)());
      times.baseBackup.push(await seconds(baseBackup)());
    }
    const file = path.join(backup.dir(), last.file);
    const baseBytes = fs.statSync(baseFile).size;
    // The restore replaces what it restores into: the benchmark restores its own backup over its database, last.
    let manifest = null;
    for (let r = 0; r < ROUNDS; r += 1) {
      log(`round ${r + 1}/${ROUNDS}: restore…`);
      times.baseRestore.push(await seconds(baseRestore)());
      times.restore.push(
        await seconds(async () => {
          // As the restore command does: verify, keeping the frames in memory, then load them.
          const verified = await backup.verifyKeeping(file);
          manifest = verified.manifest;
          await backup.load(file, manifest, undefined, verified);
        })()
      );
    }
    const res = {
      client,
      customers: N,
      scans: SCANS,
      bytes: { ours: last.bytes, baseline: baseBytes },
      rows: last.rows,
      backup: { a: median(times.backup), b: median(times.baseBackup) },
      restore: { a: median(times.restore), b: median(times.baseRestore) },
    };
    const mb = (b) => (b / 1048576).toFixed(1);
    console.log(`19. backup of ${N} customers (${res.rows} rows) and ${SCANS} scan objects: ${res.backup.a.toFixed(2)} s (${mb(res.bytes.ours)} MB) vs tar | openssl enc ${res.backup.b.toFixed(2)} s (${mb(baseBytes)} MB) → ratio ${(res.backup.b / res.backup.a).toFixed(2)}`);
    console.log(`20. restore (verify, load all or nothing, decrypt check of a sample): ${res.restore.a.toFixed(2)} s vs openssl enc -d | tar -x${client === 'postgres' ? ' + psql' : ''} ${res.restore.b.toFixed(2)} s → ratio ${(res.restore.b / res.restore.a).toFixed(2)}`);
    console.log(`BENCH_BACKUP ${JSON.stringify(res)}`);
  } finally {
    await strapi.destroy().catch(() => {});
    if (client === 'postgres') {
      await pgAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
      await pgAdmin(`DROP DATABASE IF EXISTS ${dbName}_base WITH (FORCE)`).catch(() => {});
    } else removeSqlite(process.env.DATABASE_FILENAME);
    fs.rmSync(appDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
})().catch((e) => {
  console.error(`[bench backup ${client}] failed: ${e.stack || e.message}`);
  process.exit(1);
});
