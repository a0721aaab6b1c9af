/**
 * Erasure by crypto-shredding (POST /id-vault/customers/:documentId/erase, `customer.erase`): the customer's
 * and its documents' data keys destroyed, documents, scans, scan objects and index rows deleted, every column
 * blanked, a tombstone, an audit event without values, a ledger line outside the database. Then the drill:
 * restore the tables as an older backup had them, restart — the ledger erases the customer again before
 * serving, and the audit shows the replay; a tampered ledger refuses the start.
 * Run twice: with the local scan store and ledger directory (erasure.test.ts), and with the S3 scan store,
 * whose bucket holds the ledger too (erasure-s3.test.ts, against s3rver).
 */
import sharp from 'sharp';
import { randomBytes } from 'crypto';
import { bootStrapi, apiToken, adminSession, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

/** Where the ledger is, for the suite: its text, and a way to alter one entry (restored by what it returns). */
export interface LedgerSetup {
  kind: 'local' | 's3';
  /** Sets the environment up (ID_VAULT_LEDGER_DIR, or the S3 store's) and returns the clean-up. */
  before(): Promise<() => Promise<void>>;
  text(): Promise<string>;
  tamper(change: (entry: string) => string): Promise<() => Promise<void>>;
  /** Points the app at another, empty ledger (a wrong directory or prefix); returns the way back. */
  elsewhere(): () => void;
  /** How a refusal names the entry that does not verify. */
  firstEntry: RegExp;
}

export const erasureSuite = (setup: LedgerSetup) => {
  const person = syntheticPerson(1601);
  const other = syntheticPerson(1602);
  let cleanup: () => Promise<void> = async () => {};

  let app: TestApp | null = null;
  let database: string;
  let token: string;
  let admin: Record<string, string>;
  let customer: string;
  let keep: string;
  let doc: string;

  beforeAll(async () => {
    cleanup = await setup.before();
    app = await bootStrapi({ keep: true });
    database = app.database;
    token = await apiToken(app.strapi, 'full-access');
    admin = bearer(await adminSession(app, 'strapi-super-admin'));
    const tag = await systemDocs(app, UIDS.tag).create({ data: { name: `erasure-${randomBytes(2).toString('hex')}` } });
    customer = (
      await systemDocs(app, UIDS.customer).create({
        data: { kind: 'personal', name: 'To Be Erased', idType: 'resident-id', idNumber: person.idNumber, phone: person.phone, email: person.email, notes: 'asked to be forgotten', tags: [tag.documentId] },
      })
    ).documentId;
    keep = (await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: 'Stays', idType: 'resident-id', idNumber: other.idNumber } })).documentId;
    doc = (await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: 'E12345678', customer } })).documentId;
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#88aacc' } }).png().toBuffer();
    const up = await app.http().post(`/id-vault/identity-documents/${doc}/scans`).set(admin).attach('files', png, { filename: 'scan.png', contentType: 'image/png' });
    expect(up.status).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
    await cleanup();
  });

  const read = (id: string) => app!.http().get(`/api/id-vault/customers/${id}`).set(bearer(token));
  const erase = (who: Record<string, string>, id: string, reason?: string) => app!.http().post(`/id-vault/customers/${id}/erase`).set(who).send(reason === undefined ? {} : { reason });

  /** The rows an older backup holds of the tables an erasure touches. */
  const TABLES = ['idv_customers', 'idv_identity_documents', 'idv_identity_documents_customer_lnk', 'idv_customers_tags_lnk', 'idv_data_keys', 'idv_blind_indexes', 'idv_scans', 'idv_erasures'];
  let backup: Record<string, any[]> = {};

  test('erasure needs customer.erase and a reason; it destroys keys, documents, scans and index rows and blanks the row', async () => {
    for (const t of TABLES) backup[t] = await app!.knex(t).select('*');
    const scanObject = backup.idv_scans[0].object_name;
    const stored = async () => (await app!.strapi.plugin('id-vault').service('scans').store().list()).includes(scanObject);
    expect(await stored()).toBe(true);

    const editor = bearer(await adminSession(app!, 'strapi-editor'));
    expect((await erase(editor, customer, 'no right')).status).toBe(403);
    expect((await erase(admin, customer)).status).toBe(400);
    expect((await erase(admin, 'nosuchcustomer00000000000', 'gone')).status).toBe(404);

    const res = await erase(admin, customer, 'the customer asked to be forgotten');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ customerDocumentId: customer, documents: 1, scans: 1, dataKeys: 2 });

    const husk = (await read(customer)).body.data;
    expect(husk).toMatchObject({ name: '[erased]', idNumber: null, phone: null, email: null, notes: null, kind: 'personal' });
    // The husk takes no new values (the ledger replay would wipe them again at the next start).
    const refill = await app!.http().put(`/api/id-vault/customers/${customer}`).set(bearer(token)).send({ data: { phone: person.phone } });
    expect({ status: refill.status, message: refill.body.error?.message }).toEqual({ status: 409, message: 'this customer was erased for good and takes no new values' });
    expect(JSON.stringify(refill.body)).not.toContain(person.phone);
    // Also when the update asks for fewer fields back (Strapi reads the row with that selection).
    const narrowed = await app!.http().put(`/api/id-vault/customers/${customer}`).query({ fields: ['kind'] }).set(bearer(token)).send({ data: { phone: person.phone } });
    expect(narrowed.status).toBe(409);
    const again = await erase(admin, customer, 'twice');
    expect({ status: again.status, message: again.body.error?.message }).toEqual({ status: 409, message: 'this customer is already erased' });
    expect((await app!.http().get('/api/id-vault/customers').query({ filters: { idNumber: { $eq: person.idNumber } } }).set(bearer(token))).body.data).toEqual([]);
    expect((await app!.http().get(`/api/id-vault/identity-documents/${doc}`).set(bearer(token))).status).toBe(404);
    expect((await read(keep)).body.data.idNumber).toBe(other.idNumber);
    const refs = [`${UIDS.customer}#${customer}`, `${UIDS.identityDocument}#${doc}`];
    expect(await app!.knex('idv_data_keys').whereIn('ref', refs)).toEqual([]);
    expect(await app!.knex('idv_blind_indexes').whereIn('doc_id', [customer, doc])).toEqual([]);
    expect(await app!.knex('idv_scans')).toEqual([]);
    expect(await app!.knex('idv_customers_tags_lnk')).toEqual([]);
    await new Promise((r) => setTimeout(r, 100)); // scan objects are removed after the commit
    expect(await stored()).toBe(false);
    const [tombstone] = await app!.knex('idv_erasures');
    expect(tombstone).toMatchObject({ customer_document_id: customer, reason: 'the customer asked to be forgotten', erased_by_type: 'admin' });

    await app!.strapi.plugin('id-vault').service('audit').flush();
    const event = await app!.knex('idv_audit_events').where({ action: 'customer.erase' }).first();
    expect(event).toMatchObject({ outcome: 'success', subject_id: customer, actor_type: 'admin' });
    const raw = JSON.stringify(await app!.knex('idv_audit_events').select('*'));
    for (const v of [person.idNumber, person.phone, person.email, 'To Be Erased', 'E12345678']) expect(raw).not.toContain(v);
    const ledger = await setup.text();
    expect(ledger.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(ledger)).toMatchObject({ customerDocumentId: customer, refs: [`${UIDS.customer}#${customer}`, `${UIDS.identityDocument}#${doc}`] });
    for (const v of [person.idNumber, 'To Be Erased', 'E12345678']) expect(ledger).not.toContain(v);
  });

  test('restoring an older backup brings nothing back: the ledger erases the customer again before serving', async () => {
    // The restore: the tables as the backup taken before the erasure had them.
    for (const t of [...TABLES].reverse()) await app!.knex(t).del();
    for (const t of TABLES) if (backup[t].length) await app!.knex.batchInsert(t, backup[t], 100);
    expect((await read(customer)).body.data.idNumber).toBe(person.idNumber);
    await app!.close();

    app = await bootStrapi({ database, keep: true });
    token = await apiToken(app.strapi, 'full-access');
    const husk = (await read(customer)).body.data;
    expect(husk).toMatchObject({ name: '[erased]', idNumber: null, phone: null });
    expect(await app.knex('idv_data_keys').whereIn('ref', [`${UIDS.customer}#${customer}`, `${UIDS.identityDocument}#${doc}`])).toEqual([]);
    expect(await app.knex('idv_identity_documents')).toEqual([]);
    expect((await read(keep)).body.data.idNumber).toBe(other.idNumber);
    await app.strapi.plugin('id-vault').service('audit').flush();
    const replay = await app.knex('idv_audit_events').where({ action: 'customer.erase.replayed' }).first();
    expect(replay).toMatchObject({ outcome: 'success', subject_id: customer, actor_type: 'system' });
    expect(await app.knex('idv_erasures').where({ replayed: true })).toHaveLength(1);
    await app.close();
    app = null;

    // Once applied, a restart replays nothing more.
    app = await bootStrapi({ database, keep: true });
    expect(await app.knex('idv_audit_events').where({ action: 'customer.erase.replayed' })).toHaveLength(1);
    await app.close();
    app = null;
  });

  test('a ledger that lacks an erasure the database records (a wrong directory or prefix) refuses the start', async () => {
    const back = setup.elsewhere();
    try {
      await expect(bootStrapi({ database, keep: true })).rejects.toThrow(/records 1 erasure\(s\) that the erasure ledger .* does not hold/);
    } finally {
      back();
    }
  });

  test('a tampered ledger refuses the start, naming the entry', async () => {
    const restore = await setup.tamper((entry) => entry.replace(/"erasedAt":"(\d)/, (_m, d) => `"erasedAt":"${d === '1' ? '2' : '1'}`));
    await expect(bootStrapi({ database, keep: true })).rejects.toThrow(new RegExp(`erasure ledger .* does not verify at ${setup.firstEntry.source} \\(mac-mismatch\\)`));
    await restore();
    app = await bootStrapi({ database });
  });
};
