/**
 * The record of reads and logins: views (REST findOne, the Content Manager's edit view), lists and
 * searches (one event a request: rows, filter and sort field names, whether an encrypted field or the
 * search box was used, populated customers), admin and users-permissions logins — and never a value.
 */
import qs from 'qs';
import { randomBytes } from 'crypto';
import { bootStrapi, apiToken, adminUser, asSystem, type TestApp, systemDocs } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';

const API = '/api/id-vault';
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const q = (o: object) => qs.stringify(o, { encodeValuesOnly: true });

let app: TestApp;
let token: string;
let admin: { email: string; password: string };
let adminJwt: string;
const people = [syntheticPerson(1201), syntheticPerson(1202)];
const ids: string[] = [];

/** Audit events recorded after `fn` ran (by id, so pending ones count too). */
const eventsDuring = async (fn: () => Promise<unknown>) => {
  const before = Number((await app.knex('idv_audit_events').max({ m: 'id' }).first()).m ?? 0);
  await fn();
  const rows = await app.knex('idv_audit_events').where('id', '>', before).orderBy('id');
  return rows.map((e: any) => ({ action: e.action, actor: e.actor_type, subject: e.subject_id, outcome: e.outcome, details: typeof e.details === 'string' ? JSON.parse(e.details) : e.details }));
};

beforeAll(async () => {
  app = await bootStrapi();
  token = await apiToken(app.strapi, 'full-access');
  for (const [i, p] of people.entries()) {
    const c = await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: `Reader ${i}`, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email } });
    ids.push(c.documentId);
    await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', customer: c.documentId } });
  }
  admin = await adminUser(app, 'strapi-super-admin');
  adminJwt = (await app.http().post('/admin/login').send(admin)).body.data.token;
});
afterAll(async () => {
  await app?.close();
});

test('a REST list or search is one customer.list event with field names, counts and flags — no values', async () => {
  const events = await eventsDuring(() =>
    app.http().get(`${API}/customers?${q({ filters: { phone: { $eq: people[0].phone }, name: { $startsWith: 'Reader' } }, sort: ['name:asc'] })}`).set(bearer(token))
  );
  expect(events).toEqual([
    { action: 'customer.list', actor: 'api-token', subject: null, outcome: 'success', details: { count: 1, filters: ['phone', 'name'], sort: ['name'], search: false, encryptedFilter: true } },
  ]);
});

test('a findOne is a customer.view of that customer; populated customers are counted in the list event', async () => {
  expect(await eventsDuring(() => app.http().get(`${API}/customers/${ids[1]}`).set(bearer(token)))).toEqual([
    { action: 'customer.view', actor: 'api-token', subject: ids[1], outcome: 'success', details: {} },
  ]);
  const docs = await eventsDuring(() => app.http().get(`${API}/identity-documents?${q({ populate: ['customer'] })}`).set(bearer(token)));
  expect(docs).toEqual([
    { action: 'identity-document.list', actor: 'api-token', subject: null, outcome: 'success', details: { count: 2, filters: [], sort: [], search: false, encryptedFilter: false, populated: { customer: 2 } } },
  ]);
  // A miss reads nothing: no view event.
  expect(await eventsDuring(() => app.http().get(`${API}/customers/nosuchdocument000000000`).set(bearer(token)))).toEqual([]);
});

test('the Content Manager: the list (one event, though it also counts), the search box and the edit view', async () => {
  const cm = `/content-manager/collection-types/${UIDS.customer}`;
  const list = await eventsDuring(() => app.http().get(`${cm}?page=1&pageSize=10&_q=${encodeURIComponent(people[1].idNumber)}`).set(bearer(adminJwt)));
  expect(list).toEqual([
    { action: 'customer.list', actor: 'admin', subject: null, outcome: 'success', details: expect.objectContaining({ count: 1, search: true }) },
  ]);
  const view = await eventsDuring(() => app.http().get(`${cm}/${ids[0]}`).set(bearer(adminJwt)));
  expect(view.filter((e) => e.action === 'customer.view')).toEqual([{ action: 'customer.view', actor: 'admin', subject: ids[0], outcome: 'success', details: expect.any(Object) }]);
});

test('logins and logouts: admin and users-permissions, success and failure, never the e-mail typed', async () => {
  const wrong = await eventsDuring(() => app.http().post('/admin/login').send({ email: admin.email, password: 'not-the-password-1A' }));
  expect(wrong).toEqual([{ action: 'admin.login', actor: 'public', subject: null, outcome: 'rejected', details: { status: 400 } }]);
  const ok = await eventsDuring(() => app.http().post('/admin/login').send(admin));
  expect(ok).toEqual([expect.objectContaining({ action: 'admin.login', actor: 'admin', outcome: 'success' })]);
  const role = await app.strapi.db.query('plugin::users-permissions.role').findOne({ where: { type: 'authenticated' } });
  const name = `reader-${randomBytes(3).toString('hex')}`;
  const password = 'Reader-Pw-1a';
  await asSystem(app, () => app.strapi.plugin('users-permissions').service('user').add({ username: name, email: `${name}@example.test`, password, provider: 'local', confirmed: true, blocked: false, role: role.id }));
  const upOk = await eventsDuring(() => app.http().post('/api/auth/local').send({ identifier: `${name}@example.test`, password }));
  expect(upOk).toEqual([expect.objectContaining({ action: 'user.login', actor: 'user', outcome: 'success' })]);
  const upBad = await eventsDuring(() => app.http().post('/api/auth/local').send({ identifier: `${name}@example.test`, password: 'wrong-Pw-1a' }));
  expect(upBad).toEqual([{ action: 'user.login', actor: 'public', subject: null, outcome: 'rejected', details: { status: 400 } }]);
  const raw = JSON.stringify(await app.knex('idv_audit_events').select('*'));
  expect(raw).not.toContain(admin.email);
  expect(raw).not.toContain(name);
});

test('after searches by ID number, phone and e-mail the audit table holds none of them', async () => {
  for (const [field, value] of [['idNumber', people[0].idNumber], ['phone', people[0].phone], ['email', people[0].email]]) {
    const res = await app.http().get(`${API}/customers?${q({ filters: { [field]: { $eq: value } } })}`).set(bearer(token));
    expect(res.body.data).toHaveLength(1);
  }
  const raw = JSON.stringify(await app.knex('idv_audit_events').select('*'));
  for (const p of people) for (const v of [p.idNumber, p.phone, p.phone.replace('+86', ''), p.email]) expect(raw).not.toContain(v);
});

test("the Content Manager's relation picker is a list event of what it offers, without the search text", async () => {
  const picker = `/content-manager/relations/${UIDS.identityDocument}/customer`;
  const events = await eventsDuring(() => app.http().get(`${picker}?pageSize=10&_q=Reader`).set(bearer(adminJwt)));
  expect(events).toEqual([
    { action: 'customer.list', actor: 'admin', subject: null, outcome: 'success', details: { count: 2, via: 'relation-picker', relation: `${UIDS.identityDocument}.customer`, search: true } },
  ]);
  expect(JSON.stringify(events)).not.toContain('Reader');
  // An entry's own related rows (the edit view loads them) are a list event too.
  const doc = await systemDocs(app, UIDS.identityDocument).findFirst({ filters: { customer: { documentId: ids[0] } } });
  const own = await eventsDuring(() => app.http().get(`/content-manager/relations/${UIDS.identityDocument}/${doc.documentId}/customer`).set(bearer(adminJwt)));
  expect(own).toEqual([
    { action: 'customer.list', actor: 'admin', subject: null, outcome: 'success', details: { count: 1, via: 'relations', relation: `${UIDS.identityDocument}.customer` } },
  ]);
});

test('writes made directly with strapi.db.query are recorded as system, with field names and rows only', async () => {
  const p = syntheticPerson(1203);
  const query = () => app.strapi.db.query(UIDS.customer as any);
  const created = await eventsDuring(() =>
    asSystem(app, () => query().create({ data: { kind: 'personal', name: 'Direct write', idType: 'resident-id', idNumber: p.idNumber, phone: p.phone } }))
  );
  const row = await asSystem(app, () => query().findOne({ where: { name: 'Direct write' }, select: ['id', 'documentId'] }));
  expect(created).toEqual([
    { action: 'customer.create', actor: 'system', subject: row.documentId, outcome: 'success', details: { via: 'db.query', rows: 1 } },
  ]);
  const updated = await eventsDuring(() => asSystem(app, () => query().update({ where: { id: row.id }, data: { notes: 'changed' } })));
  expect(updated).toEqual([expect.objectContaining({ action: 'customer.update', actor: 'system', subject: row.documentId, details: { via: 'db.query', rows: 1 } })]);
  const deleted = await eventsDuring(() => asSystem(app, () => query().deleteMany({ where: { id: row.id } })));
  expect(deleted).toEqual([expect.objectContaining({ action: 'customer.delete', actor: 'system', subject: null, details: { via: 'db.query', rows: 1 } })]);
  const fields = await app.knex('idv_audit_events').where({ action: 'customer.create', actor_type: 'system' }).orderBy('id', 'desc').first();
  expect(JSON.parse(fields.fields)).toEqual(expect.arrayContaining(['idNumber', 'name', 'phone']));
  // A write through the document service is recorded once, by its own middleware, not again as db.query.
  const viaDocs = await eventsDuring(() => systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: 'Document write' } }));
  expect(viaDocs.map((e) => e.details?.via)).not.toContain('db.query');
  expect(viaDocs.filter((e) => e.action === 'customer.create')).toHaveLength(1);
  expect(JSON.stringify(await app.knex('idv_audit_events').select('*'))).not.toContain(p.idNumber);
});
