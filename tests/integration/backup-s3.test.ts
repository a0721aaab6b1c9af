/**
 * Backups to S3 too (ID_VAULT_BACKUP_S3), against s3rver on loopback (started here), the scan store local:
 * each backup's object in the bucket is the local file byte for byte; ID_VAULT_BACKUP_KEEP prunes the bucket
 * as it prunes the directory; the Backups page says which files are in S3 (and lists those only there); a
 * failed upload fails the run with the local file kept; and `backup:restore -- s3:<name>`, the local file
 * gone, restores into a fresh empty database from which a customer reads back decrypted over HTTP.
 */
import fs from 'fs';
import path from 'path';
import { randomBytes } from 'crypto';
import { S3Client, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import { bootStrapi, apiToken, adminSession, runScript, systemDocs, ROOT, type TestApp, PG_ADMIN_URL, pgSql, sqliteFile } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';

const S3rver = require('s3rver');
const BUCKET = 'idv-test-backups';
const PREFIX = 'id-vault-backups/';
const API = '/api/id-vault';
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const work = path.join(ROOT, '.tmp', 'test', `backup-s3-${randomBytes(4).toString('hex')}`);
const dirs = { backups: path.join(work, 'backups'), ledger: path.join(work, 'ledger'), scans: path.join(work, 'scans'), s3: path.join(work, 's3rver') };
const ENV: Record<string, string> = {
  ID_VAULT_BACKUP_DIR: dirs.backups,
  ID_VAULT_LEDGER_DIR: dirs.ledger,
  ID_VAULT_SCAN_DIR: dirs.scans,
  ID_VAULT_BACKUP_KEEP: '2',
  ID_VAULT_BACKUP_S3: 'true',
  ID_VAULT_S3_BUCKET: BUCKET,
  ID_VAULT_S3_REGION: 'us-east-1',
  ID_VAULT_S3_ACCESS_KEY_ID: 'S3RVER',
  ID_VAULT_S3_SECRET_ACCESS_KEY: 'S3RVER',
};
const saved = Object.fromEntries([...Object.keys(ENV), 'ID_VAULT_S3_ENDPOINT'].map((k) => [k, process.env[k]]));
const people = [1801, 1802].map((n) => syntheticPerson(n));

let server: any;
let s3: S3Client;
let app: TestApp | null = null;
let client: 'sqlite' | 'postgres';
let token: string;
let firstId: string;
const databases: string[] = [];


const local = () => (fs.existsSync(dirs.backups) ? fs.readdirSync(dirs.backups).filter((f) => f.endsWith('.idvb')).sort() : []);
const objects = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX }))).Contents ?? []).map((o) => String(o.Key).slice(PREFIX.length)).sort();
const object = async (name: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${name}` }))).Body!.transformToByteArray());
const auditDetails = async (action: string) => {
  await app!.strapi.plugin('id-vault').service('audit').flush();
  const row = await app!.knex('idv_audit_events').where({ action }).orderBy('id', 'desc').first();
  return row && { outcome: row.outcome, details: typeof row.details === 'string' ? JSON.parse(row.details) : row.details };
};

beforeAll(async () => {
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dirs.s3, configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  Object.assign(process.env, ENV, { ID_VAULT_S3_ENDPOINT: `http://127.0.0.1:${port}` });
  s3 = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  app = await bootStrapi({ keep: true });
  databases.push(app.database);
  client = app.client;
  token = await apiToken(app.strapi, 'full-access');
  for (const [i, p] of people.entries()) {
    const c = await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: `S3 Backup Person ${i}`, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email } });
    if (i === 0) firstId = c.documentId;
  }
});

afterAll(async () => {
  await app?.close();
  for (const name of databases) {
    if (client === 'postgres') await pgSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    else for (const ext of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${sqliteFile(name)}${ext}`, { force: true });
  }
  s3?.destroy();
  await server?.close();
  fs.rmSync(work, { recursive: true, force: true });
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

test('each backup is also in the bucket, byte for byte; ID_VAULT_BACKUP_KEEP prunes the bucket too', async () => {
  const cli = await runScript('backup.js');
  expect(cli.stderr).not.toMatch(/failed/);
  expect(cli.status).toBe(0);
  expect(cli.stdout).toMatch(/Uploaded to S3\./);
  const [file] = local();
  expect(await objects()).toEqual([file]);
  expect((await object(file)).equals(fs.readFileSync(path.join(dirs.backups, file)))).toBe(true);
  expect(await auditDetails('backup.created')).toMatchObject({ outcome: 'success', details: { file, s3: 'uploaded', trigger: 'cli' } });

  // Two more (names carry the second: one a second apart), keep = 2: the oldest goes from both places.
  const backup = app!.strapi.plugin('id-vault').service('backup');
  for (let i = 0; i < 2; i += 1) {
    await new Promise((r) => setTimeout(r, 1100));
    expect(await backup.create({ trigger: 'test' })).toMatchObject({ s3: 'uploaded' });
  }
  const kept = local();
  expect(kept).toHaveLength(2);
  expect(kept).not.toContain(file);
  expect(await objects()).toEqual(kept);
  for (const name of kept) expect((await object(name)).equals(fs.readFileSync(path.join(dirs.backups, name)))).toBe(true);
  // Ciphertext only: nothing of the seeded people in the objects.
  for (const name of kept) for (const v of [people[0].idNumber, people[0].email, 'S3 Backup Person 0']) expect((await object(name)).includes(Buffer.from(v))).toBe(false);
});

test('a failed upload fails the run: the local file is kept, backup.created says s3: failed, backup.failed follows', async () => {
  const before = local();
  process.env.ID_VAULT_S3_BUCKET = 'idv-test-no-such-bucket';
  const res = await runScript('backup.js').finally(() => (process.env.ID_VAULT_S3_BUCKET = BUCKET));
  expect(res.status).toBe(1);
  expect(res.stderr).toMatch(/backup failed: the backup idv-backup-\S+\.idvb was written locally but its upload to S3 failed \(\w+\); the local file is kept\./);
  const added = local().filter((f) => !before.includes(f));
  expect(added).toHaveLength(1);
  expect(await auditDetails('backup.created')).toMatchObject({ outcome: 'success', details: { file: added[0], s3: 'failed' } });
  expect(await auditDetails('backup.failed')).toMatchObject({ outcome: 'failure', details: { file: added[0], s3: 'failed', local: 'kept', error: expect.stringMatching(/^s3:/) } });
  expect(await objects()).not.toContain(added[0]);
  fs.rmSync(path.join(dirs.backups, added[0]));
});

test('the Backups page says which files are in S3, and lists those only there', async () => {
  const admin = bearer(await adminSession(app!, 'strapi-super-admin'));
  // The failed run's local prune took the oldest local file; it is still in S3.
  const [older, newer] = await objects();
  expect(local()).toEqual([newer]);
  const res = await app!.http().get('/id-vault/backups').set(admin);
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({ s3: true, s3Error: null, keep: 2 });
  expect(res.body.data.files.map((f: any) => [f.file, f.local, f.s3])).toEqual([
    [newer, true, true],
    [older, false, true],
  ]);
  expect(res.body.data.files[0]).toMatchObject({ masterKeyId: 'test1', bytes: fs.statSync(path.join(dirs.backups, newer)).size });
  expect(res.body.data.files[1]).toMatchObject({ masterKeyId: null, bytes: (await object(older)).length });
  expect((await app!.http().get(`/id-vault/backups/${older}/download`).set(admin)).status).toBe(404);
});

test('restore from s3:<name>, the local file gone, into a fresh empty database: a customer reads back decrypted', async () => {
  const name = (await objects()).at(-1)!;
  fs.rmSync(path.join(dirs.backups, name));
  await app!.close();
  app = null;
  const fresh = `idvault_t_${process.pid}_r${randomBytes(3).toString('hex')}`;
  databases.push(fresh);
  if (client === 'postgres') await pgSql(`CREATE DATABASE ${fresh}`);
  const keep = { url: process.env.DATABASE_URL, file: process.env.DATABASE_FILENAME };
  if (client === 'postgres') process.env.DATABASE_URL = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${fresh}`);
  else process.env.DATABASE_FILENAME = sqliteFile(fresh);
  const res = await runScript('backup-restore.js', [`s3:${name}`]).finally(() => {
    process.env.DATABASE_URL = keep.url;
    process.env.DATABASE_FILENAME = keep.file;
  });
  expect(res.stderr).not.toMatch(/failed|FAILED|BROKEN/);
  expect(res.status).toBe(0);
  expect(res.stdout).toMatch(new RegExp(`downloading s3://${BUCKET}/${PREFIX}${name.replace(/\./g, '\\.')} into `));
  expect(res.stdout).toMatch(/verified: /);
  expect(res.stdout).toMatch(/backup:restore: done\./);
  // Downloaded into ID_VAULT_BACKUP_DIR as it is in the bucket (ciphertext), no temp file left.
  expect((await object(name)).equals(fs.readFileSync(path.join(dirs.backups, name)))).toBe(true);
  expect(fs.statSync(path.join(dirs.backups, name)).mode & 0o777).toBe(0o600);
  expect(fs.readdirSync(dirs.backups).filter((f) => f.endsWith('.part'))).toEqual([]);

  app = await bootStrapi({ database: fresh, keep: true });
  const got = await app.http().get(`${API}/customers/${firstId}`).set(bearer(token));
  expect(got.status).toBe(200);
  expect(got.body.data).toMatchObject({ name: 'S3 Backup Person 0', idNumber: people[0].idNumber, email: people[0].email });
  expect(await auditDetails('backup.restored')).toMatchObject({ outcome: 'success', details: { file: name } });

  // A name that is not a backup's, or no such object: refused before anything is written.
  expect((await runScript('backup-restore.js', ['s3:../x'])).status).toBe(2);
  const missing = await runScript('backup-restore.js', ['s3:idv-backup-20000101T000000Z-000000.idvb', '--force']);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/could not be downloaded from S3 \(\w+\); nothing was written\./);
});
