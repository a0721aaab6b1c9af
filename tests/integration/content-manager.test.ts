/**
 * The Content Manager (what editors use in the admin panel), over its HTTP API: super admins see
 * plaintext, editors masked values; the search box finds by exact ID number and phone; saving a form that
 * still shows masked values keeps the stored values.
 */
import qs from 'qs';
import { bootStrapi, adminSession, type TestApp } from '../helpers/strapi';
import { syntheticPerson, mask } from '../../plugins/id-vault/server/src/domain';

const UID = 'plugin::id-vault.customer';
const CM = `/content-manager/collection-types/${UID}`;

let app: TestApp;
let superAdmin: string;
let editor: string;
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

beforeAll(async () => {
  app = await bootStrapi();
  superAdmin = await adminSession(app, 'strapi-super-admin');
  editor = await adminSession(app, 'strapi-editor');
});
afterAll(async () => {
  await app?.close();
});

const person = syntheticPerson(500);
let documentId: string;

test('a super admin creates a customer in the Content Manager and sees plaintext', async () => {
  const res = await app
    .http()
    .post(CM)
    .set(bearer(superAdmin))
    .send({ kind: 'personal', name: person.name, idType: 'resident-id', idNumber: person.idNumber, phone: person.phone, email: person.email, address: person.address, hidden: false });
  expect(res.status).toBe(201);
  documentId = res.body.data.documentId;
  expect(res.body.data).toMatchObject({ idNumber: person.idNumber, phone: person.phone });
  const row = await app.knex('idv_customers').where({ document_id: documentId }).first();
  expect(row.id_number).toMatch(/^\$idv1\$/);
  expect(row.phone).toMatch(/^\$idv1\$/);
});

test.each([
  ['the exact ID number', () => person.idNumber],
  ['the phone as typed', () => person.phone.replace('+86', '')],
  ['part of the name', () => person.name.slice(0, 4)],
])('the search box finds the customer by %s', async (_label, term) => {
  const res = await app.http().get(`${CM}?${qs.stringify({ page: 1, pageSize: 10, _q: term() })}`).set(bearer(superAdmin));
  expect(res.status).toBe(200);
  expect(res.body.results.map((r: any) => r.documentId)).toContain(documentId);
});

test('the search box does not match a fragment of an encrypted value', async () => {
  const res = await app.http().get(`${CM}?${qs.stringify({ page: 1, pageSize: 10, _q: person.idNumber.slice(0, 10) })}`).set(bearer(superAdmin));
  expect(res.status).toBe(200);
  expect(res.body.results.map((r: any) => r.documentId)).not.toContain(documentId);
});

test('an editor sees masked values in the list and the edit view', async () => {
  const list = await app.http().get(`${CM}?page=1&pageSize=10`).set(bearer(editor));
  expect(list.status).toBe(200);
  const listed = list.body.results.find((r: any) => r.documentId === documentId);
  expect(listed.idNumber).toBe(mask(person.idNumber, 'id-number'));
  const one = await app.http().get(`${CM}/${documentId}`).set(bearer(editor));
  expect(one.status).toBe(200);
  expect(one.body.data).toMatchObject({ idNumber: mask(person.idNumber, 'id-number'), phone: mask(person.phone, 'phone'), email: mask(person.email, 'email') });
  expect(JSON.stringify(one.body)).not.toContain(person.idNumber);
});

test('an editor saving the form with masked values changes only what was edited', async () => {
  const one = await app.http().get(`${CM}/${documentId}`).set(bearer(editor));
  const { id, documentId: _d, createdAt, updatedAt, publishedAt, createdBy, updatedBy, ...form } = one.body.data;
  const save = await app.http().put(`${CM}/${documentId}`).set(bearer(editor)).send({ ...form, notes: 'Called back' });
  expect(save.status).toBe(200);
  expect(save.body.data.notes).toBe('Called back');
  const plain = await app.http().get(`${CM}/${documentId}`).set(bearer(superAdmin));
  expect(plain.body.data).toMatchObject({ idNumber: person.idNumber, phone: person.phone, email: person.email, address: person.address, notes: 'Called back' });
  await app.strapi.plugin('id-vault').service('audit').flush();
  const [last] = await app.strapi.db.query('plugin::id-vault.audit-event').findMany({ where: { action: 'customer.update', subjectId: documentId }, orderBy: { id: 'desc' }, limit: 1 });
  expect(last).toMatchObject({ actorType: 'admin', fields: ['notes'] });
});

test('an editor can replace a masked value with a new one', async () => {
  const next = syntheticPerson(501).phone;
  const save = await app.http().put(`${CM}/${documentId}`).set(bearer(editor)).send({ phone: next });
  expect(save.status).toBe(200);
  expect(save.body.data.phone).toBe(mask(next, 'phone'));
  const plain = await app.http().get(`${CM}/${documentId}`).set(bearer(superAdmin));
  expect(plain.body.data.phone).toBe(next);
});

test('deleting in the Content Manager removes the row and its index, and is audited', async () => {
  const res = await app.http().delete(`${CM}/${documentId}`).set(bearer(superAdmin));
  expect(res.status).toBe(200);
  expect(await app.knex('idv_customers').where({ document_id: documentId }).first()).toBeUndefined();
  expect(await app.knex('idv_blind_indexes').where({ doc_id: documentId })).toEqual([]);
  const search = await app.http().get(`${CM}?${qs.stringify({ page: 1, pageSize: 10, _q: person.idNumber })}`).set(bearer(superAdmin));
  expect(search.body.results).toEqual([]);
  await app.strapi.plugin('id-vault').service('audit').flush();
  const events = await app.strapi.db.query('plugin::id-vault.audit-event').findMany({ where: { action: 'customer.delete', subjectId: documentId } });
  expect(events).toHaveLength(1);
});

test('the plugin types come with readable field labels in the views\' configuration (editable there)', async () => {
  for (const [uid, field, label] of [
    ['plugin::id-vault.customer', 'idNumber', 'ID number'],
    ['plugin::id-vault.customer', 'legalRepresentative', 'Legal representative'],
    ['plugin::id-vault.identity-document', 'documentNumber', 'Document number'],
  ]) {
    const res = await app.http().get(`/content-manager/content-types/${uid}/configuration`).set(bearer(superAdmin));
    expect(res.status).toBe(200);
    const meta = res.body.data.contentType.metadatas[field];
    expect({ field, edit: meta.edit.label, list: meta.list.label }).toEqual({ field, edit: label, list: label });
  }
});
