/**
 * An admin adds an "Encrypted text" field to a new content type in the Content-Type Builder (its real
 * HTTP endpoint, in develop mode, in a throw-away copy of the app); after the restart the field is
 * encrypted, searchable and masked like the built-in ones.
 */
import fs from 'fs';
import path from 'path';
import qs from 'qs';
import { bootStrapi, adminSession, apiToken, scratchApp, dumpDatabase, type TestApp } from '../helpers/strapi';

const scratch = scratchApp();
let app: TestApp | null = null;
afterAll(async () => {
  await app?.close();
  scratch.remove();
});

const PASSPORT = 'E98765432';
const q = (o: object) => qs.stringify(o, { encodeValuesOnly: true });

test('the Content-Type Builder creates a type with an encrypted field, and it is encrypted, searchable and masked', async () => {
  // 1. Develop mode: the admin builds the type in the Content-Type Builder.
  const dev = await bootStrapi({ appDir: scratch.dir, autoReload: true, keep: true });
  const jwt = await adminSession(dev, 'strapi-super-admin');
  const res = await dev
    .http()
    .post('/content-type-builder/update-schema')
    .set({ Authorization: `Bearer ${jwt}` })
    .send({
      data: {
        components: [],
        contentTypes: [
          {
            action: 'create',
            uid: 'api::contact.contact',
            kind: 'collectionType',
            displayName: 'Contact',
            singularName: 'contact',
            pluralName: 'contacts',
            draftAndPublish: false,
            attributes: [
              { action: 'create', name: 'label', properties: { type: 'string' } },
              {
                action: 'create',
                name: 'passportNo',
                properties: {
                  type: 'customField',
                  customField: 'plugin::id-vault.encrypted',
                  options: { searchable: 'exact', normalise: 'lower', mask: 'keep', keepFirst: '1', keepLast: '2', validate: 'none' },
                },
              },
            ],
          },
        ],
      },
    });
  expect(res.status).toBe(200);
  const schemaFile = path.join(scratch.dir, 'src', 'api', 'contact', 'content-types', 'contact', 'schema.json');
  const written = JSON.parse(fs.readFileSync(schemaFile, 'utf8'));
  expect(written.attributes.passportNo).toMatchObject({ type: 'customField', customField: 'plugin::id-vault.encrypted' });
  await dev.close();

  // 2. After the restart, on the same database.
  app = await bootStrapi({ appDir: scratch.dir, database: dev.database });
  const full = await apiToken(app.strapi, 'full-access');
  const readOnly = await apiToken(app.strapi, 'read-only');
  const created = await app.http().post('/api/contacts').set({ Authorization: `Bearer ${full}` }).send({ data: { label: 'Test contact', passportNo: PASSPORT } });
  expect(created.status).toBe(201);
  expect(created.body.data.passportNo).toBe(PASSPORT);

  const row = await app.knex('contacts').first();
  expect(row.passport_no).toMatch(/^\$idv1\$/);
  expect(await dumpDatabase(app)).not.toContain(PASSPORT);

  const found = await app.http().get(`/api/contacts?${q({ filters: { passportNo: PASSPORT.toLowerCase() } })}`).set({ Authorization: `Bearer ${full}` });
  expect(found.status).toBe(200);
  expect(found.body.data).toHaveLength(1);
  const masked = await app.http().get('/api/contacts').set({ Authorization: `Bearer ${readOnly}` });
  expect(masked.body.data[0].passportNo).toBe('E******32');
  // The new field is in the field-access matrix (Settings → ID Vault → Field access).
  const admin = await adminSession(app, 'strapi-super-admin');
  const matrix = await app.http().get('/id-vault/access-policy').set({ Authorization: `Bearer ${admin}` });
  expect(matrix.body.data.fields.map((f: any) => f.key)).toContain('api::contact.contact#passportNo');

  const refused = await app.http().get(`/api/contacts?${q({ filters: { passportNo: { $contains: 'E98' } } })}`).set({ Authorization: `Bearer ${full}` });
  expect(refused.status).toBe(400);
});
