'use strict';
/**
 * `npm run backup:restore -- <file> [--force]`: restores a backup of `npm run backup`.
 * `npm run backup:restore -- s3:<file name> [--force]` (ID_VAULT_BACKUP_S3): first downloads the object from
 * the backups' S3 prefix into ID_VAULT_BACKUP_DIR (it is ciphertext; under a temporary name, renamed when
 * whole), then restores that file exactly as a local one.
 *  1. Refuses a database that is not empty (any table) unless --force (before reading the archive).
 *  2. Verifies the whole archive — every segment's tag, every digest of the manifest — before anything is
 *     written: a changed byte or a cut ends here with exit code 1.
 *  3. Starts the app on it (which creates the schema), then loads the database (SQLite: the page image written
 *     to a temp file, checked there, then renamed into place; PostgreSQL: every table with COPY in one transaction),
 *     lifecycles bypassed, and decrypts a sample of every encrypted type and a data key of every master key
 *     with the loaded keys before committing.
 *  4. Starts again: the start-up re-applies the erasure ledger (customers erased since the backup are erased
 *     again); then the audit chain is verified and a sample decrypted; backup.restored is recorded.
 * A run killed part-way leaves the database as it was before step 3's commit, or restored: run it again with --force.
 */
const fs = require('fs');
const path = require('path');
const cliProgress = require('cli-progress');
const { ROOT, PLUGIN_DIST, crypto, loadStrapi } = require('./lib');

const args = process.argv.slice(2);
const force = args.includes('--force');
let file = args.find((a) => !a.startsWith('--'));

const bar = (what) =>
  new cliProgress.SingleBar({ format: `backup:restore ${what} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`, noTTYOutput: true, notTTYSchedule: 2000, etaBuffer: 50 }, cliProgress.Presets.legacy);

/** A file of the compiled app's config (dist/config), called with Strapi's env helper. */
const appConfig = (name) => {
  const { env } = require('@strapi/utils');
  const mod = require(path.join(ROOT, 'dist', 'config', `${name}.js`));
  return (mod.default || mod)({ env });
};

/** `s3:<name>`: the object of the backups' S3 prefix, downloaded into ID_VAULT_BACKUP_DIR; its local path. */
const fromS3 = async (name) => {
  const { BACKUP_FILE } = require(path.join(PLUGIN_DIST, 'services', 'backup.js'));
  if (!BACKUP_FILE.test(name)) {
    console.error(`backup:restore: ${name} is not a backup file name (idv-backup-<time>-<random>.idvb); nothing was written.`);
    process.exit(2);
  }
  const cfg = appConfig('plugins')['id-vault'].config.backups?.s3;
  if (!cfg?.bucket) {
    console.error('backup:restore: s3:<file> needs ID_VAULT_BACKUP_S3=true and the ID_VAULT_S3_* settings; nothing was written.');
    process.exit(2);
  }
  const { createBackupBucket } = require(path.join(PLUGIN_DIST, 'scans', 'store.js'));
  const bucket = createBackupBucket(cfg);
  const dir = path.resolve(process.env.ID_VAULT_BACKUP_DIR || path.join(ROOT, '.vault-data', 'backups'));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const target = path.join(dir, name);
  const temp = path.join(dir, `.${name}.${process.pid}.part`);
  console.log(`backup:restore: downloading ${bucket.where(name)} into ${dir}.`);
  try {
    const bytes = await bucket.download(name, temp);
    fs.renameSync(temp, target);
    console.log(`backup:restore: downloaded ${name} (${bytes} bytes).`);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    console.error(`backup:restore: ${name} could not be downloaded from S3 (${String((e && (e.name || e.code)) || 'Error').slice(0, 80)}); nothing was written.`);
    process.exit(1);
  }
  return target;
};

/** Whether the configured database has any table, asked before Strapi starts (its start creates tables). */
const databaseHasTables = async () => {
  const config = appConfig('database').connection;
  if (config.client === 'postgres') {
    const { Client } = require('pg');
    const c = new Client(config.connection);
    await c.connect();
    try {
      return Number((await c.query(`select count(*) as n from pg_tables where schemaname = current_schema()`)).rows[0].n) > 0;
    } finally {
      await c.end();
    }
  }
  const filename = config.connection.filename;
  if (!fs.existsSync(filename)) return false;
  const Database = require('better-sqlite3');
  const db = new Database(filename, { readonly: true });
  try {
    return Number(db.prepare(`select count(*) as n from sqlite_master where type = 'table' and name not like 'sqlite_%'`).get().n) > 0;
  } finally {
    db.close();
  }
};

(async () => {
  if (!file) {
    console.error('usage: npm run backup:restore -- <backup file> | s3:<backup file name> [--force]');
    process.exit(2);
  }
  require('dotenv').config({ path: path.join(ROOT, '.env') });
  if (file.startsWith('s3:')) file = await fromS3(file.slice(3));
  const c = crypto();
  const ring = c.parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS);
  const size = fs.statSync(file).size;
  const head = Buffer.alloc(4096);
  const fd = fs.openSync(file, 'r');
  const headBytes = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  let header;
  try {
    header = c.readBackupHeader(head.subarray(0, headBytes));
  } catch (e) {
    console.error(`backup:restore: ${path.basename(file)} is not an id-vault backup (${e.message}); nothing was written.`);
    process.exit(1);
  }
  const keyId = header.masterKeyId;
  const lacking = header.needsMasterKeys.filter((id) => !ring.byId.has(id));
  if (lacking.length) {
    console.error(`backup:restore: ${path.basename(file)} needs master key ${lacking.join(', ')}, which is not in ID_VAULT_MASTER_KEYS; nothing was written.`);
    process.exit(1);
  }

  // Before the verification, which reads (and on SQLite stages) the whole file: a refusal costs nothing.
  if (!force && (await databaseHasTables())) {
    console.error('backup:restore: the database is not empty; restore into an empty database, or add --force to replace everything in it.');
    process.exit(1);
  }

  console.log(`backup:restore: verifying ${path.basename(file)} (${size} bytes, master key ${keyId}) before writing anything.`);
  const verifyBar = bar('verify bytes');
  verifyBar.start(Math.max(size, 1), 0);
  let verified;
  let read = 0;
  const db = appConfig('database').connection;
  try {
    // What it read is kept in memory when it fits (ID_VAULT_RESTORE_MEMORY_MB, default 512): the load then
    // uses exactly the bytes verified here, without reading the file again. SQLite: the database image is
    // staged beside the database file as it is verified (removed if the file fails), renamed into place by the load.
    const { verifyKeeping } = require(path.join(PLUGIN_DIST, 'services', 'backup.js'));
    verified = await verifyKeeping(file, ring, (n) => verifyBar.update((read += n)), undefined, db.client === 'sqlite' ? db.connection.filename : undefined);
    verifyBar.stop();
  } catch (e) {
    verifyBar.stop();
    console.error(`backup:restore: ${path.basename(file)} FAILED verification (${e.message}); nothing was written.`);
    process.exit(1);
  }
  const { manifest } = verified;
  /** The staged image, when the restore stops before the load took it. */
  const unstage = () => verified.image && fs.rmSync(verified.image.file, { force: true });
  const rows = Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0);
  console.log(
    `backup:restore: verified: taken ${manifest.createdAt} on ${manifest.client} (Strapi ${manifest.strapiVersion}, plugin ${manifest.pluginVersion}), ${Object.keys(manifest.tables).length} tables, ${rows} rows, ${manifest.scans.count} scan objects.`
  );

  let app = await loadStrapi();
  let loaded;
  const loadBar = bar('load rows');
  try {
    loadBar.start(Math.max(rows + manifest.scans.count, 1), 0);
    loaded = await app.plugin('id-vault').service('backup').load(
      file,
      manifest,
      (done, total) => {
        loadBar.setTotal(Math.max(total, 1));
        loadBar.update(done);
      },
      verified
    );
    verified = { manifest };
    loadBar.stop();
    console.log(
      `backup:restore: ${loaded.rows} rows and ${loaded.scans} scan objects loaded; ${loaded.decryptChecked} encrypted values decrypted with the restored keys (a sample: up to 200 records of each encrypted type) and ${loaded.dataKeysChecked} data key(s) unwrapped (one under each master key the data keys need).`
    );
  } catch (e) {
    loadBar.stop();
    unstage();
    throw e;
  } finally {
    await app.destroy();
  }

  // A fresh start on the restored database: the erasure ledger is re-applied before anything else.
  app = await loadStrapi();
  let code = 0;
  try {
    const check = await app.plugin('id-vault').service('backup').afterRestore(file, manifest, loaded);
    console.log(`backup:restore: erasure ledger re-applied: ${check.ledgerReplayed} customer(s) erased again, ${check.documentsReplayed} identity document(s) deleted again.`);
    if (check.audit.ok) console.log(`backup:restore: audit chain intact (${check.audit.count} events verified).`);
    else {
      code = 1;
      console.error(`backup:restore: audit chain BROKEN (${check.audit.reason}); run npm run audit:verify for details.`);
    }
    if (check.decryptFailures) {
      code = 1;
      console.error(`backup:restore: ${check.decryptFailures} of ${check.decryptChecked} sampled encrypted values did not decrypt.`);
    } else console.log(`backup:restore: decrypt check: ${check.decryptChecked} sampled encrypted values decrypted.`);
    console.log(code ? 'backup:restore: restored, with the problems above.' : 'backup:restore: done.');
  } finally {
    await app.destroy();
  }
  process.exit(code);
})().catch((e) => {
  console.error(`backup:restore failed (the database keeps what it had before the load; run it again with --force): ${e.message}`);
  process.exit(1);
});
