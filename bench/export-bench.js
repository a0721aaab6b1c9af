'use strict';
/**
 * Export and audit-log benchmarks (figures 12–15 of `npm run bench`), one database per process:
 *   node bench/export-bench.js sqlite|postgres
 *  12. masked CSV export of BENCH_CUSTOMERS customers (GET /api/id-vault/customers/export?format=csv, a
 *      custom token whose export right is masked), rows/s, vs reading the same rows of the unencrypted twin
 *      through the REST list in pages of the export's own size (500), interleaved
 *  13. peak RSS of a fresh server process exporting 200,000 vs 10,000 customers (target ratio <= 1.2)
 *  15. GET /id-vault/audit-log/events at 1,000,000 events as an admin with audit.read: first page, by action,
 *      by actor, by time range, a deep keyset page → p50 and p95 (target p50 < 200 ms), with the query plan
 *      of what ran for any page over its target
 *  14. the same masked export encrypted to an export recipient (CMS EnvelopedData) vs sent as a plain CSV
 *      file, interleaved (target ratio <= 1.3)
 * BENCH_RSS_CUSTOMERS (default 200000) and BENCH_AUDIT_EVENTS (default 1000000) adjust 13 and 15;
 * The server of 13 runs with the heap cap `npm start` sets; BENCH_SERVER_NODE_FLAGS replaces it (empty: none).
 * Prints one line `BENCH_EXPORT <json>`. A second argument runs some figures only: `… sqlite 13` or `12,15`.
 * `--serve` is the child server of figure 13 (see rssOf).
 */
const path = require('path');
const fs = require('fs');
const { randomBytes } = require('crypto');
const { spawn } = require('child_process');
const { interleave, median, percentile } = require('./stats');
const { ROOT, DIST, secretsEnv, benchApp, pgAdmin, pgUrl, removeSqlite, serverNodeFlags } = require('./app');
const { UID, seedCustomers } = require('./seed');

const client = process.argv[2] === '--serve' ? process.env.DATABASE_CLIENT || 'sqlite' : process.argv[2] || 'sqlite';
const FIGURES = process.argv[2] === '--serve' ? [] : (process.argv[3] || '12,13,14,15').split(',');
const N = Number(process.env.BENCH_CUSTOMERS || 50000);
const RSS_BIG = Number(process.env.BENCH_RSS_CUSTOMERS || 200000);
const RSS_SMALL = 10000;
const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS || 1000000);
/** The export's page (PAGE in services/exports.ts): the twin is read in pages of the same size. */
const PAGE = 500;
/** The customers of the small export of figure 13 (the first RSS_SMALL), marked in a plain column to filter on. */
const SMALL_MARK = 'bench-small';
const log = (...a) => console.error(`[export-bench ${client}]`, ...a);
const secs = (t0) => (Date.now() - t0) / 1000;

/** Boots Strapi on the database in the environment, listening on a free port; returns it and its origin. */
const boot = async (appDir) => {
  const { createStrapi } = require('@strapi/strapi');
  const strapi = createStrapi({ appDir, distDir: appDir, autoReload: false, serveAdminPanel: false });
  strapi.log.level = 'error';
  await strapi.load();
  // A benchmark exports far more often than a person: no anomaly alert may suspend its token.
  await strapi.plugin('id-vault').service('access').asSystem(() =>
    strapi.plugin('id-vault').service('anomalies').saveSettings({ views: 1_000_000, reveals: 1_000_000, exports: 1_000_000, windowMinutes: 10, suspend: false })
  );
  strapi.server.mount();
  await new Promise((r) => strapi.server.httpServer.listen(0, '127.0.0.1', r));
  return { strapi, origin: `http://127.0.0.1:${strapi.server.httpServer.address().port}` };
};

/** Reads a response to the end without keeping it: its byte and line counts. */
const drain = async (res) => {
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
  }
  return { bytes, lines };
};

/**
 * One export with these query parameters (a variant of the export: format, filters, later an encrypted
 * one), read to the end; returns its data rows (lines after the header). Fails on anything but 200.
 */
const exportOnce = async (origin, token, params) => {
  const res = await fetch(`${origin}/api/id-vault/customers/export?${new URLSearchParams({ format: 'csv', ...params })}`, { headers: { Authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`the export answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  return (await drain(res)).lines - 1;
};

/** The twin's rows through the REST list, PAGE at a time in id order (the export's order), no count. */
const twinRead = async (origin, token) => {
  let rows = 0;
  for (let start = 0; ; start += PAGE) {
    const q = `pagination[start]=${start}&pagination[limit]=${PAGE}&pagination[withCount]=false&sort=id:asc`;
    const res = await fetch(`${origin}/api/bench-twins?${q}`, { headers: { Authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`the twin list answered ${res.status}`);
    const page = (await res.json()).data.length;
    rows += page;
    if (page < PAGE) return rows;
  }
};

/** A custom API token with the export permission whose Field access export right is masked; its bearer value. */
const maskedExportToken = async (strapi) => {
  const tokens = strapi.service('admin::api-token-content-api') ?? strapi.service('admin::api-token');
  const token = await tokens.create({ name: 'bench-export-masked', type: 'custom', lifespan: null, permissions: ['plugin::id-vault.customer.export'] });
  const access = strapi.plugin('id-vault').service('access');
  const policy = await access.policy();
  policy.subjects[`api-token:${token.id}`] = { export: 'masked' };
  await access.save(policy);
  return token.accessKey;
};

/** Figure 12. The first rows of the export are checked masked (no plaintext ID number) before timing. */
const exportFigure = async (strapi, origin, people) => {
  const tokens = strapi.service('admin::api-token-content-api') ?? strapi.service('admin::api-token');
  const full = (await tokens.create({ name: 'bench-twin-reader', type: 'full-access', lifespan: null })).accessKey;
  const masked = await maskedExportToken(strapi);
  const res = await fetch(`${origin}/api/id-vault/customers/export?format=csv`, { headers: { Authorization: `Bearer ${masked}` } });
  const text = await res.text();
  if (res.status !== 200 || people.slice(0, 100).some((p) => text.includes(p.idNumber)) || !text.includes(people[0].name)) throw new Error('the masked export is not masked, or not the seeded rows');
  let exported = 0;
  let read = 0;
  const t = await interleave(
    async () => (exported = await exportOnce(origin, masked, {})),
    async () => (read = await twinRead(origin, full)),
    { rounds: 3, warmup: 1 }
  );
  if (exported !== N || read !== N) throw new Error(`rows: export ${exported}, twin ${read}, seeded ${N}`);
  return { rows: N, exportMs: t.a, twinMs: t.b, exportRowsPerSec: N / (t.a / 1000), twinRowsPerSec: N / (t.b / 1000) };
};

/**
 * Figure 14. The same masked export, encrypted to an export recipient (CMS EnvelopedData, RSA-OAEP key
 * transport, aes-256-cbc streamed) vs sent as a plain CSV file, interleaved. The recipient's certificate is
 * made here (a throw-away RSA-3072 key; forge signs it).
 */
const encryptedFigure = async (strapi, origin) => {
  const forge = require('node-forge');
  const { generateKeyPairSync } = require('crypto');
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }));
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 86400000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86400000);
  const name = [{ shortName: 'O', value: 'Bench Integrator' }, { shortName: 'CN', value: 'bench.example.test' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' })), forge.md.sha256.create());
  const recipient = await strapi.plugin('id-vault').service('export-recipients').add({ name: 'bench', certificate: forge.pki.certificateToPem(cert) });
  const masked = await maskedExportToken(strapi);
  const sizes = {};
  const bytesOf = async (params, key) => {
    const res = await fetch(`${origin}/api/id-vault/customers/export?${new URLSearchParams({ format: 'csv', ...params })}`, { headers: { Authorization: `Bearer ${masked}` } });
    if (res.status !== 200) throw new Error(`the export answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    sizes[key] = (await drain(res)).bytes;
  };
  const t = await interleave(() => bytesOf({ recipient: recipient.documentId }, 'encrypted'), () => bytesOf({}, 'plain'), { rounds: 3, warmup: 1 });
  return { encryptedMs: t.a, plainMs: t.b, bytes: sizes };
};

// ---- figure 15: the audit log at a million events --------------------------------------------------------

const ACTIONS = [
  ['customer.list', 40], ['customer.view', 30], ['identity-document.view', 8], ['customer.update', 6], ['scan.view', 5],
  ['customer.create', 4], ['audit.read', 3], ['customer.reveal', 2], ['customer.export', 1], ['scan.download', 1],
];
const ACTION_OF = ACTIONS.flatMap(([a, w]) => Array(w).fill(a));
const ACTOR_TYPES = [['admin', 50], ['user', 200], ['api-token', 10]];

/**
 * EVENTS synthetic events, chained (seq, previous hash, hash as the chainer writes them), over the last
 * 300 days (inside any retention, so no prune starts), inserted with knex (the append-only guard covers
 * db.query only). Returns the id range and the time span.
 */
const seedAudit = async (strapi) => {
  const { eventHash, GENESIS_HASH } = require(path.join(DIST, 'crypto'));
  const knex = strapi.db.connection;
  const meta = strapi.db.metadata.get('plugin::id-vault.audit-event');
  const col = (a) => meta.attributes[a]?.columnName ?? a;
  const table = meta.tableName;
  const last = await knex(table).max({ seq: col('seq') }).first();
  let seq = Number(last?.seq ?? 0);
  const tip = seq ? await knex(table).where(col('seq'), seq).first(col('hash')) : null;
  let prevHash = tip ? tip[col('hash')] : GENESIS_HASH;
  const end = Date.now() - 60000;
  const span = 300 * 86400000;
  const subjects = Array.from({ length: 5000 }, () => randomBytes(12).toString('hex').slice(0, 24));
  // SQLite binds at most 32766 parameters a statement: 17 columns × 1000 rows.
  const BATCH = 1000;
  for (let i = 0; i < EVENTS; i += BATCH) {
    const rows = [];
    for (let j = i; j < Math.min(EVENTS, i + BATCH); j += 1) {
      seq += 1;
      const [actorType, actors] = ACTOR_TYPES[j % 7 === 0 ? 2 : j % 3 === 0 ? 1 : 0];
      const action = ACTION_OF[(j * 7919) % ACTION_OF.length];
      const e = {
        seq,
        occurredAt: new Date(end - span + Math.floor((j / EVENTS) * span)).toISOString(),
        actorType,
        actorId: String(1 + ((j * 31) % actors)),
        action,
        subjectUid: UID,
        subjectId: subjects[(j * 13) % subjects.length],
        fields: action === 'customer.list' ? [] : ['idNumber', 'phone'],
        outcome: j % 50 === 0 ? 'denied' : 'success',
        ip: `10.0.${(j >> 8) & 255}.${j & 255}`,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
        details: { rows: j % 100 },
      };
      const hash = eventHash(e, prevHash);
      const row = { document_id: randomBytes(12).toString('hex').slice(0, 24), created_at: e.occurredAt, updated_at: e.occurredAt, [col('prevHash')]: prevHash, [col('hash')]: hash };
      for (const [k, v] of Object.entries(e)) row[col(k)] = k === 'fields' || k === 'details' ? JSON.stringify(v) : v;
      rows.push(row);
      prevHash = hash;
    }
    // One multi-row VALUES statement (knex writes SQLite's as a UNION ALL, capped at 500 terms).
    const cols = Object.keys(rows[0]);
    const tuple = `(${cols.map(() => '?').join(', ')})`;
    await knex.raw(`insert into ?? (${cols.map(() => '??').join(', ')}) values ${rows.map(() => tuple).join(', ')}`, [table, ...cols, ...rows.flatMap((r) => cols.map((c) => r[c]))]);
    if ((i / BATCH) % 100 === 99) log(`audit events ${i + BATCH}/${EVENTS}`);
  }
  await knex.raw(client === 'postgres' ? `vacuum analyze ${table}` : 'analyze');
  const ids = await knex(table).min({ lo: 'id' }).max({ hi: 'id' }).first();
  return { lo: Number(ids.lo), hi: Number(ids.hi), from: end - span, to: end };
};

/** An admin in a role holding only audit.read, logged in; its JWT. */
const auditReader = async (strapi, origin) => {
  const role = await strapi.service('admin::role').create({ name: 'Bench audit reader', code: 'bench-audit-reader', description: 'bench' });
  await strapi.service('admin::role').assignPermissions(role.id, [{ action: 'plugin::id-vault.audit.read', subject: null, properties: {}, conditions: [] }]);
  const email = 'bench-audit@example.test';
  const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
  await strapi.service('admin::user').create({ email, firstname: 'Bench', lastname: 'Auditor', password, isActive: true, roles: [role.id] });
  const res = await fetch(`${origin}/admin/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (res.status !== 200) throw new Error(`admin login answered ${res.status}`);
  return (await res.json()).data.token;
};

/** The plan of a statement as the database chose it (PostgreSQL: with actual times). */
const explain = async (strapi, { sql, bindings }) => {
  const knex = strapi.db.connection;
  // knex reports PostgreSQL statements with native placeholders ($1, $2 … in order); knex.raw takes ?.
  if (client === 'postgres') return (await knex.raw(`explain (analyze, buffers) ${sql.replace(/\$\d+/g, '?')}`, bindings)).rows.map((r) => r['QUERY PLAN']).join('\n');
  return (await knex.raw(`explain query plan ${sql}`, bindings)).map((r) => r.detail).join('\n');
};

/** Figure 15: each page's p50 and p95 over `rounds` requests, the kinds taking turns; plans of the slow ones. */
const auditFigure = async (strapi, origin, span, rounds = 40) => {
  const jwt = await auditReader(strapi, origin);
  const day = 86400000;
  const weekFrom = new Date(span.from + 100 * day).toISOString();
  const weekTo = new Date(span.from + 107 * day).toISOString();
  const pages = {
    'first page': '',
    'action = customer.reveal': 'action=customer.reveal',
    'action prefix scan.': 'action=scan.',
    'actor admin 17': 'actorType=admin&actorId=17',
    'a week 200 days ago': `from=${weekFrom}&to=${weekTo}`,
    'keyset page at 10%': `before=${span.lo + Math.floor((span.hi - span.lo) / 10)}`,
  };
  const get = async (q) => {
    const res = await fetch(`${origin}/id-vault/audit-log/events?${q}`, { headers: { Authorization: `Bearer ${jwt}` } });
    if (res.status !== 200) throw new Error(`audit-log/events?${q} answered ${res.status}`);
    const body = await res.json();
    if (!body.data.events.length) throw new Error(`audit-log/events?${q} found nothing`);
    return body;
  };
  const times = Object.fromEntries(Object.keys(pages).map((k) => [k, []]));
  for (let i = 0; i < rounds + 3; i += 1) {
    for (const [name, q] of Object.entries(pages)) {
      const t0 = process.hrtime.bigint();
      await get(q);
      if (i >= 3) times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const out = [];
  for (const [name, q] of Object.entries(pages)) {
    const r = { name, query: q, p50: median(times[name]), p95: percentile(times[name], 0.95) };
    if (r.p50 >= 200) {
      // The page's own statement (newest first, limit 51) as knex sent it, explained.
      const seen = [];
      const listen = (d) => /order by .id. desc/i.test(d.sql) && seen.push(d);
      strapi.db.connection.on('query', listen);
      await get(q);
      strapi.db.connection.off('query', listen);
      if (seen[0]) r.plan = await explain(strapi, seen[0]);
    }
    out.push(r);
  }
  return out;
};

// ---- figure 13: peak RSS of an export, in a fresh server process per size ------------------------------

/**
 * The child of figure 13: a server on the database in the environment, until it is told to stop. On
 * SIGUSR2 it runs a full GC and prints its memory (`MEM {json}`): what the export left live, as opposed to
 * garbage the heap had not collected yet at its peak.
 */
const serve = async () => {
  const { strapi, origin } = await boot(process.argv[3]);
  process.on('SIGTERM', () => strapi.destroy().finally(() => process.exit(0)));
  process.on('SIGUSR2', () => {
    global.gc();
    const m = process.memoryUsage();
    console.log(`MEM ${JSON.stringify({ rssMB: m.rss / 1048576, heapUsedMB: m.heapUsed / 1048576, externalMB: m.external / 1048576 })}`);
  });
  console.log(`READY ${origin}`);
};

const kb = (status, field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]);

/**
 * Peak RSS of one export of `size` rows in a fresh server process. The server gets the same warm-up export
 * first (the small one), which loads the code paths, JIT and database caches an export needs; then its
 * high-water mark is reset (writing 5 to /proc/<pid>/clear_refs sets VmHWM to the current RSS) and the
 * measured export runs: VmHWM then is the peak of that export alone, exact (the kernel keeps it), not
 * sampled, and not the start-up's own peak (booting Strapi takes more than a streamed export should).
 */
const rssOf = async (appDir, token, size) => {
  const child = spawn(process.execPath, ['--expose-gc', ...serverNodeFlags(), __filename, '--serve', appDir], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  /** The next line of the child's output that matches `re` (polled: the child prints little). */
  const line = async (re) => {
    for (;;) {
      const m = re.exec(out);
      if (m) return m[1];
      if (child.exitCode !== null) throw new Error(`the export server exited (${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    const origin = await line(/READY (\S+)/);
    const status = () => fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const small = { 'filters[industry][$eq]': SMALL_MARK };
    if ((await exportOnce(origin, token, small)) !== RSS_SMALL) throw new Error('the warm-up export has the wrong rows');
    fs.writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
    const before = kb(status(), 'VmRSS');
    const t0 = Date.now();
    const rows = await exportOnce(origin, token, size === RSS_SMALL ? small : {});
    const ms = Date.now() - t0;
    if (rows !== size) throw new Error(`the export of ${size} has ${rows} rows`);
    const peakMB = kb(status(), 'VmHWM') / 1024;
    child.kill('SIGUSR2');
    const afterGc = JSON.parse(await line(/MEM (\{.*\})/));
    return { size, beforeMB: before / 1024, peakMB, ms, afterGc };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  }
};

// ---- the run -----------------------------------------------------------------------------------------------

const main = async () => {
  Object.assign(process.env, secretsEnv(), {
    // The bench's caps: its exports are larger and more frequent than a day of real use.
    ID_VAULT_EXPORT_MAX_ROWS: String(Math.max(N, RSS_BIG) * 2),
    ID_VAULT_EXPORTS_PER_DAY: '100000',
  });
  const dbName = `idvault_export_bench_${process.pid}`;
  if (client === 'postgres') {
    await pgAdmin(`CREATE DATABASE ${dbName}`);
    Object.assign(process.env, { DATABASE_CLIENT: 'postgres', DATABASE_URL: pgUrl(dbName) });
  } else {
    fs.mkdirSync(path.join(ROOT, '.tmp', 'bench'), { recursive: true });
    process.env.DATABASE_FILENAME = path.join(ROOT, '.tmp', 'bench', `${dbName}.db`);
  }
  const appDir = benchApp();
  // The twin is read in pages of PAGE: the REST list must allow them (this throw-away copy's config only).
  fs.writeFileSync(path.join(appDir, 'config', 'api.js'), `module.exports = { rest: { defaultLimit: 25, maxLimit: ${PAGE}, withCount: true } };\n`);
  const result = { client, customers: N, seconds: {} };
  let strapi;
  try {
    let origin;
    ({ strapi, origin } = await boot(appDir));
    let t0 = Date.now();
    log(`seeding ${N} customers and their twins…`);
    const extra = (i) => (i < RSS_SMALL ? { industry: SMALL_MARK } : {});
    // No blind index: nothing here searches.
    const people = await seedCustomers(strapi, { client, to: N, blindIndex: false, extra, log });
    await strapi.db.connection.raw(client === 'postgres' ? 'vacuum analyze' : 'analyze');
    result.seconds.seed = secs(t0);

    if (FIGURES.includes('12')) {
      log('12. masked export vs twin list…');
      t0 = Date.now();
      result.export = await exportFigure(strapi, origin, people);
      result.seconds.export = secs(t0);
    }
    if (FIGURES.includes('14')) {
      log('14. encrypted export vs the same masked file…');
      t0 = Date.now();
      result.encrypted = await encryptedFigure(strapi, origin);
      result.seconds.encrypted = secs(t0);
    }
    if (FIGURES.includes('15')) {
      log(`15. seeding ${EVENTS} audit events…`);
      t0 = Date.now();
      const span = await seedAudit(strapi);
      result.seconds.auditSeed = secs(t0);
      t0 = Date.now();
      log('15. audit log pages…');
      result.audit = { events: EVENTS, pages: await auditFigure(strapi, origin, span) };
      result.seconds.audit = secs(t0);
    }
    if (FIGURES.includes('13')) {
      log(`13. seeding up to ${RSS_BIG} customers…`);
      t0 = Date.now();
      if (RSS_BIG > N) await seedCustomers(strapi, { client, from: N, to: RSS_BIG, twins: false, blindIndex: false, extra, log });
      await strapi.db.connection.raw(client === 'postgres' ? 'vacuum analyze' : 'analyze');
      const token = await maskedExportToken(strapi);
      result.seconds.rssSeed = secs(t0);
      await strapi.destroy();
      strapi = null;
      t0 = Date.now();
      log('13. peak RSS, a fresh server per size…');
      const small = await rssOf(appDir, token, RSS_SMALL);
      const big = await rssOf(appDir, token, RSS_BIG);
      result.rss = { small, big };
      result.seconds.rss = secs(t0);
    }
    console.log(`BENCH_EXPORT ${JSON.stringify(result)}`);
  } finally {
    if (strapi) await strapi.destroy().catch(() => {});
    if (client === 'postgres' && process.env.BENCH_KEEP_DATABASE === '1') log(`kept database ${dbName}`);
    else if (client === 'postgres') await pgAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    else removeSqlite(process.env.DATABASE_FILENAME);
    fs.rmSync(appDir, { recursive: true, force: true });
  }
};

(process.argv[2] === '--serve' ? serve() : main().then(() => process.exit(0))).catch((e) => {
  console.error(`[export-bench ${client}] failed: ${e.stack || e.message}`);
  process.exit(1);
});
