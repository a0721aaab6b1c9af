/**
 * Erasure across processes: a second Strapi process on the same database, which has just read (and so
 * cached the key of) a customer, serves it erased as soon as another process has erased it — the live row
 * holds no ciphertext any more, whatever a key cache holds. On PostgreSQL: processes starting together after a
 * restore replay the erasure ledger once (one tombstone, one event).
 */
import path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import fs from 'fs';
import { bootStrapi, apiToken, adminSession, ROOT, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';

const ledgerDir = path.join(ROOT, '.tmp', 'test', `ledger-${randomBytes(4).toString('hex')}`);
const saved = process.env.ID_VAULT_LEDGER_DIR;
let app: TestApp;
let second: ChildProcess | null = null;

beforeAll(async () => {
  process.env.ID_VAULT_LEDGER_DIR = ledgerDir;
  // Kept: the replay test boots on it again (that last boot drops it).
  app = await bootStrapi({ keep: true });
});
afterAll(async () => {
  second?.kill('SIGTERM');
  await app?.close();
  fs.rmSync(ledgerDir, { recursive: true, force: true });
  if (saved === undefined) delete process.env.ID_VAULT_LEDGER_DIR;
  else process.env.ID_VAULT_LEDGER_DIR = saved;
});

test('a second process stops serving an erased customer at once', async () => {
  const p = syntheticPerson(1701);
  const id = (await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: 'Seen elsewhere', idType: 'resident-id', idNumber: p.idNumber, phone: p.phone } })).documentId;
  const token = await apiToken(app.strapi, 'full-access');
  second = spawn(process.execPath, [path.join(ROOT, 'tests', 'helpers', 'second-process.js')], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    second!.stdout!.on('data', (chunk) => {
      const m = /listening (\d+)/.exec(String(chunk));
      if (m) resolve(Number(m[1]));
    });
    second!.on('exit', (code) => reject(new Error(`the second process exited (${code})`)));
  });
  const readThere = async () => (await (await fetch(`http://127.0.0.1:${port}/api/id-vault/customers/${id}`, { headers: { Authorization: `Bearer ${token}` } })).json()).data;
  expect(await readThere()).toMatchObject({ name: 'Seen elsewhere', idNumber: p.idNumber });
  const admin = { Authorization: `Bearer ${await adminSession(app, 'strapi-super-admin')}` };
  expect((await app.http().post(`/id-vault/customers/${id}/erase`).set(admin).send({ reason: 'test of two processes' })).status).toBe(200);
  expect(await readThere()).toMatchObject({ name: '[erased]', idNumber: null, phone: null });
});

/** Starts tests/helpers/second-process.js on the database in the environment; resolves once it listens. */
const startProcess = () =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'tests', 'helpers', 'second-process.js')], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (chunk) => /listening \d+/.test(String(chunk)) && resolve(child));
    child.on('exit', (code) => reject(new Error(`a process exited (${code})`)));
  });

// Several processes on one SQLite file are not a supported deployment; the PostgreSQL lane runs this.
(process.env.DATABASE_CLIENT === 'postgres' ? test : test.skip)('processes starting together after a restore replay the ledger once', async () => {
  const p = syntheticPerson(1702);
  const id = (await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: 'Restored twice', idType: 'resident-id', idNumber: p.idNumber } })).documentId;
  const tables = ['idv_customers', 'idv_data_keys', 'idv_blind_indexes', 'idv_erasures'];
  const before: Record<string, any[]> = {};
  for (const t of tables) before[t] = await app.knex(t).select('*');
  const admin = { Authorization: `Bearer ${await adminSession(app, 'strapi-super-admin')}` };
  expect((await app.http().post(`/id-vault/customers/${id}/erase`).set(admin).send({ reason: 'replay test' })).status).toBe(200);
  // The restore of an older backup: these tables as they were before the erasure.
  for (const t of [...tables].reverse()) await app.knex(t).del();
  for (const t of tables) if (before[t].length) await app.knex.batchInsert(t, before[t], 100);
  await app.knex.raw(`select setval(pg_get_serial_sequence('idv_erasures', 'id'), coalesce((select max(id) from idv_erasures), 0) + 1, false)`);
  second?.kill('SIGTERM');
  second = null;
  const database = app.database;
  await app.close();
  app = null as any;

  // Two processes start at once on the restored database; then a third looks. (Their boots take seconds and
  // the replay milliseconds, so this rarely makes the two replays overlap: it checks the outcome, the
  // advisory lock in erasure.applyLedger is what makes it hold when they do.)
  const both = await Promise.all([startProcess(), startProcess()]);
  await Promise.all(both.map((c) => new Promise((r) => (c.on('exit', r), c.kill('SIGTERM')))));
  app = await bootStrapi({ database });
  await app.strapi.plugin('id-vault').service('audit').flush();
  expect(await app.knex('idv_audit_events').where({ action: 'customer.erase.replayed', subject_id: id })).toHaveLength(1);
  expect(await app.knex('idv_erasures').where({ customer_document_id: id })).toHaveLength(1);
  expect(await app.knex('idv_customers').where({ document_id: id }).first()).toMatchObject({ name: '[erased]', id_number: null });
}, 180000);
