/**
 * Encrypted backups and restore (`npm run backup`, `npm run backup:restore`), on SQLite and PostgreSQL:
 * the restore drill — seed, back up, destroy the database and the scan store, restore, every customer's and
 * document's decrypted values, the scan bytes and the counts equal; a changed or cut backup refused with
 * nothing written; erasure after a backup survives its restore (the ledger replays it); kill -9 during a
 * backup leaves no file under a final name, and during a restore a rerun with --force finishes.
 */
import fs from 'fs';
import path from 'path';
import sharp from 'sharp';
import { randomBytes } from 'crypto';
import { spawn } from 'child_process';
import { bootStrapi, apiToken, adminSession, runScript, systemDocs, ROOT, type TestApp, PG_ADMIN_URL, pgSql, sqliteFile } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';
import { backupKey, createBackupWriter, parseMasterKeys } from '../../plugins/id-vault/server/src/crypto';

const API = '/api/id-vault';
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const work = path.join(ROOT, '.tmp', 'test', `backup-${randomBytes(4).toString('hex')}`);
const dirs = { backups: path.join(work, 'backups'), ledger: path.join(work, 'ledger'), scans: path.join(work, 'scans') };
const saved = { backups: process.env.ID_VAULT_BACKUP_DIR, ledger: process.env.ID_VAULT_LEDGER_DIR, scans: process.env.ID_VAULT_SCAN_DIR };
const people = [1701, 1702, 1703, 1704, 1705].map((n) => syntheticPerson(n));

let app: TestApp | null = null;
let database: string;
let client: 'sqlite' | 'postgres';
let token: string;
let first: string;
let scanId: number;
let before: { customers: any[]; documents: any[]; scan: Buffer; counts: Record<string, number> };


/** Destroys the database for good (dropped, or its file deleted) and leaves an empty one of the same name. */
const destroyDatabase = async (name: string) => {
  if (client === 'postgres') {
    await pgSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await pgSql(`CREATE DATABASE ${name}`);
  } else for (const ext of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${sqliteFile(name)}${ext}`, { force: true });
};

/** Runs a script against database `name` (the env the harness set points at the suite's own). */
const onDatabase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  const keep = { url: process.env.DATABASE_URL, file: process.env.DATABASE_FILENAME };
  if (client === 'postgres') process.env.DATABASE_URL = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  else process.env.DATABASE_FILENAME = sqliteFile(name);
  try {
    return await fn();
  } finally {
    process.env.DATABASE_URL = keep.url;
    process.env.DATABASE_FILENAME = keep.file;
  }
};

const backups = () => (fs.existsSync(dirs.backups) ? fs.readdirSync(dirs.backups).filter((f) => f.endsWith('.idvb')).sort() : []);
const restore = (file: string, ...args: string[]) => runScript('backup-restore.js', [path.join(dirs.backups, file), ...args]);

/**
 * A format-1 archive of the live database, as backups were written before format 2 (every table's rows as
 * JSON, in foreign-key order, then the scan objects): the format restore must go on reading. The app is idle
 * meanwhile, so reading table after table is as good as a snapshot here.
 */
const writeFormat1 = async (file: string) => {
  const knex = app!.knex;
  await app!.strapi.plugin('id-vault').service('audit').flush();
  const pg = client === 'postgres';
  const rowsOf = async (sql: string, params: unknown[] = []) => {
    const r = await knex.raw(sql, params);
    return pg ? r.rows : r;
  };
  const names: string[] = (await rowsOf(pg ? `select tablename as n from pg_tables where schemaname = current_schema()` : `select name as n from sqlite_master where type = 'table' and name not like 'sqlite_%'`)).map((r: any) => r.n).sort();
  const parents = new Map<string, string[]>();
  for (const t of names) {
    parents.set(
      t,
      pg
        ? (await rowsOf(`select ccu.table_name as p from information_schema.table_constraints tc join information_schema.constraint_column_usage ccu on tc.constraint_name = ccu.constraint_name where tc.constraint_type = 'FOREIGN KEY' and tc.table_name = ?`, [t])).map((r: any) => r.p)
        : (await rowsOf(`pragma foreign_key_list("${t}")`)).map((r: any) => r.table)
    );
  }
  const order: string[] = [];
  while (order.length < names.length) {
    const next = names.find((t) => !order.includes(t) && parents.get(t)!.every((p) => p === t || order.includes(p) || !names.includes(p)));
    order.push(next ?? names.find((t) => !order.includes(t))!);
  }
  const masters: Record<string, number> = {};
  for (const r of await knex('idv_data_keys').select('master_key_id').count({ n: '*' }).groupBy('master_key_id')) masters[r.master_key_id] = Number(r.n);
  const ring = parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS);
  const begin = { format: 1, createdAt: new Date().toISOString(), client, strapiVersion: '5.54.0', pluginVersion: '0.1.0', masterKeyId: ring.active.id };
  const w = createBackupWriter(backupKey(ring), begin, { needsMasterKeys: Object.keys(masters) });
  const out = fs.createWriteStream(file, { mode: 0o600 });
  w.stream.pipe(out);
  const closed = new Promise((r) => out.on('close', r));
  for (const t of order) {
    const columns = Object.keys(await knex(t).columnInfo());
    await w.table(t, columns);
    const rows = await knex(t).select(columns).orderBy(columns.includes('id') ? 'id' : columns[0]);
    await w.rows(rows.map((r: any) => columns.map((c) => r[c])));
  }
  const store = app!.strapi.plugin('id-vault').service('scans').store();
  for (const r of await knex('idv_scans').select('object_name').orderBy('id')) await w.object(r.object_name, await store.get(r.object_name));
  await w.finish({ dataKeyMasterKeys: masters });
  await closed;
};

/**
 * A format-2 SQLite archive of the live database, as backups were written before format 3: the page image, its
 * manifest's image digest of the pages no table owns, and per table a digest of its pages. Restore reads
 * neither digest of format 2 (the GCM tags prove every byte): the image's stands in as zeros, the tables'
 * are left out (today's writer has no place for them).
 */
const writeFormat2Sqlite = async (file: string) => {
  await app!.strapi.plugin('id-vault').service('audit').flush();
  const Database = require('better-sqlite3');
  const db = new Database(sqliteFile(database), { readonly: true, fileMustExist: true });
  const ring = parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS);
  const begin = { format: 2, createdAt: new Date().toISOString(), client, strapiVersion: '5.54.0', pluginVersion: '0.1.0', masterKeyId: ring.active.id };
  const masters: Record<string, number> = {};
  const out = fs.createWriteStream(file, { mode: 0o600 });
  const closed = new Promise((r) => out.on('close', r));
  try {
    db.exec('BEGIN');
    for (const r of db.prepare('select master_key_id as m, count(*) as n from idv_data_keys group by 1').all()) masters[r.m] = Number(r.n);
    const w = createBackupWriter(backupKey(ring), begin, { needsMasterKeys: Object.keys(masters) });
    w.stream.pipe(out);
    const zeros = '0'.repeat(64);
    for (const t of db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`).pluck().all()) {
      const columns = db.prepare(`pragma table_info("${t}")`).all().map((c: any) => c.name);
      w.imageTable(t, columns, Number(db.prepare(`select count(*) from "${t}"`).pluck().get()));
    }
    const image: Buffer = db.serialize();
    image[18] = 1;
    image[19] = 1;
    await w.image(image);
    const store = app!.strapi.plugin('id-vault').service('scans').store();
    for (const name of db.prepare('select object_name from idv_scans order by id').pluck().all()) await w.object(name, await store.get(name));
    await w.finish({ dataKeyMasterKeys: masters, image: { pageSize: Number(db.pragma('page_size', { simple: true })), sha256: zeros } });
  } finally {
    db.close();
  }
  await closed;
};

/** What the drill compares: every customer and document as a full-access token reads them, the scan's bytes, row counts. */
const observe = async (): Promise<typeof before> => {
  const customers = (await app!.http().get(`${API}/customers`).query({ 'pagination[pageSize]': 100, sort: 'id:asc' }).set(bearer(token))).body.data;
  const documents = (await app!.http().get(`${API}/identity-documents`).query({ 'pagination[pageSize]': 100, sort: 'id:asc' }).set(bearer(token))).body.data;
  const dl = await app!.http().get(`${API}/scans/${scanId}/download`).set(bearer(token)).buffer(true);
  const counts: Record<string, number> = {};
  for (const t of ['idv_customers', 'idv_identity_documents', 'idv_data_keys', 'idv_blind_indexes', 'idv_scans', 'admin_users', 'strapi_api_tokens', 'strapi_core_store_settings', 'idv_customers_tags_lnk']) {
    counts[t] = Number((await app!.knex(t).count({ n: '*' }).first()).n);
  }
  return { customers, documents, scan: dl.status === 200 ? Buffer.from(dl.body) : Buffer.alloc(0), counts };
};

const auditActions = async (action: string) => {
  await app!.strapi.plugin('id-vault').service('audit').flush();
  return app!.knex('idv_audit_events').where({ action }).orderBy('id');
};

beforeAll(async () => {
  process.env.ID_VAULT_BACKUP_DIR = dirs.backups;
  process.env.ID_VAULT_LEDGER_DIR = dirs.ledger;
  process.env.ID_VAULT_SCAN_DIR = dirs.scans;
  app = await bootStrapi({ keep: true });
  database = app.database;
  client = app.client;
  token = await apiToken(app.strapi, 'full-access');
  const tag = await systemDocs(app, UIDS.tag).create({ data: { name: `backup-${randomBytes(2).toString('hex')}` } });
  const ids: string[] = [];
  for (const [i, p] of people.entries()) {
    const c = await systemDocs(app, UIDS.customer).create({
      data: { kind: 'personal', name: `Backup Person ${i}`, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, address: `Road ${i}`, notes: `note ${i}`, tags: [tag.documentId] },
    });
    ids.push(c.documentId);
  }
  first = ids[0];
  const doc = await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: 'E17010001', customer: ids[0] } });
  await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: 'E17020002', customer: ids[1] } });
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } }).png().toBuffer();
  const up = await app.http().post(`${API}/identity-documents/${doc.documentId}/scans`).set(bearer(token)).attach('files', png, { filename: 'scan.png', contentType: 'image/png' });
  expect(up.status).toBe(201);
  scanId = up.body.data[0].id;
  before = await observe();
  expect(before.customers).toHaveLength(5);
  expect(before.customers[0].idNumber).toBe(people[0].idNumber);
  expect(before.documents.map((d: any) => d.documentNumber)).toEqual(['E17010001', 'E17020002']);
  expect(before.scan.length).toBeGreaterThan(0);
});

afterAll(async () => {
  await app?.close();
  await destroyDatabase(database).catch(() => {});
  if (client === 'postgres') await pgSql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
  fs.rmSync(work, { recursive: true, force: true });
  for (const [k, v] of Object.entries({ ID_VAULT_BACKUP_DIR: saved.backups, ID_VAULT_LEDGER_DIR: saved.ledger, ID_VAULT_SCAN_DIR: saved.scans })) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

test('the restore drill: back up, destroy the database and the scan store, restore — everything reads back the same', async () => {
  const res = await runScript('backup.js');
  expect(res.stderr).not.toMatch(/failed/);
  expect(res.status).toBe(0);
  expect(res.stdout).toMatch(/backup: idv-backup-\d{8}T\d{6}Z-[0-9a-f]{6}\.idvb written .* 1 scan objects; it needs master key test1/);
  const [file] = backups();
  expect(file).toBeDefined();
  const stat = fs.statSync(path.join(dirs.backups, file));
  expect(stat.mode & 0o777).toBe(0o600);
  expect(fs.statSync(dirs.backups).mode & 0o777).toBe(0o700);
  // No plaintext of the seeded people anywhere in the file.
  const bytes = fs.readFileSync(path.join(dirs.backups, file));
  for (const v of [people[0].idNumber, people[0].email, 'Backup Person 0', 'E17010001', 'note 0']) expect(bytes.includes(Buffer.from(v))).toBe(false);
  const created = (await auditActions('backup.created')).at(-1);
  expect(created).toMatchObject({ outcome: 'success', actor_type: 'system' });
  const details = typeof created.details === 'string' ? JSON.parse(created.details) : created.details;
  expect(details).toMatchObject({ file, bytes: stat.size, scans: 1, masterKeyId: 'test1', trigger: 'cli' });
  expect(details.sha256).toMatch(/^[0-9a-f]{64}$/);

  // As the backup saw it (the backup's own start may have written a setting since the seeding).
  const seen = await observe();
  expect({ ...seen, counts: null }).toEqual({ ...before, counts: null });
  before = seen;
  await app!.close();
  app = null;
  await destroyDatabase(database);
  fs.rmSync(dirs.scans, { recursive: true, force: true });

  const restored = await restore(file);
  expect(restored.stderr).not.toMatch(/failed|FAILED|BROKEN/);
  expect(restored.status).toBe(0);
  expect(restored.stdout).toMatch(/verified: .* 1 scan objects/);
  // 5 customers × 4 fields, 2 document numbers (all of them: fewer than the sample's 200 a type); one master key.
  expect(restored.stdout).toMatch(/; 22 encrypted values decrypted with the restored keys \(a sample: up to 200 records of each encrypted type\) and 1 data key\(s\) unwrapped/);
  expect(restored.stdout).toMatch(/audit chain intact/);
  expect(restored.stdout).toMatch(/backup:restore: done\./);

  app = await bootStrapi({ database, keep: true });
  // The API token of before the backup works again: its row came back with everything else.
  const after = await observe();
  expect(after).toEqual(before);
  const event = (await auditActions('backup.restored')).at(-1);
  expect(event).toMatchObject({ outcome: 'success', actor_type: 'system' });
  expect(JSON.stringify(await app.knex('idv_audit_events').select('details'))).not.toContain(people[0].idNumber);
});

/** Writes an old-format archive of the live database, destroys the database and the scans, restores it: all as it was. */
const restoresOldFormat = async (file: string, write: (file: string) => Promise<void>) => {
  await write(path.join(dirs.backups, file));
  const seen = await observe();
  await app!.close();
  app = null;
  await destroyDatabase(database);
  fs.rmSync(dirs.scans, { recursive: true, force: true });

  const restored = await restore(file);
  expect(restored.stderr).not.toMatch(/failed|FAILED|BROKEN/);
  expect(restored.status).toBe(0);
  expect(restored.stdout).toMatch(/verified: .* 1 scan objects/);
  expect(restored.stdout).toMatch(/; 22 encrypted values decrypted with the restored keys/);
  expect(restored.stdout).toMatch(/audit chain intact/);
  app = await bootStrapi({ database, keep: true });
  expect(await observe()).toEqual(seen);
  fs.rmSync(path.join(dirs.backups, file));
};

test('a format-1 archive (rows as JSON, as backups were before format 2) still restores', () => restoresOldFormat('format-1.bin', writeFormat1));

(process.env.DATABASE_CLIENT === 'postgres' ? test.skip : test)('a format-2 SQLite archive (the page image with page digests, as backups were before format 3) still restores', () =>
  restoresOldFormat('format-2.bin', writeFormat2Sqlite));

/** SQLite: the restore images staged beside database `name`'s file (none on PostgreSQL). */
const restoreTemps = (name: string) => {
  if (client !== 'sqlite') return [];
  const dbFile = sqliteFile(name);
  return fs.existsSync(path.dirname(dbFile)) ? fs.readdirSync(path.dirname(dbFile)).filter((f) => f.startsWith(`${path.basename(dbFile)}.restore-`)) : [];
};

test('a backup with a changed byte, or cut short, is refused before anything is written', async () => {
  const [file] = backups();
  const good = fs.readFileSync(path.join(dirs.backups, file));
  const flipped = Buffer.from(good);
  flipped[Math.floor(good.length / 2)] ^= 0x01;
  fs.writeFileSync(path.join(dirs.backups, 'flipped.bin'), flipped);
  fs.writeFileSync(path.join(dirs.backups, 'cut.bin'), good.subarray(0, good.length - 100));
  fs.writeFileSync(path.join(dirs.backups, 'cut-at-segment.bin'), good.subarray(0, 200));

  // Into the live database with --force: refused, the rows as they were.
  const rowsBefore = await app!.knex('idv_customers').select('*').orderBy('id');
  const bad = await restore('flipped.bin', '--force');
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/flipped\.bin FAILED verification \(stored object failed authentication \(changed, reordered or cut short\)\); nothing was written\./);
  expect(await app!.knex('idv_customers').select('*').orderBy('id')).toEqual(rowsBefore);
  // SQLite: the image staged while it was verified is gone with the refusal.
  expect(restoreTemps(database)).toEqual([]);

  // Into an empty database: it stays empty (not even a schema).
  const empty = `idvault_t_${process.pid}_e${randomBytes(3).toString('hex')}`;
  if (client === 'postgres') await pgSql(`CREATE DATABASE ${empty}`);
  try {
    for (const cut of ['cut.bin', 'cut-at-segment.bin']) {
      const res = await onDatabase(empty, () => restore(cut));
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`${cut.replace('.', '\\.')} FAILED verification \\(.*(cut short|authentication).*\\); nothing was written\\.`));
      expect(restoreTemps(empty)).toEqual([]);
    }
    if (client === 'postgres') {
      const { Client } = require('pg');
      const c = new Client({ connectionString: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${empty}`) });
      await c.connect();
      const n = Number((await c.query(`select count(*) as n from pg_tables where schemaname = 'public'`)).rows[0].n);
      await c.end();
      expect(n).toBe(0);
    } else expect(fs.existsSync(sqliteFile(empty))).toBe(false);
  } finally {
    if (client === 'postgres') await pgSql(`DROP DATABASE IF EXISTS ${empty} WITH (FORCE)`);
  }
  // A ring without the master key the backup needs: refused, naming the key.
  const ring = process.env.ID_VAULT_MASTER_KEYS;
  process.env.ID_VAULT_MASTER_KEYS = `other:${randomBytes(32).toString('base64')}`;
  const keyless = await restore(file, '--force').finally(() => (process.env.ID_VAULT_MASTER_KEYS = ring));
  expect(keyless.status).toBe(1);
  expect(keyless.stderr).toMatch(/needs master key test1, which is not in ID_VAULT_MASTER_KEYS; nothing was written\./);
  // A database that is not empty is refused without --force, before the archive is read (nothing staged).
  const busy = await restore(file);
  expect(busy.status).toBe(1);
  expect(busy.stderr).toMatch(/the database is not empty; .* --force/);
  expect(busy.stdout).not.toMatch(/verifying/);
  for (const f of ['flipped.bin', 'cut.bin', 'cut-at-segment.bin']) fs.rmSync(path.join(dirs.backups, f));

  // A backup whose archive is sound but holds a value that does not decrypt (changed in the database before
  // the backup): the load is rolled back, nothing of it stays.
  const row = await app!.knex('idv_customers').where('document_id', first).first('id', 'phone');
  const [head, body] = [row.phone.slice(0, -6), row.phone.slice(-6)];
  await app!.knex('idv_customers').where('id', row.id).update({ phone: `${head}${body === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}` });
  const tampered = await app!.strapi.plugin('id-vault').service('backup').create({ trigger: 'test' });
  await app!.knex('idv_customers').where('id', row.id).update({ phone: row.phone });
  const into = `idvault_t_${process.pid}_d${randomBytes(3).toString('hex')}`;
  if (client === 'postgres') await pgSql(`CREATE DATABASE ${into}`);
  try {
    const res = await onDatabase(into, () => restore(tampered.file));
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/1 encrypted value\(s\) of the backup do not decrypt with its keys and this master key ring; nothing was restored/);
    if (client === 'postgres') {
      const { Client } = require('pg');
      const c = new Client({ connectionString: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${into}`) });
      await c.connect();
      const n = Number((await c.query(`select count(*) as n from idv_customers`)).rows[0].n);
      await c.end();
      expect(n).toBe(0);
    } else {
      const Database = require('better-sqlite3');
      const db = new Database(sqliteFile(into), { readonly: true });
      expect(db.prepare('select count(*) as n from idv_customers').get().n).toBe(0);
      db.close();
    }
  } finally {
    if (client === 'postgres') await pgSql(`DROP DATABASE IF EXISTS ${into} WITH (FORCE)`);
    else for (const ext of ['', '-wal', '-shm']) fs.rmSync(`${sqliteFile(into)}${ext}`, { force: true });
    fs.rmSync(path.join(dirs.backups, tampered.file));
  }
});

test('erased stays erased: erase after a backup, restore that backup — the ledger erases the customer again', async () => {
  const [file] = backups();
  const admin = bearer(await adminSession(app!, 'strapi-super-admin'));
  const erased = await app!.http().post(`/id-vault/customers/${first}/erase`).set(admin).send({ reason: 'asked to be forgotten' });
  expect(erased.status).toBe(200);
  await app!.close();
  app = null;

  const res = await restore(file, '--force');
  expect(res.stderr).not.toMatch(/failed|FAILED|BROKEN/);
  expect(res.status).toBe(0);
  expect(res.stdout).toMatch(/erasure ledger re-applied: 1 customer\(s\) erased again/);

  app = await bootStrapi({ database, keep: true });
  const husk = (await app.http().get(`${API}/customers/${first}`).set(bearer(token))).body.data;
  expect(husk).toMatchObject({ name: '[erased]', idNumber: null, phone: null, email: null, address: null, notes: null });
  expect(await app.knex('idv_data_keys').where('ref', `${UIDS.customer}#${first}`)).toEqual([]);
  expect((await app.http().get(`${API}/customers`).query({ filters: { idNumber: { $eq: people[0].idNumber } } }).set(bearer(token))).body.data).toEqual([]);
  const replay = await auditActions('customer.erase.replayed');
  expect(replay).toHaveLength(1);
  expect(replay[0]).toMatchObject({ outcome: 'success', subject_id: first, actor_type: 'system' });
  const restored = (await auditActions('backup.restored')).at(-1);
  const details = typeof restored.details === 'string' ? JSON.parse(restored.details) : restored.details;
  expect(details).toMatchObject({ ledgerReplayed: 1, file });
  // The others are as they were.
  const others = (await observe()).customers.filter((c: any) => c.documentId !== first);
  expect(others).toEqual(before.customers.filter((c: any) => c.documentId !== first));
});

/** Starts a script, kills it with SIGKILL once `ready(stderr, stdout)` holds; resolves when it is dead. */
const killWhen = (name: string, args: string[], ready: (out: string) => boolean): Promise<boolean> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', name), ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let killed = false;
    const look = (c: Buffer) => {
      out += c;
      if (!killed && ready(out)) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    const timer = setInterval(() => {
      if (!killed && ready(out)) {
        killed = true;
        child.kill('SIGKILL');
      }
    }, 5);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      resolve(signal === 'SIGKILL');
    });
  });

test('kill -9 during a backup leaves no file under a final name; kill -9 during a restore, rerun with --force, finishes', async () => {
  // Enough rows that a backup and a restore take a while: harmless job-run rows.
  const meta = app!.strapi.db.metadata.get(UIDS.jobRun);
  const now = client === 'postgres' ? new Date() : Date.now();
  const rows = Array.from({ length: 20000 }, (_, i) => ({ run_key: `backup-test:${i}`, document_id: `bk${String(i).padStart(22, '0')}`, created_at: now, updated_at: now }));
  await app!.knex.batchInsert(meta.tableName, rows, 500);
  await app!.close();
  app = null;

  const finals = backups();
  const temps = () => fs.readdirSync(dirs.backups).filter((f) => f.endsWith('.part'));
  expect(await killWhen('backup.js', [], () => temps().length > 0)).toBe(true);
  expect(backups()).toEqual(finals);

  const again = await runScript('backup.js');
  expect(again.status).toBe(0);
  expect(temps()).toEqual([]); // the killed run's temp file went with the next run
  const latest = backups().filter((f) => !finals.includes(f));
  expect(latest).toHaveLength(1);

  await destroyDatabase(database);
  // Killed a moment after the load starts (inside its transaction, or just before it).
  let loading = 0;
  const inLoad = (out: string) => {
    if (!loading && out.includes('load rows')) loading = Date.now();
    return loading > 0 && Date.now() - loading > 300;
  };
  expect(await killWhen('backup-restore.js', [path.join(dirs.backups, latest[0])], inLoad)).toBe(true);
  const rerun = await restore(latest[0], '--force');
  expect(rerun.stderr).not.toMatch(/failed|FAILED|BROKEN/);
  expect(rerun.status).toBe(0);
  // SQLite: no temp image of the killed run (or of the rerun) is left beside the database.
  expect(restoreTemps(database)).toEqual([]);

  app = await bootStrapi({ database, keep: true });
  expect(Number((await app.knex(meta.tableName).where('run_key', 'like', 'backup-test:%').count({ n: '*' }).first()).n)).toBe(20000);
  const after = await observe();
  expect(after.customers.filter((c: any) => c.documentId !== first)).toEqual(before.customers.filter((c: any) => c.documentId !== first));
  expect(after.customers.find((c: any) => c.documentId === first)).toMatchObject({ name: '[erased]', idNumber: null });
  expect(after.documents.map((d: any) => d.documentNumber)).toEqual(['E17020002']);
});

test('Settings → Backups: list, back up now and download need backup.manage; back up now runs in the background, one at a time; a download is audited; other names are 404', async () => {
  const admin = bearer(await adminSession(app!, 'strapi-super-admin'));
  const editor = bearer(await adminSession(app!, 'strapi-editor'));
  for (const [method, url] of [['get', '/id-vault/backups'], ['post', '/id-vault/backups'], ['get', `/id-vault/backups/${backups()[0]}/download`]] as const) {
    expect((await (app!.http() as any)[method](url).set(editor)).status).toBe(403);
  }
  const kept = backups();
  // Two clicks at once: one backup starts (202, at once), the other is told one is being written.
  const clicks = await Promise.all([0, 1].map(() => app!.http().post('/id-vault/backups').set(admin).send({})));
  expect(clicks.map((r) => r.status).sort()).toEqual([202, 409]);
  const started = clicks.find((r) => r.status === 202)!.body.data;
  expect(started).toMatchObject({ file: expect.stringMatching(/^idv-backup-\d{8}T\d{6}Z-[0-9a-f]{6}\.idvb$/), trigger: 'admin', pid: expect.any(Number) });
  expect(clicks.find((r) => r.status === 409)!.body.error).toMatchObject({ name: 'BackupRunning' });
  // The page follows it until it is written.
  let list: any;
  for (let i = 0; ; i++) {
    list = await app!.http().get('/id-vault/backups').set(admin);
    expect(list.status).toBe(200);
    if (!list.body.data.running.length) break;
    expect(list.body.data.running).toEqual([expect.objectContaining({ file: started.file, startedAt: started.startedAt })]);
    expect(i).toBeLessThan(300);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(backups()).toEqual([...kept, started.file].sort());
  const created = (await auditActions('backup.created')).at(-1);
  expect(created).toMatchObject({ outcome: 'success', actor_type: 'admin' });
  expect(list.body.data.files.map((f: any) => f.file)).toEqual([...backups()].reverse());
  const now = list.body.data.files.find((f: any) => f.file === started.file);
  expect(now).toMatchObject({ bytes: fs.statSync(path.join(dirs.backups, started.file)).size, masterKeyId: 'test1' });
  expect(list.body.data).toMatchObject({ keep: 30, cron: '0 2 * * *', lastSuccess: { file: started.file, trigger: 'admin' } });

  // Another live process's backup (its temp file in the directory) is listed as running, and holds back a new one.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const temp = path.join(dirs.backups, `.idv-backup-20261207T010203Z-abcdef.idvb.${other.pid}.part`);
  fs.writeFileSync(temp, '');
  try {
    const busy = await app!.http().get('/id-vault/backups').set(admin);
    expect(busy.body.data.running).toEqual([{ file: 'idv-backup-20261207T010203Z-abcdef.idvb', startedAt: '2026-12-07T01:02:03Z', pid: other.pid, trigger: null, done: null, total: null }]);
    const refused = await app!.http().post('/id-vault/backups').set(admin).send({});
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toBe(`a backup is being written (started 2026-12-07T01:02:03Z, by process ${other.pid}); wait for it to finish`);
    expect(backups()).toEqual([...kept, started.file].sort());
  } finally {
    other.kill('SIGKILL');
    fs.rmSync(temp, { force: true });
  }
  expect(list.body.data.files.map((f: any) => f.needsMasterKeys)).toEqual(backups().map(() => ['test1']));
  // The Keys page says how many kept backups need each master key.
  const keys = await app!.http().get('/id-vault/keys').set(admin);
  expect(keys.body.data.masterKeys).toEqual([expect.objectContaining({ masterKeyId: 'test1', active: true, backups: backups().length })]);

  const dl = await app!.http().get(`/id-vault/backups/${now.file}/download`).set(admin).buffer(true).parse((res, cb) => {
    const parts: Buffer[] = [];
    res.on('data', (c: Buffer) => parts.push(c));
    res.on('end', () => cb(null, Buffer.concat(parts)));
  });
  expect(dl.status).toBe(200);
  expect(dl.headers['content-disposition']).toBe(`attachment; filename="${now.file}"`);
  expect(dl.headers['cache-control']).toBe('no-store');
  expect((dl.body as Buffer).equals(fs.readFileSync(path.join(dirs.backups, now.file)))).toBe(true);
  expect((await auditActions('backup.downloaded')).at(-1)).toMatchObject({ outcome: 'success', actor_type: 'admin' });
  for (const name of ['..%2F..%2Fpackage.json', 'idv-backup-x.idvb', `${now.file}.part`]) {
    expect((await app!.http().get(`/id-vault/backups/${name}/download`).set(admin)).status).toBe(404);
  }
});
