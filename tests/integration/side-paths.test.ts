/**
 * The side roads to customer rows, tried as an attacker would (issue: seal every side path): relation
 * filters from other types (with every negation), the Content Manager's relation endpoints, clone, relation
 * writes, grant requests, hidden-vs-unknown answers, request logs and value echo — for a users-permissions
 * role with unit scope, an API token and an admin role with RBAC conditions.
 */
import qs from 'qs';
import { randomBytes } from 'crypto';
import { bootStrapi, apiToken, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson, syntheticCompany } from '../../plugins/id-vault/server/src/domain';
import { UIDS, ARCHIVE_ADMIN_ROLE } from '../../plugins/id-vault/shared';

const API = '/api/id-vault';
const CM = '/content-manager';
const q = (o: object) => qs.stringify(o, { encodeValuesOnly: true });
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

let app: TestApp;
const units: Record<string, { documentId: string; id: number }> = {};
const customers: Record<string, { documentId: string; id: number; person: ReturnType<typeof syntheticPerson>; name: string; doc: { documentId: string; id: number } }> = {};
let tag: { documentId: string; id: number };
const who: Record<string, Record<string, string>> = {};

const login = async (email: string, password: string) => (await app.http().post('/admin/login').send({ email, password })).body.data.token as string;

beforeAll(async () => {
  app = await bootStrapi();
  const docs = (uid: string) => systemDocs(app, uid);
  for (const name of ['North', 'South', 'Empty', 'HiddenOnly']) {
    const u = await docs(UIDS.orgUnit).create({ data: { name } });
    units[name] = { documentId: u.documentId, id: u.id };
  }
  tag = await docs(UIDS.tag).create({ data: { name: 'VIP' } });
  const customer = async (key: string, seed: number, unit: string, hidden = false) => {
    const person = syntheticPerson(seed);
    const name = `Side ${key} ${randomBytes(2).toString('hex')}`;
    const c = await docs(UIDS.customer).create({
      data: { kind: 'personal', name, idType: 'resident-id', idNumber: person.idNumber, phone: person.phone, email: person.email, notes: `notes of ${key}`, team: units[unit].documentId, hidden, tags: [tag.documentId] },
    });
    const d = await docs(UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: `E9000000${seed % 10}`, customer: c.documentId } });
    customers[key] = { documentId: c.documentId, id: c.id, person, name, doc: { documentId: d.documentId, id: d.id } };
  };
  await customer('north', 1101, 'North');
  await customer('south', 1102, 'South');
  await customer('hidden', 1103, 'North', true);
  await customer('hiddenOnly', 1104, 'HiddenOnly', true);

  // A users-permissions sales rep in North (unit scope), who may also edit org units and tags.
  const roles = app.strapi.db.query('plugin::users-permissions.role');
  const rep = await roles.findOne({ where: { type: 'sales_rep' } });
  for (const action of ['org-unit.update', 'tag.update']) {
    await app.strapi.db.query('plugin::users-permissions.permission').create({ data: { action: `plugin::id-vault.${action}`, role: rep.id } });
  }
  const user = await app.strapi.db.query('plugin::users-permissions.user').create({
    data: { username: 'side-rep', email: 'side-rep@example.test', provider: 'local', confirmed: true, blocked: false, role: rep.id },
  });
  await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: units.North.id }, data: { apiMembers: [user.id] } });
  who.rep = bearer(app.strapi.plugin('users-permissions').service('jwt').issue({ id: user.id }));
  who.readOnly = bearer(await apiToken(app.strapi, 'read-only'));
  who.full = bearer(await apiToken(app.strapi, 'full-access'));

  // Admins: a Sales rep (RBAC condition "in my org unit") in North, and a super admin.
  const adminRole = async (code: string) => (await app.strapi.db.query('admin::role').findOne({ where: { code } })).id;
  const admin = async (name: string, code: string) => {
    const email = `${name}@example.test`;
    const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
    const u = await app.strapi.service('admin::user').create({ email, firstname: name, lastname: 'Test', password, isActive: true, roles: [await adminRole(code)] });
    return { user: u, jwt: bearer(await login(email, password)) };
  };
  const adminRep = await admin('side-admin-rep', 'id-vault-sales-rep');
  await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: units.North.id }, data: { members: [adminRep.user.id] } });
  who.adminRep = adminRep.jwt;
  who.superAdmin = (await admin('side-super', 'strapi-super-admin')).jwt;
  who.archivist = (await admin('side-archivist', ARCHIVE_ADMIN_ROLE)).jwt;
});
afterAll(async () => {
  await app?.close();
});

const get = (caller: string, url: string, params: object = {}) => app.http().get(Object.keys(params).length ? `${url}?${q(params)}` : url).set(who[caller]);
const ids = (res: any) => (res.body.data ?? res.body.results).map((r: any) => r.documentId).sort();
const unitKeys = (res: any) => Object.keys(units).filter((k) => ids(res).includes(units[k].documentId)).sort();
const customerKeys = (res: any) => Object.keys(customers).filter((k) => ids(res).includes(customers[k].documentId)).sort();
const noCiphertext = (res: any) => expect(JSON.stringify(res.body)).not.toMatch(/\$idv1\$/);

describe('1. relation filters into customers and documents see only the caller\'s rows', () => {
  const unitFilter = (caller: string, filters: object) => get(caller, `${API}/org-units`, { filters, pagination: { pageSize: 100 } });

  test.each(['rep', 'readOnly'])('%s: hidden customers cannot be detected through org units', async (caller) => {
    const res = await unitFilter(caller, { customers: { hidden: { $eq: true } } });
    expect(res.status).toBe(200);
    expect(unitKeys(res)).toEqual([]);
    const full = await unitFilter('full', { customers: { hidden: { $eq: true } } });
    expect(unitKeys(full)).toEqual(['HiddenOnly', 'North']); // the filter itself works
  });

  test('rep (unit scope): values of out-of-scope and hidden customers cannot be confirmed', async () => {
    const s = customers.south;
    const h = customers.hidden;
    const guesses = [s.name, h.name, ...Array.from({ length: 18 }, (_, i) => `guess ${i}`)];
    const probes: object[] = [
      { customers: { name: { $eq: s.name } } },
      { customers: { name: { $in: guesses } } },
      { customers: { name: { $startsWith: 'Side south' } } },
      { customers: { notes: { $contains: 'of hidden' } } },
      { customers: { email: { $eq: s.person.email } } }, // e-mail is plain for sales reps: the blind index, then the scope
      { customers: { email: { $in: [s.person.email, h.person.email] } } },
      { customers: { documents: { id: { $in: [s.doc.id, h.doc.id] } } } },
      { customers: { id: { $in: [s.id, h.id] } } },
      { customers: s.id },
      { $or: [{ name: 'none' }, { customers: { name: { $eq: h.name } } }] },
    ];
    for (const filters of probes) {
      const res = await unitFilter('rep', filters);
      expect([filters, res.status, unitKeys(res)]).toEqual([filters, 200, []]);
    }
    expect(unitKeys(await unitFilter('full', probes[0]))).toEqual(['South']);
    const own = await unitFilter('rep', { customers: { name: { $eq: customers.north.name } } });
    expect(unitKeys(own)).toEqual(['North']);
  });

  test('negations across the relation answer as if the unseen rows did not exist', async () => {
    // "HiddenOnly" holds only a hidden customer, "Empty" none: no negation may tell them apart.
    const negations: object[] = [
      { customers: { $null: true } },
      { customers: { $notNull: true } },
      { customers: { id: { $null: true } } },
      { customers: { id: { $notNull: true } } },
      { $not: { customers: { name: { $eq: 'nobody' } } } },
      { $not: { customers: { id: { $notNull: true } } } },
      { customers: { name: { $ne: 'nobody' } } },
      { customers: { name: { $notIn: ['nobody'] } } },
      { customers: { $not: { name: { $eq: 'nobody' } } } },
      { customers: { hidden: { $ne: false } } },
      { customers: { id: { $notIn: [customers.north.id] } } },
    ];
    for (const caller of ['rep', 'readOnly']) {
      for (const filters of negations) {
        const res = await unitFilter(caller, filters);
        expect(res.status).toBe(200);
        const keys = unitKeys(res);
        expect([caller, filters, keys.includes('HiddenOnly')]).toEqual([caller, filters, keys.includes('Empty')]);
      }
    }
    // …and North (one visible customer, one hidden) answers like a unit with its visible customer only.
    const withOthers = await unitFilter('rep', { $not: { customers: { id: { $notIn: [customers.north.id] } } } });
    expect(unitKeys(withOthers)).toContain('North');
  });

  test('through tags, a customer\'s own relations, identity documents, and populate', async () => {
    const tagged = await get('rep', `${API}/tags`, { filters: { customers: { name: { $eq: customers.south.name } } } });
    expect(tagged.status).toBe(200);
    expect(ids(tagged)).toEqual([]);
    const viaTeam = await get('rep', `${API}/customers`, { filters: { team: { customers: { name: { $eq: customers.hidden.name } } } } });
    expect(viaTeam.status).toBe(200);
    expect(customerKeys(viaTeam)).toEqual([]);
    const viaDocs = await get('rep', `${API}/identity-documents`, { filters: { customer: { hidden: true } } });
    expect(ids(viaDocs)).toEqual([]);
    const count = await get('rep', `${API}/org-units`, { populate: { customers: { fields: ['name'] } } });
    for (const u of count.body.data) for (const c of u.customers) expect(c.documentId).toBe(customers.north.documentId);
    const tags = await get('readOnly', `${API}/tags`, { populate: ['customers'] });
    const seen = tags.body.data.flatMap((t: any) => t.customers.map((c: any) => c.documentId));
    expect(seen.sort()).toEqual([customers.north.documentId, customers.south.documentId].sort());
  });

  test('admin with conditions: the Content Manager list of org units and tags', async () => {
    const list = (uid: string, filters: object) => get('adminRep', `${CM}/collection-types/${uid}`, { page: 1, pageSize: 50, filters });
    const hiddenProbe = await list(UIDS.orgUnit, { $and: [{ customers: { hidden: { $eq: true } } }] });
    expect(hiddenProbe.status).toBe(200);
    expect(unitKeys(hiddenProbe)).toEqual([]);
    const nameProbe = await list(UIDS.tag, { $and: [{ customers: { name: { $eq: customers.south.name } } }] });
    expect(nameProbe.status).toBe(200);
    expect(ids(nameProbe)).toEqual([]);
    const negation = await list(UIDS.orgUnit, { $and: [{ customers: { id: { $null: true } } }] });
    expect(unitKeys(negation).includes('HiddenOnly')).toBe(unitKeys(negation).includes('Empty'));
    const counts = await get('adminRep', `${CM}/collection-types/${UIDS.orgUnit}`, { page: 1, pageSize: 50 });
    const north = counts.body.results.find((u: any) => u.documentId === units.North.documentId);
    expect(north.customers).toEqual({ count: 1 }); // the hidden one is not counted
    expect(counts.body.results.find((u: any) => u.documentId === units.South.documentId).customers).toEqual({ count: 0 });
  });

  test('a masked or hidden field cannot be probed across a relation', async () => {
    const masked = await get('rep', `${API}/org-units`, { filters: { customers: { idNumber: { $null: true } } } });
    expect(masked.status).toBe(400);
    expect(masked.body.error.message).toMatch(/idNumber is masked for you/);
    const phone = await get('rep', `${API}/tags`, { filters: { customers: { phone: { $eq: customers.north.person.phone } } } });
    expect(phone.status).toBe(400);
  });
});

describe('2. the Content Manager relation endpoints', () => {
  const picker = (caller: string, params: object = {}) => get(caller, `${CM}/relations/${UIDS.identityDocument}/customer`, { pageSize: 50, ...params });

  test('the picker lists only the admin\'s customers; counts match; no ciphertext, even when asked for', async () => {
    const res = await picker('adminRep');
    expect(res.status).toBe(200);
    expect(customerKeys(res)).toEqual(['north']);
    expect(res.body.pagination.total).toBe(1);
    for (const params of [{ fields: ['idNumber', 'phone'] }, { populate: ['documents'] }, { populate: { documents: { fields: ['documentNumber'] } } }]) {
      const probe = await picker('adminRep', params);
      expect(probe.status).toBeLessThan(500);
      noCiphertext(probe);
      if (probe.status === 200) expect(customerKeys(probe)).toEqual(['north']);
    }
    const superRes = await picker('superAdmin');
    expect(customerKeys(superRes)).toEqual(['hidden', 'hiddenOnly', 'north', 'south']);
    noCiphertext(await picker('superAdmin', { fields: ['idNumber'] }));
  });

  test('a masked field cannot be used as a 1-bit oracle in the picker', async () => {
    for (const filters of [{ idNumber: { $null: true } }, { idNumber: { $notNull: true } }, { $or: [{ phone: { $null: true } }] }]) {
      const res = await picker('adminRep', { filters });
      expect([filters, res.status]).toEqual([filters, 400]);
    }
  });

  test('existing relations: only rows the admin may read; an unseen source answers like a made-up one', async () => {
    const existing = (source: string, id: string, field: string) => get('adminRep', `${CM}/relations/${source}/${id}/${field}`, { pageSize: 50 });
    const tagCustomers = await existing(UIDS.tag, tag.documentId, 'customers');
    expect(tagCustomers.status).toBe(200);
    expect(customerKeys(tagCustomers)).toEqual(['north']);
    expect(tagCustomers.body.pagination.total).toBe(1);
    const unseen = await existing(UIDS.customer, customers.south.documentId, 'tags');
    const hidden = await existing(UIDS.customer, customers.hidden.documentId, 'tags');
    const madeUp = await existing(UIDS.customer, 'x00000000000000000madeup', 'tags');
    expect(madeUp.status).toBe(404);
    expect([unseen.status, unseen.body]).toEqual([madeUp.status, madeUp.body]);
    expect([hidden.status, hidden.body]).toEqual([madeUp.status, madeUp.body]);
  });

  test('edit view and other by-id routes: out of scope, hidden and made-up answer alike', async () => {
    const urls = (id: string) => [
      `${CM}/collection-types/${UIDS.customer}/${id}`,
      `/i18n/content-manager/get-fill-from-locale/${UIDS.customer}?documentId=${id}`,
    ];
    for (const i of [0, 1]) {
      const madeUp = await get('adminRep', urls('x00000000000000000madeup')[i]);
      for (const key of ['south', 'hidden']) {
        const res = await get('adminRep', urls(customers[key].documentId)[i]);
        expect([key, i, res.status, res.body]).toEqual([key, i, madeUp.status, madeUp.body]);
      }
    }
  });

  test('homepage counts do not count out-of-scope or hidden customers', async () => {
    const count = async (caller: string) => (await get(caller, `${CM}/homepage/count-documents`)).body.data.published;
    const [repBefore, superBefore] = [await count('adminRep'), await count('superAdmin')];
    const p = syntheticPerson(1190);
    await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: 'Side count', idType: 'resident-id', idNumber: p.idNumber, team: units.South.documentId } });
    expect(await count('superAdmin')).toBe(superBefore + 1);
    expect(await count('adminRep')).toBe(repBefore);
  });
});

describe('3. clone', () => {
  const clone = (id: string) => app.http().post(`${CM}/collection-types/${UIDS.customer}/clone/${id}`).set(who.adminRep).send({ name: 'Cloned' });
  test('an admin cannot clone a customer outside its rows (or a hidden one) into its own unit', async () => {
    const before = await app.strapi.db.query(UIDS.customer).count();
    for (const key of ['south', 'hidden']) {
      const res = await clone(customers[key].documentId);
      expect([key, res.status]).toEqual([key, 404]);
      noCiphertext(res);
    }
    expect(await app.strapi.db.query(UIDS.customer).count()).toBe(before);
    const own = await clone(customers.north.documentId);
    expect(own.status).toBeLessThan(300);
  });
});

describe('4. relation writes touch only rows the caller may change', () => {
  const docOwner = async (docId: number) =>
    (await app.strapi.db.query(UIDS.identityDocument).findOne({ where: { id: docId }, populate: { customer: { select: ['documentId'] } } }))?.customer?.documentId;
  const teamOf = async (id: number) => (await app.strapi.db.query(UIDS.customer).findOne({ where: { id }, populate: { team: { select: ['documentId'] } } }))?.team?.documentId;

  test('users-permissions: other customers\' documents cannot be moved onto one\'s own customer', async () => {
    const put = (data: object) => app.http().put(`${API}/customers/${customers.north.documentId}`).set(who.rep).send({ data });
    const foreign = [customers.south.doc, customers.hidden.doc];
    for (const data of [
      { documents: { connect: foreign.map((d) => d.documentId) } },
      { documents: { connect: [{ documentId: customers.south.doc.documentId }] } },
      { documents: { set: [customers.north.doc.documentId, customers.hidden.doc.documentId] } },
      { documents: [customers.north.doc.documentId, customers.south.doc.documentId] },
    ]) {
      const res = await put(data);
      expect([data, res.status >= 400 && res.status < 500]).toEqual([data, true]);
      expect(res.body.error.message).not.toMatch(/Invalid key/); // refused for the rows, not for the payload's shape
    }
    expect(await docOwner(customers.south.doc.id)).toBe(customers.south.documentId);
    expect(await docOwner(customers.hidden.doc.id)).toBe(customers.hidden.documentId);
  });

  test('users-permissions: org units and tags cannot connect, disconnect or replace unseen customers', async () => {
    const putUnit = (unit: string, data: object) => app.http().put(`${API}/org-units/${units[unit].documentId}`).set(who.rep).send({ data });
    for (const [unit, data] of [
      ['North', { customers: { connect: [customers.south.documentId] } }],
      ['South', { customers: { disconnect: [customers.south.documentId] } }],
      ['North', { customers: { set: [customers.north.documentId] } }], // would drop the hidden one
      ['North', { customers: [customers.north.documentId] }],
    ] as const) {
      const res = await putUnit(unit, data);
      expect([unit, data, res.status >= 400 && res.status < 500]).toEqual([unit, data, true]);
      expect(res.body.error.message).not.toMatch(/Invalid key/);
    }
    expect(await teamOf(customers.south.id)).toBe(units.South.documentId);
    expect(await teamOf(customers.hidden.id)).toBe(units.North.documentId);
    const untag = await app.http().put(`${API}/tags/${tag.documentId}`).set(who.rep).send({ data: { customers: { disconnect: [customers.hidden.documentId] } } });
    expect(untag.status).toBeGreaterThanOrEqual(400);
    const tagged = await app.strapi.db.query(UIDS.tag).findOne({ where: { id: tag.id }, populate: ['customers'] });
    expect(tagged.customers.map((c: any) => c.documentId)).toContain(customers.hidden.documentId);
    // What is the caller's own stays possible.
    const mine = await putUnit('North', { name: 'North' });
    expect(mine.status).toBe(200);
  });

  test('API token (scope all, no hidden customers): a hidden customer\'s document cannot be taken', async () => {
    const token = await apiToken(app.strapi, 'custom', ['customer.find', 'customer.update', 'identity-document.find', 'org-unit.update'].map((a) => `plugin::id-vault.${a}`));
    const res = await app.http().put(`${API}/customers/${customers.south.documentId}`).set(bearer(token))
      .send({ data: { documents: { connect: [customers.hidden.doc.documentId] } } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.error.message).not.toMatch(/Invalid key/); // refused for the row, not for the payload's shape
    const unit = await app.http().put(`${API}/org-units/${units.South.documentId}`).set(bearer(token))
      .send({ data: { customers: { connect: [customers.hidden.documentId] } } });
    expect(unit.status).toBeGreaterThanOrEqual(400);
    expect(await docOwner(customers.hidden.doc.id)).toBe(customers.hidden.documentId);
    expect(await teamOf(customers.hidden.id)).toBe(units.North.documentId);
    // The same token moves a visible customer's document: what it may change, it changes.
    const ok = await app.http().put(`${API}/customers/${customers.south.documentId}`).set(bearer(token))
      .send({ data: { documents: { connect: [customers.north.doc.documentId] } } });
    expect(ok.status).toBe(200);
    expect(await docOwner(customers.north.doc.id)).toBe(customers.south.documentId);
    await app.http().put(`${API}/customers/${customers.north.documentId}`).set(bearer(token)).send({ data: { documents: { connect: [customers.north.doc.documentId] } } });
    expect(await docOwner(customers.north.doc.id)).toBe(customers.north.documentId);
  });

  test('admin in the Content Manager: a foreign document cannot be connected', async () => {
    const res = await app.http().put(`${CM}/collection-types/${UIDS.customer}/${customers.north.documentId}`).set(who.adminRep)
      .send({ documents: { connect: [{ id: customers.south.doc.id, documentId: customers.south.doc.documentId }] } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await docOwner(customers.south.doc.id)).toBe(customers.south.documentId);
  });
});

describe('uniqueness', () => {
  test('the credit code is unique across all customers, also those the caller cannot see', async () => {
    const company = syntheticCompany(1201);
    await systemDocs(app, UIDS.customer).create({ data: { kind: 'enterprise', name: company.name, creditCode: company.creditCode, team: units.South.documentId } });
    const res = await app.http().post(`${API}/customers`).set(who.rep).send({ data: { kind: 'enterprise', name: 'Copy', creditCode: company.creditCode, team: units.North.documentId } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('This attribute must be unique');
    const other = syntheticCompany(1202);
    const ok = await app.http().post(`${API}/customers`).set(who.rep).send({ data: { kind: 'enterprise', name: 'Own', creditCode: other.creditCode, team: units.North.documentId } });
    expect(ok.status).toBe(201);
  });
});

describe('5. grant requests', () => {
  test('the requester does not learn the names of customers it may not read', async () => {
    const res = await app.http().post('/id-vault/grants').set(who.adminRep).send({ customers: [customers.south.documentId, customers.north.documentId], actions: ['reveal'], reason: 'callback', days: 1 });
    expect(res.status).toBe(200);
    const names = Object.fromEntries(res.body.data.customers.map((c: any) => [c.documentId, c.name]));
    expect(names[customers.south.documentId]).toBe('');
    expect(names[customers.north.documentId]).toBe(customers.north.name);
    const list = await get('adminRep', '/id-vault/grants');
    expect(JSON.stringify(list.body)).not.toContain(customers.south.name);
    const archivist = await get('archivist', '/id-vault/grants');
    expect(JSON.stringify(archivist.body)).toContain(customers.south.name);
  });
});

describe('6. a hidden field answers exactly what an unknown field answers', () => {
  let clerk: Record<string, string>;
  beforeAll(async () => {
    // A token whose matrix row hides the phone.
    const token = await app.strapi.service('admin::api-token-content-api').create({
      name: 'side-hidden', type: 'custom', lifespan: null,
      permissions: ['customer.find', 'customer.findOne', 'customer.update', 'identity-document.find', 'org-unit.find'].map((a) => `plugin::id-vault.${a}`),
    });
    clerk = bearer(token.accessKey);
    const store = app.strapi.store({ type: 'plugin', name: 'id-vault', key: 'access-policy' });
    const policy = (await store.get({})) ?? { subjects: {} };
    policy.subjects[`api-token:${token.id}`] = { fields: { [`${UIDS.customer}#phone`]: 'hidden' } };
    await store.set({ value: policy });
  });
  const same = async (url: string, params: (field: string) => object) => {
    const hidden = await app.http().get(`${url}?${q(params('phone'))}`).set(clerk);
    const unknown = await app.http().get(`${url}?${q(params('noSuchField'))}`).set(clerk);
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(hidden.body).replaceAll('phone', 'X')).toBe(JSON.stringify(unknown.body).replaceAll('noSuchField', 'X'));
  };

  test.each<[string, string, (f: string) => object]>([
    ['filters', `${API}/customers`, (f) => ({ filters: { [f]: { $eq: '+8613800000000' } } })],
    ['filters in $or', `${API}/customers`, (f) => ({ filters: { $or: [{ name: 'x' }, { [f]: '+8613800000000' }] } })],
    ['filters in $not', `${API}/customers`, (f) => ({ filters: { $not: { [f]: { $null: true } } } })],
    ['filters across a relation', `${API}/org-units`, (f) => ({ filters: { customers: { [f]: { $null: true } } } })],
    ['filters two relations deep', `${API}/customers`, (f) => ({ filters: { team: { customers: { [f]: { $eq: 'x' } } } } })],
    ['sort', `${API}/customers`, (f) => ({ sort: `${f}:asc` })],
    ['sort as an object', `${API}/customers`, (f) => ({ sort: [{ [f]: 'desc' }] })],
    ['fields', `${API}/customers`, (f) => ({ fields: ['name', f] })],
    ['populate fields', `${API}/identity-documents`, (f) => ({ populate: { customer: { fields: [f] } } })],
    ['populate filters', `${API}/identity-documents`, (f) => ({ populate: { customer: { filters: { [f]: { $eq: 'x' } } } } })],
    ['populate sort', `${API}/identity-documents`, (f) => ({ populate: { customer: { sort: f } } })],
  ])('%s', async (_name, url, params) => {
    await same(url, params);
  });

  test('writing it', async () => {
    const put = (field: string) => app.http().put(`${API}/customers/${customers.north.documentId}`).set(clerk).send({ data: { [field]: '+8613800000000' } });
    const [hidden, unknown] = [await put('phone'), await put('noSuchField')];
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(hidden.body).replaceAll('phone', 'X')).toBe(JSON.stringify(unknown.body).replaceAll('noSuchField', 'X'));
  });

  test('the Content Manager answers it like an unknown key', async () => {
    const store = app.strapi.store({ type: 'plugin', name: 'id-vault', key: 'access-policy' });
    const policy = (await store.get({})) ?? { subjects: {} };
    policy.subjects['admin-role:id-vault-sales-rep'] = { fields: { [`${UIDS.customer}#phone`]: 'hidden' } };
    await store.set({ value: policy });
    const list = (field: string) => get('adminRep', `${CM}/collection-types/${UIDS.customer}`, { page: 1, pageSize: 10, filters: { $and: [{ [field]: { $eq: 'x' } }] } });
    const [hidden, unknown] = [await list('phone'), await list('noSuchField')];
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(hidden.body).replaceAll('phone', 'X')).toBe(JSON.stringify(unknown.body).replaceAll('noSuchField', 'X'));
    delete policy.subjects['admin-role:id-vault-sales-rep'];
    await store.set({ value: policy });
  });
});

describe('7 and 8. no values in logs or error bodies', () => {
  test('request logs keep the line but not filter values or search terms', async () => {
    const lines: string[] = [];
    const log = app.strapi.log as any;
    const original = log.http;
    log.http = (line: string) => lines.push(line);
    try {
      const { idNumber, email } = customers.north.person;
      await get('full', `${API}/customers`, { filters: { idNumber: { $eq: idNumber } } });
      await get('superAdmin', `${CM}/collection-types/${UIDS.customer}`, { page: 1, pageSize: 10, _q: email });
    } finally {
      log.http = original;
    }
    expect(lines.length).toBe(2);
    expect(lines[0]).toMatch(/^GET \/api\/id-vault\/customers\?filters.*=\*\*\* \(\d+ ms\) 200$/);
    expect(lines[1]).toMatch(/_q=\*\*\*/);
    const all = lines.join('\n');
    for (const v of [customers.north.person.idNumber, customers.north.person.email, encodeURIComponent(customers.north.person.email)]) expect(all).not.toContain(v);
  });

  test('a failing SQL statement is reported without its values (knex would inline the bindings)', async () => {
    const { name } = customers.north.person;
    const message = await app.strapi.db.connection.raw('select id from idv_no_such_table where name = ?', [name]).then(() => 'no error', (e: Error) => String(e.message));
    expect(message).toContain('idv_no_such_table');
    expect(message).not.toContain(name);
  });

  test('a wrong-typed encrypted value is refused without echoing it', async () => {
    for (const phone of [13912345678, { value: '13912345678' }, ['13912345678']]) {
      const res = await app.http().post(`${API}/customers`).set(who.full).send({ data: { kind: 'personal', name: 'Echo', phone } });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).not.toContain('13912345678');
    }
  });
});
