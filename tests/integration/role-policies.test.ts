/**
 * Role policies end to end: for each kind of caller and each output path, exactly which rows and, per
 * field, plain / masked / absent; then the attacks (filters, $or, populate, sort, counts, search,
 * hidden customers, reveal, temporary access grants).
 */
import qs from 'qs';
import { randomBytes } from 'crypto';
import { bootStrapi, apiToken, adminSession, type TestApp, systemDocs } from '../helpers/strapi';
import { syntheticPerson, mask } from '../../plugins/id-vault/server/src/domain';
import { UIDS, ARCHIVE_ADMIN_ROLE } from '../../plugins/id-vault/shared';

const CUSTOMERS = '/api/id-vault/customers';
const DOCUMENTS = '/api/id-vault/identity-documents';
const q = (o: object) => qs.stringify(o, { encodeValuesOnly: true });
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

let app: TestApp;
const auth: Record<string, Record<string, string>> = {};
const rows: Record<string, { documentId: string; person: ReturnType<typeof syntheticPerson> }> = {};
const unitIds: Record<string, string> = {};
let customToken: { id: number; accessKey: string };
let superAdmin: string;

/** A users-permissions user in the role of that type (created with route permissions if missing). */
const apiUser = async (roleType: string, unit: string | null, permissions: string[] = []) => {
  const roles = app.strapi.db.query('plugin::users-permissions.role');
  let role = await roles.findOne({ where: { type: roleType } });
  if (!role) {
    role = await roles.create({ data: { name: roleType, type: roleType, description: 'test' } });
    for (const action of permissions) await app.strapi.db.query('plugin::users-permissions.permission').create({ data: { action, role: role.id } });
  }
  const name = `${roleType}-${randomBytes(3).toString('hex')}`;
  const user = await app.strapi.db
    .query('plugin::users-permissions.user')
    .create({ data: { username: name, email: `${name}@example.test`, provider: 'local', confirmed: true, blocked: false, role: role.id } });
  if (unit) {
    const row = await app.strapi.db.query(UIDS.orgUnit).findOne({ where: { documentId: unitIds[unit] }, populate: ['apiMembers'] });
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: row.id }, data: { apiMembers: [...row.apiMembers.map((m: any) => m.id), user.id] } });
  }
  return { user, jwt: app.strapi.plugin('users-permissions').service('jwt').issue({ id: user.id }) as string };
};

const putPolicy = async (change: (p: any) => void) => {
  const current = await app.http().get('/id-vault/access-policy').set(bearer(superAdmin));
  const policy = current.body.data.policy;
  change(policy);
  const res = await app.http().put('/id-vault/access-policy').set(bearer(superAdmin)).send({ policy });
  expect(res.status).toBe(200);
};

beforeAll(async () => {
  app = await bootStrapi();
  superAdmin = await adminSession(app, 'strapi-super-admin');
  const full = await apiToken(app.strapi, 'full-access');
  const docs = (uid: string) => systemDocs(app, uid);
  unitIds.north = (await docs(UIDS.orgUnit).create({ data: { name: 'North' } })).documentId;
  unitIds.northEast = (await docs(UIDS.orgUnit).create({ data: { name: 'North-East', parent: unitIds.north } })).documentId;
  unitIds.south = (await docs(UIDS.orgUnit).create({ data: { name: 'South' } })).documentId;

  const customer = async (key: string, seed: number, team: string, hidden = false) => {
    const p = syntheticPerson(seed);
    const c = await docs(UIDS.customer).create({
      data: { kind: 'personal', name: `Policy ${key}`, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address, team, hidden },
    });
    rows[key] = { documentId: c.documentId, person: p };
    await docs(UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: `E8000000${seed % 10}`, customer: c.documentId } });
  };
  await customer('north', 901, unitIds.north);
  await customer('northEast', 902, unitIds.northEast);
  await customer('south', 903, unitIds.south);
  await customer('hidden', 904, unitIds.north, true);

  const read = ['find', 'findOne'].flatMap((a) => [`plugin::id-vault.customer.${a}`, `plugin::id-vault.identity-document.${a}`]);
  auth.public = {};
  auth.authenticated = bearer((await apiUser('authenticated', 'north')).jwt);
  auth.salesRep = bearer((await apiUser('sales_rep', 'north')).jwt);
  auth.serviceLead = bearer((await apiUser('customer_service_lead', 'north')).jwt);
  auth.archiveAdmin = bearer((await apiUser('archive_admin', null)).jwt);
  auth.clerk = bearer((await apiUser('field_clerk', null, read)).jwt);
  auth.readOnly = bearer(await apiToken(app.strapi, 'read-only'));
  auth.full = bearer(full);
  const token = await app.strapi.service('admin::api-token-content-api').create({
    name: 'custom-policy-test', type: 'custom', lifespan: null, permissions: read.filter((a) => a.includes('customer')),
  });
  customToken = { id: token.id, accessKey: token.accessKey };
  auth.custom = bearer(token.accessKey);

  // Set up through the settings endpoint, as an admin would on Settings → ID Vault → Field access.
  await putPolicy((p) => {
    p.subjects['up-role:field_clerk'] = { read: 'all', fields: { [`${UIDS.customer}#idNumber`]: 'plain', [`${UIDS.customer}#phone`]: 'hidden' } };
    p.subjects[`api-token:${customToken.id}`] = { fields: { [`${UIDS.customer}#idNumber`]: 'hidden' } };
  });
});
afterAll(async () => {
  await app?.close();
});

type Seen = 'plain' | 'masked' | 'absent';
const FIELDS = ['idNumber', 'phone', 'email', 'address'] as const;
const RULES: Record<string, string> = { idNumber: 'id-number', phone: 'phone', email: 'email', address: 'address' };
const seen = (entry: any, key: string): Record<string, Seen | 'other'> =>
  Object.fromEntries(
    FIELDS.map((f) => {
      const plain = (rows[key].person as any)[f];
      if (!(f in entry)) return [f, 'absent'];
      return [f, entry[f] === plain ? 'plain' : entry[f] === mask(plain, RULES[f] as any) ? 'masked' : 'other'];
    })
  );
const keyOf = (documentId: string) => Object.keys(rows).find((k) => rows[k].documentId === documentId);

const P = 'plain', M = 'masked', A = 'absent';
const MATRIX: Array<[string, string[] | number, Record<string, Seen>]> = [
  ['public', 403, {}],
  ['authenticated', 403, {}], // no route permission ticked
  ['salesRep', ['north'], { idNumber: M, phone: M, email: P, address: P }], // own unit only, not below
  ['serviceLead', ['north', 'northEast', 'south'], { idNumber: M, phone: M, email: M, address: M }],
  ['archiveAdmin', ['hidden', 'north', 'northEast', 'south'], { idNumber: P, phone: P, email: P, address: P }],
  ['clerk', ['north', 'northEast', 'south'], { idNumber: P, phone: A, email: M, address: M }], // custom role via the matrix
  ['readOnly', ['north', 'northEast', 'south'], { idNumber: M, phone: M, email: M, address: M }],
  ['custom', ['north', 'northEast', 'south'], { idNumber: A, phone: M, email: M, address: M }],
  ['full', ['hidden', 'north', 'northEast', 'south'], { idNumber: P, phone: P, email: P, address: P }],
];

describe.each(MATRIX)('%s', (who, expected, fields) => {
  const get = (url: string) => app.http().get(url).set(auth[who]);

  test('list: exactly its rows, the total counts only those, each field plain / masked / absent', async () => {
    const res = await get(`${CUSTOMERS}?${q({ pagination: { pageSize: 100 } })}`);
    if (typeof expected === 'number') return expect(res.status).toBe(expected);
    expect(res.status).toBe(200);
    expect(res.body.data.map((c: any) => keyOf(c.documentId)).sort()).toEqual(expected);
    expect(res.body.meta.pagination.total).toBe(expected.length);
    for (const c of res.body.data) expect(seen(c, keyOf(c.documentId)!)).toEqual(fields);
  });

  test('findOne: its rows open, the others are 404', async () => {
    for (const key of Object.keys(rows)) {
      const res = await get(`${CUSTOMERS}/${rows[key].documentId}`);
      if (typeof expected === 'number') {
        expect(res.status).toBe(expected);
        continue;
      }
      expect([key, res.status]).toEqual([key, expected.includes(key) ? 200 : 404]);
      if (res.status === 200) expect(seen(res.body.data, key)).toEqual(fields);
    }
  });

  test('fields[] and populate from identity documents hold the same', async () => {
    if (typeof expected === 'number') {
      expect((await get(`${CUSTOMERS}?${q({ fields: ['name'] })}`)).status).toBe(expected);
      return expect((await get(`${DOCUMENTS}?${q({ populate: ['customer'] })}`)).status).toBe(expected);
    }
    // A hidden field cannot be asked for (the unknown-field answer, see side-paths.test.ts); the others are selected.
    const visible = ['idNumber', 'phone'].filter((f) => fields[f] !== A);
    const picked = await get(`${CUSTOMERS}?${q({ fields: ['name', ...visible], pagination: { pageSize: 100 } })}`);
    expect(picked.status).toBe(200);
    expect(picked.body.data.length).toBe(expected.length);
    for (const c of picked.body.data) {
      const s = seen(c, keyOf(c.documentId)!);
      expect(visible.map((f) => s[f])).toEqual(visible.map((f) => fields[f]));
      expect(Object.keys(c).filter((k) => FIELDS.includes(k as any)).sort()).toEqual([...visible].sort());
    }
    const viaDocs = await get(`${DOCUMENTS}?${q({ populate: ['customer'], pagination: { pageSize: 100 } })}`);
    if (who === 'custom') return expect(viaDocs.status).toBe(403); // the custom token may read customers only
    expect(viaDocs.status).toBe(200);
    const customers = viaDocs.body.data.map((d: any) => d.customer).filter(Boolean);
    expect(customers.map((c: any) => keyOf(c.documentId)).sort()).toEqual(expected);
    for (const c of customers) expect(seen(c, keyOf(c.documentId)!)).toEqual(fields);
    const populated = await get(`${DOCUMENTS}?${q({ populate: { customer: { fields: visible } } })}`);
    expect(populated.status).toBe(200);
    const populatedCustomers = populated.body.data.map((x: any) => x.customer).filter(Boolean);
    expect(populatedCustomers.length).toBe(expected.length);
    for (const c of populatedCustomers) {
      const s = seen(c, keyOf(c.documentId)!);
      expect(visible.map((f) => s[f])).toEqual(visible.map((f) => fields[f]));
    }
  });
});

describe('attacks: no oracle', () => {
  const get = (who: string, params: object, url = CUSTOMERS) => app.http().get(`${url}?${q(params)}`).set(auth[who]);
  const unknownAnswer = async (who: string, field: string, params: (f: string) => object) => {
    const unknown = await get(who, params('noSuchField'));
    const hidden = await get(who, params(field));
    expect(unknown.status).toBe(400);
    expect(hidden.status).toBe(400);
    expect(hidden.body.error.name).toBe(unknown.body.error.name);
    expect(hidden.body.error.message.replace(field, 'X')).toBe(unknown.body.error.message.replace('noSuchField', 'X'));
  };

  test('a masked field cannot be filtered, sorted or searched: 400 that says why', async () => {
    const { idNumber } = rows.north.person;
    for (const params of [{ filters: { idNumber } }, { filters: { $or: [{ name: 'x' }, { idNumber }] } }, { filters: { $not: { idNumber } } }]) {
      const res = await get('salesRep', params);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/idNumber is masked for you/);
    }
    expect((await get('salesRep', { sort: 'idNumber:asc' })).status).toBe(400);
    const viaPopulate = await get('salesRep', { populate: { customer: { filters: { idNumber } } } }, DOCUMENTS);
    expect(viaPopulate.status).toBe(400);
  });

  test('a hidden field answers exactly like an unknown field', async () => {
    await unknownAnswer('clerk', 'phone', (f) => ({ filters: { [f]: { $eq: '+8613800000000' } } }));
    await unknownAnswer('clerk', 'phone', (f) => ({ filters: { $or: [{ name: 'x' }, { [f]: '+8613800000000' }] } }));
    await unknownAnswer('custom', 'idNumber', (f) => ({ filters: { [f]: rows.north.person.idNumber } }));
  });

  test('the search box only searches fields seen plain', async () => {
    const { idNumber, phone } = rows.south.person;
    const found = await get('clerk', { _q: idNumber });
    expect(found.body.data.map((c: any) => keyOf(c.documentId))).toEqual(['south']); // idNumber is plain for the clerk
    expect((await get('clerk', { _q: phone })).body.data).toEqual([]); // phone is hidden for the clerk
    expect((await get('readOnly', { _q: idNumber })).body.data).toEqual([]);
  });

  test('status=draft and counts do not widen the scope', async () => {
    const res = await get('salesRep', { status: 'draft', pagination: { pageSize: 100 } });
    expect(res.body.data.map((c: any) => keyOf(c.documentId))).toEqual(['north']);
    expect(res.body.meta.pagination.total).toBe(1);
  });

  test('writes stay inside the row scope', async () => {
    const put = (key: string) =>
      app.http().put(`${CUSTOMERS}/${rows[key].documentId}`).set(auth.salesRep).send({ data: { industry: 'retail' } });
    expect((await put('north')).status).toBe(200);
    expect((await put('south')).status).toBe(404); // cannot even see it
    const lead = await app.http().put(`${CUSTOMERS}/${rows.south.documentId}`).set(auth.serviceLead).send({ data: { industry: 'retail' } });
    expect(lead.status).toBe(403); // sees all, edits its own unit only
    const moveOut = await app.http().put(`${CUSTOMERS}/${rows.north.documentId}`).set(auth.salesRep).send({ data: { team: unitIds.south } });
    expect(moveOut.status).toBe(403);
    const p = syntheticPerson(950);
    const elsewhere = await app.http().post(CUSTOMERS).set(auth.salesRep).send({ data: { kind: 'personal', name: 'Elsewhere', idType: 'resident-id', idNumber: p.idNumber, team: unitIds.south } });
    expect(elsewhere.status).toBe(403);
    const mine = await app.http().post(CUSTOMERS).set(auth.salesRep).send({ data: { kind: 'personal', name: 'Mine', idType: 'resident-id', idNumber: p.idNumber, team: unitIds.north } });
    expect(mine.status).toBe(201);
    await systemDocs(app, UIDS.customer).delete({ documentId: mine.body.data.documentId });
    const del = await app.http().delete(`${CUSTOMERS}/${rows.north.documentId}`).set(auth.salesRep);
    expect(del.status).toBe(403); // no delete for sales reps
  });

  test('a hidden field cannot be written either', async () => {
    const res = await app.http().put(`${CUSTOMERS}/${rows.north.documentId}`).set(auth.clerk).send({ data: { phone: '+8613900000000' } });
    expect(res.status).toBe(403); // the clerk role has no update route at all
    const viaFull = await app.http().put(`${CUSTOMERS}/${rows.north.documentId}`).set(auth.full).send({ data: { phone: rows.north.person.phone } });
    expect(viaFull.status).toBe(200);
  });
});

describe('settings', () => {
  test('a change takes effect on the next request and is audited; bad input is a 400 and changes nothing', async () => {
    const before = await app.http().get(`${CUSTOMERS}/${rows.north.documentId}`).set(auth.readOnly);
    expect(before.body.data.email).toBe(mask(rows.north.person.email, 'email'));
    // Strapi makes its own "Read Only" token on first run: take the test's.
    const tokens = await app.strapi.db.query('admin::api-token').findMany({ where: { type: 'read-only', name: { $startsWith: 'test-' } } });
    await putPolicy((p) => {
      p.subjects[`api-token:${tokens[0].id}`] = { fields: { [`${UIDS.customer}#email`]: 'hidden' } };
    });
    const after = await app.http().get(`${CUSTOMERS}/${rows.north.documentId}`).set(auth.readOnly);
    expect('email' in after.body.data).toBe(false);
    const events = await app.strapi.db.query(UIDS.auditEvent).findMany({ where: { action: 'access-policy.update' } });
    expect(events.length).toBeGreaterThan(0);
    for (const bad of [{ subjects: { 'up-role:nobody': {} } }, { subjects: { 'up-role:sales_rep': { fields: { 'x#y': 'plain' } } } }, { subjects: { 'up-role:sales_rep': { read: 'everything' } } }]) {
      const res = await app.http().put('/id-vault/access-policy').set(bearer(superAdmin)).send({ policy: bad });
      expect(res.status).toBe(400);
    }
    const editor = await adminSession(app, 'strapi-editor');
    expect((await app.http().get('/id-vault/access-policy').set(bearer(editor))).status).toBe(403);
    await putPolicy((p) => {
      delete p.subjects[`api-token:${tokens[0].id}`];
    });
  });

  test('the default roles exist in the admin panel and for the content API', async () => {
    const adminRoles = await app.strapi.db.query('admin::role').findMany({ select: ['code'] });
    expect(adminRoles.map((r: any) => r.code)).toEqual(expect.arrayContaining(['strapi-super-admin', ARCHIVE_ADMIN_ROLE, 'id-vault-sales-rep', 'id-vault-customer-service-lead']));
  });
});

describe('hidden customers in the admin panel', () => {
  let editor: string;
  beforeAll(async () => {
    editor = await adminSession(app, 'strapi-editor');
  });
  const cmList = (jwt: string) => app.http().get(`/content-manager/collection-types/${UIDS.customer}?page=1&pageSize=50`).set(bearer(jwt));

  test('gone from the list, count, edit view and relation picker without "See hidden customers"', async () => {
    const list = await cmList(editor);
    expect(list.body.results.map((r: any) => keyOf(r.documentId)).filter(Boolean).sort()).toEqual(['north', 'northEast', 'south']);
    expect((await cmList(superAdmin)).body.results.map((r: any) => keyOf(r.documentId))).toContain('hidden');
    const open = await app.http().get(`/content-manager/collection-types/${UIDS.customer}/${rows.hidden.documentId}`).set(bearer(editor));
    expect(open.status).toBe(404);
    const picker = await app.http().get(`/content-manager/relations/${UIDS.identityDocument}/customer?pageSize=50`).set(bearer(editor));
    expect(picker.status).toBe(200);
    expect(picker.body.results.map((r: any) => keyOf(r.documentId))).not.toContain('hidden');
    expect(picker.body.pagination.total).toBe(picker.body.results.length);
  });

  test('admin roles follow their matrix row in the Content Manager: Editor, Author', async () => {
    await putPolicy((p) => {
      p.subjects['admin-role:strapi-editor'] = { fields: { [`${UIDS.customer}#phone`]: 'hidden', [`${UIDS.customer}#email`]: 'plain' } };
    });
    const open = await app.http().get(`/content-manager/collection-types/${UIDS.customer}/${rows.north.documentId}`).set(bearer(editor));
    expect(seen(open.body.data, 'north')).toEqual({ idNumber: 'masked', phone: 'absent', email: 'plain', address: 'masked' });
    const list = await cmList(editor);
    for (const r of list.body.results.filter((x: any) => keyOf(x.documentId))) expect('phone' in r).toBe(false);
    const search = await app.http().get(`/content-manager/collection-types/${UIDS.customer}?${q({ _q: rows.north.person.phone })}`).set(bearer(editor));
    expect(search.body.results).toEqual([]);
    // Authors see what they created (Strapi's own condition): none of these.
    const author = await adminSession(app, 'strapi-author');
    expect((await cmList(author)).body.results.map((r: any) => keyOf(r.documentId)).filter(Boolean)).toEqual([]);
    await putPolicy((p) => {
      delete p.subjects['admin-role:strapi-editor'];
    });
  });

  test('hiding needs the hide permission and is audited', async () => {
    const url = `/content-manager/collection-types/${UIDS.customer}/${rows.south.documentId}`;
    const denied = await app.http().put(url).set(bearer(editor)).send({ hidden: true });
    expect(denied.status).toBe(403);
    const hide = await app.http().put(url).set(bearer(superAdmin)).send({ hidden: true });
    expect(hide.status).toBe(200);
    const unhide = await app.http().put(url).set(bearer(superAdmin)).send({ hidden: false });
    expect(unhide.status).toBe(200);
    const events = await app.strapi.db.query(UIDS.auditEvent).findMany({ where: { subjectId: rows.south.documentId, action: { $in: ['customer.hide', 'customer.unhide'] } }, orderBy: { id: 'asc' } });
    expect(events.map((e: any) => [e.action, e.outcome])).toEqual([['customer.hide', 'denied'], ['customer.hide', 'success'], ['customer.unhide', 'success']]);
  });
});

describe('reveal', () => {
  const reveal = (who: Record<string, string>, key: string, body: object, base = '/api/id-vault') =>
    app.http().post(`${base}/customers/${rows[key].documentId}/reveal`).set(who).send(body);

  test('over the API: needs the route permission and a reason; plaintext of allowed fields; audited with the reason', async () => {
    expect((await reveal(auth.archiveAdmin, 'north', { fields: ['idNumber'] })).status).toBe(400);
    expect((await reveal(auth.salesRep, 'north', { fields: ['idNumber'], reason: 'customer on the phone' })).status).toBe(403);
    expect((await reveal(auth.readOnly, 'north', { fields: ['idNumber'], reason: 'customer on the phone' })).status).toBe(403);
    const ok = await reveal(auth.archiveAdmin, 'north', { fields: ['idNumber', 'phone'], reason: 'customer on the phone' });
    expect(ok.status).toBe(200);
    expect(ok.body.data.values).toEqual({ idNumber: rows.north.person.idNumber, phone: rows.north.person.phone });
    const [event] = await app.strapi.db.query(UIDS.auditEvent).findMany({ where: { action: 'customer.reveal', outcome: 'success' }, orderBy: { id: 'desc' }, limit: 1 });
    expect(event.fields).toEqual(['idNumber', 'phone']);
    expect(event.details.reason).toBe('customer on the phone');
    expect(JSON.stringify(event)).not.toContain(rows.north.person.idNumber);
  });

  test('in the admin panel: super admin yes, editor no, unknown field 400', async () => {
    const editor = await adminSession(app, 'strapi-editor');
    const body = { fields: ['idNumber'], reason: 'verification' };
    expect((await reveal(bearer(superAdmin), 'north', body, '/id-vault')).body.data.values.idNumber).toBe(rows.north.person.idNumber);
    const denied = await reveal(bearer(editor), 'north', body, '/id-vault');
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/Reveal encrypted fields/);
    expect((await reveal(bearer(superAdmin), 'north', { fields: ['name'], reason: 'verification' }, '/id-vault')).status).toBe(400);
    expect((await reveal(bearer(editor), 'hidden', body, '/id-vault')).status).toBe(404);
  });

  test('a reveal without a reason, or with one too short, says so in words', async () => {
    for (const reason of [undefined, 'ok', 42, 'x'.repeat(501)]) {
      const res = await reveal(bearer(superAdmin), 'north', { fields: ['idNumber'], reason }, '/id-vault');
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe('reason: a reason is required (3–500 characters)');
    }
  });
});

describe('temporary access grants', () => {
  const login = async (email: string, password: string) => (await app.http().post('/admin/login').send({ email, password })).body.data.token as string;
  const person = async (name: string, roleCodes: string[]) => {
    const roles = await app.strapi.db.query('admin::role').findMany({ where: { code: { $in: roleCodes } } });
    const email = `${name}@example.test`;
    const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
    const user = await app.strapi.service('admin::user').create({ email, firstname: name, lastname: 'Test', password, isActive: true, roles: roles.map((r: any) => r.id) });
    return { user, jwt: await login(email, password) };
  };
  let rep: any, head: any, archivist: any;
  beforeAll(async () => {
    const roles = app.strapi.service('admin::role');
    const headRole = await roles.create({ name: 'Unit head', code: 'unit-head', description: 'test' });
    await roles.assignPermissions(headRole.id, [{ action: 'plugin::id-vault.grant.approve', subject: null, properties: {}, conditions: [] }]);
    rep = await person('rep', ['id-vault-sales-rep']);
    head = await person('head', ['unit-head']);
    archivist = await person('archivist', [ARCHIVE_ADMIN_ROLE]);
    const north = await app.strapi.db.query(UIDS.orgUnit).findOne({ where: { documentId: unitIds.north } });
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: north.id }, data: { members: [rep.user.id], heads: [head.user.id] } });
  });
  const call = (who: any, path: string, body?: object) => app.http().post(`/id-vault/grants${path}`).set(bearer(who.jwt)).send(body ?? {});
  const revealAs = (who: any) => app.http().post(`/id-vault/customers/${rows.north.documentId}/reveal`).set(bearer(who.jwt)).send({ fields: ['idNumber'], reason: 'callback' });
  /** What the edit view asks before it shows Reveal buttons. */
  const mayReveal = async (who: any, documentId = rows.north.documentId) => (await app.http().get(`/id-vault/customers/${documentId}/reveal`).set(bearer(who.jwt))).body.data.reveal;

  test('two different approvers, in force until revoked or expired, every step audited', async () => {
    expect((await revealAs(rep)).status).toBe(403);
    expect(await mayReveal(rep)).toBe(false);
    expect(await mayReveal(archivist)).toBe(true);
    expect(await mayReveal(rep, rows.south.documentId)).toBe(false); // out of the rep's rows
    expect((await call(rep, '', { customers: [rows.north.documentId], actions: ['reveal'], reason: 'callback', days: 31 })).status).toBe(400);
    const created = await call(rep, '', { customers: [rows.north.documentId], actions: ['reveal'], reason: 'callback', days: 2 });
    expect(created.status).toBe(200);
    const id = created.body.data.documentId;
    expect((await call(rep, `/${id}/approve`)).status).toBe(403); // no approve permission, and it is their own
    expect((await call(archivist, `/${id}/approve`)).body.data.status).toBe('pending');
    expect((await call(archivist, `/${id}/approve`)).status).toBe(403); // not twice
    expect((await revealAs(rep)).status).toBe(403);
    const done = await call(head, `/${id}/approve`);
    expect(done.body.data.status).toBe('active');
    expect(new Date(done.body.data.expiresAt).getTime() - new Date(done.body.data.approvedAt).getTime()).toBe(2 * 86_400_000);
    const ok = await revealAs(rep);
    expect(ok.status).toBe(200);
    expect(await mayReveal(rep)).toBe(true);
    expect(ok.body.data.values.idNumber).toBe(rows.north.person.idNumber);
    // after expiry (to the second)
    const row = await app.strapi.db.query(UIDS.accessGrant).findOne({ where: { documentId: id } });
    await app.strapi.db.query(UIDS.accessGrant).update({ where: { id: row.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await revealAs(rep)).status).toBe(403);
    expect(await mayReveal(rep)).toBe(false);
    const list = await app.http().get('/id-vault/grants').set(bearer(rep.jwt));
    expect(list.body.data.find((g: any) => g.documentId === id).status).toBe('expired');
    const steps = await app.strapi.db.query(UIDS.auditEvent).findMany({ where: { subjectId: id }, orderBy: { id: 'asc' } });
    expect(steps.map((e: any) => `${e.action}:${e.outcome}`)).toEqual(['grant.request:success', 'grant.approve:success', 'grant.approve:denied', 'grant.approve:success']);
  });

  test('a head of the requester’s unit or of any unit above it is the department head; a head of a unit below is not', async () => {
    const junior = await person('junior', ['id-vault-sales-rep']);
    const subhead = await person('subhead', ['unit-head']);
    const northEast = await app.strapi.db.query(UIDS.orgUnit).findOne({ where: { documentId: unitIds.northEast } });
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: northEast.id }, data: { members: [junior.user.id], heads: [subhead.user.id] } });
    // junior is in North-East, below North: North's head approves as department head.
    const below = await call(junior, '', { customers: [rows.northEast.documentId], actions: ['reveal'], reason: 'callback', days: 1 });
    expect(below.body.data.noHead).toBe(false);
    expect((await call(head, `/${below.body.data.documentId}/approve`)).status).toBe(200);
    expect((await call(archivist, `/${below.body.data.documentId}/approve`)).body.data.status).toBe('active');
    // rep is in North: North-East's head (a unit below) cannot approve as head.
    const above = await call(rep, '', { customers: [rows.north.documentId], actions: ['reveal'], reason: 'callback', days: 1 });
    const refused = await call(subhead, `/${above.body.data.documentId}/approve`);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/head of the requester’s org unit or of a unit above it/);
  });

  test('a requester whose unit chain has no head is told so, before asking and on the request', async () => {
    const list = async (who: any) => (await app.http().get('/id-vault/grants').set(bearer(who.jwt))).body;
    expect((await list(rep)).meta).toEqual({ maxDays: 30, noHead: false });
    const loner = await person('loner', ['id-vault-sales-rep']); // in no org unit at all
    expect((await list(loner)).meta.noHead).toBe(true);
    const southerner = await person('southerner', ['id-vault-sales-rep']);
    const south = await app.strapi.db.query(UIDS.orgUnit).findOne({ where: { documentId: unitIds.south } });
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: south.id }, data: { members: [southerner.user.id] } });
    expect((await list(southerner)).meta.noHead).toBe(true);
    const asked = await call(southerner, '', { customers: [rows.south.documentId], actions: ['reveal'], reason: 'callback', days: 1 });
    expect(asked.status).toBe(200);
    expect(asked.body.data).toMatchObject({ status: 'pending', noHead: true });
    // The archive approval alone never completes it; the approvers see the same flag on the request.
    expect((await call(archivist, `/${asked.body.data.documentId}/approve`)).body.data).toMatchObject({ status: 'pending', noHead: true });
    const seen = (await list(archivist)).data.find((g: any) => g.documentId === asked.body.data.documentId);
    expect(seen.noHead).toBe(true);
    // The requester as South's only head is no head for their own request.
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: south.id }, data: { heads: [southerner.user.id] } });
    expect((await list(southerner)).meta.noHead).toBe(true);
    // A head named for South: the flag goes away, on the next read, and the head approves.
    const southHead = await person('southhead', ['unit-head']);
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: south.id }, data: { heads: [southHead.user.id] } });
    expect((await list(southerner)).meta.noHead).toBe(false);
    const approved = await call(southHead, `/${asked.body.data.documentId}/approve`);
    expect(approved.body.data).toMatchObject({ status: 'active', noHead: false });
    await call(archivist, `/${asked.body.data.documentId}/revoke`);
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: south.id }, data: { heads: [], members: [] } });
  });

  test('an edit grant opens a customer outside the unit in the Content Manager, to read and save, until revoked', async () => {
    const cm = `/content-manager/collection-types/${UIDS.customer}/${rows.south.documentId}`;
    const open = () => app.http().get(cm).set(bearer(rep.jwt));
    const save = (notes: string) => app.http().put(cm).set(bearer(rep.jwt)).send({ notes });
    // Outside the rep's rows the customer does not exist for them: 404, like a made-up id (no existence oracle).
    expect((await open()).status).toBe(404);
    expect((await save('before the grant')).status).toBe(404);
    const id = (await call(rep, '', { customers: [rows.south.documentId], actions: ['edit'], reason: 'address change', days: 1 })).body.data.documentId;
    await call(head, `/${id}/approve`);
    await call(archivist, `/${id}/approve`);
    const opened = await open();
    expect(opened.status).toBe(200);
    expect(opened.body.data.idNumber).toBe(mask(rows.south.person.idNumber, 'id-number')); // the grant widens rows, not fields
    expect((await save('moved house')).status).toBe(200);
    const reveal = await app.http().post(`/id-vault/customers/${rows.south.documentId}/reveal`).set(bearer(rep.jwt)).send({ fields: ['idNumber'], reason: 'check' });
    expect(reveal.status).toBe(403); // edit is not reveal
    await call(rep, `/${id}/revoke`);
    expect((await open()).status).toBe(404);
    expect((await save('after the revocation')).status).toBe(404);
    expect((await systemDocs(app, UIDS.customer).findOne({ documentId: rows.south.documentId }))?.notes).toBe('moved house');
  });

  test('revoked grants stop working at once; self-approval is refused', async () => {
    const created = await call(archivist, '', { orgUnit: unitIds.north, actions: ['reveal'], reason: 'review', days: 1 });
    expect((await call(archivist, `/${created.body.data.documentId}/approve`)).status).toBe(403); // own request
    const other = await call(rep, '', { orgUnit: unitIds.north, actions: ['reveal'], reason: 'review', days: 1 });
    const id = other.body.data.documentId;
    await call(head, `/${id}/approve`);
    await call(archivist, `/${id}/approve`);
    expect((await revealAs(rep)).status).toBe(200); // the org unit grant covers the customer
    expect((await call(archivist, `/${id}/revoke`)).body.data.status).toBe('revoked');
    expect((await revealAs(rep)).status).toBe(403);
  });
});
