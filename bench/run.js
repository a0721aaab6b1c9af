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

const results = [];
for (const db of (process.env.BENCH_DATABASES || 'sqlite,postgres').split(',')) {
  console.log(`\n-- ${db}: booting Strapi and seeding (progress on stderr)…`);
  const run = spawnSync(process.execPath, [path.join(__dirname, 'strapi-bench.js'), db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  const line = (run.stdout || '').split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (run.status !== 0 || !line) {
    console.error(`   ${db}: benchmark failed (exit ${run.status})`);
    process.exitCode = 1;
    continue;
  }
  results.push(JSON.parse(line.slice('BENCH_RESULT '.length)));
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
