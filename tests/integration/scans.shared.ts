/**
 * Identity-document scans end to end, over HTTP against a real Strapi, for one scan store (local disk or
 * S3 against s3rver): intake (type from the bytes, cleaning, limits, a corpus of bad files), what is
 * really stored (ciphertext only, no temp files), completeness, the access matrix of every scan route,
 * tampering, deletion, audit. scans.test.ts runs it on the local store, scans-s3.test.ts on S3.
 */
import fs from 'fs';
import path from 'path';
import http from 'http';
import qs from 'qs';
import { randomBytes } from 'crypto';
import sharp from 'sharp';
import { bootStrapi, apiToken, ROOT, type TestApp, systemDocs } from '../helpers/strapi';
import { syntheticPerson } from '../../plugins/id-vault/server/src/domain';
import { openObject } from '../../plugins/id-vault/server/src/crypto';
import { UIDS } from '../../plugins/id-vault/shared';
import * as corpus from '../fixtures/scans/corpus';

const API = '/api/id-vault';
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const MARKER = corpus.MARKER;
const MB = 1024 * 1024;

export interface StoreSetup {
  kind: 'local' | 's3';
  /** Sets the environment for the store before Strapi boots; returns a clean-up. */
  before: () => Promise<() => Promise<void>>;
}

export const scanSuite = (setup: StoreSetup) => {
  let app: TestApp;
  let cleanup: () => Promise<void>;
  const tmpDir = path.join(ROOT, '.tmp', 'test', `tmpdir-${randomBytes(4).toString('hex')}`);
  const savedTmp = process.env.TMPDIR;
  const auth: Record<string, Record<string, string>> = {};
  const ids: Record<string, string> = {};
  const units: Record<string, string> = {};
  let badFiles: corpus.BadScan[] = [];

  const docs = (uid: string) => systemDocs(app, uid);
  const scans = () => app.strapi.plugin('id-vault').service('scans');
  const scanRows = () => app.knex('idv_scans').select('*');
  const storedNames = async (): Promise<string[]> => (await scans().store().list()).sort();

  /** An admin user with an ID Vault default role (by code), member of `unit`; returns its JWT. */
  const adminOf = async (roleCode: string, name: string, unit: string | null) => {
    const role = await app.strapi.db.query('admin::role').findOne({ where: { code: roleCode } });
    const email = `${roleCode}-${randomBytes(3).toString('hex')}@example.test`;
    const password = 'Scan-test-Pw1';
    const user = await app.strapi.service('admin::user').create({ email, firstname: name, lastname: 'Tester', password, isActive: true, roles: [role.id] });
    if (unit) await docs(UIDS.orgUnit).update({ documentId: unit, data: { members: { connect: [user.documentId] } } });
    const res = await app.http().post('/admin/login').send({ email, password });
    if (res.status !== 200) throw new Error(`admin login of ${roleCode} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return bearer(res.body.data.token);
  };

  /** A users-permissions user of a default role type, member of `unit`; returns its JWT header. */
  const apiUserOf = async (roleType: string, unit: string | null) => {
    const role = await app.strapi.db.query('plugin::users-permissions.role').findOne({ where: { type: roleType } });
    const name = `${roleType}-${randomBytes(3).toString('hex')}`;
    const user = await app.strapi.db
      .query('plugin::users-permissions.user')
      .create({ data: { username: name, email: `${name}@example.test`, provider: 'local', confirmed: true, blocked: false, role: role.id } });
    if (unit) await app.strapi.db.query(UIDS.orgUnit).update({ where: { documentId: unit }, data: { apiMembers: { connect: [user.id] } } });
    return bearer(app.strapi.plugin('users-permissions').service('jwt').issue({ id: user.id }));
  };

  const upload = (who: Record<string, string>, doc: string, files: Array<{ bytes: Buffer; name?: string }>, prefix = API) => {
    let r = app.http().post(`${prefix}/identity-documents/${doc}/scans`).set(who);
    files.forEach((f, i) => (r = r.attach('files', f.bytes, { filename: f.name ?? `scan-${i}.jpg`, contentType: 'image/jpeg' })));
    return r;
  };

  /** Decrypts a stored object the way the service does (the test's own look at what was stored). */
  const decryptStored = async (row: any): Promise<Buffer> => {
    const keys = app.strapi.plugin('id-vault').service('keys');
    await keys.load([row.key_id]);
    return openObject(await scans().store().get(row.object_name), (id: string) => keys.cached(id), `${UIDS.identityDocument}#${row.document_ref}/${row.object_name}`);
  };

  const auditOf = async (action: string) =>
    (await app.knex('idv_audit_events').where({ action }).orderBy('id')).map((e: any) => ({ ...e, details: typeof e.details === 'string' ? JSON.parse(e.details) : e.details }));

  beforeAll(async () => {
    fs.mkdirSync(tmpDir, { recursive: true });
    // libvips and formidable take the temp directory from TMPDIR: it must stay empty.
    process.env.TMPDIR = tmpDir;
    badFiles = await corpus.bad();
    cleanup = await setup.before();
    app = await bootStrapi();
    const full = await apiToken(app.strapi, 'full-access');
    auth.full = bearer(full);
    auth.readOnly = bearer(await apiToken(app.strapi, 'read-only'));
    auth.public = {};
    units.north = (await docs(UIDS.orgUnit).create({ data: { name: 'Scan North' } })).documentId;
    units.south = (await docs(UIDS.orgUnit).create({ data: { name: 'Scan South' } })).documentId;

    const customer = async (key: string, seed: number, team: string, extra: object = {}) => {
      const p = syntheticPerson(seed);
      const c = await docs(UIDS.customer).create({ data: { kind: 'personal', name: `张${key}`, idType: 'resident-id', idNumber: p.idNumber, team, ...extra } });
      ids[key] = c.documentId;
      ids[`doc-${key}`] = (await docs(UIDS.identityDocument).create({ data: { type: 'id-front', customer: c.documentId } })).documentId;
    };
    await customer('north', 1101, units.north);
    await customer('south', 1102, units.south);
    await customer('hidden', 1103, units.north, { hidden: true });
    await customer('quota', 1104, units.north);
    await customer('complete', 1105, units.north);

    auth.apiSales = await apiUserOf('sales_rep', units.north);
    auth.apiLead = await apiUserOf('customer_service_lead', units.north);
    auth.apiArchive = await apiUserOf('archive_admin', null);
    auth.adminSuper = await adminOf('strapi-super-admin', 'Super', null);
    auth.adminSales = await adminOf('id-vault-sales-rep', '测试员', units.north);
    auth.adminLead = await adminOf('id-vault-customer-service-lead', 'Lead', units.north);
    auth.adminEditor = await adminOf('strapi-editor', 'Editor', null);
  });

  afterAll(async () => {
    await app?.close();
    await cleanup?.();
    process.env.TMPDIR = savedTmp;
    fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  describe(`scans on the ${setup.kind} store`, () => {
    it('a JPEG with GPS EXIF and Orientation 6 is stored rotated, with no metadata, sealed', async () => {
      const input = await corpus.jpegWithGpsAndOrientation6();
      const inMeta = await sharp(input).metadata();
      expect(inMeta.orientation).toBe(6);
      const res = await upload(auth.full, ids['doc-north'], [{ bytes: input, name: `${MARKER}.jpg` }]);
      expect(res.status).toBe(201);
      const [scan] = res.body.data;
      expect(scan).toEqual({
        id: expect.stringMatching(/^[a-z0-9]{24}$/),
        document: ids['doc-north'],
        kind: 'jpeg',
        mime: 'image/jpeg',
        size: expect.any(Number),
        width: inMeta.height,
        height: inMeta.width,
        cleaned: true,
        uploadedAt: expect.any(String),
      });
      const row = (await scanRows()).find((r: any) => r.document_id === scan.id);
      expect(row.store).toBe(setup.kind);
      const plain = await decryptStored(row);
      const out = await sharp(plain).metadata();
      expect({ w: out.width, h: out.height, orientation: out.orientation, exif: out.exif, xmp: out.xmp, icc: out.icc, iptc: out.iptc, comments: out.comments }).toEqual({
        w: inMeta.height,
        h: inMeta.width,
        orientation: undefined,
        exif: undefined,
        xmp: undefined,
        icc: undefined,
        iptc: undefined,
        comments: undefined,
      });
      expect(plain.includes(MARKER)).toBe(false);
      // The stored object is ciphertext, bigger by its header and tags, named at random.
      expect(row.stored_size).toBeGreaterThan(plain.length);
      expect(row.object_name).toMatch(/^[0-9a-f]{32}$/);
    });

    it('PNG, WebP, PDF, DOCX and DOC are accepted; PDF and DOCX lose their metadata, DOC is marked not cleaned', async () => {
      const files = [await corpus.png(), await corpus.webp(), await corpus.pdfWithInfo(), await corpus.docx(), await corpus.doc()];
      const res = await upload(auth.full, ids['doc-north'], files.map((bytes) => ({ bytes })));
      expect(res.status).toBe(201);
      expect(res.body.data.map((s: any) => [s.kind, s.cleaned])).toEqual([
        ['png', true],
        ['webp', true],
        ['pdf', true],
        ['docx', true],
        ['doc', false],
      ]);
      const rows = await scanRows();
      for (const s of res.body.data.slice(2, 4)) {
        const plain = await decryptStored(rows.find((r: any) => r.document_id === s.id));
        expect(plain.includes(MARKER)).toBe(false);
      }
    });

    it('the store holds no plaintext: no file signature, no planted marker, in any object', async () => {
      const names = await storedNames();
      expect(names.length).toBeGreaterThanOrEqual(6);
      // Long signatures anywhere; 3-byte ones where a plaintext file would begin (start, end of header):
      // anywhere, random ciphertext would match them by chance.
      const anywhere = [Buffer.from('JFIF'), Buffer.from('Exif'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('IHDR'), Buffer.from('%PDF-'), Buffer.from('WEBPVP8'), Buffer.from('word/document.xml'), Buffer.from(MARKER)];
      const soi = Buffer.from([0xff, 0xd8, 0xff]);
      for (const name of names) {
        const raw = await scans().store().get(name);
        expect(raw.subarray(0, 4).toString()).toBe('IDVS');
        const headerEnd = 23 + raw[22];
        expect({ name, found: anywhere.filter((sig) => raw.includes(sig)).map(String) }).toEqual({ name, found: [] });
        expect([raw.subarray(0, 3).equals(soi), raw.subarray(headerEnd, headerEnd + 3).equals(soi)]).toEqual([false, false]);
      }
      if (setup.kind === 'local') {
        // Nothing under public/, and the Media Library lists no scan.
        const uploads = fs.readdirSync(path.join(ROOT, 'public', 'uploads')).filter((f) => f !== '.gitkeep');
        expect(uploads).toEqual([]);
      }
      // With S3, the Media Library's provider is private too (the aws-s3 provider defaults to public-read).
      if (setup.kind === 's3') expect(await app.strapi.plugin('upload').provider.isPrivate()).toBe(true);
      const media = await app.http().get('/upload/files').set(auth.adminSuper);
      expect(media.status).toBe(200);
      expect(media.body.results ?? media.body).toEqual([]);
    });

    it('refuses every file of the bad corpus with a 4xx, storing nothing and leaving no temp file', async () => {
      expect(badFiles.length).toBeGreaterThanOrEqual(30);
      const rowsBefore = (await scanRows()).length;
      const namesBefore = await storedNames();
      const rejectedBefore = (await auditOf('scan.rejected')).length;
      for (const bad of badFiles) {
        const res = await upload(auth.full, ids['doc-north'], [{ bytes: bad.bytes, name: 'photo.jpg' }]);
        expect({ file: bad.name, status: res.status }).toEqual({ file: bad.name, status: bad.expect });
        expect(res.body.error.message).not.toMatch(/photo\.jpg/);
      }
      // One good and one bad file together: all or nothing.
      const mixed = await upload(auth.full, ids['doc-north'], [{ bytes: await corpus.png() }, { bytes: badFiles[0].bytes }]);
      expect(mixed.status).toBeGreaterThanOrEqual(400);
      expect((await scanRows()).length).toBe(rowsBefore);
      expect(await storedNames()).toEqual(namesBefore);
      expect(fs.readdirSync(tmpDir)).toEqual([]);
      const rejected = (await auditOf('scan.rejected')).slice(rejectedBefore);
      expect(rejected.length).toBe(badFiles.length + 1);
      for (const e of rejected) {
        expect(e.subject_id).toBe(ids['doc-north']);
        expect(JSON.stringify(e)).not.toMatch(/photo|MARKER/);
      }
    });

    it('an HTML file sent as image/jpeg named .jpg is refused as text/html (type from the bytes)', async () => {
      const res = await upload(auth.full, ids['doc-north'], [{ bytes: Buffer.from('<!doctype html><html><script>alert(1)</script></html>'), name: 'id.jpg' }]);
      expect(res.status).toBe(415);
      expect(res.body.error).toMatchObject({ status: 415, name: 'ScanRejected', details: { detected: expect.stringMatching(/html|text|unknown/) } });
    });

    it('413 for a file over the limit — before the body is read when its length says so, and mid-stream otherwise', async () => {
      // Declared length over the limit: answered at once, without reading the body.
      const server = app.strapi.server.httpServer;
      if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const early = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: server.address().port, method: 'POST', path: `${API}/identity-documents/${ids['doc-north']}/scans`, headers: { ...auth.full, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(500 * MB) } },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          }
        );
        req.on('error', reject);
        req.write('--x\r\n'); // and never the rest
      });
      expect(early.status).toBe(413);
      expect(JSON.parse(early.body).error.message).toMatch(/larger than/);
      const big = (await corpus.oversized()).bytes;
      expect(big.length).toBeGreaterThan(10 * MB);
      const res = await upload(auth.full, ids['doc-north'], [{ bytes: big }]).catch((e: any) => e.response ?? { status: 'connection closed' });
      expect(res.status).toBe(413);
      expect(fs.readdirSync(tmpDir)).toEqual([]);
    });

    it('the customer quota: 413 saying what is left, and two parallel uploads cannot both squeeze in', async () => {
      const png = await corpus.png();
      const cfg = app.strapi.config.get('plugin::id-vault.scans');
      const saved = cfg.maxCustomerBytes;
      try {
        const first = await upload(auth.full, ids['doc-quota'], [{ bytes: png }]);
        expect(first.status).toBe(201);
        const size = first.body.data[0].size;
        cfg.maxCustomerBytes = size * 2 + Math.floor(size / 2); // room for two more than one, not for three
        const over = await upload(auth.full, ids['doc-quota'], [{ bytes: png }, { bytes: png }]);
        expect(over.status).toBe(413);
        expect(over.body.error.name).toBe('ScanQuotaExceeded');
        expect(over.body.error.message).toMatch(/MB are left/);
        const parallel = await Promise.all([upload(auth.full, ids['doc-quota'], [{ bytes: png }]), upload(auth.full, ids['doc-quota'], [{ bytes: png }])]);
        // One fits (the second of three); both cannot.
        expect(parallel.map((r) => r.status).sort()).toEqual([201, 413]);
        const docsOfCustomer = await app.knex('idv_scans').where({ document_ref: ids['doc-quota'] }).count({ n: '*' }).first();
        expect(Number(docsOfCustomer.n)).toBe(2);
      } finally {
        cfg.maxCustomerBytes = saved;
      }
    });

    it('completeness follows scans, documents and the rules, and is filterable', async () => {
      const get = async () => (await app.http().get(`${API}/customers/${ids.complete}`).set(auth.full)).body.data;
      expect(await get()).toMatchObject({ documentsComplete: false, missingDocuments: ['id-front', 'id-back'] });
      // A document without a scan does not count; with one it does.
      const front = await upload(auth.full, ids['doc-complete'], [{ bytes: await corpus.png() }]);
      expect(front.status).toBe(201);
      expect(await get()).toMatchObject({ documentsComplete: false, missingDocuments: ['id-back'] });
      const back = (await app.http().post(`${API}/identity-documents`).set(auth.full).send({ data: { type: 'id-back', customer: ids.complete } })).body.data.documentId;
      expect(await get()).toMatchObject({ documentsComplete: false, missingDocuments: ['id-back'] });
      const backScan = await upload(auth.full, back, [{ bytes: await corpus.png() }]);
      expect(await get()).toMatchObject({ documentsComplete: true, missingDocuments: [] });
      const filtered = await app.http().get(`${API}/customers?${qs.stringify({ filters: { documentsComplete: { $eq: true } } })}`).set(auth.full);
      expect(filtered.body.data.map((c: any) => c.documentId)).toEqual([ids.complete]);
      // The API cannot write it.
      const forged = await app.http().put(`${API}/customers/${ids.north}`).set(auth.full).send({ data: { documentsComplete: true } });
      expect([200, 400]).toContain(forged.status);
      expect((await app.http().get(`${API}/customers/${ids.north}`).set(auth.full)).body.data.documentsComplete).toBe(false);
      // Deleting the scan, then changing the rules.
      expect((await app.http().delete(`${API}/scans/${backScan.body.data[0].id}`).set(auth.full)).status).toBe(200);
      expect(await get()).toMatchObject({ documentsComplete: false, missingDocuments: ['id-back'] });
      const rules = { personal: [['id-front']], enterprise: [['business-licence']] };
      expect((await app.http().put('/id-vault/required-documents').set(auth.adminSuper).send({ rules })).status).toBe(200);
      expect(await get()).toMatchObject({ documentsComplete: true, missingDocuments: [] });
      const bad = await app.http().put('/id-vault/required-documents').set(auth.adminSuper).send({ rules: { personal: [['selfie']] } });
      expect(bad.status).toBe(400);
      expect((await app.http().put('/id-vault/required-documents').set(auth.adminSales).send({ rules })).status).toBe(403);
      // Deleting the document with the scan takes the scan and its object with it.
      const frontRow = (await scanRows()).find((r: any) => r.document_id === front.body.data[0].id);
      expect((await app.http().delete(`${API}/identity-documents/${ids['doc-complete']}`).set(auth.full)).status).toBe(204);
      expect((await scanRows()).find((r: any) => r.document_id === front.body.data[0].id)).toBeUndefined();
      await new Promise((r) => setTimeout(r, 100));
      expect(await storedNames()).not.toContain(frontRow.object_name);
      expect(await get()).toMatchObject({ documentsComplete: false, missingDocuments: ['id-front'] });
      await app.http().put('/id-vault/required-documents').set(auth.adminSuper).send({ rules: { personal: [['id-front', 'id-back'], ['passport']], enterprise: [['business-licence', 'legal-rep-id-front', 'legal-rep-id-back']] } });
    });

    it('previews and thumbnails are watermarked JPEGs, never cached, never sniffed; downloads are named by the rule', async () => {
      const list = await app.http().get(`${API}/identity-documents/${ids['doc-north']}/scans`).set(auth.full);
      expect(list.status).toBe(200);
      const jpeg = list.body.data.find((s: any) => s.kind === 'jpeg');
      const pdf = list.body.data.find((s: any) => s.kind === 'pdf');
      const docx = list.body.data.find((s: any) => s.kind === 'docx');
      for (const variant of ['preview', 'thumbnail']) {
        const res = await app.http().get(`${API}/scans/${jpeg.id}/${variant}`).set(auth.full).buffer(true);
        expect(res.status).toBe(200);
        expect(res.headers).toMatchObject({ 'content-type': 'image/jpeg', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-disposition': 'inline' });
        const m = await sharp(res.body).metadata();
        expect(Math.max(m.width!, m.height!)).toBeLessThanOrEqual(variant === 'preview' ? 1600 : 320);
      }
      const pdfPreview = await app.http().get(`${API}/scans/${pdf.id}/preview`).set(auth.full).buffer(true);
      expect(pdfPreview.status).toBe(200);
      expect(pdfPreview.headers['content-type']).toBe('application/pdf');
      expect((await app.http().get(`${API}/scans/${docx.id}/preview`).set(auth.full)).status).toBe(409);
      const dl = await app.http().get(`${API}/scans/${jpeg.id}/download`).set(auth.full).buffer(true);
      expect(dl.status).toBe(200);
      const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date()).replace(/-/g, '');
      expect(dl.headers['content-disposition']).toMatch(/^attachment; filename="[\x20-\x7e]+"; /);
      expect(dl.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent(`个人-张*-身份证正面-${day}.jpg`)}`);
      expect(dl.headers['cache-control']).toBe('no-store');
      const views = await auditOf('scan.view');
      expect(views.length).toBeGreaterThanOrEqual(3);
      expect((await auditOf('scan.download')).at(-1)).toMatchObject({ subject_id: ids['doc-north'], outcome: 'success' });
    });

    it('the access matrix of every scan route: scope, hidden customers, each action', async () => {
      const png = await corpus.png();
      const seed = async (key: string) => (await upload(auth.full, ids[`doc-${key}`], [{ bytes: png }])).body.data[0].id as string;
      const scan = { north: await seed('north'), south: await seed('south'), hidden: await seed('hidden') };
      const routes = (key: 'north' | 'south' | 'hidden', prefix: string) => ({
        list: () => app.http().get(`${prefix}/identity-documents/${ids[`doc-${key}`]}/scans`),
        upload: () => app.http().post(`${prefix}/identity-documents/${ids[`doc-${key}`]}/scans`),
        preview: () => app.http().get(`${prefix}/scans/${scan[key]}/preview`),
        thumbnail: () => app.http().get(`${prefix}/scans/${scan[key]}/thumbnail`),
        download: () => app.http().get(`${prefix}/scans/${scan[key]}/download`),
      });
      const status = async (who: string, key: 'north' | 'south' | 'hidden', prefix: string) => {
        const r = routes(key, prefix);
        const out: Record<string, number> = {};
        for (const [name, call] of Object.entries(r)) {
          const req = call().set(auth[who]);
          out[name] = (await (name === 'upload' ? req.attach('files', png, 'x.png') : req)).status;
        }
        return out;
      };
      const all = (s: number) => ({ list: s, upload: s, preview: s, thumbnail: s, download: s });
      const expected: Array<[string, string, 'north' | 'south' | 'hidden', Record<string, number>]> = [
        // Content API
        ['public', API, 'north', all(403)],
        ['readOnly', API, 'north', all(403)],
        ['apiSales', API, 'north', { list: 200, upload: 201, preview: 200, thumbnail: 200, download: 403 }],
        ['apiSales', API, 'south', { list: 404, upload: 404, preview: 404, thumbnail: 404, download: 403 }],
        ['apiSales', API, 'hidden', { list: 404, upload: 404, preview: 404, thumbnail: 404, download: 403 }],
        ['apiLead', API, 'south', { list: 200, upload: 403, preview: 200, thumbnail: 200, download: 403 }],
        ['apiLead', API, 'hidden', { list: 404, upload: 403, preview: 404, thumbnail: 404, download: 403 }],
        ['apiArchive', API, 'hidden', { list: 200, upload: 201, preview: 200, thumbnail: 200, download: 200 }],
        // Admin panel
        ['adminSales', '/id-vault', 'north', { list: 200, upload: 201, preview: 200, thumbnail: 200, download: 403 }],
        ['adminSales', '/id-vault', 'south', { list: 404, upload: 404, preview: 404, thumbnail: 404, download: 403 }],
        ['adminSales', '/id-vault', 'hidden', { list: 404, upload: 404, preview: 404, thumbnail: 404, download: 403 }],
        ['adminLead', '/id-vault', 'south', { list: 200, upload: 403, preview: 200, thumbnail: 200, download: 403 }],
        ['adminLead', '/id-vault', 'hidden', { list: 404, upload: 403, preview: 404, thumbnail: 404, download: 403 }],
        ['adminEditor', '/id-vault', 'north', all(403)],
        ['adminSuper', '/id-vault', 'hidden', { list: 200, upload: 201, preview: 200, thumbnail: 200, download: 200 }],
      ];
      const got = [];
      for (const [who, prefix, key] of expected) got.push([who, prefix, key, await status(who, key, prefix)]);
      expect(got).toEqual(expected);
      // Delete: only with scan.delete, and within write scope.
      expect((await app.http().delete(`${API}/scans/${scan.north}`).set(auth.apiSales)).status).toBe(403);
      expect((await app.http().delete(`/id-vault/scans/${scan.north}`).set(auth.adminSales)).status).toBe(403);
      expect((await app.http().delete(`/id-vault/scans/${scan.hidden}`).set(auth.adminSuper)).status).toBe(200);
      expect((await app.http().delete(`${API}/scans/${scan.south}`).set(auth.apiArchive)).status).toBe(200);
      expect((await app.http().get(`${API}/scans/${scan.south}/preview`).set(auth.apiArchive)).status).toBe(404);
      // The Documents panel and the home-page widget are row-scoped too.
      const panel = await app.http().get(`/id-vault/customers/${ids.north}/documents`).set(auth.adminSales);
      expect(panel.status).toBe(200);
      expect(panel.body.data.documents[0]).toMatchObject({ documentId: ids['doc-north'], type: 'id-front', scans: expect.any(Array) });
      expect((await app.http().get(`/id-vault/customers/${ids.south}/documents`).set(auth.adminSales)).status).toBe(404);
      expect((await app.http().get(`/id-vault/customers/${ids.hidden}/documents`).set(auth.adminLead)).status).toBe(404);
      const attention = await app.http().get('/id-vault/documents/attention?days=30').set(auth.adminSales);
      expect(attention.status).toBe(200);
      expect(attention.body.data.incomplete.map((c: any) => c.documentId)).not.toContain(ids.south);
    });

    it('the daily expiry job records each document expiring soon, once a day across processes; the widget lists it', async () => {
      const inTen = new Date(Date.now() + 10 * 86400000).toISOString().slice(0, 10);
      const later = new Date(Date.now() + 90 * 86400000).toISOString().slice(0, 10);
      const soon = (await docs(UIDS.identityDocument).create({ data: { type: 'passport', expiresAt: inTen, customer: ids.north } })).documentId;
      const notYet = (await docs(UIDS.identityDocument).create({ data: { type: 'passport', expiresAt: later, customer: ids.north } })).documentId;
      const documents = app.strapi.plugin('id-vault').service('documents');
      const today = new Date();
      expect(await documents.expiryJob(30, today)).toEqual({ documents: 1 });
      // The same day again — another process, or a restart — does nothing.
      expect(await documents.expiryJob(30, today)).toBeNull();
      const events = (await auditOf('document.expiring')).filter((e: any) => [soon, notYet].includes(e.subject_id));
      expect(events).toEqual([expect.objectContaining({ subject_id: soon, actor_type: 'system', outcome: 'success', details: { type: 'passport', daysLeft: 10 } })]);
      const widget = await app.http().get('/id-vault/documents/attention?days=30').set(auth.adminSales);
      expect(widget.body.data.expiring.map((d: any) => d.documentId)).toContain(soon);
      expect(widget.body.data.expiring.map((d: any) => d.documentId)).not.toContain(notYet);
      expect((await app.http().get('/id-vault/documents/attention?days=30').set(auth.adminLead)).body.data.expiringCount).toBeGreaterThanOrEqual(1);
      expect((await app.http().get('/id-vault/documents/attention?days=-1').set(auth.adminSales)).status).toBe(400);
    });

    it('a flipped byte or a truncated object is a clear error and an audit event', async () => {
      const res = await upload(auth.full, ids['doc-north'], [{ bytes: await corpus.png() }]);
      const id = res.body.data[0].id;
      const row = (await scanRows()).find((r: any) => r.document_id === id);
      const sealed = await scans().store().get(row.object_name);
      const flipped = Buffer.from(sealed);
      flipped[flipped.length - 40] ^= 0x01;
      for (const bad of [flipped, sealed.subarray(0, sealed.length - 16)]) {
        await scans().store().put(row.object_name, bad);
        const view = await app.http().get(`${API}/scans/${id}/preview`).set(auth.full);
        expect(view.status).toBe(500);
        expect(view.body.error).toMatchObject({ name: 'ScanIntegrityError', message: expect.stringMatching(/integrity check/) });
        expect((await app.http().get(`${API}/scans/${id}/download`).set(auth.full)).status).toBe(500);
      }
      const failures = await auditOf('scan.integrity-failed');
      expect(failures.length).toBe(4);
      expect(failures[0]).toMatchObject({ outcome: 'failure', subject_id: ids['doc-north'], details: { scan: id, act: 'view', reason: 'AUTH_FAILED' } });
    });

    it('the orphan sweep removes objects no scan names, only on its second sighting, and never a scan in use', async () => {
      const before = await storedNames();
      const orphan = randomBytes(16).toString('hex');
      await scans().store().put(orphan, randomBytes(200));
      expect(await scans().sweepOrphans()).toEqual({ deleted: 0, pending: 1 });
      expect(await storedNames()).toContain(orphan);
      expect(await scans().sweepOrphans()).toEqual({ deleted: 1, pending: 0 });
      expect(await storedNames()).toEqual(before);
      const swept = await auditOf('scan.orphans-swept');
      expect(swept[swept.length - 1]).toMatchObject({ actor_type: 'system', details: { deleted: 1, pending: 0, objects: before.length + 1 } });
    });

    it('audit events of scans name documents, kinds and sizes — never content or file names', async () => {
      const events = await app.knex('idv_audit_events').where('action', 'like', 'scan.%');
      expect(events.length).toBeGreaterThan(10);
      const text = JSON.stringify(events);
      expect(text).not.toMatch(/MARKER|photo\.jpg|scan-0\.jpg|\.png"/);
      expect(fs.readdirSync(tmpDir)).toEqual([]);
    });
  });
};
