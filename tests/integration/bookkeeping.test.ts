/**
 * The plugin's bookkeeping statements held back by a document write (utils/sql.ts holdingBookkeeping): on
 * PostgreSQL they reach the database together at the write's end, in one statement, and a held INSERT that
 * must insert its row and clashes fails the whole write — nothing of it is written. On SQLite they run as
 * they come. Then a real write through REST: its data key, blind-index rows and audit event are all there.
 */
import { bootStrapi, apiToken, type TestApp } from '../helpers/strapi';
import { UIDS } from '../../plugins/id-vault/shared';
import { deleteRows, holdingBookkeeping, insertRows } from '../../plugins/id-vault/server/src/utils/sql';
import { stamps, tableOf, withKnex } from '../../plugins/id-vault/server/src/utils/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';

let app: TestApp;
beforeAll(async () => {
  app = await bootStrapi();
});
afterAll(async () => {
  await app?.close();
});

const jobs = () => tableOf(app.strapi, UIDS.jobRun);
const row = (key: string) => ({ [jobs().col('runKey')]: key, ...stamps(app.strapi) });
/** Job-run keys like `pattern`, as this code sees them (inside a transaction: its own uncommitted rows too). */
const keys = (pattern: string): Promise<string[]> =>
  withKnex(app.strapi, async (knex) => (await knex(jobs().name).where(jobs().col('runKey'), 'like', pattern).orderBy(jobs().col('runKey'))).map((r: any) => r[jobs().col('runKey')]));

test('held statements go at the end of the write, together; a DELETE sees rows held before it; a clash of a held insert fails the write and writes nothing', async () => {
  const s = app.strapi;
  const postgres = s.db.dialect.client === 'postgres';
  const t = jobs();
  let during: string[] = [];
  const answered = await s.db.transaction(() =>
    holdingBookkeeping(s, async () => {
      await insertRows(s, t.name, [row('held:a')], { holdable: true });
      const ret = await insertRows(s, t.name, [row('held:b')], { ignoreConflictOn: t.col('runKey'), returning: t.col('runKey'), holdable: true });
      during = await keys('held:%');
      return ret;
    })
  );
  expect(answered).toEqual([{ [t.col('runKey')]: 'held:b' }]);
  // PostgreSQL: nothing yet while the write ran.
  expect(during).toEqual(postgres ? [] : ['held:a', 'held:b']);
  expect(await keys('held:%')).toEqual(['held:a', 'held:b']);

  // A DELETE held after rows held for the same table (one statement's parts share a snapshot): those go first, so it sees them.
  await s.db.transaction(() =>
    holdingBookkeeping(s, async () => {
      await insertRows(s, t.name, [row('held:x'), row('held:y')], { holdable: true });
      await deleteRows(s, t.name, {}, t.col('runKey'), ['held:x'], { holdable: true });
      await insertRows(s, t.name, [row('held:z')], { holdable: true });
    })
  );
  expect(await keys('held:%')).toEqual(['held:a', 'held:b', 'held:y', 'held:z']);

  const clash = s.db.transaction(() =>
    holdingBookkeeping(s, async () => {
      await insertRows(s, t.name, [row('held:c')], { holdable: true });
      await insertRows(s, t.name, [row('held:a')], { ignoreConflictOn: t.col('runKey'), holdable: true });
    })
  );
  if (postgres) {
    await expect(clash).rejects.toThrow("a bookkeeping row of this write clashed with another writer's; nothing was written");
    expect(await keys('held:c')).toEqual([]);
  } else {
    await clash; // run as they came: the clashing row was skipped
    expect(await keys('held:c')).toEqual(['held:c']);
  }
  // Outside a write nothing is held.
  await s.db.transaction(async () => {
    await insertRows(s, t.name, [row('held:d')], { holdable: true });
    expect(await keys('held:d')).toEqual(['held:d']);
  });
});

test('a create and an update through REST: data key, blind-index rows and audit events all written', async () => {
  const token = await apiToken(app.strapi, 'full-access');
  const person = syntheticPerson(5101);
  const other = syntheticPerson(5102);
  const http = () => app.http();
  const created = await http().post('/api/id-vault/customers').set({ Authorization: `Bearer ${token}` }).send({ data: { kind: 'personal', name: 'Held write', idType: 'resident-id', idNumber: person.idNumber, phone: person.phone } });
  expect(created.status).toBe(201);
  const id = created.body.data.documentId;
  const updated = await http().put(`/api/id-vault/customers/${id}`).set({ Authorization: `Bearer ${token}` }).send({ data: { phone: other.phone } });
  expect(updated.status).toBe(200);
  const byPhone = async (phone: string) =>
    (await http().get('/api/id-vault/customers').query({ filters: { phone: { $eq: phone } } }).set({ Authorization: `Bearer ${token}` })).body.data.map((c: any) => c.documentId);
  expect(await byPhone(other.phone)).toEqual([id]);
  expect(await byPhone(person.phone)).toEqual([]);
  const dk = tableOf(app.strapi, UIDS.dataKey);
  expect(Number((await app.knex(dk.name).where(dk.col('ref'), `${UIDS.customer}#${id}`).count({ n: '*' }).first()).n)).toBe(1);
  const ev = tableOf(app.strapi, UIDS.auditEvent);
  const actions = (await app.knex(ev.name).where(ev.col('subjectId'), id).orderBy('id')).map((r: any) => `${r[ev.col('action')]}:${r[ev.col('outcome')]}`);
  expect(actions.filter((a: string) => /\.(create|update):/.test(a))).toEqual(['customer.create:success', 'customer.update:success']);
});

test("an update reads its row once, Strapi's own read inside the write: the vault adds no SELECT of the customer table; a missing document answers 404 and writes nothing", async () => {
  const token = await apiToken(app.strapi, 'full-access');
  const auth = { Authorization: `Bearer ${token}` };
  const person = syntheticPerson(5103);
  const other = syntheticPerson(5104);
  const created = await app.http().post('/api/id-vault/customers').set(auth).send({ data: { kind: 'personal', name: 'Read once', idType: 'resident-id', idNumber: person.idNumber, phone: person.phone } });
  expect(created.status).toBe(201);
  const id = created.body.data.documentId;
  const customers = tableOf(app.strapi, UIDS.customer).name;
  const selects: string[] = [];
  const onQuery = (q: any) => {
    if (/^\s*select/i.test(q.sql) && new RegExp(`from [\`"]${customers}[\`"]`, 'i').test(q.sql)) selects.push(q.sql);
  };
  app.strapi.db.connection.on('query', onQuery);
  try {
    const updated = await app.http().put(`/api/id-vault/customers/${id}`).set(auth).send({ data: { phone: other.phone, idNumber: other.idNumber } });
    expect(updated.status).toBe(200);
  } finally {
    app.strapi.db.connection.off('query', onQuery);
  }
  // All four are Strapi 5.54's own: the document service's read of the document, the database layer's check
  // before its UPDATE and its read-back after, and the read for the `entry.update` event. The vault used to
  // read the row once more before the write (and once more for the idType, an idNumber sent without it).
  expect(selects).toHaveLength(4);

  const ev = tableOf(app.strapi, UIDS.auditEvent);
  const event = await app.knex(ev.name).where(ev.col('subjectId'), id).where(ev.col('action'), 'customer.update').first();
  expect(JSON.parse(event[ev.col('fields')]).sort()).toEqual(['idNumber', 'phone']);

  const count = async () => Number((await app.knex(customers).count({ n: '*' }).first()).n);
  const before = await count();
  const missing = 'zzzzzzzzzzzzzzzzzzzzzzzz';
  const res = await app.http().put(`/api/id-vault/customers/${missing}`).set(auth).send({ data: { phone: other.phone } });
  expect(res.status).toBe(404);
  expect(await count()).toBe(before);
  expect(Number((await app.knex(ev.name).where(ev.col('subjectId'), missing).count({ n: '*' }).first()).n)).toBe(0);
});
