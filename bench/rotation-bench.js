'use strict';
/**
 * Figures 16 and 17 of `npm run bench`: master-key rotation rate and erasure latency, in a process of its
 * own per database:
 *   node bench/rotation-bench.js sqlite|postgres
 * Seeds BENCH_CUSTOMERS (default 50000) data keys wrapped under an old master key, then times
 * `npm run keys:rotate`'s work (the rotation service: read a batch, unwrap, wrap under the new key, update
 * each row if still under the old one, one transaction a batch) against the baseline of the same walk over the
 * same rows with the same batched transactions and row updates but no cryptography (each row rewritten with
 * the values it has; run before and after, averaged) — the floor the database sets. Prints data keys/s of both and their ratio.
 * 17: erasing a customer with an identity document (keys destroyed, document deleted, index rows dropped,
 * columns blanked, tombstone, ledger line fsynced) against deleting the same kind of customer and its
 * document through the document service, median of each over interleaved rounds.
 * 18: `npm run keys:rotate-index`'s walk over BENCH_INDEX_CUSTOMERS (default 20000) customers seeded with their
 * blind index (the index-rotation service: a batch of 500 records read, each searchable value decrypted and
 * its tokens computed under the new root, the batch's rows of the new root replaced, a checkpoint) against
 * the baseline of the same batches reading the same rows and rewriting each batch's index rows as they are,
 * without cryptography. Records/s of the walk (between its first and last batch: the two 7 s waits for other
 * processes are left out and printed apart).
 * Then one line `BENCH_ROTATION <json>`.
 */
const path = require('path');
const fs = require('fs');
const { randomBytes } = require('crypto');
const { ROOT, DIST, secretsEnv, benchApp, pgAdmin, pgUrl, removeSqlite } = require('./app');
const { seedCustomers } = require('./seed');

const client = process.argv[2] || 'sqlite';
const N = Number(process.env.BENCH_CUSTOMERS || 50000);
const INDEX_N = Number(process.env.BENCH_INDEX_CUSTOMERS || 20000);
const BATCH = 500;
const log = (...a) => console.error(`[bench rotation ${client}]`, ...a);

Object.assign(process.env, secretsEnv());
const core = require(path.join(DIST, 'crypto'));
const OLD = `benchold:${randomBytes(32).toString('base64')}`;
const NEW = `benchnew:${randomBytes(32).toString('base64')}`;
const dbName = `idvault_bench_rot_${process.pid}`;

(async () => {
  if (client === 'postgres') {
    await pgAdmin(`CREATE DATABASE ${dbName}`);
    Object.assign(process.env, { DATABASE_CLIENT: 'postgres', DATABASE_URL: pgUrl(dbName) });
  } else {
    fs.mkdirSync(path.join(ROOT, '.tmp', 'bench'), { recursive: true });
    process.env.DATABASE_FILENAME = path.join(ROOT, '.tmp', 'bench', `${dbName}.db`);
  }
  process.env.ID_VAULT_MASTER_KEYS = `${NEW},${OLD}`;
  process.env.ID_VAULT_LEDGER_DIR = path.join(ROOT, '.tmp', 'bench', `ledger-${process.pid}`);
  const { createStrapi } = require('@strapi/strapi');
  const appDir = benchApp();
  const strapi = createStrapi({ appDir, distDir: appDir, autoReload: false, serveAdminPanel: false });
  strapi.log.level = 'error';
  try {
    await strapi.load();
    const knex = strapi.db.connection;
    const old = core.parseMasterKeys(OLD);
    const now = client === 'postgres' ? new Date() : Date.now();
    log(`seeding ${N} data keys under the old master key…`);
    for (let start = 0; start < N; start += 5000) {
      const rows = [];
      for (let i = start; i < Math.min(N, start + 5000); i += 1) {
        const dk = core.newDataKey();
        rows.push({ document_id: `r${randomBytes(12).toString('hex').slice(0, 23)}`, ref: `plugin::id-vault.customer#bench${i}`, key_id: dk.id, wrapped: core.wrapDataKey(old, dk), master_key_id: 'benchold', created_at: now, updated_at: now });
      }
      await knex.batchInsert('idv_data_keys', rows, 250);
    }
    await knex.raw(client === 'postgres' ? 'vacuum analyze' : 'analyze');

    // Baseline: the same walk, transactions and row updates, no cryptography; run before and after the
    // rotation and averaged, since the machine's load drifts.
    const baselineRun = async () => {
      const t = process.hrtime.bigint();
      for (let after = 0; ; ) {
        const rows = await knex.transaction(async (trx) => {
          const page = await trx('idv_data_keys').where('id', '>', after).orderBy('id').limit(BATCH).select('id', 'wrapped', 'master_key_id');
          for (const r of page) await trx('idv_data_keys').where({ id: r.id, master_key_id: r.master_key_id }).update({ wrapped: r.wrapped, master_key_id: r.master_key_id });
          return page;
        });
        if (!rows.length) break;
        after = rows[rows.length - 1].id;
      }
      return N / (Number(process.hrtime.bigint() - t) / 1e9);
    };
    const before = await baselineRun();
    log('rotating…');
    const t1 = process.hrtime.bigint();
    const result = await strapi.plugin('id-vault').service('rotation').rotate();
    const rotation = result.rewrapped / (Number(process.hrtime.bigint() - t1) / 1e9);
    const baseline = (before + (await baselineRun())) / 2;
    if (result.rewrapped < N || result.failed) throw new Error(`rotation re-wrapped ${result.rewrapped} of ${N} (${result.failed} failed)`);
    console.log(`16. key rotation, ${N} data keys: ${rotation.toFixed(0)} keys/s vs ${baseline.toFixed(0)} keys/s for the same batched row updates without cryptography → ratio ${(rotation / baseline).toFixed(2)}`);

    log('erasure vs delete…');
    const { syntheticPerson } = require(path.join(DIST, 'domain'));
    const system = (fn) => strapi.plugin('id-vault').service('access').asSystem(fn);
    const docs = (uid) => strapi.documents(uid);
    const ROUNDS = Number(process.env.BENCH_ERASURES || 60);
    const customers = [];
    for (let i = 0; i < 2 * ROUNDS; i += 1) {
      const p = syntheticPerson(900000 + i);
      const c = await system(() => docs('plugin::id-vault.customer').create({ data: { kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email } }));
      await system(() => docs('plugin::id-vault.identity-document').create({ data: { type: 'passport', documentNumber: `P${100000 + i}`, customer: c.documentId } }));
      customers.push(c.documentId);
    }
    const erasure = strapi.plugin('id-vault').service('erasure');
    const times = { erase: [], remove: [] };
    for (let i = 0; i < ROUNDS; i += 1) {
      const [a, b] = [customers[2 * i], customers[2 * i + 1]];
      let t = process.hrtime.bigint();
      await system(() => erasure.erase(a, 'benchmark'));
      times.erase.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      await system(async () => {
        const ds = await docs('plugin::id-vault.identity-document').findMany({ filters: { customer: { documentId: b } }, fields: ['documentId'] });
        for (const d of ds) await docs('plugin::id-vault.identity-document').delete({ documentId: d.documentId });
        await docs('plugin::id-vault.customer').delete({ documentId: b });
      });
      times.remove.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const erase = { a: median(times.erase), b: median(times.remove) };
    console.log(`17. erasing a customer with a document: ${erase.a.toFixed(1)} ms vs ${erase.b.toFixed(1)} ms deleting one through the document service (median of ${ROUNDS}) → ratio ${(erase.a / erase.b).toFixed(2)}`);

    log(`seeding ${INDEX_N} customers with their blind index…`);
    await seedCustomers(strapi, { client, from: 1000000, to: 1000000 + INDEX_N, twins: false, log });
    await knex.raw(client === 'postgres' ? 'vacuum analyze' : 'analyze');
    const columns = ['id_number', 'phone', 'email', 'address'];
    // Baseline: the same batches over the same rows, each batch's index rows deleted and written again as they are.
    const indexBaseline = async () => {
      const t = process.hrtime.bigint();
      let walked = 0;
      for (let after = 0; ; ) {
        const page = await knex.transaction(async (trx) => {
          const ids = await trx('idv_customers').where('id', '>', after).orderBy('id').limit(BATCH).select('id', 'document_id');
          if (!ids.length) return ids;
          const docIds = ids.map((r) => r.document_id);
          await trx('idv_customers').whereIn('document_id', docIds).select('document_id', ...columns);
          const rows = await trx('idv_blind_indexes').where('subject', 'plugin::id-vault.customer').whereIn('doc_id', docIds).select('*');
          await trx('idv_blind_indexes').whereIn('id', rows.map((r) => r.id)).del();
          if (rows.length) await trx.batchInsert('idv_blind_indexes', rows, 200);
          return ids;
        });
        if (!page.length) break;
        walked += page.length;
        after = page[page.length - 1].id;
      }
      return walked / (Number(process.hrtime.bigint() - t) / 1e9);
    };
    const indexBefore = await indexBaseline();
    log('rotating the index root…');
    const marks = [];
    const t2 = process.hrtime.bigint();
    const indexResult = await strapi.plugin('id-vault').service('index-rotation').rotate((done, _total, phase) => {
      if (phase === 'reindex') marks.push({ done, at: process.hrtime.bigint() });
    });
    const indexTotal = Number(process.hrtime.bigint() - t2) / 1e9;
    const first = marks[0];
    const last = marks[marks.length - 1];
    const indexRate = (last.done - first.done) / (Number(last.at - first.at) / 1e9);
    const indexBase = (indexBefore + (await indexBaseline())) / 2;
    if (indexResult.failed) throw new Error(`rotate-index: ${indexResult.failed} values did not decrypt`);
    const index = { customers: INDEX_N, rate: indexRate, baseline: indexBase, total: indexTotal, rows: indexResult.tokens };
    console.log(`18. rotate-index over ${INDEX_N} customers: ${indexRate.toFixed(0)} records/s vs ${indexBase.toFixed(0)} records/s rewriting the same index rows without cryptography → ratio ${(indexRate / indexBase).toFixed(2)} (whole command ${indexTotal.toFixed(1)} s, 14 s of it the two waits)`);
    console.log(`BENCH_ROTATION ${JSON.stringify({ client, keys: N, rotation, baseline, erase, index })}`);
  } finally {
    await strapi.destroy().catch(() => {});
    if (client === 'postgres') await pgAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    else removeSqlite(process.env.DATABASE_FILENAME);
    fs.rmSync(appDir, { recursive: true, force: true });
    fs.rmSync(process.env.ID_VAULT_LEDGER_DIR, { recursive: true, force: true });
  }
  process.exit(0);
})().catch((e) => {
  console.error(`[bench rotation ${client}] failed: ${e.stack || e.message}`);
  process.exit(1);
});
