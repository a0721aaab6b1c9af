/**
 * Master-key rotation (`npm run keys:rotate`): start-up refuses a ring that lacks a master key stored data
 * keys need (naming it); the command re-wraps every data key under the active key while another process
 * (this test's Strapi) keeps reading and writing; a kill -9 in the middle loses nothing and a rerun finishes;
 * the key bytes never change; the latest audit checkpoint and the erasure ledger are re-signed; afterwards the old key can leave the
 * ring and everything still decrypts and verifies.
 */
import fs from 'fs';
import path from 'path';
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { bootStrapi, apiToken, adminSession, newMasterKeyEntry, ROOT, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { newDataKey, parseMasterKeys, unwrapDataKey, wrapDataKey } from '../../plugins/id-vault/server/src/crypto';
import { UIDS } from '../../plugins/id-vault/shared';

const DAY = 86_400_000;
const OLD = newMasterKeyEntry('rotold');
const NEW = newMasterKeyEntry('rotnew');
const SYNTHETIC_KEYS = 4000;
const saved = { keys: process.env.ID_VAULT_MASTER_KEYS, batch: process.env.ID_VAULT_ROTATE_BATCH, ledger: process.env.ID_VAULT_LEDGER_DIR };
const ledgerDir = path.join(ROOT, '.tmp', 'test', `ledger-${randomBytes(4).toString('hex')}`);
const ledgerLines = () => fs.readdirSync(ledgerDir).flatMap((f) => fs.readFileSync(path.join(ledgerDir, f), 'utf8').trim().split('\n'));
const script = path.join(ROOT, 'scripts', 'keys-rotate.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let app: TestApp | null = null;
let database: string;
const people = [syntheticPerson(1501), syntheticPerson(1502), syntheticPerson(1503)];

afterAll(async () => {
  await app?.close();
  process.env.ID_VAULT_MASTER_KEYS = saved.keys;
  for (const [k, v] of [['ID_VAULT_ROTATE_BATCH', saved.batch], ['ID_VAULT_LEDGER_DIR', saved.ledger]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fs.rmSync(ledgerDir, { recursive: true, force: true });
});

/** Every stored data key, unwrapped under `ring`: key id → key bytes (hex). */
const unwrapAll = async (knex: any, ring: string) => {
  const r = parseMasterKeys(ring);
  const rows = await knex('idv_data_keys').select('key_id', 'wrapped');
  return new Map<string, string>(rows.map((row: any) => [row.key_id, unwrapDataKey(r, row.wrapped, row.key_id).toString('hex')]));
};
const underKey = async (knex: any, id: string) => Number((await knex('idv_data_keys').where('master_key_id', id).count({ n: '*' }).first()).n);

test('rotation re-wraps every key under the new master key, survives kill -9, and lets the old key go', async () => {
  // Before: everything under the old key, with a checkpoint of a prune signed by it.
  process.env.ID_VAULT_MASTER_KEYS = OLD;
  process.env.ID_VAULT_LEDGER_DIR = ledgerDir;
  app = await bootStrapi({ keep: true });
  database = app.database;
  // An erasure, whose ledger line the old key signs.
  const gone = await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: 'Erased before the rotation', idType: 'resident-id', idNumber: syntheticPerson(1507).idNumber } });
  const superAdmin = { Authorization: `Bearer ${await adminSession(app, 'strapi-super-admin')}` };
  expect((await app.http().post(`/id-vault/customers/${gone.documentId}/erase`).set(superAdmin).send({ reason: 'before the rotation' })).status).toBe(200);
  expect(ledgerLines().map((l) => JSON.parse(l).keyId)).toEqual(['rotold']);
  const ids: string[] = [];
  for (const [i, p] of people.entries()) {
    ids.push((await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: `Rotated ${i}`, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone } })).documentId);
  }
  // Synthetic data keys (no record behind them), so that a rotation takes long enough to be killed part-way.
  const ring = parseMasterKeys(OLD);
  const rows = Array.from({ length: SYNTHETIC_KEYS }, (_, i) => {
    const dk = newDataKey();
    return { document_id: randomBytes(12).toString('hex'), ref: `synthetic#${i}`, key_id: dk.id, wrapped: wrapDataKey(ring, dk), master_key_id: 'rotold' };
  });
  await app.knex.batchInsert('idv_data_keys', rows, 250);
  const audit = app.strapi.plugin('id-vault').service('audit');
  await audit.flush();
  await audit.prune(new Date(Date.now() + 366 * DAY));
  expect((await app.knex('idv_audit_checkpoints').orderBy('id', 'desc').first()).key_id).toBe('rotold');
  const before = await unwrapAll(app.knex, OLD);
  await app.close();
  app = null;

  // A ring without the old key: start-up refuses, naming it.
  process.env.ID_VAULT_MASTER_KEYS = NEW;
  await expect(bootStrapi({ database, keep: true })).rejects.toThrow(/lacks master key\(s\) that stored data keys need: rotold \(wraps \d+ data keys\)/);

  // The new key first, the old one after it: this process serves and writes while the command rotates.
  process.env.ID_VAULT_MASTER_KEYS = `${NEW},${OLD}`;
  process.env.ID_VAULT_ROTATE_BATCH = '25';
  app = await bootStrapi({ database, keep: true });
  const token = await apiToken(app.strapi, 'full-access');
  const child = spawn(process.execPath, [script], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let killed = false;
  for (let i = 0; i < 3000 && !killed; i += 1) {
    const done = await underKey(app.knex, 'rotnew');
    if (done > 200) {
      child.kill('SIGKILL');
      killed = true;
    }
    await sleep(10);
  }
  await exited;
  expect(killed).toBe(true);
  const partly = await underKey(app.knex, 'rotold');
  expect(partly).toBeGreaterThan(0);
  // The Keys page (keys.manage) shows the interrupted rotation and how much is left.
  const admin = { Authorization: `Bearer ${await adminSession(app, 'strapi-super-admin')}` };
  const status = (await app.http().get('/id-vault/keys').set(admin)).body.data;
  expect(status).toMatchObject({ activeMasterKeyId: 'rotnew', pending: partly, inProgress: { left: partly, total: before.size } });
  expect(status.masterKeys).toEqual(expect.arrayContaining([expect.objectContaining({ masterKeyId: 'rotold', dataKeys: partly, active: false, inRing: true })]));
  const editor = { Authorization: `Bearer ${await adminSession(app, 'strapi-editor')}` };
  expect((await app.http().get('/id-vault/keys').set(editor)).status).toBe(403);

  // The rerun goes on from where the killed one stopped, while this process writes new customers.
  const running = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [script], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    p.stdout.on('data', (c) => (out.stdout += c));
    p.stderr.on('data', (c) => (out.stderr += c));
    p.on('exit', (status) => resolve({ status, ...out }));
  });
  const created: string[] = [];
  for (const p of [syntheticPerson(1504), syntheticPerson(1505), syntheticPerson(1506)]) {
    const res = await app.http().post('/api/id-vault/customers').set({ Authorization: `Bearer ${token}` }).send({ data: { kind: 'personal', name: 'Written meanwhile', idType: 'resident-id', idNumber: p.idNumber } });
    expect(res.status).toBe(201);
    created.push(res.body.data.documentId);
  }
  const rerun = await running;
  expect(rerun.stderr).not.toMatch(/failed/);
  expect(rerun.status).toBe(0);
  expect(rerun.stdout).toMatch(/data keys re-wrapped under rotnew/);
  expect(rerun.stdout).toMatch(/re-signed \(it was under rotold\)/);
  expect(rerun.stdout).toMatch(/master key rotold now wraps 0 data keys in the database/);
  // The ledger's entry is appended again under the new key (the ledger is only ever appended to).
  expect(rerun.stdout).toMatch(/1 erasure-ledger entries re-signed under rotnew/);
  expect(ledgerLines().map((l) => JSON.parse(l).keyId)).toEqual(['rotold', 'rotnew']);
  expect(await underKey(app.knex, 'rotold')).toBe(0);
  // Same key bytes for every key that existed before: nothing was lost or changed, only re-wrapped.
  const after = await unwrapAll(app.knex, NEW);
  for (const [id, key] of before) expect(after.get(id)).toBe(key);
  const events = await app.knex('idv_audit_events').whereIn('action', ['keys.rotate.started', 'keys.rotate']).orderBy('id');
  expect(events.filter((e: any) => e.action === 'keys.rotate.started').length).toBeGreaterThanOrEqual(2);
  expect(events[events.length - 1]).toMatchObject({ action: 'keys.rotate', outcome: 'success', actor_type: 'system' });
  expect(JSON.stringify(events)).not.toContain(people[0].idNumber);
  await app.close();
  app = null;

  // The old key leaves the ring: start-up (the ledger's old line is covered by its copy), reads, and the
  // audit chain (from the re-signed checkpoint) all hold.
  process.env.ID_VAULT_MASTER_KEYS = NEW;
  app = await bootStrapi({ database });
  const reader = await apiToken(app.strapi, 'full-access');
  for (const [i, id] of ids.entries()) {
    const res = await app.http().get(`/api/id-vault/customers/${id}`).set({ Authorization: `Bearer ${reader}` });
    expect(res.body.data.idNumber).toBe(people[i].idNumber);
  }
  for (const id of created) expect((await app.http().get(`/api/id-vault/customers/${id}`).set({ Authorization: `Bearer ${reader}` })).body.data.idNumber).toMatch(/^\d{17}[\dX]$/);
  const done = (await app.http().get('/id-vault/keys').set({ Authorization: `Bearer ${await adminSession(app, 'strapi-super-admin')}` })).body.data;
  expect(done).toMatchObject({ pending: 0, inProgress: null, lastRotation: { outcome: 'success', to: 'rotnew' } });
  expect(done.masterKeys).toEqual([expect.objectContaining({ masterKeyId: 'rotnew', active: true, inRing: true })]);
  const verified = await app.strapi.plugin('id-vault').service('audit').verify();
  expect(verified).toMatchObject({ ok: true });
});
