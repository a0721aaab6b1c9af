/**
 * Row scope in the admin panel: the RBAC conditions "Customer is mine", "… in my org unit" and "… in my
 * org unit or below" on Content Manager permissions of customers and identity documents decide exactly
 * which rows a role lists, counts and opens.
 */
import { bootStrapi, type TestApp, systemDocs } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { CONDITIONS, UIDS } from '../../plugins/id-vault/shared';

let app: TestApp;
/** The document service as the system (fixtures). */
const docs = (uid: string) => systemDocs(app, uid);
const ids: Record<string, string> = {};
const sessions: Record<string, string> = {};

const fieldsOf = (uid: string) =>
  Object.entries<any>(app.strapi.getModel(uid).attributes)
    .filter(([name, a]) => !a.private && !['createdBy', 'updatedBy'].includes(name))
    .map(([name]) => name);

/**
 * An admin user in a new role that may read customers and documents under one condition (and, with
 * `write`, edit them under it; by default when given plugin actions to use).
 */
const scopedAdmin = async (name: string, condition: string, pluginActions: string[] = [], write = pluginActions.length > 0) => {
  const roles = app.strapi.service('admin::role');
  const role = await roles.create({ name: `Scope ${name}`, description: 'test' });
  await roles.assignPermissions(
    role.id,
    [UIDS.customer, UIDS.identityDocument].flatMap((subject) =>
      (write ? ['read', 'update'] : ['read']).map((verb) => ({
        action: `plugin::content-manager.explorer.${verb}`,
        subject,
        properties: { fields: fieldsOf(subject) },
        conditions: [condition],
      }))
    )
  );
  if (pluginActions.length) await roles.addPermissions(role.id, pluginActions.map((a) => ({ action: `plugin::id-vault.${a}`, subject: null, properties: {}, conditions: [] })));
  const email = `${name}@example.test`;
  const password = 'Scope-test-Pw1';
  const user = await app.strapi.service('admin::user').create({ email, firstname: name, lastname: 'Test', password, isActive: true, roles: [role.id] });
  const res = await app.http().post('/admin/login').send({ email, password });
  sessions[name] = res.body.data.token;
  return user;
};

beforeAll(async () => {
  app = await bootStrapi();
  const aliceMine = await scopedAdmin('alice-mine', CONDITIONS.mine, ['customer.erase'], false);
  const aliceUnit = await scopedAdmin('alice-unit', CONDITIONS.myUnit, ['customer.erase', 'customer.reveal', 'export.masked', 'scan.view']);
  const bobBelow = await scopedAdmin('bob-below', CONDITIONS.myUnitOrBelow);
  const bobUnit = await scopedAdmin('bob-unit', CONDITIONS.myUnit);

  const unit = async (name: string, parent: string | null, members: any[]) =>
    (await docs(UIDS.orgUnit).create({ data: { name, parent, members: members.map((m) => m.documentId) } })).documentId;
  const sales = await unit('Sales', null, [bobBelow, bobUnit]);
  const groupA = await unit('Sales group A', sales, [aliceUnit]);
  const groupB = await unit('Sales group B', sales, []);
  const service = await unit('Service', null, []);

  const customer = async (key: string, seed: number, team: string | null, owner: any | null) => {
    const p = syntheticPerson(seed);
    const c = await docs(UIDS.customer).create({ data: { kind: 'personal', name: `Scope ${key}`, idType: 'resident-id', idNumber: p.idNumber, team, owner: owner?.documentId ?? null } });
    ids[key] = c.documentId;
    ids[`doc-${key}`] = (await docs(UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: `E7000000${seed % 10}`, customer: c.documentId } })).documentId;
  };
  await customer('a', 801, groupA, aliceMine);
  await customer('b', 802, groupB, null);
  await customer('s', 803, service, null);
  await customer('none', 804, null, null);
});
afterAll(async () => {
  await app?.close();
});

const list = async (who: string, uid: string) => {
  const res = await app.http().get(`/content-manager/collection-types/${uid}?page=1&pageSize=50`).set({ Authorization: `Bearer ${sessions[who]}` });
  expect(res.status).toBe(200);
  return { ids: res.body.results.map((r: any) => r.documentId).sort(), total: res.body.pagination.total };
};
const expected = (...keys: string[]) => keys.map((k) => ids[k]).sort();

test.each([
  ['alice-mine', ['a']],
  ['alice-unit', ['a']],
  ['bob-below', ['a', 'b']],
  ['bob-unit', []],
])('%s lists and counts exactly its customers and their documents', async (who, keys) => {
  const customers = await list(who, UIDS.customer);
  expect(customers).toEqual({ ids: expected(...keys), total: keys.length });
  const documents = await list(who, UIDS.identityDocument);
  expect(documents).toEqual({ ids: expected(...keys.map((k) => `doc-${k}`)), total: keys.length });
});

test.each([
  ['alice-unit', 'a', 200],
  // Out of scope answers what a made-up id answers: the customer does not exist for the caller.
  ['alice-unit', 'b', 404],
  ['alice-unit', 'made-up', 404],
  ['bob-below', 'b', 200],
  ['bob-below', 's', 404],
  ['bob-below', 'none', 404],
])('%s opening customer %s answers %i', async (who, key, status) => {
  const res = await app.http().get(`/content-manager/collection-types/${UIDS.customer}/${ids[key] ?? 'x000000000000000000madeup'}`).set({ Authorization: `Bearer ${sessions[who]}` });
  expect(res.status).toBe(status);
});

test('the plugin actions are registered for the roles page', async () => {
  const actions = app.strapi.service('admin::permission').actionProvider.values().map((a: any) => a.actionId);
  for (const uid of ['customer.reveal', 'customer.view-hidden', 'customer.hide', 'export.masked', 'export.plain', 'audit.read', 'grant.request', 'grant.approve', 'settings.manage', 'keys.manage']) {
    expect(actions).toContain(`plugin::id-vault.${uid}`);
  }
});

test("the plugin's own admin routes keep to the Content Manager scope: reveal, scans, export, erasure (read and write scope)", async () => {
  const alice = { Authorization: `Bearer ${sessions['alice-unit']}` };
  for (const key of ['b', 's', 'none']) {
    expect((await app.http().post(`/id-vault/customers/${ids[key]}/reveal`).set(alice).send({ fields: ['idNumber'], reason: 'scope test' })).status).toBe(404);
    expect((await app.http().get(`/id-vault/identity-documents/${ids[`doc-${key}`]}/scans`).set(alice)).status).toBe(404);
    expect((await app.http().post(`/id-vault/customers/${ids[key]}/erase`).set(alice).send({ reason: 'scope test' })).status).toBe(404);
  }
  expect(await app.knex('idv_erasures')).toEqual([]);
  const exported = await app.http().get('/id-vault/customers/export?format=jsonl').set(alice).buffer(true).parse((res, done) => {
    let text = '';
    res.on('data', (c: Buffer) => (text += c));
    res.on('end', () => done(null, text));
  });
  expect(exported.status).toBe(200);
  expect(String(exported.body).split('\n').filter(Boolean).map((l) => JSON.parse(l).name)).toEqual(['Scope a']);
  expect((await app.http().get(`/id-vault/identity-documents/${ids['doc-a']}/scans`).set(alice)).status).toBe(200);
  // Erasing is a write: who may read a customer but not change it may not erase it.
  const readOnly = await app.http().post(`/id-vault/customers/${ids.a}/erase`).set({ Authorization: `Bearer ${sessions['alice-mine']}` }).send({ reason: 'scope test' });
  expect({ status: readOnly.status, message: readOnly.body.error?.message }).toEqual({ status: 403, message: 'this customer is outside the rows you may change' });
  expect((await app.http().post(`/id-vault/customers/${ids.a}/erase`).set(alice).send({ reason: 'scope test' })).status).toBe(200);
});
