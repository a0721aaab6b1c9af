/**
 * Admin-added attributes on the plugin's own types survive upgrades: the Content-Type Builder (its real HTTP
 * endpoint, in develop mode, in a throw-away copy of the app) writes the whole attribute list to
 * src/extensions/id-vault/content-types/<type>/schema.json, which Strapi merges shallowly; the plugin puts its
 * own attributes back beside the admin's (server/src/content-types/extensions.ts).
 */
import fs from 'fs';
import path from 'path';
import { bootStrapi, adminSession, apiToken, scratchApp, dumpDatabase, type TestApp } from '../helpers/strapi';

const PASSPORT = 'E98765432';

// Customer and Org unit cannot be saved in the Content-Type Builder at all (its validator refuses their manyToOne /
// manyToMany relations to admin users: README, Known limits); Identity document can.
test('a field an admin adds to a plugin type survives an upgrade: the plugin’s own attributes stay beside it, as the plugin defines them', async () => {
  const own = scratchApp();
  let dev: TestApp | null = null;
  let after: TestApp | null = null;
  const uid = 'plugin::id-vault.identity-document';
  try {
    // 1. Develop mode: the admin adds "issuingAuthority" to Identity document in the Content-Type Builder, which
    //    sends every attribute (as its panel does) and writes the whole list to
    //    src/extensions/id-vault/content-types/identity-document/schema.json.
    dev = await bootStrapi({ appDir: own.dir, autoReload: true, keep: true });
    const jwt = await adminSession(dev, 'strapi-super-admin');
    const current = await dev.http().get(`/content-type-builder/content-types/${uid}`).set({ Authorization: `Bearer ${jwt}` });
    expect(current.status).toBe(200);
    const { schema } = current.body.data;
    const res = await dev
      .http()
      .post('/content-type-builder/update-schema')
      .set({ Authorization: `Bearer ${jwt}` })
      .send({
        data: {
          components: [],
          contentTypes: [
            {
              action: 'update',
              uid,
              kind: schema.kind,
              displayName: schema.displayName,
              singularName: schema.singularName,
              pluralName: schema.pluralName,
              draftAndPublish: false,
              attributes: [
                // As the panel sends them (content-type-builder's cleanData formatAttribute): custom fields as type customField.
                ...Object.entries(schema.attributes).map(([name, p]: [string, any]) => ({ action: 'update', name, properties: 'customField' in p ? { ...p, type: 'customField' } : p })),
                { action: 'create', name: 'issuingAuthority', properties: { type: 'string' } },
              ],
            },
          ],
        },
      });
    expect(res.status).toBe(200);
    const file = path.join(own.dir, 'src', 'extensions', 'id-vault', 'content-types', 'identity-document', 'schema.json');
    const written = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(written.attributes.issuingAuthority).toEqual({ type: 'string' });
    expect(written.attributes.documentNumber).toMatchObject({ customField: 'plugin::id-vault.encrypted' });
    const database = dev.database;
    await dev.close();
    dev = null;

    // 2. The upgrade: the list was written by an older plugin version (no expiresAt yet), and an edit turned
    //    documentNumber into plain text. Strapi's shallow merge alone would drop expiresAt and store the number in clear.
    delete written.attributes.expiresAt;
    written.attributes.documentNumber = { type: 'text' };
    fs.writeFileSync(file, JSON.stringify(written, null, 2));

    after = await bootStrapi({ appDir: own.dir, database });
    const pluginOwn = require(path.join(own.dir, 'plugins', 'id-vault', 'dist', 'server', 'content-types', 'identity-document', 'schema.json')).attributes;
    const ct: any = after.strapi.contentType(uid as any);
    for (const name of Object.keys(pluginOwn)) expect(ct.attributes[name]).toBeDefined();
    expect(ct.attributes.documentNumber).toMatchObject({ type: 'text', customField: 'plugin::id-vault.encrypted' });
    expect(ct.attributes.issuingAuthority).toEqual({ type: 'string' });
    // The Content-Type Builder edits (and writes back) the merged list: the plugin's attributes, then the admin's.
    expect(Object.keys(ct.__schema__.attributes)).toEqual([...Object.keys(pluginOwn), 'issuingAuthority']);

    const full = await apiToken(after.strapi, 'full-access');
    const customer = await after.http().post('/api/id-vault/customers').set({ Authorization: `Bearer ${full}` }).send({ data: { kind: 'personal', name: 'Upgrade Test' } });
    expect(customer.status).toBe(201);
    const created = await after
      .http()
      .post('/api/id-vault/identity-documents')
      .set({ Authorization: `Bearer ${full}` })
      .send({ data: { customer: customer.body.data.documentId, type: 'passport', documentNumber: PASSPORT, expiresAt: '2031-05-01', issuingAuthority: 'Test authority' } });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ documentNumber: PASSPORT, expiresAt: '2031-05-01', issuingAuthority: 'Test authority' });
    const row = await after.knex('idv_identity_documents').where({ document_id: created.body.data.documentId }).first();
    expect(row.document_number).toMatch(/^\$idv1\$/);
    expect(row.issuing_authority).toBe('Test authority');
    expect(await dumpDatabase(after)).not.toContain(PASSPORT);
  } finally {
    await dev?.close();
    await after?.close();
    own.remove();
  }
});
