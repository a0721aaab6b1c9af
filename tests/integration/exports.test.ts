/**
 * The masked export over HTTP: content API (`GET /api/id-vault/customers/export`) and admin
 * (`GET /id-vault/customers/export`, the Content Manager's query syntax) × the default roles × row scope,
 * hidden customers, fields hidden for a role; the export right on top of masking; export grants; caps;
 * CSV (BOM, formula escaping) and JSONL; the audit event (fields, filter names, SHA-256 of the body) and a
 * client that goes away part-way.
 */
import http from 'http';
import qs from 'qs';
import { createHash, randomBytes } from 'crypto';
import { bootStrapi, adminSession, apiToken, asSystem, type TestApp, systemDocs } from '../helpers/strapi';
import { syntheticPerson, syntheticCompany, mask } from '../../plugins/id-vault/server/src/domain';
import { UIDS, ARCHIVE_ADMIN_ROLE, CONDITIONS } from '../../plugins/id-vault/shared';
import { makeCertificate, opensslDir, type TestCertificate } from '../helpers/certificates';
import { parse } from 'csv-parse/sync';

const API = '/api/id-vault/customers/export';
const ADMIN = '/id-vault/customers/export';
const EXPORT_PERMISSION = 'plugin::id-vault.customer.export';
const q = (o: object) => qs.stringify(o, { encodeValuesOnly: true });
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const BOM = '\ufeff';

let app: TestApp;
let superAdmin: string;
/** The export recipient plain exports are encrypted to (the switch is on by default), and its key. */
let recipient: { documentId: string; fingerprint: string };
let recipientCert: TestCertificate;
const openssl = opensslDir();
/** The URL asking for the export encrypted to the test's recipient. */
const enc = (url: string) => `${url}${url.includes('?') ? '&' : '?'}recipient=${recipient.documentId}`;
const unitIds: Record<string, string> = {};
const rows: Record<string, { documentId: string; values: Record<string, string> }> = {};
const api: Record<string, { jwt: string; id: number }> = {};
const admins: Record<string, { jwt: string; id: number }> = {};

// ---- fixtures ------------------------------------------------------------------------------------------

/** A users-permissions user in the role of that type (a custom role is created); in `unit` as an API member. */
const apiUser = async (roleType: string, unit: string | null) => {
  const roles = app.strapi.db.query('plugin::users-permissions.role');
  const role = (await roles.findOne({ where: { type: roleType } })) ?? (await roles.create({ data: { name: roleType, type: roleType, description: 'test' } }));
  const name = `${roleType}-${randomBytes(3).toString('hex')}`;
  const user = await app.strapi.db
    .query('plugin::users-permissions.user')
    .create({ data: { username: name, email: `${name}@example.test`, provider: 'local', confirmed: true, blocked: false, role: role.id } });
  if (unit) {
    const row = await app.strapi.db.query(UIDS.orgUnit).findOne({ where: { documentId: unitIds[unit] }, populate: ['apiMembers'] });
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: row.id }, data: { apiMembers: [...row.apiMembers.map((m: any) => m.id), user.id] } });
  }
  return { id: user.id as number, jwt: app.strapi.plugin('users-permissions').service('jwt').issue({ id: user.id }) as string };
};

/** Ticks a content-API route permission on a users-permissions role, as an admin would under Users & Permissions. */
const allowRoute = async (roleType: string, action: string) => {
  const role = await app.strapi.db.query('plugin::users-permissions.role').findOne({ where: { type: roleType } });
  await app.strapi.db.query('plugin::users-permissions.permission').create({ data: { action, role: role.id } });
};

/** An admin user with these roles, logged in; optionally a member (or head) of an org unit. */
const adminPerson = async (name: string, roleCodes: string[], unit?: { key: string; as: 'members' | 'heads' }) => {
  const roles = await app.strapi.db.query('admin::role').findMany({ where: { code: { $in: roleCodes } } });
  const email = `${name}-${randomBytes(3).toString('hex')}@example.test`;
  const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
  const user = await app.strapi.service('admin::user').create({ email, firstname: name, lastname: 'Test', password, isActive: true, roles: roles.map((r: any) => r.id) });
  if (unit) {
    const row = await app.strapi.db.query(UIDS.orgUnit).findOne({ where: { documentId: unitIds[unit.key] }, populate: [unit.as] });
    await app.strapi.db.query(UIDS.orgUnit).update({ where: { id: row.id }, data: { [unit.as]: [...row[unit.as].map((m: any) => m.id), user.id] } });
  }
  const login = await app.http().post('/admin/login').send({ email, password });
  return { id: user.id as number, jwt: login.body.data.token as string };
};

const putPolicy = async (change: (p: any) => void) => {
  const current = await app.http().get('/id-vault/access-policy').set(bearer(superAdmin));
  const policy = current.body.data.policy;
  change(policy);
  const res = await app.http().put('/id-vault/access-policy').set(bearer(superAdmin)).send({ policy });
  expect(res.status).toBe(200);
};

const setCaps = (caps: Partial<{ maxRows: number; perDay: number; plainOnlyEncrypted: boolean }>) =>
  app.strapi.config.set('plugin::id-vault.exports', { ...app.strapi.config.get('plugin::id-vault.exports'), ...caps });

// ---- reading an export ---------------------------------------------------------------------------------

interface Download {
  status: number;
  headers: Record<string, string>;
  /** The bytes sent (encrypted: the CMS envelope) — what the event's hash is over. */
  raw: Buffer;
  /** The export's text (encrypted: as `openssl cms -decrypt` opens it with the recipient's key). */
  text: string;
  json: any;
  encrypted: boolean;
}

/** GETs an export as raw bytes (what the hash is over); an encrypted one is opened with openssl. */
const download = async (url: string, jwt: string): Promise<Download> => {
  const res = await app
    .http()
    .get(url)
    .set(bearer(jwt))
    .buffer(true)
    .parse((r: any, done: (e: Error | null, body: Buffer) => void) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => done(null, Buffer.concat(chunks)));
    });
  const raw: Buffer = res.body;
  const encrypted = String(res.headers['content-type']).startsWith('application/pkcs7-mime');
  let text = raw.toString('utf8');
  if (encrypted) {
    const opened = openssl.decrypt(raw, recipientCert);
    expect([opened.status, opened.stderr]).toEqual([0, '']);
    text = opened.stdout.toString('utf8');
  }
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // an export, not an error body
  }
  return { status: res.status, headers: res.headers, raw, text, json, encrypted };
};

/** RFC 4180 records (quoted cells, doubled quotes, CRLF between records), every cell a string. */
const parseCsv = (text: string): string[][] => parse(text);

/** The records of a CSV export (BOM dropped), keyed by its header; the formula guard's apostrophe undone. */
const csvRecords = (d: Download) => {
  const [header, ...records] = parseCsv(d.text.replace(/^\ufeff/, ''));
  const unescape = (v: string) => (/^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v);
  return { header, records: records.map((r) => Object.fromEntries(header.map((h, i) => [h, unescape(r[i])]))) };
};
const jsonlRecords = (d: Download) => d.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

type Seen = 'plain' | 'masked' | 'absent';
const FIELDS = ['idNumber', 'phone', 'email', 'address'] as const;
const RULES: Record<string, any> = { idNumber: 'id-number', phone: 'phone', email: 'email', address: 'address' };
const keyOf = (documentId: string) => Object.keys(rows).find((k) => rows[k].documentId === documentId);
const seen = (record: any): Record<string, Seen | 'other'> => {
  const values = rows[keyOf(record.documentId)!].values;
  return Object.fromEntries(
    FIELDS.map((f) => {
      if (!(f in record)) return [f, 'absent'];
      return [f, record[f] === values[f] ? 'plain' : record[f] === mask(values[f], RULES[f]) ? 'masked' : 'other'];
    })
  );
};

const lastEvent = async (where: object = {}) =>
  (await app.strapi.db.query(UIDS.auditEvent).findMany({ where: { action: 'customer.export', ...where }, orderBy: { id: 'desc' }, limit: 1 }))[0];

// ---- set-up ----------------------------------------------------------------------------------------------

beforeAll(async () => {
  app = await bootStrapi();
  expect(app.strapi.config.get('plugin::id-vault.exports')).toEqual({ maxRows: 10000, perDay: 20, plainOnlyEncrypted: true });
  // The per-day cap has its own test; the matrix makes more exports than 20 for some callers.
  setCaps({ perDay: 1000 });
  // Anomaly alerts likewise: more than 3 exports in 10 minutes suspends an account (anomalies.test.ts tests that).
  await asSystem(app, () => app.strapi.plugin('id-vault').service('anomalies').saveSettings({ views: 100_000, reveals: 1000, exports: 1000, windowMinutes: 10, suspend: true }));
  superAdmin = await adminSession(app, 'strapi-super-admin');
  recipientCert = makeCertificate({ cn: 'exports.integrator.test' });
  const added = await app.http().post('/id-vault/export-recipients').set(bearer(superAdmin)).send({ name: 'Integrator', certificate: recipientCert.certPem });
  expect(added.status).toBe(201);
  recipient = added.body.data;
  const docs = (uid: string) => systemDocs(app, uid);
  unitIds.north = (await docs(UIDS.orgUnit).create({ data: { name: 'North' } })).documentId;
  unitIds.south = (await docs(UIDS.orgUnit).create({ data: { name: 'South' } })).documentId;

  const person = async (key: string, seed: number, team: string, extra: object = {}) => {
    const p = syntheticPerson(seed);
    const data = { kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address, team, ...extra };
    const c = await docs(UIDS.customer).create({ data });
    rows[key] = { documentId: c.documentId, values: { ...p, ...extra } };
  };
  await person('north', 5101, unitIds.north);
  await person('south', 5102, unitIds.south);
  await person('hidden', 5103, unitIds.north, { hidden: true });
  await person('formula', 5104, unitIds.north, { name: '=1+2 Formula', industry: '@SUM(A1)' });
  const co = syntheticCompany(5105);
  const company = await docs(UIDS.customer).create({
    data: { kind: 'enterprise', name: co.name, creditCode: co.creditCode, legalRepresentative: co.legalRepresentative, industry: 'Retail', phone: co.phone, email: co.email, address: co.address, team: unitIds.south },
  });
  rows.company = { documentId: company.documentId, values: { ...co, idNumber: '' } };

  // The default roles do not tick "export" of Customer for the content API: an admin ticks it.
  for (const role of ['sales_rep', 'customer_service_lead', 'archive_admin', 'unit_exporter']) {
    if (role === 'unit_exporter') await apiUser(role, null); // creates the role
    await allowRoute(role, EXPORT_PERMISSION);
  }
  await allowRoute('unit_exporter', 'plugin::id-vault.org-unit.find');
  api.salesRep = await apiUser('sales_rep', 'north');
  api.serviceLead = await apiUser('customer_service_lead', 'north');
  api.archiveAdmin = await apiUser('archive_admin', null);
  api.unitExporter = await apiUser('unit_exporter', 'north');
  api.noRoute = await apiUser('authenticated', 'north');
  api.full = { id: 0, jwt: await apiToken(app.strapi, 'full-access') };
  api.readOnly = { id: 0, jwt: await apiToken(app.strapi, 'read-only') };
  const custom = await app.strapi.service('admin::api-token-content-api').create({
    name: 'export-custom', type: 'custom', lifespan: null, permissions: [EXPORT_PERMISSION, 'plugin::id-vault.org-unit.find'],
  });
  api.custom = { id: custom.id, jwt: custom.accessKey };
  await putPolicy((p) => {
    p.subjects[`api-token:${custom.id}`] = { export: 'masked' };
    p.subjects['up-role:unit_exporter'] = {
      read: 'unit',
      export: 'plain',
      fields: { [`${UIDS.customer}#idNumber`]: 'plain', [`${UIDS.customer}#phone`]: 'hidden', [`${UIDS.customer}#email`]: 'masked', [`${UIDS.customer}#address`]: 'plain' },
    };
  });

  // Admins: the three default roles, and a role that exports masked the customers of its own unit only,
  // without the right to read `industry`.
  const roleService = app.strapi.service('admin::role');
  const unitExporter = await roleService.create({ name: 'Unit exporter', code: 'unit-exporter', description: 'test' });
  const fieldsOf = (uid: string) => Object.keys(app.strapi.getModel(uid).attributes);
  await roleService.assignPermissions(unitExporter.id, [
    { action: 'plugin::content-manager.explorer.read', subject: UIDS.customer, properties: { fields: fieldsOf(UIDS.customer).filter((f) => f !== 'industry') }, conditions: [CONDITIONS.myUnit] },
    { action: 'plugin::content-manager.explorer.read', subject: UIDS.orgUnit, properties: { fields: fieldsOf(UIDS.orgUnit) }, conditions: [] },
    { action: 'plugin::id-vault.export.masked', subject: null, properties: {}, conditions: [] },
  ]);
  admins.rep = await adminPerson('rep', ['id-vault-sales-rep'], { key: 'north', as: 'members' });
  admins.lead = await adminPerson('lead', ['id-vault-customer-service-lead'], { key: 'north', as: 'members' });
  admins.archivist = await adminPerson('archivist', [ARCHIVE_ADMIN_ROLE]);
  admins.unitExporter = await adminPerson('unitexporter', ['unit-exporter'], { key: 'north', as: 'members' });
});

afterAll(async () => {
  await app?.close();
  openssl.remove();
});

// ---- the matrix ------------------------------------------------------------------------------------------

const P = 'plain', M = 'masked', A = 'absent';
const ALL_VISIBLE = ['company', 'formula', 'north', 'south'];
const MATRIX: Array<[string, 'api' | 'admin', string, string[] | RegExp | number, Record<string, Seen>?]> = [
  // no export right: 403 that says so (content API: the route is ticked, the Field access export right is none)
  ['Sales rep', 'api', 'salesRep', /needs an export right/],
  ['Sales rep', 'admin', 'rep', /needs an export right/],
  ['no route permission', 'api', 'noRoute', 403],
  ['a read-only token', 'api', 'readOnly', 403], // Strapi lets it find and findOne only
  // masked export right: every encrypted field masked; hidden customers absent
  ['Customer-service lead', 'api', 'serviceLead', ALL_VISIBLE, { idNumber: M, phone: M, email: M, address: M }],
  ['Customer-service lead', 'admin', 'lead', ALL_VISIBLE, { idNumber: M, phone: M, email: M, address: M }],
  // plain export right: plain, hidden customers included (view-hidden)
  ['Archive admin', 'api', 'archiveAdmin', [...ALL_VISIBLE, 'hidden'].sort(), { idNumber: P, phone: P, email: P, address: P }],
  ['Archive admin', 'admin', 'archivist', [...ALL_VISIBLE, 'hidden'].sort(), { idNumber: P, phone: P, email: P, address: P }],
  ['a full-access token', 'api', 'full', [...ALL_VISIBLE, 'hidden'].sort(), { idNumber: P, phone: P, email: P, address: P }],
  ['a custom token (masked right)', 'api', 'custom', ALL_VISIBLE, { idNumber: M, phone: M, email: M, address: M }],
  // own unit only; plain where plain, masked where masked, a hidden field has no column
  ['unit exporter (plain right)', 'api', 'unitExporter', ['formula', 'north'], { idNumber: P, phone: A, email: M, address: P }],
  ['unit exporter (masked right)', 'admin', 'unitExporter', ['formula', 'north'], { idNumber: M, phone: M, email: M, address: M }],
];

describe.each(MATRIX)('%s over %s', (_name, surface, who, expected, fields) => {
  const jwt = () => (surface === 'api' ? api[who] : admins[who]).jwt;
  const base = surface === 'api' ? API : ADMIN;

  test.each(['csv', 'jsonl'])('%s: exactly its rows, each field plain / masked / absent', async (format) => {
    // A plain export is sent only encrypted (the switch's default): opened with openssl, it must hold the same rows.
    const plain = !!fields && Object.values(fields).includes(P);
    const res = await download(plain ? enc(`${base}?format=${format}`) : `${base}?format=${format}`, jwt());
    if (typeof expected === 'number') return expect(res.status).toBe(expected);
    if (expected instanceof RegExp) {
      expect(res.status).toBe(403);
      return expect(res.json.error.message).toMatch(expected);
    }
    expect(res.status).toBe(200);
    expect(res.encrypted).toBe(plain);
    const records = format === 'csv' ? csvRecords(res).records : jsonlRecords(res);
    expect(records.map((r: any) => keyOf(r.documentId)).sort()).toEqual(expected);
    for (const r of records.filter((x: any) => keyOf(x.documentId) !== 'company')) expect([keyOf(r.documentId), seen(r)]).toEqual([keyOf(r.documentId), fields]);
  });
});

describe('columns', () => {
  test('in order, hidden fields and fields the role may not read absent; the same in both formats', async () => {
    const csv = csvRecords(await download(enc(API), api.archiveAdmin.jwt));
    expect(csv.header).toEqual([
      'documentId', 'kind', 'name', 'idNumber', 'phone', 'email', 'address',
      'idType', 'idExpiresAt', 'creditCode', 'legalRepresentative', 'industry', 'team', 'documentsComplete', 'createdAt', 'updatedAt',
    ]);
    expect(Object.keys(jsonlRecords(await download(enc(`${API}?format=jsonl`), api.archiveAdmin.jwt))[0])).toEqual(csv.header);
    // unit_exporter: phone hidden by the Field access matrix
    expect(csvRecords(await download(enc(API), api.unitExporter.jwt)).header).not.toContain('phone');
    // the admin role without the RBAC right to read `industry`
    const admin = csvRecords(await download(ADMIN, admins.unitExporter.jwt)).header;
    expect(admin).not.toContain('industry');
    expect(admin).toContain('team');
  });

  test('the plain attributes: team by name, dates, the company’s registry fields', async () => {
    const [company] = jsonlRecords(await download(enc(`${API}?${q({ format: 'jsonl', filters: { kind: 'enterprise' } })}`), api.archiveAdmin.jwt));
    const co = rows.company.values;
    expect(company).toMatchObject({ kind: 'enterprise', name: co.name, creditCode: co.creditCode, legalRepresentative: co.legalRepresentative, industry: 'Retail', team: 'South', documentsComplete: false, idNumber: null });
    expect(new Date(company.createdAt).toISOString()).toBe(company.createdAt);
  });

  test('a caller who may not list org units gets no team column', async () => {
    const before = csvRecords(await download(API, api.serviceLead.jwt)).header;
    expect(before).toContain('team');
    const role = await app.strapi.db.query('plugin::users-permissions.role').findOne({ where: { type: 'customer_service_lead' } });
    const perm = await app.strapi.db.query('plugin::users-permissions.permission').findOne({ where: { role: role.id, action: 'plugin::id-vault.org-unit.find' } });
    await app.strapi.db.query('plugin::users-permissions.permission').delete({ where: { id: perm.id } });
    try {
      expect(csvRecords(await download(API, api.serviceLead.jwt)).header).not.toContain('team');
    } finally {
      await allowRoute('customer_service_lead', 'plugin::id-vault.org-unit.find');
    }
  });

  test('the masked export right masks what the caller sees plain', async () => {
    await putPolicy((p) => {
      p.subjects['up-role:unit_exporter'].export = 'masked';
    });
    try {
      for (const r of jsonlRecords(await download(enc(`${API}?format=jsonl`), api.unitExporter.jwt))) expect(seen(r)).toEqual({ idNumber: M, phone: A, email: M, address: M });
    } finally {
      await putPolicy((p) => {
        p.subjects['up-role:unit_exporter'].export = 'plain';
      });
    }
  });

  test('an admin role’s field set to hidden has no column', async () => {
    await putPolicy((p) => {
      p.subjects['admin-role:unit-exporter'] = { fields: { [`${UIDS.customer}#address`]: 'hidden', [`${UIDS.customer}#idNumber`]: 'plain' } };
    });
    try {
      const records = jsonlRecords(await download(`${ADMIN}?format=jsonl`, admins.unitExporter.jwt));
      expect(records.length).toBe(2);
      for (const r of records) expect(seen(r)).toEqual({ idNumber: M, phone: M, email: M, address: A }); // plain seen, masked exported
    } finally {
      await putPolicy((p) => {
        delete p.subjects['admin-role:unit-exporter'];
      });
    }
  });
});

describe('queries: the list’s own filters, sort and search', () => {
  test('content API: filters, sort, _q; refusals as the list’s', async () => {
    const south = jsonlRecords(await download(`${API}?${q({ format: 'jsonl', filters: { team: { name: { $eq: 'South' } } }, sort: 'name:desc' })}`, api.serviceLead.jwt));
    expect(south.map((r: any) => keyOf(r.documentId)).sort()).toEqual(['company', 'south']);
    expect(south.map((r: any) => r.name)).toEqual([...south.map((r: any) => r.name)].sort().reverse());
    const searched = jsonlRecords(await download(`${API}?${q({ format: 'jsonl', _q: 'Formula' })}`, api.serviceLead.jwt));
    expect(searched.map((r: any) => keyOf(r.documentId))).toEqual(['formula']);
    // a masked field cannot be filtered; a hidden one answers like an unknown field, byte for byte
    const masked = await download(`${API}?${q({ filters: { idNumber: rows.north.values.idNumber } })}`, api.serviceLead.jwt);
    expect(masked.status).toBe(400);
    expect(masked.json.error.message).toMatch(/idNumber is masked for you/);
    const hidden = await download(enc(`${API}?${q({ filters: { phone: rows.north.values.phone } })}`), api.unitExporter.jwt);
    const unknown = await download(enc(`${API}?${q({ filters: { noSuchField: rows.north.values.phone } })}`), api.unitExporter.jwt);
    expect([hidden.status, unknown.status]).toEqual([400, 400]);
    expect(JSON.stringify(hidden.json.error).replace(/phone/g, 'X')).toBe(JSON.stringify(unknown.json.error).replace(/noSuchField/g, 'X'));
    expect((await download(`${API}?format=xlsx`, api.serviceLead.jwt)).status).toBe(400);
  });

  test('admin: the Content Manager’s query syntax, and an exact search on a field seen plain', async () => {
    const cm = (query: object) => download(enc(`${ADMIN}?${q({ format: 'jsonl', page: 1, pageSize: 10, ...query })}`), admins.archivist.jwt);
    const enterprise = jsonlRecords(await cm({ filters: { $and: [{ kind: { $eq: 'enterprise' } }] }, sort: 'name:ASC' }));
    expect(enterprise.map((r: any) => keyOf(r.documentId))).toEqual(['company']);
    const byId = jsonlRecords(await cm({ filters: { $and: [{ idNumber: { $eq: rows.north.values.idNumber } }] } }));
    expect(byId.map((r: any) => keyOf(r.documentId))).toEqual(['north']);
    const searched = jsonlRecords(await cm({ _q: rows.south.values.phone }));
    expect(searched.map((r: any) => keyOf(r.documentId))).toEqual(['south']);
    // not paginated: every matching row, whatever page and pageSize the list view had
    expect(jsonlRecords(await cm({ pageSize: 1 })).length).toBe(5);
  });
});

describe('files (plain exports with ID_VAULT_EXPORT_PLAIN_ENCRYPTED_ONLY=false)', () => {
  beforeAll(() => setCaps({ plainOnlyEncrypted: false }));
  afterAll(() => setCaps({ plainOnlyEncrypted: true }));

  test('CSV: BOM, headers, formula cells neutralised', async () => {
    const res = await download(API, api.archiveAdmin.jwt);
    expect(res.status).toBe(200);
    expect(res.raw.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(res.text.startsWith(`${BOM}documentId,kind,name,`)).toBe(true);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="customers-\d{8}-\d{4}\.csv"$/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const [, ...records] = parseCsv(res.text.slice(1));
    const formula = records.find((r) => r[0] === rows.formula.documentId)!;
    expect(formula[2]).toBe("'=1+2 Formula");
    expect(formula).toContain("'@SUM(A1)");
    expect(formula).toContain(`'${rows.formula.values.phone}`); // +86…: a leading + is a formula to a spreadsheet
    expect(records.every((r) => !/^[=+\-@]/.test(r.join('')))).toBe(true);
  });

  test('JSONL: one object per line, values as they are, no BOM', async () => {
    const res = await download(`${API}?format=jsonl`, api.archiveAdmin.jwt);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="customers-\d{8}-\d{4}\.jsonl"$/);
    expect(res.raw[0]).toBe('{'.charCodeAt(0));
    expect(res.text.endsWith('\n')).toBe(true);
    const records = jsonlRecords(res);
    expect(records.length).toBe(5);
    expect(records.find((r: any) => r.documentId === rows.formula.documentId).name).toBe('=1+2 Formula');
  });
});

describe('audit', () => {
  test('the event: actor, format, rows, fields, filter names, the SHA-256 of the body — and no value', async () => {
    const url = `${API}?${q({ format: 'csv', filters: { team: { name: { $eq: 'North' } } }, sort: 'name:asc', _q: 'Formula' })}`;
    const res = await download(url, api.serviceLead.jwt);
    expect(res.status).toBe(200);
    const event = await lastEvent();
    expect(event).toMatchObject({ outcome: 'success', actorType: 'user', actorId: String(api.serviceLead.id), subjectUid: UIDS.customer });
    expect(event.fields).toEqual([...csvRecords(res).header].sort());
    expect(event.details).toMatchObject({ format: 'csv', mode: 'masked', rows: 1, filters: ['team.name'], sort: ['name'], search: true, grant: false, plain: [], masked: ['idNumber', 'phone', 'email', 'address'] });
    expect(event.details.sha256).toBe(createHash('sha256').update(res.raw).digest('hex'));
    const admin = await download(enc(`${ADMIN}?format=jsonl`), admins.archivist.jwt);
    const adminEvent = await lastEvent();
    expect(adminEvent).toMatchObject({ actorType: 'admin', actorId: String(admins.archivist.id), details: { format: 'jsonl', rows: 5, mode: 'plain' } });
    expect(adminEvent.details.sha256).toBe(createHash('sha256').update(admin.raw).digest('hex'));
    expect(adminEvent.details.plain).toEqual(['idNumber', 'phone', 'email', 'address']);
    expect(adminEvent.details).toMatchObject({ encrypted: true, recipient: recipient.documentId, fingerprint: recipient.fingerprint });
    expect(event.details.encrypted).toBe(false);
  });

  test('refusals are recorded, with the reason', async () => {
    await download(API, api.salesRep.jwt);
    expect(await lastEvent()).toMatchObject({ outcome: 'denied', actorId: String(api.salesRep.id), details: { reason: 'no-export-right' } });
  });

  test('the audit table holds no exported value (plain or masked)', async () => {
    const events = JSON.stringify(await app.knex('idv_audit_events').select('*'));
    const values = Object.values(rows).flatMap((r) =>
      [...FIELDS.filter((f) => r.values[f]).flatMap((f) => [r.values[f], mask(r.values[f], RULES[f])]), r.values.name, r.values.legalRepresentative].filter(Boolean)
    );
    expect(values.length).toBeGreaterThan(20);
    for (const v of values) expect([v, events.includes(v)]).toEqual([v, false]);
    expect(events).not.toContain('SUM(A1)');
  });
});

describe('export recipients and encrypted exports', () => {
  const recipients = '/id-vault/export-recipients';
  const upload = (jwt: string, body: object) => app.http().post(recipients).set(bearer(jwt)).send(body);
  const recipientEvents = (action: string) => app.strapi.db.query(UIDS.auditEvent).findMany({ where: { action }, orderBy: { id: 'desc' } });
  const DAY = 86_400_000;

  test('upload: the certificate checked and described; refusals name the reason; a duplicate is refused; only with settings.manage', async () => {
    // No export right, no list; an export right: what the Export button needs (no certificate subject).
    expect((await app.http().get(recipients).set(bearer(admins.rep.jwt))).status).toBe(403);
    const short = await app.http().get(recipients).set(bearer(admins.lead.jwt));
    expect(short.status).toBe(200);
    expect(short.body.data).toEqual([{ documentId: recipient.documentId, name: 'Integrator', fingerprint: expect.any(String), valid: true }]);
    const list = await app.http().get(recipients).set(bearer(superAdmin)); // settings.manage: the whole view
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      {
        documentId: recipient.documentId,
        name: 'Integrator',
        subject: 'CN=exports.integrator.test,O=Example Integrator Ltd,C=CN',
        fingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
        notBefore: expect.any(String),
        notAfter: expect.any(String),
        keyBits: 2048,
        valid: true,
      },
    ]);
    expect(list.body.data[0]).not.toHaveProperty('certificate');
    const refused = async (certificate: string, reason: string) => {
      const res = await upload(superAdmin, { name: 'Refused', certificate });
      expect([res.status, res.body.error.details.errors[0].reason]).toEqual([400, reason]);
      expect(res.body.error.message).toMatch(/^certificate refused: /);
    };
    const ago = (days: number) => new Date(Date.now() - days * DAY);
    await refused(makeCertificate({ notBefore: ago(30), notAfter: ago(1) }).certPem, 'expired');
    await refused(makeCertificate({ bits: 1024 }).certPem, 'key-too-small');
    await refused('this is not a certificate', 'not-pem');
    await refused('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'not-certificate');
    await refused(recipientCert.certPem + recipientCert.keyPem, 'several-certificates');
    expect(await recipientEvents('export-recipient.create')).toEqual(
      expect.arrayContaining([expect.objectContaining({ outcome: 'rejected', details: { reason: 'expired' } }), expect.objectContaining({ outcome: 'success', subjectId: recipient.documentId })])
    );
    const dup = await upload(superAdmin, { name: 'Again', certificate: recipientCert.certPem });
    expect([dup.status, dup.body.error.message]).toEqual([400, 'this certificate is already an export recipient']);
    expect((await upload(superAdmin, { name: 'Extra', certificate: recipientCert.certPem, more: 1 })).status).toBe(400);
    expect((await upload(admins.rep.jwt, { name: 'Rep', certificate: makeCertificate().certPem })).status).toBe(403);
    expect((await app.http().delete(`${recipients}/${recipient.documentId}`).set(bearer(admins.rep.jwt))).status).toBe(403);
    expect((await app.http().get(recipients)).status).toBe(401);
    // The private key pasted with it was not kept: the row holds the certificate alone.
    const rowsNow = await app.knex('idv_export_recipients').select('*');
    expect(rowsNow.length).toBe(1);
    expect(JSON.stringify(rowsNow)).not.toMatch(/PRIVATE KEY/);
  });

  test('the switch: a plain export without a recipient is a 403 that says why (recorded); encrypted it goes through', async () => {
    for (const [url, who] of [[API, api.archiveAdmin], [ADMIN, admins.archivist]] as const) {
      const res = await download(`${url}?format=jsonl`, who.jwt);
      expect(res.status).toBe(403);
      expect(res.json.error.message).toMatch(/a plain export is only sent encrypted to an export recipient: add \?recipient=<id>.*ID_VAULT_EXPORT_PLAIN_ENCRYPTED_ONLY/);
      expect(await lastEvent()).toMatchObject({ outcome: 'denied', actorId: String(who.id), details: { reason: 'plain-unencrypted' } });
      const ok = await download(enc(`${url}?format=jsonl`), who.jwt);
      expect(ok.status).toBe(200);
      expect(ok.headers['content-type']).toBe('application/pkcs7-mime; smime-type=authEnveloped-data');
      expect(ok.headers['content-disposition']).toMatch(/^attachment; filename="customers-\d{8}-\d{4}\.jsonl\.p7m"$/);
      expect(ok.text).not.toBe(ok.raw.toString('utf8'));
      expect(ok.raw.includes(Buffer.from(rows.north.values.idNumber))).toBe(false);
      const records = jsonlRecords(ok);
      expect(records.map((r: any) => keyOf(r.documentId)).sort()).toEqual([...ALL_VISIBLE, 'hidden'].sort());
      for (const r of records.filter((x: any) => keyOf(x.documentId) !== 'company')) expect(seen(r)).toEqual({ idNumber: P, phone: P, email: P, address: P });
      const event = await lastEvent();
      expect(event).toMatchObject({ outcome: 'success', details: { encrypted: true, recipient: recipient.documentId, fingerprint: recipient.fingerprint, mode: 'plain', rows: 5 } });
      expect(event.details.sha256).toBe(createHash('sha256').update(ok.raw).digest('hex'));
    }
    // Masked exports may still be plain files — or encrypted, when asked.
    const masked = await download(`${API}?format=csv`, api.serviceLead.jwt);
    expect([masked.status, masked.encrypted]).toEqual([200, false]);
    const maskedEnc = await download(enc(`${API}?format=csv`), api.serviceLead.jwt);
    expect([maskedEnc.status, maskedEnc.encrypted, maskedEnc.headers['content-disposition']]).toEqual([200, true, expect.stringMatching(/\.csv\.p7m"$/)]);
    expect(maskedEnc.text).toBe(masked.text);
    // With the switch off, a plain export may be a plain file again.
    setCaps({ plainOnlyEncrypted: false });
    try {
      const plainFile = await download(`${API}?format=jsonl`, api.archiveAdmin.jwt);
      expect([plainFile.status, plainFile.encrypted]).toEqual([200, false]);
    } finally {
      setCaps({ plainOnlyEncrypted: true });
    }
  });

  test('an unknown recipient, or one whose certificate is no longer valid, is a 400 recorded as a denied export', async () => {
    const unknown = await download(`${API}?recipient=nosuchrecipient0000000000`, api.serviceLead.jwt);
    expect([unknown.status, unknown.json.error.message]).toEqual([400, 'unknown export recipient']);
    expect(await lastEvent()).toMatchObject({ outcome: 'denied', details: { reason: 'unknown-recipient', recipient: 'nosuchrecipient0000000000' } });
    // Expired since its upload: written straight to the table, as time would.
    const old = makeCertificate({ notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
    const stale = await app.strapi.plugin('id-vault').service('access').asSystem(() =>
      app.strapi.db.query(UIDS.exportRecipient).create({
        data: { documentId: 'stalerecipient00000000000', name: 'Stale', certificate: old.certPem, subject: 'CN=stale', fingerprint: 'stale', notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY), keyBits: 2048 },
      })
    );
    const listed = (await app.http().get(recipients).set(bearer(superAdmin))).body.data.find((r: any) => r.documentId === stale.documentId);
    expect(listed.valid).toBe(false);
    const expired = await download(`${ADMIN}?recipient=${stale.documentId}`, admins.archivist.jwt);
    expect(expired.status).toBe(400);
    expect(expired.json.error.message).toMatch(/not valid now/);
    expect(await lastEvent()).toMatchObject({ outcome: 'denied', actorId: String(admins.archivist.id), details: { reason: 'recipient-not-valid', recipient: stale.documentId } });
    // Deleted: audited with its fingerprint; exports to it are refused from then on.
    const del = await app.http().delete(`${recipients}/${stale.documentId}`).set(bearer(superAdmin));
    expect(del.status).toBe(200);
    expect((await recipientEvents('export-recipient.delete'))[0]).toMatchObject({ outcome: 'success', subjectId: stale.documentId, details: { fingerprint: 'stale' } });
    expect((await app.http().delete(`${recipients}/${stale.documentId}`).set(bearer(superAdmin))).status).toBe(404);
    expect((await download(`${API}?recipient=${stale.documentId}`, api.serviceLead.jwt)).status).toBe(400);
  });
});

describe('export grants', () => {
  test('an approved export grant lets a holder without an export right export the covered customers, masked', async () => {
    const roleService = app.strapi.service('admin::role');
    const headRole = await roleService.create({ name: 'Export unit head', code: 'export-unit-head', description: 'test' });
    await roleService.assignPermissions(headRole.id, [{ action: 'plugin::id-vault.grant.approve', subject: null, properties: {}, conditions: [] }]);
    const head = await adminPerson('head', ['export-unit-head'], { key: 'north', as: 'heads' });
    const call = (who: { jwt: string }, path: string, body?: object) => app.http().post(`/id-vault/grants${path}`).set(bearer(who.jwt)).send(body ?? {});
    const created = await call(admins.rep, '', { customers: [rows.south.documentId], actions: ['export'], reason: 'year-end review', days: 1 });
    expect(created.status).toBe(200);
    const id = created.body.data.documentId;
    expect((await download(ADMIN, admins.rep.jwt)).status).toBe(403); // pending
    await call(head, `/${id}/approve`);
    expect((await call(admins.archivist, `/${id}/approve`)).body.data.status).toBe('active');
    const records = jsonlRecords(await download(`${ADMIN}?format=jsonl`, admins.rep.jwt));
    expect(records.map((r: any) => keyOf(r.documentId))).toEqual(['south']); // the covered customer only, not the rep's own unit
    expect(seen(records[0])).toEqual({ idNumber: M, phone: M, email: M, address: M }); // the rep sees email and address plain
    expect((await lastEvent()).details).toMatchObject({ grant: true, mode: 'masked', rows: 1 });
    await call(admins.rep, `/${id}/revoke`);
    expect((await download(ADMIN, admins.rep.jwt)).status).toBe(403);
  });
});

describe('caps', () => {
  afterEach(() => setCaps({ maxRows: 10000, perDay: 1000 }));

  test('row cap: checked with a count before anything is sent; 403 with the cap', async () => {
    setCaps({ maxRows: 4 });
    const over = await download(API, api.serviceLead.jwt); // 4 visible customers + none hidden: fits
    expect(over.status).toBe(200);
    const refused = await download(enc(API), api.archiveAdmin.jwt); // 5 with the hidden one
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toMatch(/5 customers match, at most 4 rows.*ID_VAULT_EXPORT_MAX_ROWS/);
    expect(await lastEvent()).toMatchObject({ outcome: 'denied', details: { reason: 'row-cap' } });
    expect((await download(enc(`${API}?${q({ filters: { kind: 'personal' } })}`), api.archiveAdmin.jwt)).status).toBe(200);
  });

  test('exports per day: counted per user or token from the audit trail; refusals do not count', async () => {
    setCaps({ perDay: 2 });
    const fresh = await apiUser('customer_service_lead', 'north');
    const other = await apiUser('customer_service_lead', 'north');
    expect((await download(API, fresh.jwt)).status).toBe(200);
    expect((await download(`${API}?format=jsonl`, fresh.jwt)).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const refused = await download(API, fresh.jwt);
      expect(refused.status).toBe(403);
      expect(refused.json.error.message).toMatch(/at most 2 exports in 24 hours.*ID_VAULT_EXPORTS_PER_DAY/);
    }
    expect(await lastEvent()).toMatchObject({ outcome: 'denied', actorId: String(fresh.id), details: { reason: 'daily-cap' } });
    expect((await download(API, other.jwt)).status).toBe(200); // someone else's cap
    // Events older than 24 hours no longer count.
    await app.knex('idv_audit_events').where({ action: 'customer.export', actor_id: String(fresh.id), outcome: 'success' }).update({ occurred_at: new Date(Date.now() - 25 * 3600_000).toISOString() });
    expect((await download(API, fresh.jwt)).status).toBe(200);
  });
});

describe('a client that goes away part-way', () => {
  const BULK = 520; // more than a page (500)

  test('recorded as a failure, with the rows produced', async () => {
    const data = Array.from({ length: BULK }, (_, i) => ({ kind: 'enterprise', name: `Bulk ${i}`, industry: 'bulk-abort', hidden: false }));
    await app.strapi.plugin('id-vault').service('access').asSystem(async () => {
      for (let i = 0; i < data.length; i += 130) await app.strapi.db.query(UIDS.customer).createMany({ data: data.slice(i, i + 130) });
    });
    // Holds the second page until the client has gone, so it is gone while the stream is under way.
    let gone!: () => void;
    const clientGone = new Promise<void>((resolve) => (gone = resolve));
    app.strapi.documents.use(async (ctx: any, next: () => Promise<unknown>) => {
      if (ctx.uid === UIDS.customer && ctx.action === 'findMany' && ctx.params?.start >= 500 && ctx.params?.filters && JSON.stringify(ctx.params.filters).includes('bulk-abort')) await clientGone;
      return next();
    });
    const user = await apiUser('archive_admin', null);
    const server = app.strapi.server.httpServer;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const path = enc(`${API}?${q({ filters: { industry: 'bulk-abort' } })}`);
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: server.address().port, path, headers: bearer(user.jwt) }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined); // the destroy above
    });
    let event: any;
    for (let i = 0; i < 100 && !event; i++) {
      await new Promise((r) => setTimeout(r, 50));
      event = await lastEvent({ actorId: String(user.id), outcome: 'failure' });
    }
    gone();
    expect(event).toMatchObject({ actorType: 'user', details: { reason: 'aborted', format: 'csv', filters: ['industry'] } });
    expect(event.details.rows).toBeGreaterThan(0);
    expect(event.details.rows).toBeLessThan(BULK);
    expect(event.details.sha256).toBeUndefined();
  });
});
