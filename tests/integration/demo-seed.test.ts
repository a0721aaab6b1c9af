/**
 * `npm run demo`'s seed (scripts/seed-demo.js, run as the child process it is): a believable organisation with
 * one account per role, and a newcomer completes an access request end to end with the printed credentials —
 * Sales rep asks, the head of the unit above approves, the archive admin approves, the Reveal works.
 */
import qs from 'qs';
import { asSystem, bootStrapi, demoCredentials, runScript, seedDemo, type TestApp } from '../helpers/strapi';

let app: TestApp;
let printed = '';
let again: { status: number | null; stdout: string };
beforeAll(async () => {
  const { database, printed: out } = await seedDemo(40);
  printed = out;
  again = await runScript('seed-demo.js'); // a second run keeps what is there
  app = await bootStrapi({ database });
}, 240_000);
afterAll(() => app?.close());

const CM = '/content-manager/collection-types/plugin::id-vault.customer';
const allCustomers = () =>
  asSystem(app, () => app.strapi.db.query('plugin::id-vault.customer').findMany({ select: ['documentId', 'hidden'], populate: { team: { select: ['name'] } } }));
const login = async (email: string) => {
  const res = await app.http().post('/admin/login').send(demoCredentials(printed, email));
  expect(res.status).toBe(200);
  return { Authorization: `Bearer ${res.body.data.token}` };
};

test('one account per role, in believable org units; customers across the units, some hidden, each with a document', async () => {
  for (const role of ['Super Admin', 'Archive admin', 'Unit head', 'Sales rep', 'Customer-service lead']) expect(printed).toContain(role);
  const units = await app.strapi.db.query('plugin::id-vault.org-unit').findMany({ populate: { parent: true, heads: true, members: true } });
  const byName = Object.fromEntries(units.map((u: any) => [u.name, u]));
  expect(byName['销售一组 Sales group 1'].parent.name).toBe('销售部 Sales');
  expect(byName['销售部 Sales'].heads.map((h: any) => h.email)).toEqual(['head@id-vault.local']);
  expect(byName['销售一组 Sales group 1'].members.map((m: any) => m.email)).toEqual(['rep@id-vault.local']);
  const customers = await allCustomers();
  expect(customers).toHaveLength(40);
  expect(customers.filter((c: any) => c.hidden)).toHaveLength(2);
  expect(new Set(customers.map((c: any) => c.team.name))).toEqual(new Set(['销售一组 Sales group 1', '销售二组 Sales group 2', '客服部 Customer service', '销售部 Sales']));
  expect(Number((await app.knex('idv_identity_documents').count({ n: '*' }).first())!.n)).toBe(40);
  // Run again: nothing added, no password printed.
  expect(again.status).toBe(0);
  expect(again.stdout).not.toMatch(/Vault-[A-Za-z0-9_-]+-7a/);
  expect(await allCustomers()).toHaveLength(40);
});

test('the README’s example phone is no demo customer’s', async () => {
  const admin = await login('admin@id-vault.local');
  const search = (phone: string) => app.http().get(`${CM}?${qs.stringify({ filters: { phone: { $eq: phone } } }, { encodeValuesOnly: true })}`).set(admin);
  const { syntheticPerson } = require('../../plugins/id-vault/dist/server/domain');
  expect((await search(syntheticPerson(0).phone)).body.results).toHaveLength(1); // the search does find seeded phones
  const res = await search('+86 139-1234-5678');
  expect(res.status).toBe(200);
  expect(res.body.results).toHaveLength(0);
});

test('a Sales rep sees the group’s customers masked, asks for a reveal; the unit head and the archive admin approve; the Reveal works', async () => {
  const rep = await login('rep@id-vault.local');
  const list = await app.http().get(`${CM}?pageSize=100`).set(rep);
  expect(list.status).toBe(200);
  expect(list.body.results.length).toBeGreaterThan(0);
  const mine = (await allCustomers()).filter((c: any) => c.team.name === '销售一组 Sales group 1' && !c.hidden);
  expect(list.body.results.map((c: any) => c.documentId).sort()).toEqual(mine.map((c: any) => c.documentId).sort());
  const target = list.body.results.find((c: any) => c.kind === 'personal');
  expect(target.idNumber).toMatch(/\*/);
  const reveal = () => app.http().post(`/id-vault/customers/${target.documentId}/reveal`).set(rep).send({ fields: ['idNumber'], reason: 'customer called back' });
  expect((await reveal()).status).toBe(403);

  const grants = await app.http().get('/id-vault/grants').set(rep);
  expect(grants.body.meta.noHead).toBe(false); // the head of 销售部 Sales, the unit above, approves
  const asked = await app.http().post('/id-vault/grants').set(rep).send({ customers: [target.documentId], actions: ['reveal'], reason: 'customer called back', days: 1 });
  expect(asked.status).toBe(200);
  const id = asked.body.data.documentId;
  const head = await login('head@id-vault.local');
  expect((await app.http().post(`/id-vault/grants/${id}/approve`).set(head)).body.data.status).toBe('pending');
  const archive = await login('archive@id-vault.local');
  expect((await app.http().post(`/id-vault/grants/${id}/approve`).set(archive)).body.data.status).toBe('active');
  const revealed = await reveal();
  expect(revealed.status).toBe(200);
  expect(revealed.body.data.values.idNumber).toMatch(/^\d{17}[\dX]$/);
});

test('the request form’s picker (the Content Manager’s search by name) finds only what the requester may read', async () => {
  const rep = await login('rep@id-vault.local');
  const search = (uid: string, q: string) => app.http().get(`/content-manager/collection-types/${uid}?${qs.stringify({ page: 1, pageSize: 10, sort: 'name:ASC', _q: q })}`).set(rep);
  const customers = await allCustomers();
  const mine = customers.find((c: any) => c.team.name === '销售一组 Sales group 1' && !c.hidden);
  const theirs = customers.find((c: any) => c.team.name === '销售二组 Sales group 2' && !c.hidden);
  const name = async (c: any) => (await asSystem(app, () => app.strapi.db.query('plugin::id-vault.customer').findOne({ where: { documentId: c.documentId }, select: ['name'] }))).name;
  const found = await search('plugin::id-vault.customer', await name(mine));
  expect(found.status).toBe(200);
  expect(found.body.results.map((r: any) => r.documentId)).toEqual([mine.documentId]);
  expect((await search('plugin::id-vault.customer', await name(theirs))).body.results).toEqual([]);
  const units = await search('plugin::id-vault.org-unit', 'Sales');
  expect(units.body.results.map((u: any) => u.name)).toEqual(['销售一组 Sales group 1', '销售二组 Sales group 2', '销售部 Sales']);
});
