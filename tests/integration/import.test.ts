/**
 * Bulk import (`npm run import -- file.csv|xlsx`) against a real Strapi: every row is checked first and the
 * rejected ones are reported by line and field without a single value (terminal, report file, audit event);
 * by default nothing is written then, `--skip-invalid` imports the others; what is imported reads back over
 * HTTP with its values and is ciphertext at rest; a 10,000-customer import killed with kill -9 in the middle
 * resumes on a rerun with exactly 10,000 customers and nothing half written; an XLSX workbook imports too.
 * Files are generated from synthetic people in a temp dir that is deleted afterwards.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { spawn } from 'child_process';
import qs from 'qs';
import { apiToken, bootStrapi, ROOT, runScript, systemDocs, type TestApp } from '../helpers/strapi';
import { syntheticCompany, syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { UIDS } from '../../plugins/id-vault/shared';

const CUSTOMERS = '/api/id-vault/customers';
const BULK = 10_000;
const BATCH = 100;
const q = (o: object) => qs.stringify(o, { encodeValuesOnly: true });
const saved = process.env.ID_VAULT_IMPORT_BATCH;

let app: TestApp;
let token: string;
let dir: string;
let team: { documentId: string; name: string };

beforeAll(async () => {
  app = await bootStrapi();
  token = await apiToken(app.strapi, 'full-access');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idv-import-'));
  team = await systemDocs(app, UIDS.orgUnit).create({ data: { name: 'Import Branch' } });
  for (const name of ['vip', 'new']) await systemDocs(app, UIDS.tag).create({ data: { name } });
  process.env.ID_VAULT_IMPORT_BATCH = String(BATCH);
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  if (saved === undefined) delete process.env.ID_VAULT_IMPORT_BATCH;
  else process.env.ID_VAULT_IMPORT_BATCH = saved;
  await app?.close();
});

const bearer = () => ({ Authorization: `Bearer ${token}` });
const csvCell = (v: unknown) => (v === undefined || v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
const writeCsv = (name: string, rows: unknown[][]) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
  return file;
};
const customerCount = async () => Number((await app.knex('idv_customers').count({ n: '*' }).first()).n);
const byIdNumber = async (idNumber: string) => {
  const res = await app.http().get(`${CUSTOMERS}?${q({ filters: { idNumber: { $eq: idNumber } }, populate: ['team', 'tags'] })}`).set(bearer());
  expect(res.status).toBe(200);
  return res.body.data as any[];
};
const importEvents = async (action: string) =>
  (await app.knex('idv_audit_events').where('action', action).orderBy('id')).map((e: any) => ({ outcome: e.outcome, actor: e.actor_type, details: typeof e.details === 'string' ? JSON.parse(e.details) : e.details }));

describe('a file with valid and invalid rows', () => {
  const alice = syntheticPerson(9001);
  const acme = syntheticCompany(9002);
  const carol = syntheticPerson(9003);
  const broken = [syntheticPerson(9004), syntheticPerson(9005), syntheticPerson(9006), syntheticPerson(9007), syntheticPerson(9008)];
  const brokenCompany = syntheticCompany(9009);
  const badId = broken[0].idNumber.slice(0, 17) + (broken[0].idNumber[17] === '1' ? '2' : '1');
  const bad = { phone: '+1-bad-phone', email: 'not-an-email@', kind: 'robot-kind', unit: 'Nowhere Unit', tag: 'ghost-tag', date: '2030-02-30' };
  // Attribute names and English labels mixed; display names for enumeration values on some rows.
  const header = ['kind', 'Name', 'ID type', 'idNumber', 'Phone', 'email', 'address', 'Unified social credit code', 'legalRepresentative', 'Org unit', 'tags', 'idExpiresAt', 'consentAt'];
  const rows = () => [
    header,
    ['Person', alice.name, 'Resident ID card', alice.idNumber, alice.phone, alice.email, alice.address, '', '', team.name, 'vip;new', '2030-01-31', '2026-01-02T03:04:05Z'], // line 2
    ['enterprise', acme.name, '', '', acme.phone, acme.email, acme.address, acme.creditCode, acme.legalRepresentative, team.documentId, '', '', ''], // 3
    ['personal', broken[0].name, 'resident-id', badId, '', '', '', '', '', '', '', '', ''], // 4: checksum
    ['personal', broken[1].name, 'resident-id', broken[1].idNumber, bad.phone, bad.email, broken[1].address, '', '', '', '', '', ''], // 5: phone, e-mail
    [bad.kind, '', '', '', broken[2].phone, '', '', '', '', '', '', '', ''], // 6: kind, name missing
    ['personal', broken[3].name, '', '', '', broken[3].email, '', '', '', bad.unit, `vip;${bad.tag}`, '', ''], // 7: unknown unit and tag
    ['personal', broken[4].name, 'passport', broken[4].idNumber, '', '', '', '', '', '', '', bad.date, ''], // 8: no such date
    ['enterprise', brokenCompany.name, '', '', '', '', '', acme.creditCode, brokenCompany.legalRepresentative, '', '', '', ''], // 9: credit code of line 3 again
    ['personal', carol.name, 'resident-id', carol.idNumber, carol.phone, '', '', '', '', '', '', '', ''], // 10
  ];
  const values = [
    ...[alice, carol, ...broken].flatMap((p) => [p.name, p.idNumber, p.phone, p.email, p.address]),
    ...[acme, brokenCompany].flatMap((c) => [c.name, c.creditCode, c.legalRepresentative, c.phone, c.email, c.address]),
    badId,
    ...Object.values(bad),
  ];
  const expectNoValue = (text: string) => {
    for (const v of values) expect(text).not.toContain(v);
  };
  const REJECTED = [
    'line 4, idNumber: must be a valid 18-character resident ID number (GB 11643 check digit and a real birth date)',
    'line 5, phone: must be a mainland mobile number or an E.164 phone number',
    'line 5, email: must be a valid e-mail address',
    'line 6, kind: must be one of: personal, enterprise (or their display names)',
    'line 6, name: is required',
    'line 7, team: names no org unit (by name or documentId)',
    'line 7, tags: names a tag that does not exist',
    'line 8, idExpiresAt: must be a date written YYYY-MM-DD',
    'line 9, creditCode: repeats the value of line 3 (must be unique)',
  ];
  let file: string;

  beforeAll(() => {
    file = writeCsv('mixed.csv', rows());
  });

  test('stops by default: nothing written, the rejected rows named by line and field, no value anywhere', async () => {
    const before = await customerCount();
    const report = path.join(dir, 'report-stop.json');
    const run = await runScript('import.js', [file, '--report', report]);
    expect(run.status).toBe(2);
    for (const line of REJECTED) expect(run.stderr).toContain(`  ${line}\n`);
    expect(run.stderr).toContain('nothing imported — 6 of 9 rows rejected');
    expectNoValue(run.stdout + run.stderr);
    const written = fs.readFileSync(report, 'utf8');
    expectNoValue(written);
    expect(JSON.parse(written)).toMatchObject({ outcome: 'rejected', rows: 9, valid: 3, rejected: 6 });
    expect(JSON.parse(written).problems.map((p: any) => `line ${p.line}, ${p.field}: ${p.message}`)).toEqual(REJECTED);
    expect(await customerCount()).toBe(before);
    const [failed] = await importEvents('import.failed');
    expect(failed).toEqual({ outcome: 'rejected', actor: 'system', details: { fileSha256: expect.stringMatching(/^[0-9a-f]{64}$/), format: 'csv', rows: 9, valid: 3, rejected: 6, reason: 'rejected-rows', problems: 9 } });
  });

  test('--skip-invalid imports the valid rows through the storage boundary; they read back over HTTP; a rerun imports nothing', async () => {
    const before = await customerCount();
    const report = path.join(dir, 'report-skip.json');
    const run = await runScript('import.js', [file, '--skip-invalid', '--report', report]);
    expect(run.stderr).not.toMatch(/failed/);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('import: 9 rows checked: 3 valid, 6 rejected (skipped: --skip-invalid).');
    expect(run.stdout).toMatch(/done — 3 customers imported by this run; 6 row\(s\) rejected/);
    expectNoValue(run.stdout + run.stderr + fs.readFileSync(report, 'utf8'));
    expect(await customerCount()).toBe(before + 3);

    const [a] = await byIdNumber(alice.idNumber);
    expect(a).toMatchObject({ kind: 'personal', name: alice.name, idType: 'resident-id', idNumber: alice.idNumber, phone: alice.phone, email: alice.email, address: alice.address, idExpiresAt: '2030-01-31', consentAt: '2026-01-02T03:04:05.000Z', team: { documentId: team.documentId } });
    expect(a.tags.map((t: any) => t.name).sort()).toEqual(['new', 'vip']);
    const [c] = await byIdNumber(carol.idNumber);
    expect(c).toMatchObject({ name: carol.name, phone: carol.phone, email: null, team: null });
    const company = await app.http().get(`${CUSTOMERS}?${q({ filters: { creditCode: { $eq: acme.creditCode } }, populate: ['team'] })}`).set(bearer());
    expect(company.body.data).toEqual([expect.objectContaining({ kind: 'enterprise', name: acme.name, legalRepresentative: acme.legalRepresentative, phone: acme.phone, email: acme.email, address: acme.address, team: expect.objectContaining({ documentId: team.documentId }) })]);
    // At rest: ciphertext, a data key and blind-index rows per customer, a customer.create event each (system).
    for (const doc of [a, c]) {
      const row = await app.knex('idv_customers').where('document_id', doc.documentId).first();
      expect(row.id_number).toMatch(/^\$idv1\$/);
      expect(row.phone).toMatch(/^\$idv1\$/);
      expect(Number((await app.knex('idv_blind_indexes').where({ doc_id: doc.documentId }).count({ n: '*' }).first()).n)).toBeGreaterThanOrEqual(2);
      expect((await app.knex('idv_audit_events').where({ action: 'customer.create', subject_id: doc.documentId }).first()).actor_type).toBe('system');
    }
    expect(a.documentsComplete).toBe(false);
    const [completed] = await importEvents('import.completed');
    expect(completed).toEqual({
      outcome: 'success',
      actor: 'system',
      details: { fileSha256: expect.stringMatching(/^[0-9a-f]{64}$/), format: 'csv', rows: 9, valid: 3, rejected: 6, imported: 3, importedBefore: 0, resumedAfterLine: 0, skipInvalid: true },
    });
    expectNoValue(JSON.stringify(await app.knex('idv_audit_events').whereLike('action', 'import.%')));

    const again = await runScript('import.js', [file, '--skip-invalid']);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/was imported already: 3 customers\. Nothing to do\./);
    expect(await customerCount()).toBe(before + 3);
  });

  test('an unknown column stops the import and is named by its position, not its text', async () => {
    const odd = writeCsv('odd-header.csv', [['name', alice.name], ['x', 'y']]);
    const run = await runScript('import.js', [odd, '--skip-invalid']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('line 1, column 2 (B): is not an attribute of the customer that an import can write');
    expect(run.stdout + run.stderr).not.toContain(alice.name);
  });
});

test('a 10,000-customer import killed with kill -9 in the middle resumes on a rerun: exactly 10,000, each readable with its values', async () => {
  const seeds = Array.from({ length: BULK }, (_, i) => 20_000 + i);
  const people = new Map(seeds.map((s) => [syntheticPerson(s).name, syntheticPerson(s)]));
  const file = writeCsv('bulk.csv', [
    ['kind', 'name', 'idType', 'idNumber', 'phone', 'email', 'address', 'consentScope'],
    ...[...people.values()].map((p) => ['personal', p.name, 'resident-id', p.idNumber, p.phone, p.email, p.address, 'bulk-import']),
  ]);
  const before = await customerCount();
  const keysBefore = Number((await app.knex('idv_data_keys').whereLike('ref', `${UIDS.customer}#%`).count({ n: '*' }).first()).n);
  const eventsBefore = Number((await app.knex('idv_audit_events').where('action', 'customer.create').count({ n: '*' }).first()).n);

  // Start it, wait until its progress bar (on stderr) shows rows done, kill -9.
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'import.js'), file], { env: process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let progress = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const killed = new Promise<number>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      progress += chunk;
      const done = [...progress.matchAll(/\| (\d+)\/10000 customers/g)].map((m) => Number(m[1]));
      if (done.some((n) => n >= 1000 && n < BULK) && !child.killed) {
        child.kill('SIGKILL');
        resolve(Math.max(...done));
      }
    });
    child.on('exit', () => resolve(-1));
  });
  const shown = await killed;
  await exited;
  expect(shown).toBeGreaterThanOrEqual(1000);

  // Nothing half written: whole batches only, each customer with its data key, index rows and audit event, and the mark says so.
  const partial = (await customerCount()) - before;
  expect(partial).toBeGreaterThanOrEqual(shown);
  expect(partial).toBeLessThan(BULK);
  expect(partial % BATCH).toBe(0);
  const mark = await app.knex('idv_import_runs').orderBy('id', 'desc').first();
  expect({ status: mark.status, imported: Number(mark.imported), doneThroughLine: Number(mark.done_through_line) }).toEqual({ status: 'running', imported: partial, doneThroughLine: partial + 1 });
  expect(Number((await app.knex('idv_data_keys').whereLike('ref', `${UIDS.customer}#%`).count({ n: '*' }).first()).n)).toBe(keysBefore + partial);
  expect(Number((await app.knex('idv_audit_events').where('action', 'customer.create').count({ n: '*' }).first()).n)).toBe(eventsBefore + partial);

  const rerun = await runScript('import.js', [file]);
  expect(rerun.stderr).not.toMatch(/failed/);
  expect(rerun.status).toBe(0);
  expect(rerun.stdout).toContain(`resuming — ${partial} of them were imported by an earlier run of this file.`);
  expect(rerun.stdout).toContain(`done — ${BULK - partial} customers imported by this run, ${partial} by an earlier one`);
  expect(await customerCount()).toBe(before + BULK);
  expect(Number((await app.knex('idv_customers').where('consent_scope', 'bulk-import').countDistinct({ n: 'name' }).first()).n)).toBe(BULK);
  expect(Number((await app.knex('idv_data_keys').whereLike('ref', `${UIDS.customer}#%`).count({ n: '*' }).first()).n)).toBe(keysBefore + BULK);
  const [completed] = (await importEvents('import.completed')).filter((e: any) => e.details.rows === BULK);
  expect(completed.details).toMatchObject({ rows: BULK, valid: BULK, rejected: 0, imported: BULK - partial, importedBefore: partial, resumedAfterLine: partial + 1 });

  // Every one over HTTP, decrypted for a full-access token, with its values; a sample also found by its ID number.
  const seen = new Set<string>();
  for (let page = 1; ; page += 1) {
    const res = await app.http().get(`${CUSTOMERS}?${q({ filters: { consentScope: { $eq: 'bulk-import' } }, sort: ['id:asc'], pagination: { page, pageSize: 100 } })}`).set(bearer());
    expect(res.status).toBe(200);
    expect(res.body.meta.pagination.total).toBe(BULK);
    for (const c of res.body.data) {
      const p = people.get(c.name);
      expect(p).toBeDefined();
      expect({ idNumber: c.idNumber, phone: c.phone, email: c.email, address: c.address, idType: c.idType }).toEqual({ idNumber: p!.idNumber, phone: p!.phone, email: p!.email, address: p!.address, idType: 'resident-id' });
      seen.add(c.name);
    }
    if (page >= res.body.meta.pagination.pageCount) break;
  }
  expect(seen.size).toBe(BULK);
  for (const i of [0, partial - 1, partial, partial + 1, BULK - 1]) {
    const p = syntheticPerson(seeds[i]);
    const found = (await byIdNumber(p.idNumber)).filter((c) => c.name === p.name);
    expect(found).toEqual([expect.objectContaining({ name: p.name, idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address })]);
  }
}, 900_000);

test('an XLSX workbook imports (labels as headers, numbers and dates as cells, display names)', async () => {
  const ExcelJS = require('exceljs');
  const p = syntheticPerson(31_001);
  const c = syntheticCompany(31_002);
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Customers');
  sheet.addRow(['Kind', 'Name', 'ID type', 'ID number', 'Phone', 'E-mail', 'Address', 'Unified social credit code', 'Legal representative', 'Tags', 'ID expires on', 'Hidden']);
  // The phone as a number cell (Excel's habit), the expiry as a date cell, kind by its Chinese display name.
  sheet.addRow(['个人', p.name, 'resident-id', p.idNumber, Number(p.phone.slice(3)), p.email, p.address, null, null, 'vip', new Date(Date.UTC(2031, 5, 30)), 'no']);
  sheet.addRow(['Company', c.name, null, null, c.phone, c.email, c.address, c.creditCode, c.legalRepresentative, 'new；vip', null, false]);
  const file = path.join(dir, 'customers.xlsx');
  await workbook.xlsx.writeFile(file);
  const before = await customerCount();
  const run = await runScript('import.js', [file]);
  expect(run.stderr).not.toMatch(/failed|rejected/);
  expect(run.status).toBe(0);
  expect(run.stdout).toContain('import: 2 rows checked: 2 valid, 0 rejected.');
  expect(await customerCount()).toBe(before + 2);
  const [person] = await byIdNumber(p.idNumber);
  expect(person).toMatchObject({ kind: 'personal', name: p.name, idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address, idExpiresAt: '2031-06-30', hidden: false });
  expect(person.tags.map((t: any) => t.name)).toEqual(['vip']);
  const company = (await app.http().get(`${CUSTOMERS}?${q({ filters: { creditCode: { $eq: c.creditCode } }, populate: ['tags'] })}`).set(bearer())).body.data;
  expect(company).toEqual([expect.objectContaining({ kind: 'enterprise', name: c.name, legalRepresentative: c.legalRepresentative, phone: c.phone })]);
  expect(company[0].tags.map((t: any) => t.name).sort()).toEqual(['new', 'vip']);
  const [event] = (await importEvents('import.completed')).filter((e: any) => e.details.format === 'xlsx');
  expect(event.details).toMatchObject({ format: 'xlsx', rows: 2, valid: 2, rejected: 0, imported: 2 });
});

test('a second import of the same file while the first writes never writes a row twice', async () => {
  const people = Array.from({ length: 3_000 }, (_, i) => syntheticPerson(40_000 + i));
  const file = writeCsv('twice.csv', [['name', 'idType', 'idNumber', 'phone', 'consentScope'], ...people.map((p) => [p.name, 'resident-id', p.idNumber, p.phone, 'twice'])]);
  const count = async () => Number((await app.knex('idv_customers').where('consent_scope', 'twice').count({ n: '*' }).first()).n);
  // The command in a child process; once it is writing, the same import in this test's process (already
  // booted: two Strapi start-ups at one instant contend for SQLite's lock in Strapi's own bootstrap).
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'import.js'), file], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c));
  const childDone = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (c: Buffer) => {
      out.stderr += c;
      if (/\| [1-9]\d*\/3000 customers/.test(out.stderr)) resolve();
    });
    child.on('exit', () => resolve());
  });
  const here = await app.strapi
    .plugin('id-vault')
    .service('import')
    .run(file)
    .then((r: any) => ({ ok: true, outcome: r.outcome, message: '' }), (e: Error) => ({ ok: false, outcome: null, message: e.message }));
  const status = await childDone;
  // Whichever commits a batch first goes on; the other fails at its next batch and says why (or, started
  // after the end, finds the file imported already).
  const BUSY = 'another import of this file is running (or finished) in another process';
  if (status === 0) {
    expect(out.stdout).toMatch(/done — \d+ customers imported by this run/);
    expect(here.ok ? here.outcome : here.message).toMatch(here.ok ? /already-imported/ : new RegExp(BUSY.replace(/[()]/g, '\\$&')));
  } else {
    expect(status).toBe(1);
    expect(out.stderr).toContain(BUSY);
    expect(here).toEqual({ ok: true, outcome: 'completed', message: '' });
  }
  expect(await count()).toBe(people.length);
  expect(Number((await app.knex('idv_customers').where('consent_scope', 'twice').countDistinct({ n: 'name' }).first()).n)).toBe(people.length);
  const lost = Number(status !== 0) + Number(!here.ok);
  const failed = (await importEvents('import.failed')).filter((e: any) => e.details.reason === 'write');
  expect(failed).toHaveLength(lost);
  for (const e of failed) expect(e).toMatchObject({ outcome: 'failure', actor: 'system', details: { reason: 'write', line: null, error: 'ImportWriteError' } });
});
