'use strict';
/**
 * Bulk seeding of synthetic customers for the benchmarks: knex batch inserts of rows encrypted as the
 * storage boundary writes them (a data key per customer, wrapped under the active master key), far faster
 * than the document service. Used by strapi-bench.js and export-bench.js.
 */
const path = require('path');
const { randomBytes } = require('crypto');
const { DIST } = require('./app');

const UID = 'plugin::id-vault.customer';
const BATCH = 500;

/**
 * Seeds customers `from` … `to - 1` (synthetic person i each). Options: `twins` also writes each row
 * unencrypted into the bench twin; `blindIndex` writes the search tokens (what an exact search needs;
 * a benchmark that never searches the rows can skip them); `extra(i)` adds plain columns to customer i.
 * Returns the people seeded, in order. Progress goes to `log`.
 */
const seedCustomers = async (strapi, { client, from = 0, to, twins = true, blindIndex = true, extra = () => ({}), log = () => {} }) => {
  const knex = strapi.db.connection;
  const core = require(path.join(DIST, 'crypto'));
  const { syntheticPerson } = require(path.join(DIST, 'domain'));
  const ring = core.parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS);
  const vault = strapi.plugin('id-vault').service('vault');
  const attrs = strapi.plugin('id-vault').service('fields').of(UID);
  // The index root in use (keys:rotate-index adds versions): tokensFor computes under it.
  const [rootVersion] = await strapi.plugin('id-vault').service('index-rotation').activeVersions();
  const now = client === 'postgres' ? new Date() : Date.now();
  const stamp = { created_at: now, updated_at: now, published_at: now };
  const docId = () => `b${randomBytes(12).toString('hex').slice(0, 23)}`;
  const people = [];
  for (let start = from; start < to; start += BATCH) {
    const keys = [];
    const customers = [];
    const twinRows = [];
    const plains = new Map();
    for (let i = start; i < Math.min(to, start + BATCH); i += 1) {
      const p = syntheticPerson(i);
      people.push(p);
      const documentId = docId();
      const dk = core.newDataKey();
      keys.push({ document_id: docId(), ref: `${UID}#${documentId}`, key_id: dk.id, wrapped: core.wrapDataKey(ring, dk), master_key_id: ring.active.id, ...stamp });
      const enc = (field, v) => core.encryptField(v, dk, { uid: UID, documentId, field });
      const base = { kind: 'personal', name: p.name, id_type: 'resident-id', hidden: false, notes: 'Synthetic benchmark data', ...stamp };
      customers.push({ ...base, ...extra(i), document_id: documentId, id_number: enc('idNumber', p.idNumber), phone: enc('phone', p.phone), email: enc('email', p.email), address: enc('address', p.address) });
      if (twins) twinRows.push({ ...base, document_id: docId(), id_number: p.idNumber, phone: p.phone, email: p.email, address: p.address });
      plains.set(documentId, p);
    }
    await knex.batchInsert('idv_data_keys', keys, 250);
    await knex.batchInsert('idv_customers', customers, 100);
    if (twins) await knex.batchInsert('idv_bench_twins', twinRows, 100);
    if (blindIndex) {
      const index = [];
      for (const [documentId, p] of plains) {
        for (const attr of attrs) {
          for (const token of await vault.tokensFor(UID, attr, p[attr.name])) {
            index.push({ document_id: docId(), subject: UID, field: attr.name, token, doc_id: documentId, root_version: rootVersion, ...stamp });
          }
        }
      }
      await knex.batchInsert('idv_blind_indexes', index, 250);
    }
    const done = Math.min(to, start + BATCH);
    if (((done - from) / BATCH) % 20 === 0 || done >= to) log(`seeded ${done}/${to}`);
  }
  return people;
};

module.exports = { UID, seedCustomers };
