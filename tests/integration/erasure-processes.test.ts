/**
 * Erasure across processes: a second Strapi process on the same database, which has just read (and so
 * cached the key of) a customer, serves it erased as soon as another process has erased it — the live row
 * holds no ciphertext any more, whatever a key cache holds.
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
  app = await bootStrapi();
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
