'use strict';
/**
 * `npm run bench`: each comparison against a baseline measured in the same run. Figures go into the
 * README by hand; nothing here is a pass/fail test.
 *   1. field encryption: node:crypto vs node-forge AES-GCM (ops/s and ratio)
 *   2. REST list of 100 customers vs the unencrypted twin (median latency ratio; target <= 1.20)
 *   3. exact search by ID number among N customers, blind index vs plaintext index (target <= 1.5),
 *      on SQLite and PostgreSQL
 *   4. GET 100 customers as a masked caller vs a plaintext caller, same rows (target <= 1.15)
 *   5. subtree row scope (one department of 200 org units) vs scope all, two users-permissions roles (target <= 1.3)
 *   6. a relation filter into customers (org units holding a customer of a given name) with subtree row scope
 *      vs the same filter as a full-access token (target <= 1.3)
 *   7–10. scans: intake, watermark, streamed decrypt, upload memory (bench/scans-bench.js)
 *  11. GET 100 customers with the read audit event vs without (ID_VAULT_AUDIT_READS; target <= 1.05)
 *  12. masked CSV export, rows/s, vs reading the twin's rows through the REST list in pages of 500
 *  13. peak RSS of a fresh server exporting 200,000 vs 10,000 customers (target <= 1.2)
 *  14. the same masked export encrypted to an export recipient (CMS EnvelopedData) vs a plain file (target <= 1.3)
 *  15. the Audit log page at 1,000,000 events: p50 / p95 per kind of page (target p50 < 200 ms)
 *  12–15: bench/export-bench.js
 *  16. master-key rotation rate, data keys/s, vs the same batched row updates without cryptography
 *  17. erasing a customer with an identity document vs deleting one through the document service
 *  16, 17, 18: bench/rotation-bench.js
 *  19. `npm run backup`'s work vs tar | openssl enc -aes-256-cbc -pbkdf2 of the same data (target >= 0.5)
 *  20. `npm run backup:restore`'s verify + load vs openssl enc -d | tar -x (+ psql on PostgreSQL) (target >= 0.5)
 *  19, 20: bench/backup-bench.js
 * BENCH_CUSTOMERS (default 50000) and BENCH_DATABASES (default "sqlite,postgres") adjust the run.
 */
const path = require('path');
const { spawnSync } = require('child_process');

const core = require(path.join(__dirname, '..', 'plugins', 'id-vault', 'dist', 'server', 'crypto'));
const fmt = (x, d = 2) => x.toFixed(d);

console.log('1. Field encryption (AES-256-GCM, 18-character value)');
const c = require('./crypto-bench')(core);
console.log(`   node:crypto  encrypt ${fmt(c.nodeEncrypt, 0)}/s  decrypt ${fmt(c.nodeDecrypt, 0)}/s`);
console.log(`   node-forge   encrypt ${fmt(c.forgeEncrypt, 0)}/s  decrypt ${fmt(c.forgeDecrypt, 0)}/s`);
console.log(`   ratio node:crypto / node-forge: encrypt ${fmt(c.encryptRatio, 1)}x, decrypt ${fmt(c.decryptRatio, 1)}x`);

console.log('\n-- scans (bench/scans-bench.js)…');
const scans = spawnSync(process.execPath, [path.join(__dirname, 'scans-bench.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
process.stdout.write((scans.stdout || '').split('\n').filter((l) => !l.startsWith('BENCH_SCANS ')).map((l) => (l ? `   ${l}` : l)).join('\n'));
if (scans.status !== 0) {
  console.error('   scans: benchmark failed');
  process.exitCode = 1;
}

/** Runs a per-database child benchmark and returns what it printed after `tag`, or null if it failed. */
const child = (script, db, tag) => {
  const run = spawnSync(process.execPath, [path.join(__dirname, script), db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  const line = (run.stdout || '').split('\n').find((l) => l.startsWith(`${tag} `));
  if (run.status !== 0 || !line) {
    console.error(`   ${db}: ${script} failed (exit ${run.status})`);
    process.exitCode = 1;
    return null;
  }
  return JSON.parse(line.slice(tag.length + 1));
};

const results = [];
for (const db of (process.env.BENCH_DATABASES || 'sqlite,postgres').split(',')) {
  console.log(`\n-- ${db}: booting Strapi and seeding (progress on stderr)…`);
  const r = child('strapi-bench.js', db, 'BENCH_RESULT');
  if (r) results.push(r);
}

for (const r of results) {
  console.log(`\n${r.client} (${r.customers} customers)`);
  console.log(`2. REST list of 100: encrypted ${fmt(r.list.a)} ms vs twin ${fmt(r.list.b)} ms median → ratio ${fmt(r.list.a / r.list.b)} (target <= 1.20)`);
  console.log(`3. exact search by ID number: blind index ${fmt(r.search.a)} ms vs plaintext index ${fmt(r.search.b)} ms median → ratio ${fmt(r.search.a / r.search.b)} (target <= 1.5)`);
  console.log(`4. GET 100, masked (read-only token) ${fmt(r.masked.a)} ms vs plaintext (full-access token) ${fmt(r.masked.b)} ms median → ratio ${fmt(r.masked.a / r.masked.b)} (target <= 1.15)`);
  console.log(`5. GET 100, subtree row scope ${fmt(r.scoped.a)} ms vs scope all ${fmt(r.scoped.b)} ms (two users-permissions roles) median → ratio ${fmt(r.scoped.a / r.scoped.b)} (target <= 1.3)`);
  console.log(`6. relation filter into customers, subtree scope ${fmt(r.relation.a)} ms vs full access ${fmt(r.relation.b)} ms median → ratio ${fmt(r.relation.a / r.relation.b)} (target <= 1.3)`);
  console.log(`11. GET 100 with read auditing ${fmt(r.readAudit.a)} ms vs without ${fmt(r.readAudit.b)} ms median → ratio ${fmt(r.readAudit.a / r.readAudit.b)} (target <= 1.05)`);
}

const exportsRuns = [];
for (const db of (process.env.BENCH_DATABASES || 'sqlite,postgres').split(',')) {
  console.log(`\n-- ${db}: exports and the audit log (bench/export-bench.js; progress on stderr)…`);
  const r = child('export-bench.js', db, 'BENCH_EXPORT');
  if (r) exportsRuns.push(r);
}

const mb = (x) => `${fmt(x, 1)} MB`;
for (const r of exportsRuns) {
  const e = r.export;
  const { small, big } = r.rss;
  const took = Object.values(r.seconds).reduce((a, b) => a + b, 0);
  console.log(`\n${r.client} (${r.customers} customers; ${fmt(took, 0)} s: ${Object.entries(r.seconds).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(', ')})`);
  console.log(`12. masked CSV export ${fmt(e.exportRowsPerSec, 0)} rows/s (${fmt(e.exportMs / 1000, 1)} s) vs twin REST list in pages of 500 ${fmt(e.twinRowsPerSec, 0)} rows/s (${fmt(e.twinMs / 1000, 1)} s) → ratio ${fmt(e.exportRowsPerSec / e.twinRowsPerSec)} (no target; the baseline reads, the export also decrypts, masks and writes CSV)`);
  console.log(`13. peak RSS exporting ${big.size}: ${mb(big.peakMB)} (${mb(big.beforeMB)} before, ${fmt(big.ms / 1000, 1)} s) vs ${small.size}: ${mb(small.peakMB)} (${mb(small.beforeMB)} before) → ratio ${fmt(big.peakMB / small.peakMB)} (target <= 1.2); after the export and a full GC: heap ${mb(big.afterGc.heapUsedMB)} vs ${mb(small.afterGc.heapUsedMB)}`);
  if (r.encrypted) {
    const x = r.encrypted;
    console.log(`14. the masked export encrypted to a recipient ${fmt(x.encryptedMs / 1000, 1)} s (${mb(x.bytes.encrypted / 1048576)}) vs as a plain file ${fmt(x.plainMs / 1000, 1)} s (${mb(x.bytes.plain / 1048576)}) → ratio ${fmt(x.encryptedMs / x.plainMs)} (target <= 1.3)`);
  }
  console.log(`15. GET /id-vault/audit-log/events at ${r.audit.events} events, p50 / p95 (target p50 < 200 ms):`);
  for (const p of r.audit.pages) {
    console.log(`    ${p.name.padEnd(26)} ${fmt(p.p50).padStart(8)} / ${fmt(p.p95).padStart(8)} ms${p.plan ? `  ✗ plan:\n      ${p.plan.split('\n').join('\n      ')}` : ''}`);
  }
}

const rotations = [];
for (const db of (process.env.BENCH_DATABASES || 'sqlite,postgres').split(',')) {
  console.log(`\n-- ${db}: key rotation and erasure (bench/rotation-bench.js; progress on stderr)…`);
  const r = child('rotation-bench.js', db, 'BENCH_ROTATION');
  if (r) rotations.push(r);
}
for (const r of rotations) {
  console.log(`\n${r.client}`);
  console.log(`16. key rotation, ${r.keys} data keys: ${fmt(r.rotation, 0)} keys/s vs ${fmt(r.baseline, 0)} keys/s for the same batched row updates without cryptography → ratio ${fmt(r.rotation / r.baseline)} (no target)`);
  console.log(`17. erasing a customer with a document ${fmt(r.erase.a, 1)} ms vs deleting one through the document service ${fmt(r.erase.b, 1)} ms (medians) → ratio ${fmt(r.erase.a / r.erase.b)} (no target)`);
  if (r.index) console.log(`18. rotate-index over ${r.index.customers} customers ${fmt(r.index.rate, 0)} records/s vs ${fmt(r.index.baseline, 0)} records/s rewriting the same index rows without cryptography → ratio ${fmt(r.index.rate / r.index.baseline)} (whole command ${fmt(r.index.total, 1)} s; no target)`);
}

const backupRuns = [];
for (const db of (process.env.BENCH_DATABASES || 'sqlite,postgres').split(',')) {
  console.log(`\n-- ${db}: backup and restore (bench/backup-bench.js; progress on stderr)…`);
  const r = child('backup-bench.js', db, 'BENCH_BACKUP');
  if (r) backupRuns.push(r);
}
for (const r of backupRuns) {
  const size = (b) => `${fmt(b / 1048576, 1)} MB`;
  console.log(`\n${r.client} (${r.customers} customers, ${r.rows} rows, ${r.scans} scan objects)`);
  console.log(`19. backup ${fmt(r.backup.a)} s (${size(r.bytes.ours)}) vs tar | openssl enc ${fmt(r.backup.b)} s (${size(r.bytes.baseline)}) → ratio ${fmt(r.backup.b / r.backup.a)} (target >= 0.5)`);
  console.log(`20. restore (verify, load, decrypt every value) ${fmt(r.restore.a)} s vs openssl enc -d | tar -x${r.client === 'postgres' ? ' + psql' : ''} ${fmt(r.restore.b)} s → ratio ${fmt(r.restore.b / r.restore.a)} (target >= 0.5)`);
}
