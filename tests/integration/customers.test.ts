/**
 * The foundation end to end on a real Strapi over HTTP: every write path stores ciphertext only, reads
 * are decrypted for plain callers and masked for the rest, search goes through the blind index, bad
 * input is a 400 that names the field and never echoes it, tampering yields null + meta + audit event.
 */
import qs from 'qs';
import { bootStrapi, apiToken, dumpDatabase, type TestApp, systemDocs } from '../helpers/strapi';
import { syntheticPerson, syntheticCompany, residentIdFrom, mask } from '../../plugins/id-vault/server/src/domain';

const CUSTOMERS = '/api/id-vault/customers';
const UID = 'plugin::id-vault.customer';

let app: TestApp;
let full: string;
let readOnly: string;

/** Strapi's query-string format (supertest's own serialiser flattens nested arrays). */
const q = (o: object) => qs.stringify(o, { encodeValuesOnly: true });
const as = (token: string) => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  app = await bootStrapi();
  full = await apiToken(app.strapi, 'full-access');
  readOnly = await apiToken(app.strapi, 'read-only');
});
afterAll(async () => {
  await app?.close();
});

const createPerson = async (seed: number, extra: Record<string, unknown> = {}) => {
  const p = syntheticPerson(seed);
  const res = await app
    .http()
    .post(CUSTOMERS)
    .set(as(full))
    .send({ data: { kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address, ...extra } });
  expect(res.status).toBe(201);
  return { person: p, doc: res.body.data };
};

const auditRows = async () => app.strapi.db.query('plugin::id-vault.audit-event').findMany({ orderBy: { seq: 'asc' } });

describe('writing and reading customers', () => {
  test('a full-access token writes and reads plaintext; the row holds ciphertext', async () => {
    const { person, doc } = await createPerson(1);
    expect(doc).toMatchObject({ idNumber: person.idNumber, phone: person.phone, email: person.email, address: person.address });
    const row = await app.knex('idv_customers').where({ document_id: doc.documentId }).first();
    for (const col of ['id_number', 'phone', 'email', 'address']) expect(row[col]).toMatch(/^\$idv1\$/);
  });

  test('a read-only token gets masked values', async () => {
    const { person, doc } = await createPerson(2);
    const res = await app.http().get(`${CUSTOMERS}/${doc.documentId}`).set(as(readOnly));
    expect(res.body.error).toBeUndefined();
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      name: person.name,
      idNumber: mask(person.idNumber, 'id-number'),
      phone: mask(person.phone, 'phone'),
      email: mask(person.email, 'email'),
      address: mask(person.address, 'address'),
    });
    expect(JSON.stringify(res.body)).not.toContain(person.idNumber);
  });

  test('no token, no data (policy)', async () => {
    const res = await app.http().get(CUSTOMERS);
    expect([401, 403]).toContain(res.status);
  });

  test('the document service and strapi.db.query store ciphertext too', async () => {
    const a = syntheticPerson(3);
    const b = syntheticPerson(4);
    const viaDocs = await systemDocs(app, UID).create({ data: { kind: 'personal', name: a.name, idType: 'resident-id', idNumber: a.idNumber, phone: a.phone } });
    expect(viaDocs.idNumber).toBe(a.idNumber); // system caller: plain
    const viaDb = await app.strapi.db.query(UID).create({ data: { kind: 'personal', name: b.name, idType: 'resident-id', idNumber: b.idNumber, phone: b.phone, hidden: false } });
    expect(viaDb.idNumber).toMatch(/^\$idv1\$/); // db.query returns what is stored
    const found = await app.http().get(CUSTOMERS).query(q({ filters: { idNumber: { $eq: b.idNumber } } })).set(as(full));
    expect(found.body.data.map((c: any) => c.idNumber)).toEqual([b.idNumber]);
  });

  test('clone re-encrypts under the new document', async () => {
    const { person, doc } = await createPerson(5);
    const copy = await systemDocs(app, UID).clone({ documentId: doc.documentId, data: { name: 'Clone of test person' } });
    const cloned = copy.entries[0];
    expect(cloned.documentId).not.toBe(doc.documentId);
    const res = await app.http().get(`${CUSTOMERS}/${cloned.documentId}`).set(as(full));
    expect(res.body.data.idNumber).toBe(person.idNumber);
  });

  test('update writes ciphertext and keeps the index current; delete removes the index rows', async () => {
    const { doc } = await createPerson(6);
    const next = syntheticPerson(7).phone;
    const put = await app.http().put(`${CUSTOMERS}/${doc.documentId}`).set(as(full)).send({ data: { phone: next } });
    expect(put.status).toBe(200);
    expect(put.body.data.phone).toBe(next);
    const byNew = await app.http().get(CUSTOMERS).query(q({ filters: { phone: next } })).set(as(full));
    expect(byNew.body.data.map((c: any) => c.documentId)).toContain(doc.documentId);
    const del = await app.http().delete(`${CUSTOMERS}/${doc.documentId}`).set(as(full));
    expect([200, 204]).toContain(del.status);
    const row = await app.knex('idv_customers').where({ document_id: doc.documentId }).first();
    expect(row).toBeUndefined();
    const again = await app.http().get(CUSTOMERS).query(q({ filters: { phone: next } })).set(as(full));
    expect(again.body.data.map((c: any) => c.documentId)).not.toContain(doc.documentId);
  });
});

describe('searching encrypted fields', () => {
  let person: ReturnType<typeof syntheticPerson>;
  let documentId: string;
  beforeAll(async () => {
    const created = await createPerson(20);
    person = created.person;
    documentId = created.doc.documentId;
    await createPerson(21);
  });
  const ids = (res: any) => res.body.data.map((c: any) => c.documentId);

  test.each([
    ['exact ID number', () => ({ idNumber: { $eq: person.idNumber } })],
    ['ID number in lower case', () => ({ idNumber: person.idNumber.toLowerCase() })],
    ['phone written another way', () => ({ phone: { $eq: person.phone.replace('+86', '').replace(/(\d{3})(\d{4})(\d{4})/, '$1 $2-$3') } })],
    ['e-mail in upper case', () => ({ email: { $eq: person.email.toUpperCase() } })],
    ['$in', () => ({ idNumber: { $in: [person.idNumber, residentIdFrom('11010119800101999')] } })],
    ['inside $or with a plain field', () => ({ $or: [{ name: 'nobody-by-this-name' }, { phone: person.phone }] })],
    ['inside $and', () => ({ $and: [{ kind: 'personal' }, { email: person.email }] })],
  ])('finds by %s', async (_label, filters) => {
    const res = await app.http().get(CUSTOMERS).query(q({ filters: filters() })).set(as(full));
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual([documentId]);
  });

  test('$not excludes through the index', async () => {
    const res = await app.http().get(CUSTOMERS).query(q({ filters: { $not: { idNumber: person.idNumber } }, pagination: { pageSize: 100 } })).set(as(full));
    expect(ids(res)).not.toContain(documentId);
    expect(res.body.data.length).toBeGreaterThan(0);
  });

  test('a read-only (masked) caller cannot search a field it sees masked (no oracle) and sees masks', async () => {
    const res = await app.http().get(CUSTOMERS).query(q({ filters: { idNumber: person.idNumber } })).set(as(readOnly));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('idNumber is masked for you: it cannot be filtered, searched or sorted on');
    const one = await app.http().get(`${CUSTOMERS}/${documentId}`).set(as(readOnly));
    expect(one.body.data.idNumber).toBe(mask(person.idNumber, 'id-number'));
  });

  test.each([
    ['$containsi', { idNumber: { $containsi: '1101' } }, 'idNumber'],
    ['$gt', { phone: { $gt: '1' } }, 'phone'],
    ['a filter on an unsearchable field', { address: { $eq: 'x' } }, 'address'],
  ])('refuses %s with a 400 that says why', async (_label, filters, field) => {
    const res = await app.http().get(CUSTOMERS).query(q({ filters })).set(as(full));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(field);
    expect(res.body.error.message).toMatch(/encrypted/);
  });

  test('refuses sorting by an encrypted field', async () => {
    const res = await app.http().get(CUSTOMERS).query(q({ sort: 'idNumber:asc' })).set(as(full));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/idNumber is encrypted and cannot be sorted/);
  });
});

describe('validation', () => {
  const bad = '110101199002301234'; // 30 February
  test.each([
    ['idNumber', { kind: 'personal', name: 'V', idType: 'resident-id', idNumber: bad }, bad],
    ['idNumber', { kind: 'personal', name: 'V', idType: 'resident-id', idNumber: residentIdFrom('11010119900101123').slice(0, 17) + 'Y' }, null],
    ['phone', { kind: 'personal', name: 'V', phone: '12345' }, '12345'],
    ['email', { kind: 'personal', name: 'V', email: 'not-an-email@' }, 'not-an-email@'],
    ['creditCode', { kind: 'enterprise', name: 'V', creditCode: '91110101MA01ABCDE0' }, '91110101MA01ABCDE0'],
  ])('a bad %s is a 400 naming the field, not echoing the value', async (field, data, value) => {
    const res = await app.http().post(CUSTOMERS).set(as(full)).send({ data });
    expect(res.status).toBe(400);
    expect(res.body.error.name).toBe('ValidationError');
    expect(res.body.error.details.errors[0].path).toEqual([field]);
    if (value) expect(JSON.stringify(res.body)).not.toContain(value);
  });

  test('a valid enterprise with a credit code is accepted', async () => {
    const c = syntheticCompany(1);
    const res = await app.http().post(CUSTOMERS).set(as(full)).send({ data: { kind: 'enterprise', name: c.name, creditCode: c.creditCode, phone: c.phone } });
    expect(res.status).toBe(201);
  });

  test('ciphertext copied from another record is refused on write', async () => {
    const { doc } = await createPerson(30);
    const row = await app.knex('idv_customers').where({ document_id: doc.documentId }).first();
    const res = await app.http().post(CUSTOMERS).set(as(full)).send({ data: { kind: 'personal', name: 'Copycat', address: row.address } });
    expect(res.status).toBe(400);
    expect(res.body.error.details.errors[0].path).toEqual(['address']);
  });
});

describe('tampering', () => {
  test('a tampered value comes back null with meta and an audit event; the list still answers', async () => {
    const { doc } = await createPerson(40);
    const { doc: other } = await createPerson(41);
    const row = await app.knex('idv_customers').where({ document_id: doc.documentId }).first();
    const flipped = row.phone.slice(0, -2) + (row.phone.endsWith('A') ? 'B' : 'A') + row.phone.slice(-1);
    await app.knex('idv_customers').where({ id: row.id }).update({ phone: flipped });
    // Move another record's (valid) ciphertext into this one's email.
    const otherRow = await app.knex('idv_customers').where({ document_id: other.documentId }).first();
    await app.knex('idv_customers').where({ id: row.id }).update({ email: otherRow.email });

    const res = await app.http().get(`${CUSTOMERS}/${doc.documentId}`).set(as(full));
    expect(res.status).toBe(200);
    expect(res.body.data.phone).toBeNull();
    expect(res.body.data.email).toBeNull();
    expect(res.body.data.idNumber).toBe(syntheticPerson(40).idNumber);
    expect(res.body.meta.idVault.decryptFailures).toEqual(
      expect.arrayContaining([
        { uid: UID, documentId: doc.documentId, field: 'phone' },
        { uid: UID, documentId: doc.documentId, field: 'email' },
      ])
    );
    const list = await app.http().get(CUSTOMERS).query(q({ pagination: { pageSize: 100 } })).set(as(full));
    expect(list.status).toBe(200);
    await app.strapi.plugin('id-vault').service('audit').flush();
    const events = (await auditRows()).filter((e: any) => e.action === 'decrypt.failed' && e.subjectId === doc.documentId);
    expect(events.length).toBeGreaterThan(0);
    expect(events[0].fields).toEqual(['email', 'phone']);
  });
});

describe('identity documents', () => {
  test('populated customers are masked for a read-only caller', async () => {
    const { person, doc } = await createPerson(50);
    const number = 'E12345678';
    const created = await app
      .http()
      .post('/api/id-vault/identity-documents')
      .set(as(full))
      .send({ data: { type: 'passport', documentNumber: number, customer: doc.documentId } });
    expect(created.status).toBe(201);
    const res = await app.http().get('/api/id-vault/identity-documents').query(q({ populate: 'customer', filters: { customer: { documentId: doc.documentId } } })).set(as(readOnly));
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0].documentNumber).toBe(mask(number, 'id-number'));
    expect(res.body.data[0].customer.idNumber).toBe(mask(person.idNumber, 'id-number'));
    const fromCustomer = await app.http().get(`${CUSTOMERS}/${doc.documentId}`).query(q({ populate: { documents: { filters: { documentNumber: number } } } })).set(as(full));
    expect(fromCustomer.body.data.documents.map((d: any) => d.documentNumber)).toEqual([number]);
  });

  test('update and delete keep the stored form encrypted and the index current', async () => {
    const { doc } = await createPerson(51);
    const docs = '/api/id-vault/identity-documents';
    const created = await app.http().post(docs).set(as(full)).send({ data: { type: 'passport', documentNumber: 'E11111111', customer: doc.documentId } });
    const id = created.body.data.documentId;
    const put = await app.http().put(`${docs}/${id}`).set(as(full)).send({ data: { documentNumber: 'E22222222' } });
    expect(put.status).toBe(200);
    expect(put.body.data.documentNumber).toBe('E22222222');
    const row = await app.knex('idv_identity_documents').where({ document_id: id }).first();
    expect(row.document_number).toMatch(/^\$idv1\$/);
    const byOld = await app.http().get(`${docs}?${q({ filters: { documentNumber: 'E11111111' } })}`).set(as(full));
    expect(byOld.body.data).toEqual([]);
    const del = await app.http().delete(`${docs}/${id}`).set(as(full));
    expect([200, 204]).toContain(del.status);
    const byNew = await app.http().get(`${docs}?${q({ filters: { documentNumber: 'E22222222' } })}`).set(as(full));
    expect(byNew.body.data).toEqual([]);
  });
});

describe('the audit trail', () => {
  test('records writes by field name, never values, and verifies', async () => {
    const { person, doc } = await createPerson(60);
    await app.http().put(`${CUSTOMERS}/${doc.documentId}`).set(as(full)).send({ data: { phone: person.phone, address: 'Changed test address 1' } });
    await app.http().delete(`${CUSTOMERS}/${doc.documentId}`).set(as(full));
    const audit = app.strapi.plugin('id-vault').service('audit');
    await audit.flush();
    const events = (await auditRows()).filter((e: any) => e.subjectId === doc.documentId);
    expect(events.map((e: any) => e.action)).toEqual(['customer.create', 'customer.update', 'customer.delete']);
    expect(events[1].fields).toEqual(['address']); // the phone did not change
    expect(events[0]).toMatchObject({ actorType: 'api-token', outcome: 'success' });
    const all = JSON.stringify(await auditRows());
    for (const v of [person.idNumber, person.phone, person.email, person.address]) expect(all).not.toContain(v);
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  test('many concurrent writers keep one unbroken chain', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => createPerson(100 + i)));
    const audit = app.strapi.plugin('id-vault').service('audit');
    await audit.flush();
    const rows = await auditRows();
    expect(rows.map((r: any) => r.seq)).toEqual(rows.map((_: any, i: number) => i + 1));
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  test('audit events cannot be changed or deleted through any service path', async () => {
    const events = app.strapi.db.query('plugin::id-vault.audit-event');
    const [first] = await auditRows();
    await expect(events.update({ where: { id: first.id }, data: { outcome: 'x' } })).rejects.toThrow(/append-only/);
    await expect(events.delete({ where: { id: first.id } })).rejects.toThrow(/append-only/);
    await expect(events.deleteMany({ where: {} })).rejects.toThrow(/append-only/);
  });
});

describe('no plaintext at rest', () => {
  test('a scan of every column of every table finds none of the plaintexts written', async () => {
    const written = [1, 2, 3, 4, 5, 20, 21, 30, 40, 41, 50, 51, 60].map(syntheticPerson);
    const dump = await dumpDatabase(app);
    for (const p of written) {
      for (const v of [p.idNumber, p.phone, p.email, p.address]) expect(dump).not.toContain(v);
      expect(dump).not.toContain(p.phone.replace('+86', ''));
    }
    for (const v of ['E12345678', 'E11111111', 'E22222222']) expect(dump).not.toContain(v);
  });
});
