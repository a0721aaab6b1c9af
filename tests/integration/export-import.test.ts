/**
 * `strapi export` then `strapi import` into a fresh database with the same master key reads back
 * identical values, and exact search still works (data keys and blind indexes travel as stored).
 */
import fs from 'fs';
import path from 'path';
import qs from 'qs';
import { spawnSync } from 'child_process';
import { bootStrapi, apiToken, ROOT, asSystem } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';

const strapiCli = (args: string[]) => {
  const res = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', '@strapi', 'strapi', 'bin', 'strapi.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  if (res.status !== 0) throw new Error(`strapi ${args[0]} failed (${res.status}): ${res.stderr.slice(-2000)}`);
  return res.stdout;
};

const file = path.join(ROOT, '.tmp', 'test', `export-${process.pid}`);
afterAll(() => fs.rmSync(`${file}.tar`, { force: true }));

test('export and import into a fresh database keeps every value readable and searchable', async () => {
  const people = [900, 901, 902].map(syntheticPerson);
  const source = await bootStrapi({ keep: true });
  const full = await apiToken(source.strapi, 'full-access');
  for (const p of [syntheticPerson(899), ...people]) {
    const res = await source.http().post('/api/id-vault/customers').set({ Authorization: `Bearer ${full}` })
      .send({ data: { kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address } });
    expect(res.status).toBe(201);
  }
  // A deleted first row: the import renumbers rows, so anything keyed by row id would now point elsewhere.
  const [first] = await source.strapi.db.query('plugin::id-vault.customer').findMany({ orderBy: { id: 'asc' }, limit: 1 });
  await asSystem(source, () => source.strapi.documents('plugin::id-vault.customer').delete({ documentId: first.documentId }));
  await source.strapi.plugin('id-vault').service('audit').flush();
  await source.close();

  strapiCli(['export', '--no-encrypt', '--no-compress', '-f', file]);
  expect(fs.existsSync(`${file}.tar`)).toBe(true);
  expect(fs.readFileSync(`${file}.tar`).includes(Buffer.from(people[0].idNumber))).toBe(false);

  const target = await bootStrapi({ keep: true }); // a fresh database with the schema
  await target.close();
  strapiCli(['import', '-f', `${file}.tar`, '--force']);

  const app = await bootStrapi({ database: target.database });
  try {
    const token = await apiToken(app.strapi, 'full-access');
    for (const p of people) {
      const res = await app.http().get(`/api/id-vault/customers?${qs.stringify({ filters: { idNumber: p.idNumber } })}`).set({ Authorization: `Bearer ${token}` });
      expect(res.status).toBe(200);
      expect(res.body.meta.idVault).toBeUndefined();
      expect(res.body.data).toHaveLength(1);
      expect(res.body.data[0]).toMatchObject({ name: p.name, idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address });
    }
  } finally {
    await app.close();
    await (await bootStrapi({ database: source.database })).close();
  }
});
