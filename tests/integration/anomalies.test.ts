/**
 * Anomaly alerts over HTTP: thresholds (settings route: validated, audited), detection after chaining
 * (`anomaly.detected`), suspension of reveal and export (403, a denied event with reason `suspended`) for
 * admins, users-permissions users and API tokens alike, other actors unaffected, clearing by an archive
 * admin (`anomaly.cleared`) restoring both, and who may clear; on PostgreSQL, one alert when three processes
 * chain and detect one actor's events at once. Detection runs after the audit chainer's
 * round, so tests wait for it with a bounded poll of the anomalies route.
 */
import path from 'path';
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import sharp from 'sharp';
import { bootStrapi, adminSession, apiToken, ROOT, type TestApp, systemDocs } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS, ARCHIVE_ADMIN_ROLE } from '../../plugins/id-vault/shared';

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const DEFAULTS = { views: 100, reveals: 10, exports: 3, windowMinutes: 10, suspend: true };
// Low thresholds so a test trips them in a few requests (more than the threshold trips).
const LOW = { views: 5, reveals: 2, exports: 2, windowMinutes: 10, suspend: true };
const SUSPENDED = /reveal, export and scan downloads are suspended for your account since .* after an unusual number of/;

let app: TestApp;
let superAdmin: string;
const customers: string[] = [];
const admins: Record<string, { jwt: string; id: number }> = {};

/** An admin user with these roles, logged in. */
const adminPerson = async (name: string, roleCodes: string[]) => {
  const roles = await app.strapi.db.query('admin::role').findMany({ where: { code: { $in: roleCodes } } });
  const email = `${name}-${randomBytes(3).toString('hex')}@example.test`;
  const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
  const user = await app.strapi.service('admin::user').create({ email, firstname: name, lastname: 'Test', password, isActive: true, roles: roles.map((r: any) => r.id) });
  const login = await app.http().post('/admin/login').send({ email, password });
  return { id: user.id as number, jwt: login.body.data.token as string };
};

/** A users-permissions user of a default role. */
const apiUser = async (roleType: string) => {
  const role = await app.strapi.db.query('plugin::users-permissions.role').findOne({ where: { type: roleType } });
  const name = `${roleType}-${randomBytes(3).toString('hex')}`;
  const user = await app.strapi.db
    .query('plugin::users-permissions.user')
    .create({ data: { username: name, email: `${name}@example.test`, provider: 'local', confirmed: true, blocked: false, role: role.id } });
  return { id: user.id as number, jwt: app.strapi.plugin('users-permissions').service('jwt').issue({ id: user.id }) as string };
};

const adminExport = (jwt: string) => app.http().get('/id-vault/customers/export?format=jsonl').set(bearer(jwt));
const apiExport = (jwt: string) => app.http().get('/api/id-vault/customers/export?format=jsonl').set(bearer(jwt));
const REVEAL = { fields: ['idNumber'], reason: 'identity check' };
const adminReveal = (jwt: string) => app.http().post(`/id-vault/customers/${customers[0]}/reveal`).set(bearer(jwt)).send(REVEAL);
const apiReveal = (jwt: string) => app.http().post(`/api/id-vault/customers/${customers[0]}/reveal`).set(bearer(jwt)).send(REVEAL);

const openAnomalies = async () => {
  const res = await app.http().get('/id-vault/anomalies').set(bearer(superAdmin));
  expect(res.status).toBe(200);
  return res.body.data.anomalies as any[];
};

/** Waits (bounded) for an open alert of that actor and kind: detection follows the chainer's round. */
const alertOf = async (actorType: string, actorId: number | string, kind: string) => {
  for (const deadline = Date.now() + 15_000; ; ) {
    const found = (await openAnomalies()).find((a) => a.actorType === actorType && a.actorId === String(actorId) && a.kind === kind);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${kind} alert for ${actorType}:${actorId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Every event chained, detection included (it runs after each chained batch). */
const settle = () => app.strapi.plugin('id-vault').service('audit').flush();

const events = async (where: object) => {
  await settle();
  return app.strapi.db.query(UIDS.auditEvent).findMany({ where, orderBy: { id: 'asc' } });
};

const putSettings = (jwt: string, settings: unknown) => app.http().put('/id-vault/anomaly-settings').set(bearer(jwt)).send({ settings });

beforeAll(async () => {
  app = await bootStrapi();
  // The archive admins here export plain: as files, not encrypted to a recipient (the switch is tested in exports.test.ts).
  app.strapi.config.set('plugin::id-vault.exports', { ...app.strapi.config.get('plugin::id-vault.exports'), plainOnlyEncrypted: false });
  superAdmin = await adminSession(app, 'strapi-super-admin');
  for (const seed of [7101, 7102, 7103]) {
    const p = syntheticPerson(seed);
    const c = await systemDocs(app, UIDS.customer).create({ data: { kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email } });
    customers.push(c.documentId);
  }
  admins.tripper = await adminPerson('tripper', [ARCHIVE_ADMIN_ROLE]);
  admins.clearer = await adminPerson('clearer', [ARCHIVE_ADMIN_ROLE]);
  admins.lead = await adminPerson('lead', ['id-vault-customer-service-lead']);
  admins.rep = await adminPerson('rep', ['id-vault-sales-rep']);
});

afterAll(async () => {
  await app?.close();
});

describe('settings', () => {
  test('defaults: more than 100 views, 10 reveals or 3 exports in 10 minutes; suspension on', async () => {
    const res = await app.http().get('/id-vault/anomaly-settings').set(bearer(superAdmin));
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(DEFAULTS);
  });

  test('invalid settings are refused (400), naming the field', async () => {
    for (const bad of [{ ...LOW, exports: 0 }, { ...LOW, views: 2.5 }, { ...LOW, windowMinutes: -1 }, { ...LOW, suspend: 'yes' }, { ...LOW, extra: 1 }, { views: 5 }]) {
      const res = await putSettings(superAdmin, bad);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe('invalid anomaly settings');
      expect(res.body.error.details.errors.length).toBeGreaterThan(0);
    }
  });

  test('only settings.manage changes them (403 otherwise), and the change is audited', async () => {
    expect((await putSettings(admins.lead.jwt, LOW)).status).toBe(403);
    expect((await app.http().get('/id-vault/anomaly-settings').set(bearer(admins.rep.jwt))).status).toBe(403);
    const res = await putSettings(superAdmin, LOW);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(LOW);
    const [event] = await events({ action: 'anomaly-settings.update' });
    expect(event).toMatchObject({ actorType: 'admin', outcome: 'success', details: { changed: ['views', 'reveals', 'exports'], ...LOW } });
    expect((await app.http().get('/id-vault/anomaly-settings').set(bearer(admins.tripper.jwt))).body.data).toEqual(LOW);
  });
});

describe('exports and reveals of an admin', () => {
  let alert: any;

  test('more exports than the threshold in the window → an alert and anomaly.detected', async () => {
    for (let i = 0; i < LOW.exports; i++) expect((await adminExport(admins.tripper.jwt)).status).toBe(200);
    await settle();
    expect((await openAnomalies()).filter((a) => a.actorId === String(admins.tripper.id))).toEqual([]);
    expect((await adminExport(admins.tripper.jwt)).status).toBe(200); // the one over the threshold still goes out
    alert = await alertOf('admin', admins.tripper.id, 'exports');
    expect(alert).toMatchObject({ count: LOW.exports + 1, threshold: LOW.exports, windowMinutes: LOW.windowMinutes, clearedAt: null });
    const [detected] = await events({ action: 'anomaly.detected', subjectId: String(alert.id) });
    expect(detected).toMatchObject({
      actorType: 'system',
      outcome: 'success',
      subjectUid: UIDS.anomaly,
      details: { kind: 'exports', count: LOW.exports + 1, threshold: LOW.exports, windowMinutes: LOW.windowMinutes, actorType: 'admin', actorId: String(admins.tripper.id), suspended: true },
    });
    expect(typeof detected.seq).toBe('number'); // chained like any event
    const listed = await app.http().get('/id-vault/anomalies').set(bearer(superAdmin));
    expect(listed.body.data.actors[`admin:${admins.tripper.id}`]).toBe('tripper Test');
  });

  test('the next export and a reveal are refused (403, suspended), and recorded as denied', async () => {
    const exp = await adminExport(admins.tripper.jwt);
    expect(exp.status).toBe(403);
    expect(exp.body.error.message).toMatch(SUSPENDED);
    expect(exp.body.error.message).toMatch(/exports \(3 in 10 minutes, more than 2\); an archive admin can clear it/);
    const rev = await adminReveal(admins.tripper.jwt);
    expect(rev.status).toBe(403);
    expect(rev.body.error.message).toMatch(SUSPENDED);
    expect(rev.body.data).toBeNull(); // no values
    // The original of a scan leaves without a watermark, like an export: suspended too.
    const doc = await systemDocs(app, UIDS.identityDocument).create({ data: { type: 'passport', documentNumber: 'E76543210', customer: customers[0] } });
    const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#88aacc' } }).png().toBuffer();
    const up = await app.http().post(`/id-vault/identity-documents/${doc.documentId}/scans`).set(bearer(superAdmin)).attach('files', png, { filename: 'scan.png', contentType: 'image/png' });
    expect(up.status).toBe(201);
    const download = (jwt: string) => app.http().get(`/id-vault/scans/${up.body.data[0].id}/download`).set(bearer(jwt));
    const refused = await download(admins.tripper.jwt);
    expect({ status: refused.status, message: refused.body.error?.message }).toEqual({ status: 403, message: expect.stringMatching(SUSPENDED) });
    expect((await download(admins.clearer.jwt)).status).toBe(200);
    // The edit view offers no Reveal button meanwhile (the other archive admin still has it).
    const mayReveal = async (jwt: string) => (await app.http().get(`/id-vault/customers/${customers[0]}/reveal`).set(bearer(jwt))).body.data.reveal;
    expect([await mayReveal(admins.tripper.jwt), await mayReveal(admins.clearer.jwt)]).toEqual([false, true]);
    const denied = await events({ actorType: 'admin', actorId: String(admins.tripper.id), outcome: 'denied' });
    expect(denied.map((e: any) => [e.action, e.details?.reason])).toEqual([
      ['customer.export', 'suspended'],
      ['customer.reveal', 'suspended'],
      ['scan.download', 'suspended'],
    ]);
    // Reads are not suspended.
    expect((await app.http().get(`/content-manager/collection-types/${UIDS.customer}`).set(bearer(admins.tripper.jwt))).status).toBe(200);
  });

  test('another admin is unaffected', async () => {
    expect((await adminExport(admins.clearer.jwt)).status).toBe(200);
    expect((await adminReveal(admins.clearer.jwt)).status).toBe(200);
  });

  test('clearing: not without anomaly.clear (403), not an alert about oneself (403), not without a reason (400)', async () => {
    const clear = (jwt: string, body: object) => app.http().post(`/id-vault/anomalies/${alert.id}/clear`).set(bearer(jwt)).send(body);
    expect((await clear(admins.rep.jwt, { reason: 'looks fine' })).status).toBe(403);
    expect((await clear(admins.lead.jwt, { reason: 'looks fine' })).status).toBe(403);
    const own = await clear(admins.tripper.jwt, { reason: 'it was me' });
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/cleared by another archive admin/);
    expect((await clear(admins.clearer.jwt, {})).status).toBe(400);
    expect((await clear(admins.clearer.jwt, { reason: 'ok', extra: true })).status).toBe(400);
    expect((await app.http().post('/id-vault/anomalies/999999/clear').set(bearer(admins.clearer.jwt)).send({ reason: 'no such alert' })).status).toBe(404);
    expect((await openAnomalies()).map((a) => a.id)).toContain(alert.id);
  });

  test('the suspended account may not change the anomaly settings (it could switch its own suspension off)', async () => {
    const res = await putSettings(admins.tripper.jwt, { ...LOW, suspend: false });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/open anomaly alert/);
    expect((await app.http().get('/id-vault/anomaly-settings').set(bearer(superAdmin))).body.data).toEqual(LOW);
    expect((await adminExport(admins.tripper.jwt)).status).toBe(403);
    const [denied] = await events({ action: 'anomaly-settings.update', outcome: 'denied' });
    expect(denied).toMatchObject({ actorType: 'admin', actorId: String(admins.tripper.id), details: { reason: 'own-alert-open' } });
  });

  test('an archive admin clears it (audited) → export and reveal work again, and the count starts afresh', async () => {
    const res = await app.http().post(`/id-vault/anomalies/${alert.id}/clear`).set(bearer(admins.clearer.jwt)).send({ reason: 'quarterly report, confirmed by phone' });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: alert.id, clearedBy: admins.clearer.id, clearReason: 'quarterly report, confirmed by phone' });
    expect(res.body.data.clearedAt).toEqual(expect.any(String));
    expect((await openAnomalies()).map((a) => a.id)).not.toContain(alert.id);
    const [cleared] = await events({ action: 'anomaly.cleared', outcome: 'success' });
    expect(cleared).toMatchObject({
      actorType: 'admin',
      actorId: String(admins.clearer.id),
      subjectId: String(alert.id),
      details: { kind: 'exports', actorType: 'admin', actorId: String(admins.tripper.id), reason: 'quarterly report, confirmed by phone' },
    });
    // Twice: told it was cleared already (409). One conditional UPDATE clears it, so two at once cannot both.
    const again = await app.http().post(`/id-vault/anomalies/${alert.id}/clear`).set(bearer(admins.clearer.jwt)).send({ reason: 'twice' });
    expect(again.status).toBe(409);

    expect((await adminExport(admins.tripper.jwt)).status).toBe(200);
    expect((await adminReveal(admins.tripper.jwt)).status).toBe(200);
    await settle();
    // Five exports in the window, but one since the clearing: no new alert.
    expect((await openAnomalies()).filter((a) => a.actorId === String(admins.tripper.id))).toEqual([]);
    expect((await adminExport(admins.tripper.jwt)).status).toBe(200);
  });
});

describe('content-API actors', () => {
  test('a users-permissions user over the reveal threshold: reveal and export suspended; another user unaffected', async () => {
    const user = await apiUser('archive_admin');
    const other = await apiUser('archive_admin');
    for (let i = 0; i <= LOW.reveals; i++) expect((await apiReveal(user.jwt)).status).toBe(200);
    const alert = await alertOf('user', user.id, 'reveals');
    expect(alert).toMatchObject({ count: LOW.reveals + 1, threshold: LOW.reveals });
    const rev = await apiReveal(user.jwt);
    expect(rev.status).toBe(403);
    expect(rev.body.error.message).toMatch(SUSPENDED);
    expect(rev.body.error.message).toMatch(/reveals/);
    expect((await apiExport(user.jwt)).status).toBe(403);
    expect((await apiReveal(other.jwt)).status).toBe(200);
    expect((await apiExport(other.jwt)).status).toBe(200);
    const denied = await events({ actorType: 'user', actorId: String(user.id), outcome: 'denied' });
    expect(denied.map((e: any) => [e.action, e.details?.reason])).toEqual([
      ['customer.reveal', 'suspended'],
      ['customer.export', 'suspended'],
    ]);
    expect((await app.http().post(`/id-vault/anomalies/${alert.id}/clear`).set(bearer(admins.clearer.jwt)).send({ reason: 'integration test run' })).status).toBe(200);
    expect((await apiReveal(user.jwt)).status).toBe(200);
    expect((await apiExport(user.jwt)).status).toBe(200);
  });

  test('an API token over the views threshold (list rows and findOne views): suspended; with suspension off, alerted only', async () => {
    const token = await apiToken(app.strapi, 'full-access');
    const tokenRow = await app.strapi.db.query('admin::api-token').findOne({ where: { name: { $startsWith: 'test-full-access' } }, orderBy: { id: 'desc' } });
    // 3 rows + 1 view = 4: not more than 5.
    expect((await app.http().get('/api/id-vault/customers').set(bearer(token))).body.data).toHaveLength(3);
    expect((await app.http().get(`/api/id-vault/customers/${customers[1]}`).set(bearer(token))).status).toBe(200);
    await settle();
    expect((await openAnomalies()).filter((a) => a.actorType === 'api-token')).toEqual([]);
    // 2 more views: 6.
    expect((await app.http().get(`/api/id-vault/customers/${customers[2]}`).set(bearer(token))).status).toBe(200);
    expect((await app.http().get(`/api/id-vault/customers/${customers[0]}`).set(bearer(token))).status).toBe(200);
    const alert = await alertOf('api-token', tokenRow.id, 'views');
    expect(alert).toMatchObject({ count: 6, threshold: LOW.views });
    const exp = await apiExport(token);
    expect(exp.status).toBe(403);
    expect(exp.body.error.message).toMatch(/customer views \(6 in 10 minutes, more than 5\)/);
    expect((await apiReveal(token)).status).toBe(403);
    // Reads go on.
    expect((await app.http().get('/api/id-vault/customers').set(bearer(token))).status).toBe(200);

    // Suspension off: the alert stays open, reveal and export work.
    expect((await putSettings(superAdmin, { ...LOW, suspend: false })).status).toBe(200);
    expect((await apiExport(token)).status).toBe(200);
    expect((await apiReveal(token)).status).toBe(200);
    expect((await openAnomalies()).map((a) => a.id)).toContain(alert.id);
    expect((await putSettings(superAdmin, LOW)).status).toBe(200);
    expect((await apiExport(token)).status).toBe(403);
    // No second alert of the same kind while one is open.
    await settle();
    expect((await openAnomalies()).filter((a) => a.actorType === 'api-token' && a.kind === 'views')).toHaveLength(1);
  });

  test('the anomalies route needs audit.read', async () => {
    expect((await app.http().get('/id-vault/anomalies').set(bearer(admins.rep.jwt))).status).toBe(403);
    expect((await app.http().get('/id-vault/anomalies')).status).toBe(401);
  });
});

describe('roles created by an earlier version', () => {
  const CLEAR = 'plugin::id-vault.anomaly.clear';
  const permissionOf = async () => {
    const role = await app.strapi.db.query('admin::role').findOne({ where: { code: ARCHIVE_ADMIN_ROLE } });
    return app.strapi.db.query('admin::permission').findOne({ where: { action: CLEAR, role: role.id } });
  };
  const flags = () => app.strapi.store({ type: 'plugin', name: 'id-vault', key: 'default-roles-later-actions' });

  test('the Archive admin role gets anomaly.clear once (customer.erase never); removed afterwards, it stays removed', async () => {
    expect(await permissionOf()).toBeTruthy(); // a first run gives it with every vault action
    expect(await flags().get({})).toEqual(['anomaly.clear', 'backup.manage']);
    // As an install of an earlier version: the role without the action, no flag.
    await app.strapi.db.query('admin::permission').delete({ where: { id: (await permissionOf()).id } });
    const role = await app.strapi.db.query('admin::role').findOne({ where: { code: ARCHIVE_ADMIN_ROLE } });
    const erase = { action: 'plugin::id-vault.customer.erase', role: role.id };
    await app.strapi.db.query('admin::permission').delete({ where: erase });
    await flags().delete({});
    await app.strapi.plugin('id-vault').service('access').ensureDefaultRoles();
    expect(await permissionOf()).toBeTruthy();
    // Erasing, irreversible, is never given by an upgrade: an admin ticks it.
    expect(await app.strapi.db.query('admin::permission').findOne({ where: erase })).toBeNull();
    expect((await app.http().post('/id-vault/anomalies/999999/clear').set(bearer(admins.clearer.jwt)).send({ reason: 'no such alert' })).status).toBe(404);
    // An admin removes it: the next start does not bring it back.
    await app.strapi.db.query('admin::permission').delete({ where: { id: (await permissionOf()).id } });
    await app.strapi.plugin('id-vault').service('access').ensureDefaultRoles();
    expect(await permissionOf()).toBeNull();
    expect((await app.http().post('/id-vault/anomalies/999999/clear').set(bearer(admins.clearer.jwt)).send({ reason: 'no such alert' })).status).toBe(403);
  });
});

const onPostgres = process.env.DATABASE_CLIENT === 'postgres';
// Several processes on one SQLite file is not a supported deployment; the PostgreSQL lane runs this.
(onPostgres ? describe : describe.skip)('several Strapi processes on one PostgreSQL', () => {
  const writer = (adminId: number) =>
    new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [path.join(ROOT, 'tests', 'helpers', 'anomaly-writer.js'), '5', String(adminId)], { env: process.env });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(out))));
    });

  test('exports of one admin in three processes at once: one alert, one anomaly.detected, the suspension in force everywhere', async () => {
    const twin = await adminPerson('twin', [ARCHIVE_ADMIN_ROLE]);
    const audit = app.strapi.plugin('id-vault').service('audit');
    const caller = { kind: 'admin' as const, id: twin.id, roles: [] as string[], actions: new Set<string>() };
    const local = Promise.all(Array.from({ length: 5 }, (_, i) => audit.record({ action: 'customer.export', outcome: 'success', caller, details: { i } })));
    expect(await Promise.all([writer(twin.id), writer(twin.id), local])).toEqual(['wrote 5\n', 'wrote 5\n', expect.anything()]);
    await alertOf('admin', twin.id, 'exports');
    await settle();
    const alerts = await app.strapi.db.query(UIDS.anomaly).findMany({ where: { actorType: 'admin', actorId: String(twin.id) } });
    expect(alerts).toHaveLength(1);
    const detected = (await events({ action: 'anomaly.detected' })).filter((e: any) => e.details.actorId === String(twin.id));
    expect(detected).toHaveLength(1);
    const exp = await adminExport(twin.jwt);
    expect(exp.status).toBe(403);
    expect(exp.body.error.message).toMatch(SUSPENDED);
    await settle(); // the refusal just recorded
    expect(await audit.verify()).toMatchObject({ ok: true, pending: 0 });
  });
});
