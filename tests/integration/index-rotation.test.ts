/**
 * Blind-index root rotation (`npm run keys:rotate-index`): a new root (version 2), every document re-indexed
 * under it in batches while this test's Strapi keeps searching and writing; a kill -9 in the middle of the walk
 * leaves search working (both roots are searched during the window) and a rerun goes on from its checkpoint;
 * afterwards every customer is found by exact search, only version-2 rows remain, the old root key is
 * destroyed, the Keys page shows the version, and the steps are audited.
 */
import path from 'path';
import qs from 'qs';
import { spawn } from 'child_process';
import { bootStrapi, apiToken, adminSession, runScript, systemDocs, ROOT, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';

const CUSTOMERS = 120;
const saved = { batch: process.env.ID_VAULT_ROTATE_BATCH, pause: process.env.ID_VAULT_ROTATE_PAUSE_MS };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let app: TestApp;
let token: string;
const people = Array.from({ length: CUSTOMERS }, (_, i) => syntheticPerson(1900 + i));
const ids: string[] = [];

beforeAll(async () => {
  // One record a batch and 25 ms between batches: the walk lasts about 3 s, long enough to be killed part-way
  // however fast the machine (without the pause a quiet machine finished it between two looks of the killer).
  process.env.ID_VAULT_ROTATE_BATCH = '1';
  process.env.ID_VAULT_ROTATE_PAUSE_MS = '25';
  app = await bootStrapi();
  token = await apiToken(app.strapi, 'full-access');
  for (const [i, p] of people.entries()) {
    ids.push((await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: `Indexed ${i}`, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email } })).documentId);
  }
});
afterAll(async () => {
  await app?.close();
  for (const [k, v] of [['ID_VAULT_ROTATE_BATCH', saved.batch], ['ID_VAULT_ROTATE_PAUSE_MS', saved.pause]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** Document ids an exact search by ID number finds. */
const search = async (idNumber: string): Promise<string[]> => {
  const res = await app.http().get(`/api/id-vault/customers?${qs.stringify({ filters: { idNumber: { $eq: idNumber } } })}`).set({ Authorization: `Bearer ${token}` });
  expect(res.status).toBe(200);
  return res.body.data.map((c: any) => c.documentId);
};
const state = async () => {
  const row = await app.knex('strapi_core_store_settings').where({ key: 'plugin_id-vault_index-root-state' }).first();
  return row ? JSON.parse(row.value) : null;
};
const rotationEvents = async () => {
  await app.strapi.plugin('id-vault').service('audit').flush();
  const events = await app.knex('idv_audit_events').whereIn('action', ['keys.rotate-index.started', 'keys.rotate-index']).orderBy('id');
  return events.map((e: any) => `${e.action}:${e.outcome}`);
};
const versions = async () => (await app.knex('idv_blind_indexes').select('root_version').count({ n: '*' }).groupBy('root_version')).map((r: any) => [r.root_version, Number(r.n)]);

/** Searches for random customers until `until` resolves; returns how many searches missed. */
const keepSearching = async (until: Promise<unknown>) => {
  let stop = false;
  until.then(() => (stop = true));
  let searches = 0;
  const misses: number[] = [];
  while (!stop) {
    const i = searches % CUSTOMERS;
    if ((await search(people[i].idNumber)).join() !== ids[i]) misses.push(i);
    searches += 1;
  }
  return { searches, misses };
};

test('rotate-index re-indexes under a new root while search keeps working, survives kill -9, and retires the old root', async () => {
  const before = await app.knex('idv_blind_indexes').where({ doc_id: ids[0], field: 'idNumber' }).first();
  expect(before.root_version).toBe(1);
  expect(await app.knex('idv_data_keys').where({ ref: 'index-root' })).toHaveLength(1);

  // First run: killed part-way through the walk, while this process searches.
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'keys-rotate-index.js')], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let killed = false;
  let gone = false;
  exited.then(() => (gone = true));
  const killer = (async () => {
    for (let i = 0; i < 3000 && !killed && !gone; i += 1) {
      const s = await state();
      if (s?.phase === 'reindex' && s.done >= 5 && s.done < s.total) {
        child.kill('SIGKILL');
        killed = true;
      }
      await sleep(5);
    }
  })();
  const during = await keepSearching(exited);
  await killer;
  expect({ killed, output: killed ? '' : output }).toEqual({ killed: true, output: '' });
  expect(during.searches).toBeGreaterThan(20);
  expect(during.misses).toEqual([]);
  const interrupted = await state();
  expect(interrupted).toMatchObject({ version: 1, next: 2, phase: 'reindex' });
  expect(interrupted.done).toBeLessThan(interrupted.total);
  // Both roots' rows exist now; the Keys page shows the interrupted rotation.
  expect(new Map(await versions()).get(2)).toBeGreaterThan(0);
  const admin = { Authorization: `Bearer ${await adminSession(app, 'strapi-super-admin')}` };
  const paused = (await app.http().get('/id-vault/keys').set(admin)).body.data.indexRoot;
  expect(paused).toMatchObject({ version: 1, inProgress: { from: 1, to: 2, phase: 'reindex', done: interrupted.done, total: interrupted.total } });

  // A customer written during the window is indexed under both roots.
  const late = syntheticPerson(1900 + CUSTOMERS);
  const created = await app.http().post('/api/id-vault/customers').set({ Authorization: `Bearer ${token}` }).send({ data: { kind: 'personal', name: 'Written in the window', idType: 'resident-id', idNumber: late.idNumber } });
  expect(created.status).toBe(201);
  const lateId = created.body.data.documentId;
  expect((await app.knex('idv_blind_indexes').where({ doc_id: lateId, field: 'idNumber' }).pluck('root_version')).sort()).toEqual([1, 2]);

  // The rerun goes on from the checkpoint while this process keeps searching.
  const rerun = runScript('keys-rotate-index.js');
  const after = await keepSearching(rerun);
  const out = await rerun;
  expect(out.stderr).not.toMatch(/failed/);
  expect(out.status).toBe(0);
  expect(out.stdout).toMatch(/resuming the rotation to index root version 2 \(reindex/);
  expect(out.stdout).toMatch(/root version 1 retired \(\d+ index rows deleted, its key destroyed\)/);
  expect(after.misses).toEqual([]);

  // Afterwards: only version-2 rows, new tokens, the old root key gone; every customer found.
  expect(await versions()).toEqual([[2, expect.any(Number)]]);
  const now = await app.knex('idv_blind_indexes').where({ doc_id: ids[0], field: 'idNumber' }).first();
  expect(now.token).not.toBe(before.token);
  expect(await app.knex('idv_data_keys').where({ ref: 'index-root' })).toEqual([]);
  expect(await app.knex('idv_data_keys').where({ ref: 'index-root:v2' })).toHaveLength(1);
  expect(await state()).toEqual({ version: 2, next: null });
  await sleep(5200); // this process's cached state expires: it searches under version 2 alone
  for (const [i, p] of people.entries()) expect(await search(p.idNumber)).toEqual([ids[i]]);
  expect(await search(late.idNumber)).toEqual([lateId]);
  const phone = await app.http().get(`/api/id-vault/customers?${qs.stringify({ filters: { phone: { $eq: people[5].phone } } })}`).set({ Authorization: `Bearer ${token}` });
  expect(phone.body.data.map((c: any) => c.documentId)).toEqual([ids[5]]);

  const done = (await app.http().get('/id-vault/keys').set(admin)).body.data.indexRoot;
  expect(done).toMatchObject({ version: 2, inProgress: null, lastRotation: { outcome: 'success', from: 1, to: 2 } });
  expect(await rotationEvents()).toEqual(['keys.rotate-index.started:success', 'keys.rotate-index.started:success', 'keys.rotate-index:success']);
  const events = await app.knex('idv_audit_events').whereIn('action', ['keys.rotate-index.started', 'keys.rotate-index']);
  expect(events.every((e: any) => e.actor_type === 'system')).toBe(true);
  const raw = JSON.stringify(events);
  for (const p of people.slice(0, 10)) expect(raw).not.toContain(p.idNumber);
});

test('two rotate-index runs at once: the second says one is running and exits 1, the first finishes', async () => {
  // Whatever the test before left, this one starts from the state and the audit it finds.
  const start = await state();
  const from = start?.version ?? 1;
  const eventsBefore = (await rotationEvents()).length;
  const first = spawn(process.execPath, [path.join(ROOT, 'scripts', 'keys-rotate-index.js')], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  first.stdout.on('data', (c) => (output += c));
  first.stderr.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
  // The first run holds the lock from before it writes the new state until it is done (the window alone is 7 s).
  for (let i = 0; i < 4000 && (await state())?.next !== from + 1; i += 1) await sleep(5);
  expect(await state()).toMatchObject({ version: from, next: from + 1, phase: 'reindex' });
  const second = await runScript('keys-rotate-index.js');
  expect(second.status).toBe(1);
  expect(second.stderr).toMatch(/keys:rotate-index: another keys:rotate-index is running \(.+\); wait for it to finish; nothing was done\./);
  expect(await exited).toBe(0);
  expect(output).toMatch(new RegExp(`root version ${from} retired`));
  expect(await state()).toEqual({ version: from + 1, next: null });
  // This run's two events: the refused run recorded nothing.
  expect((await rotationEvents()).slice(eventsBefore)).toEqual(['keys.rotate-index.started:success', 'keys.rotate-index:success']);
});
