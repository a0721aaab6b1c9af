/**
 * The Audit log's read side (admin routes, `audit.read`): keyset pages newest first with filters, the
 * counts behind its charts, a customer's own trail (Who has seen this customer), the background chain
 * verification and its status; every read of the log is itself an event; no holder of audit.read, no log.
 */
import { bootStrapi, apiToken, adminSession, type TestApp, systemDocs } from '../helpers/strapi';
import { createHash } from 'crypto';
import { parse } from 'csv-parse/sync';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
let app: TestApp;
let admin: Record<string, string>;
let token: string;
const customers: string[] = [];
let documentOfFirst: string;

beforeAll(async () => {
  app = await bootStrapi();
  admin = bearer(await adminSession(app, 'strapi-super-admin'));
  token = await apiToken(app.strapi, 'full-access');
  for (const seed of [1301, 1302]) {
    const p = syntheticPerson(seed);
    customers.push((await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: `Trail ${seed}`, idType: 'resident-id', idNumber: p.idNumber } })).documentId);
  }
  documentOfFirst = (await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', customer: customers[0] } })).documentId;
  // Reads that make events: two views of the first customer, one of the second, one of the document.
  for (const id of [customers[0], customers[0], customers[1]]) await app.http().get(`/api/id-vault/customers/${id}`).set(bearer(token));
  await app.http().get(`/api/id-vault/identity-documents/${documentOfFirst}`).set(bearer(token));
  await app.strapi.plugin('id-vault').service('audit').flush();
});
afterAll(async () => {
  await app?.close();
});

const events = (query: Record<string, unknown>, who = admin) => app.http().get('/id-vault/audit-log/events').query(query).set(who);

test('pages are newest first with a keyset cursor, and end with next = null', async () => {
  const all = (await events({ limit: 200 })).body.data.events.map((e: any) => e.id);
  expect(all).toEqual([...all].sort((a: number, b: number) => b - a));
  const seen: number[] = [];
  let before: number | undefined;
  for (;;) {
    const res = await events({ limit: 3, ...(before ? { before } : {}) });
    expect(res.status).toBe(200);
    seen.push(...res.body.data.events.map((e: any) => e.id));
    if (!res.body.data.next) break;
    before = res.body.data.next;
  }
  // The pages read made audit.read events of their own, newer than the first listing: the ids seen cover it.
  expect(seen.filter((id) => id <= all[0])).toEqual(all.filter((id: number) => id <= all[0]));
});

test('filters: action, prefix, subject, actor, outcome, time; an event names its actor', async () => {
  const views = (await events({ action: 'customer.view', subject: customers[0] })).body.data;
  expect(views.events).toHaveLength(2);
  expect(views.events[0]).toMatchObject({ action: 'customer.view', subjectId: customers[0], actorType: 'api-token', outcome: 'success', seq: expect.any(Number) });
  expect(Object.values(views.actors)).toEqual([expect.stringMatching(/^test-full-access-/)]);
  const prefix = (await events({ action: 'customer.' })).body.data.events.map((e: any) => e.action);
  expect(prefix.length).toBeGreaterThan(3);
  expect(prefix.every((a: string) => a.startsWith('customer.'))).toBe(true);
  expect((await events({ actorType: 'system', action: 'vault.start' })).body.data.events).toHaveLength(1);
  expect((await events({ outcome: 'denied' })).body.data.events).toEqual([]);
  expect((await events({ from: new Date(Date.now() + 60000).toISOString() })).body.data.events).toEqual([]);
  const bad = await events({ action: "x' or 1=1" });
  expect(bad.status).toBe(400);
  expect((await events({ limit: 5000 })).status).toBe(400);
  expect((await events({ unknown: 1 })).status).toBe(400);
});

test('stats: events per day by action and the top actors by views and reveals', async () => {
  const res = await app.http().get('/id-vault/audit-log/stats?days=7').set(admin);
  expect(res.status).toBe(200);
  const today = new Date().toISOString().slice(0, 10);
  expect(res.body.data.perDay).toEqual(expect.arrayContaining([{ day: today, action: 'customer.view', count: 3 }]));
  expect(res.body.data.topActors[0]).toMatchObject({ actorType: 'api-token', views: 4, reveals: 0 });
});

test("a customer's trail holds its views and its documents' views, nobody else's", async () => {
  const res = await app.http().get(`/id-vault/customers/${customers[0]}/audit`).set(admin);
  expect(res.status).toBe(200);
  expect(res.body.data.events.map((e: any) => [e.action, e.subjectId])).toEqual([
    ['identity-document.view', documentOfFirst],
    ['customer.view', customers[0]],
    ['customer.view', customers[0]],
  ]);
});

test('the chain is verified in the background; its status says up to how many events', async () => {
  const start = await app.http().post('/id-vault/audit-log/verify').set(admin);
  expect(start.status).toBe(202);
  let status: any;
  for (let i = 0; i < 100; i++) {
    status = (await app.http().get('/id-vault/audit-log/status').set(admin)).body.data;
    if (status.state !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(status).toMatchObject({ state: 'done', ok: true, count: expect.any(Number) });
  expect(status.count).toBeGreaterThan(5);
});

test('reading the log is recorded; without audit.read there is no log', async () => {
  const reads = (await events({ action: 'audit.read' })).body.data.events;
  expect(reads.length).toBeGreaterThan(3);
  // The page that is read is recorded after it is read: the earlier reads are in this page.
  expect(reads.map((e: any) => e.details)).toEqual(expect.arrayContaining([{ filters: ['action', 'subject'], rows: 2 }, { stats: 7 }, { trail: 3 }]));
  const editor = bearer(await adminSession(app, 'strapi-editor'));
  for (const path of ['/id-vault/audit-log/events', '/id-vault/audit-log/export', '/id-vault/audit-log/stats', '/id-vault/audit-log/status', `/id-vault/customers/${customers[0]}/audit`]) {
    expect({ path, status: (await app.http().get(path).set(editor)).status }).toEqual({ path, status: 403 });
  }
  expect((await app.http().post('/id-vault/audit-log/verify').set(editor)).status).toBe(403);
});

test('CSV export of the filtered events: BOM, every matching event, itself recorded with the file hash', async () => {
  const res = await app.http().get('/id-vault/audit-log/export').query({ action: 'customer.view' }).set(admin).buffer(true).parse((r, done) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => done(null, Buffer.concat(chunks)));
  });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/csv/);
  expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-log-\d{8}-\d{4}\.csv"$/);
  const file: Buffer = res.body;
  expect(file.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  const rows = parse(file.subarray(3).toString('utf8'), { columns: true });
  const listed = (await events({ action: 'customer.view', limit: 200 })).body.data.events;
  expect(rows.map((r: any) => Number(r.id))).toEqual(listed.map((e: any) => e.id));
  expect(rows[0]).toMatchObject({ action: 'customer.view', actorType: 'api-token', actor: expect.stringMatching(/^test-full-access-/) });
  await app.strapi.plugin('id-vault').service('audit').flush();
  const recorded = (await events({ action: 'audit.export' })).body.data.events[0];
  expect(recorded).toMatchObject({ actorType: 'admin', outcome: 'success', details: { format: 'csv', filters: ['action'], rows: rows.length, sha256: createHash('sha256').update(file).digest('hex') } });
  // A bad filter is a 400 before anything is sent.
  expect((await app.http().get('/id-vault/audit-log/export').query({ outcome: 'maybe' }).set(admin)).status).toBe(400);
});
