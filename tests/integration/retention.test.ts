/**
 * Retention (Settings → ID Vault → Retention): rules validated and stored; the daily job (once across
 * processes) lists customers not updated for N years and identity documents expired more than N days ago —
 * not fresh ones; an archive admin (customer.erase) approves with a reason (the customer erased as erasure
 * does, the document deleted with its scans and key) or dismisses (the record stays); a reviewer sees only
 * candidates in their read scope; an auto-erase rule erases by itself; every step audited without values.
 */
import fs from 'fs';
import path from 'path';
import sharp from 'sharp';
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { bootStrapi, adminSession, ROOT, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { CONDITIONS, UIDS } from '../../plugins/id-vault/shared';

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const ledgerDir = path.join(ROOT, '.tmp', 'test', `ledger-${randomBytes(4).toString('hex')}`);
const saved = process.env.ID_VAULT_LEDGER_DIR;
const YEAR_MS = 365.25 * 86_400_000;
const RULES = { customers: { enabled: true, years: 5, autoErase: false }, documents: { enabled: true, days: 30, autoErase: false } };

let app: TestApp;
let admin: Record<string, string>;
let editor: Record<string, string>;
let scoped: Record<string, string>;
let second: ChildProcess | null = null;
const ids: Record<string, string> = {};
const people = { old: syntheticPerson(1801), fresh: syntheticPerson(1802), kept: syntheticPerson(1803), outside: syntheticPerson(1804), auto: syntheticPerson(1805) };

const retention = () => app.strapi.plugin('id-vault').service('retention');
const audit = async () => {
  await app.strapi.plugin('id-vault').service('audit').flush();
  return app.knex('idv_audit_events').where('action', 'like', 'retention%').orderBy('id');
};
const ageCustomers = (keys: string[], years = 6) =>
  app.knex('idv_customers').whereIn('document_id', keys.map((k) => ids[k])).update({ updated_at: new Date(Date.now() - years * YEAR_MS) });
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const candidates = async (who: Record<string, string>, query: Record<string, string> = {}) => {
  const res = await app.http().get('/id-vault/retention/candidates').query(query).set(who);
  expect(res.status).toBe(200);
  return res.body.data;
};
const byKey = (list: any[]) => Object.fromEntries(list.map((c: any) => [Object.keys(ids).find((k) => ids[k] === c.subjectDocumentId), c]));

/** An admin whose role reads and edits customers and documents of their own org unit only, and may erase. */
const scopedReviewer = async () => {
  const roles = app.strapi.service('admin::role');
  const role = await roles.create({ name: 'Retention reviewer (unit)', description: 'test' });
  const fields = (uid: string) => Object.entries<any>(app.strapi.getModel(uid).attributes).filter(([n, a]) => !a.private && !['createdBy', 'updatedBy'].includes(n)).map(([n]) => n);
  await roles.assignPermissions(role.id, [
    ...[UIDS.customer, UIDS.identityDocument].flatMap((subject) =>
      ['read', 'update'].map((verb) => ({ action: `plugin::content-manager.explorer.${verb}`, subject, properties: { fields: fields(subject) }, conditions: [CONDITIONS.myUnit] }))
    ),
    { action: 'plugin::id-vault.customer.erase', subject: null },
  ]);
  const email = `reviewer-${randomBytes(3).toString('hex')}@example.test`;
  const password = 'Retention-test-Pw1';
  const user = await app.strapi.service('admin::user').create({ email, firstname: 'Unit', lastname: 'Reviewer', password, isActive: true, roles: [role.id] });
  const res = await app.http().post('/admin/login').send({ email, password });
  return { user, token: res.body.data.token as string };
};

beforeAll(async () => {
  process.env.ID_VAULT_LEDGER_DIR = ledgerDir;
  app = await bootStrapi();
  admin = bearer(await adminSession(app, 'strapi-super-admin'));
  editor = bearer(await adminSession(app, 'strapi-editor'));
  const reviewer = await scopedReviewer();
  scoped = bearer(reviewer.token);
  const unit = (await systemDocs(app, UIDS.orgUnit).create({ data: { name: `Retention unit ${randomBytes(2).toString('hex')}`, members: [reviewer.user.documentId] } })).documentId;
  const customer = async (key: keyof typeof people, name: string, team: string | null) => {
    const p = people[key];
    ids[key] = (await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, team } })).documentId;
  };
  await customer('old', 'Long Gone', unit);
  await customer('fresh', 'Still Here', unit);
  await customer('kept', 'Kept On Purpose', unit);
  await customer('outside', 'Other Unit', null);
  await ageCustomers(['old', 'kept', 'outside']);
  const doc = async (key: string, owner: string, expiresAt: string, number: string) => {
    ids[key] = (await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: number, expiresAt, customer: ids[owner] } })).documentId;
  };
  await doc('expired', 'fresh', daysAgo(400), 'E11112222');
  await doc('recent', 'fresh', daysAgo(10), 'E33334444');
  await doc('valid', 'fresh', daysAgo(-300), 'E55556666');
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#aa8866' } }).png().toBuffer();
  const up = await app.http().post(`/id-vault/identity-documents/${ids.expired}/scans`).set(admin).attach('files', png, { filename: 'scan.png', contentType: 'image/png' });
  expect(up.status).toBe(201);
});
afterAll(async () => {
  second?.kill('SIGTERM');
  await app?.close();
  fs.rmSync(ledgerDir, { recursive: true, force: true });
  if (saved === undefined) delete process.env.ID_VAULT_LEDGER_DIR;
  else process.env.ID_VAULT_LEDGER_DIR = saved;
});

test('the rules: off by default, validated with clear errors, settings.manage to change, audited', async () => {
  const get = await app.http().get('/id-vault/retention/settings').set(editor);
  expect(get.status).toBe(200);
  expect(get.body.data).toEqual({ customers: { enabled: false, years: 5, autoErase: false }, documents: { enabled: false, days: 365, autoErase: false } });
  // Nothing is listed while every rule is off.
  expect(await retention().scan()).toEqual({ found: { 'customer-stale': 0, 'document-expired': 0 }, listed: 0, autoErased: 0, autoFailed: 0 });

  expect((await app.http().put('/id-vault/retention/settings').set(editor).send({ settings: RULES })).status).toBe(403);
  const bad = await app.http().put('/id-vault/retention/settings').set(admin).send({ settings: { ...RULES, customers: { ...RULES.customers, years: 0 }, documents: { ...RULES.documents, days: 99999 } } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.errors).toEqual([
    { path: ['customers', 'years'], message: 'at least 1 year' },
    { path: ['documents', 'days'], message: 'at most 3650 days' },
  ]);
  expect(bad.body.error.message).toBe('invalid retention rules: customers.years: at least 1 year; documents.days: at most 3650 days');
  const put = await app.http().put('/id-vault/retention/settings').set(admin).send({ settings: RULES });
  expect(put.status).toBe(200);
  expect(put.body.data).toEqual(RULES);
  const [event] = (await audit()).filter((e: any) => e.action === 'retention-settings.update');
  expect(event).toMatchObject({ outcome: 'success', actor_type: 'admin' });
});

test('the daily job lists old records and not fresh ones, once a day across processes; rerunning lists nothing twice', async () => {
  const today = new Date();
  const first = await retention().job(today);
  expect(first).toEqual({ found: { 'customer-stale': 3, 'document-expired': 1 }, listed: 4, autoErased: 0, autoFailed: 0 });
  expect(await retention().job(today)).toBeNull();
  // The scan itself (Find candidates now) is idempotent: what is listed is not listed again.
  const now = await app.http().post('/id-vault/retention/scan').set(admin);
  expect(now.body.data).toMatchObject({ found: { 'customer-stale': 3, 'document-expired': 1 }, listed: 0 });
  expect((await app.http().post('/id-vault/retention/scan').set(editor)).status).toBe(403);
  expect(Number((await app.knex('idv_retention_candidates').count({ n: '*' }).first()).n)).toBe(4);

  const list = await candidates(admin);
  const found = byKey(list.candidates);
  expect(Object.keys(found).sort()).toEqual(['expired', 'kept', 'old', 'outside']);
  expect(found.old).toMatchObject({ rule: 'customer-stale', status: 'pending', subjectUid: UIDS.customer, customer: { documentId: ids.old, name: 'L********', kind: 'personal' } });
  expect(found.expired).toMatchObject({ rule: 'document-expired', subjectUid: UIDS.identityDocument, customer: { documentId: ids.fresh, name: 'S*********' }, document: { type: 'passport', expiresAt: daysAgo(400) } });
  expect(list.next).toBeNull();
  // Pages: the cursor goes on where the page stopped.
  const page1 = await candidates(admin, { limit: '3' });
  expect(page1.candidates).toHaveLength(3);
  const page2 = await candidates(admin, { limit: '3', after: String(page1.next) });
  expect(page2).toMatchObject({ next: null });
  expect([...page1.candidates, ...page2.candidates].map((c: any) => c.id)).toEqual(list.candidates.map((c: any) => c.id));
  // No names or numbers in the listing beyond the masked first character.
  const raw = JSON.stringify(list);
  for (const v of ['Long Gone', 'Still Here', people.old.idNumber, 'E11112222']) expect(raw).not.toContain(v);
});

test('reviewing needs customer.erase; a reviewer sees only the candidates in their read scope', async () => {
  expect((await app.http().get('/id-vault/retention/candidates').set(editor)).status).toBe(403);
  const [any] = (await candidates(admin)).candidates;
  expect((await app.http().post(`/id-vault/retention/candidates/${any.id}/approve`).set(editor).send({ reason: 'no right' })).status).toBe(403);
  expect((await app.http().post(`/id-vault/retention/candidates/${any.id}/dismiss`).set(editor).send({})).status).toBe(403);

  const mine = byKey((await candidates(scoped)).candidates);
  expect(Object.keys(mine).sort()).toEqual(['expired', 'kept', 'old']);
  const outside = byKey((await candidates(admin)).candidates).outside;
  expect((await app.http().post(`/id-vault/retention/candidates/${outside.id}/approve`).set(scoped).send({ reason: 'not mine to erase' })).status).toBe(404);
  expect(await app.knex('idv_erasures').where({ customer_document_id: ids.outside })).toEqual([]);
});

test('approval needs a reason and erases the customer as erasure does; an erased customer is no candidate any more', async () => {
  const old = byKey((await candidates(scoped)).candidates).old;
  const none = await app.http().post(`/id-vault/retention/candidates/${old.id}/approve`).set(scoped).send({});
  expect(none.status).toBe(400);
  expect(none.body.error.details.errors[0]).toMatchObject({ path: ['reason'] });
  const res = await app.http().post(`/id-vault/retention/candidates/${old.id}/approve`).set(scoped).send({ reason: 'retention period over' });
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({ id: old.id, status: 'approved', result: { customerDocumentId: ids.old, documents: 0, dataKeys: 1 } });
  const row = await app.knex('idv_customers').where({ document_id: ids.old }).first();
  expect(row).toMatchObject({ name: '[erased]', id_number: null, phone: null });
  expect(await app.knex('idv_data_keys').where({ ref: `${UIDS.customer}#${ids.old}` })).toEqual([]);
  expect(await app.knex('idv_erasures').where({ customer_document_id: ids.old }).first()).toMatchObject({ reason: 'retention period over', erased_by_type: 'admin' });
  const again = await app.http().post(`/id-vault/retention/candidates/${old.id}/approve`).set(scoped).send({ reason: 'retention period over' });
  expect(again.status).toBe(404); // erased: no longer a candidate anyone sees
  expect(byKey((await candidates(admin)).candidates).old).toBeUndefined();
  const candidate = await app.knex('idv_retention_candidates').where({ id: old.id }).first();
  expect(candidate).toMatchObject({ status: 'approved', reason: 'retention period over' });
});

test('approving an expired document deletes it with its scans and key; the customer stays', async () => {
  const expired = byKey((await candidates(admin)).candidates).expired;
  const scan = await app.knex('idv_scans').where({ document_ref: ids.expired }).first();
  const scanFile = path.join(ROOT, '.vault-data', 'scans', scan.object_name.slice(0, 2), scan.object_name);
  expect(fs.existsSync(scanFile)).toBe(true);
  const res = await app.http().post(`/id-vault/retention/candidates/${expired.id}/approve`).set(admin).send({ reason: 'expired long ago' });
  expect(res.status).toBe(200);
  expect(res.body.data.result).toEqual({ documents: 1, scans: 1, dataKeys: 1 });
  expect(await app.knex('idv_identity_documents').where({ document_id: ids.expired })).toEqual([]);
  expect(await app.knex('idv_scans').where({ document_ref: ids.expired })).toEqual([]);
  expect(await app.knex('idv_data_keys').where({ ref: `${UIDS.identityDocument}#${ids.expired}` })).toEqual([]);
  expect(await app.knex('idv_blind_indexes').where({ doc_id: ids.expired })).toEqual([]);
  await new Promise((r) => setTimeout(r, 100)); // scan objects go after the commit
  expect(fs.existsSync(scanFile)).toBe(false);
  expect(await app.knex('idv_identity_documents').whereIn('document_id', [ids.recent, ids.valid])).toHaveLength(2);
  expect((await app.knex('idv_customers').where({ document_id: ids.fresh }).first()).name).toBe('Still Here');
  // The deletion is in the erasure ledger (ids only), so a restore of an older backup does not bring it back.
  const lines = fs.readFileSync(path.join(ledgerDir, fs.readdirSync(ledgerDir)[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.filter((l) => l.documentId === ids.expired)).toEqual([expect.objectContaining({ refs: [`${UIDS.identityDocument}#${ids.expired}`] })]);
});

test('a restore of the tables from before that approval: the start-up ledger replay deletes the document again', async () => {
  const tables = ['idv_identity_documents', 'idv_identity_documents_customer_lnk', 'idv_data_keys', 'idv_blind_indexes', 'idv_scans'];
  const kept = Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await app.knex(t).select('*')] as const)));
  // What an older backup holds: the document, its link, its key and index rows, as before the approval.
  const doc = await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: 'E18990001', customer: ids.fresh, expiresAt: daysAgo(400) } });
  const before = Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await app.knex(t).select('*')] as const)));
  expect(await app.strapi.plugin('id-vault').service('erasure').deleteDocument(doc.documentId)).toMatchObject({ documents: 1, dataKeys: 1 });
  for (const t of [...tables].reverse()) await app.knex(t).del();
  for (const t of tables) if (before[t].length) await app.knex.batchInsert(t, before[t], 100);
  expect(await app.knex('idv_identity_documents').where({ document_id: doc.documentId })).toHaveLength(1);

  // What every start-up runs before serving.
  await app.strapi.plugin('id-vault').service('erasure').applyLedger();
  expect(app.strapi.plugin('id-vault').service('erasure').lastReplayedDocuments()).toBe(1);
  expect(await app.knex('idv_identity_documents').where({ document_id: doc.documentId })).toEqual([]);
  expect(await app.knex('idv_data_keys').where({ ref: `${UIDS.identityDocument}#${doc.documentId}` })).toEqual([]);
  expect(await app.knex('idv_blind_indexes').where({ doc_id: doc.documentId })).toEqual([]);
  for (const t of tables) expect((await app.knex(t).select('*')).length).toBe(kept[t].length);
  await app.strapi.plugin('id-vault').service('audit').flush();
  const replayed = await app.knex('idv_audit_events').where({ action: 'identity-document.delete.replayed' });
  expect(replayed).toEqual([expect.objectContaining({ outcome: 'success', subject_id: doc.documentId, actor_type: 'system' })]);
  // Applied once: a second replay finds nothing left to delete.
  await app.strapi.plugin('id-vault').service('erasure').applyLedger();
  expect(app.strapi.plugin('id-vault').service('erasure').lastReplayedDocuments()).toBe(0);
});

test('dismissal keeps the record; it is listed again only once it changed and is due again', async () => {
  const kept = byKey((await candidates(admin)).candidates).kept;
  const res = await app.http().post(`/id-vault/retention/candidates/${kept.id}/dismiss`).set(scoped).send({ reason: 'still a client' });
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({ status: 'dismissed' });
  expect((await app.http().post(`/id-vault/retention/candidates/${kept.id}/dismiss`).set(scoped).send({})).status).toBe(409);
  expect((await app.http().post(`/id-vault/retention/candidates/${kept.id}/approve`).set(scoped).send({ reason: 'changed my mind' })).status).toBe(409);
  expect((await app.knex('idv_customers').where({ document_id: ids.kept }).first()).name).toBe('Kept On Purpose');
  expect(byKey((await candidates(admin)).candidates).kept).toBeUndefined();
  expect(byKey((await candidates(admin, { status: 'dismissed' })).candidates).kept).toMatchObject({ status: 'dismissed' });
  expect((await retention().scan()).listed).toBe(0);
  // Updated since (then untouched for years again): a new version, a new candidate.
  await ageCustomers(['kept'], 7);
  expect((await retention().scan()).listed).toBe(1);
  expect(byKey((await candidates(admin)).candidates).kept).toMatchObject({ status: 'pending' });
  expect((await app.http().get('/id-vault/retention/candidates').query({ status: 'approved' }).set(admin)).status).toBe(400);
});

test('an auto-erase rule erases by itself, as the system, and records it', async () => {
  const put = await app.http().put('/id-vault/retention/settings').set(admin).send({ settings: { customers: { ...RULES.customers, autoErase: true }, documents: { ...RULES.documents, autoErase: true } } });
  expect(put.status).toBe(200);
  ids.expiredToo = (await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: 'E77778888', expiresAt: daysAgo(100), customer: ids.fresh } })).documentId;
  const result = await retention().scan();
  // The pending stale customers (kept's new version, outside) are erased, the newly expired document deleted.
  expect(result).toMatchObject({ found: { 'document-expired': 1 }, listed: 1, autoErased: 3, autoFailed: 0 });
  expect(await app.knex('idv_identity_documents').where({ document_id: ids.expiredToo })).toEqual([]);
  expect(await app.knex('idv_data_keys').where({ ref: `${UIDS.identityDocument}#${ids.expiredToo}` })).toEqual([]);
  for (const k of ['kept', 'outside']) {
    expect((await app.knex('idv_customers').where({ document_id: ids[k] }).first()).name).toBe('[erased]');
    expect(await app.knex('idv_erasures').where({ customer_document_id: ids[k] }).first()).toMatchObject({ erased_by_type: 'system', reason: 'retention rule: not updated for 5 years (automatic)' });
  }
  expect((await app.knex('idv_customers').where({ document_id: ids.fresh }).first()).name).toBe('Still Here');
  expect(await app.knex('idv_retention_candidates').where({ status: 'auto-erased' })).toHaveLength(3);
  await app.http().put('/id-vault/retention/settings').set(admin).send({ settings: RULES });
});

test('every step is audited, with counts and ids, never values', async () => {
  const events = await audit();
  const actions = events.map((e: any) => `${e.action}:${e.outcome}`);
  for (const a of ['retention-settings.update:success', 'retention.scan:success', 'retention.approve:success', 'retention.dismiss:success', 'retention.auto-erase:success']) expect(actions).toContain(a);
  expect(events.filter((e: any) => e.action === 'retention.approve')).toHaveLength(2);
  expect(events.filter((e: any) => e.action === 'retention.auto-erase').every((e: any) => e.actor_type === 'system')).toBe(true);
  const erasures = await app.knex('idv_audit_events').where({ action: 'customer.erase' });
  expect(erasures).toHaveLength(3);
  const raw = JSON.stringify(await app.knex('idv_audit_events').select('*'));
  for (const p of Object.values(people)) for (const v of [p.idNumber, p.phone]) expect(raw).not.toContain(v);
  for (const v of ['Long Gone', 'Still Here', 'Kept On Purpose', 'Other Unit', 'E11112222', 'E77778888']) expect(raw).not.toContain(v);
});

test('two processes: the second one’s cron runs today’s scan, the first one’s job skips it, the cron does not run it again', async () => {
  const day = new Date().toISOString().slice(0, 10);
  await app.knex('idv_job_runs').where({ run_key: `retention:${day}` }).del();
  const before = (await audit()).filter((e: any) => e.action === 'retention.scan').length;
  // The second process runs the job every second from its own cron.
  second = spawn(process.execPath, [path.join(ROOT, 'tests', 'helpers', 'second-process.js')], {
    env: { ...process.env, CRON_ENABLED: 'true', ID_VAULT_RETENTION_CRON: '* * * * * *' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    second!.stdout!.on('data', (chunk) => /listening \d+/.test(String(chunk)) && resolve());
    second!.on('exit', (code) => reject(new Error(`the second process exited (${code})`)));
  });
  // The second process's cron wins today's run; this process's job then skips it.
  const deadline = Date.now() + 30_000;
  let run: any;
  while (!(run = await app.knex('idv_job_runs').where({ run_key: `retention:${day}` }).whereNotNull('result').first()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  expect(typeof run.result === 'string' ? JSON.parse(run.result) : run.result).toMatchObject({ listed: 0, autoErased: 0 });
  expect(await retention().job(new Date())).toBeNull();
  await new Promise((r) => setTimeout(r, 2500)); // its cron fires twice more meanwhile
  expect(await app.knex('idv_job_runs').where({ run_key: `retention:${day}` })).toHaveLength(1);
  expect((await audit()).filter((e: any) => e.action === 'retention.scan').length).toBe(before + 1);
});
