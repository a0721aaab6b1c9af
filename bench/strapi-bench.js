'use strict';
/**
 * One database's REST and search benchmarks, in a process of its own (one Strapi per process):
 *   node bench/strapi-bench.js sqlite|postgres
 * Seeds N synthetic customers (encrypted, as the storage boundary writes them) and the same rows
 * unencrypted in the benchmark-only twin type, then times the same requests against both, interleaved.
 * The twin (bench/twin/schema.json) is an app API of a throw-away copy of the compiled app, so it exists
 * only here: the plugin's production wiring knows nothing of it.
 * Prints one line `BENCH_RESULT <json>`.
 */
const path = require('path');
const fs = require('fs');
const { interleave } = require('./stats');
const { ROOT, secretsEnv, benchApp, pgAdmin, pgUrl, removeSqlite } = require('./app');
const { UID, seedCustomers } = require('./seed');

const client = process.argv[2] || 'sqlite';
const N = Number(process.env.BENCH_CUSTOMERS || 50000);
const log = (...a) => console.error(`[bench ${client}]`, ...a);

Object.assign(process.env, secretsEnv());
const dbName = `idvault_bench_${process.pid}`;

const seed = (strapi) => seedCustomers(strapi, { client, to: N, log });

/**
 * 200 org units (10 departments of 20 units: the head unit and 19 groups under it), customers spread over
 * them, and two users-permissions users who are members of one department's head unit: one in a role with
 * the `subtree` read scope (one tenth of the customers), one in a role with `all`. Same auth path, same
 * masking; only the scope differs. Returns both JWTs.
 */
const scopeSetup = async (strapi) => {
  const knex = strapi.db.connection;
  const units = strapi.db.query('plugin::id-vault.org-unit');
  const ids = [];
  for (let d = 0; d < 10; d += 1) {
    const head = await units.create({ data: { name: `Department ${d}` } });
    ids.push(head.id);
    for (let g = 0; g < 19; g += 1) ids.push((await units.create({ data: { name: `Department ${d} group ${g}`, parent: head.id } })).id);
  }
  const { joinTable } = strapi.db.metadata.get(UID).attributes.team;
  const customers = await knex('idv_customers').select('id');
  const links = customers.map((c, i) => ({ [joinTable.joinColumn.name]: c.id, [joinTable.inverseJoinColumn.name]: ids[i % ids.length] }));
  await knex.batchInsert(joinTable.name, links, 500);
  const access = strapi.plugin('id-vault').service('access');
  const policy = await access.policy();
  const jwts = {};
  for (const read of ['subtree', 'all']) {
    const type = `bench_${read}`;
    const role = await strapi.db.query('plugin::users-permissions.role').create({ data: { name: `Bench ${read}`, type } });
    for (const action of ['customer.find', 'org-unit.find']) {
      await strapi.db.query('plugin::users-permissions.permission').create({ data: { action: `plugin::id-vault.${action}`, role: role.id } });
    }
    const user = await strapi.db.query('plugin::users-permissions.user').create({ data: { username: type, email: `${type}@example.test`, provider: 'local', confirmed: true, role: role.id } });
    await units.update({ where: { id: ids[0] }, data: { apiMembers: { connect: [user.id] } } });
    policy.subjects[`up-role:${type}`] = { read };
    jwts[read] = strapi.plugin('users-permissions').service('jwt').issue({ id: user.id });
  }
  await access.save(policy);
  await knex.raw(client === 'postgres' ? 'vacuum analyze' : 'analyze');
  return jwts;
};

(async () => {
  if (client === 'postgres') {
    await pgAdmin(`CREATE DATABASE ${dbName}`);
    Object.assign(process.env, { DATABASE_CLIENT: 'postgres', DATABASE_URL: pgUrl(dbName) });
  } else {
    fs.mkdirSync(path.join(ROOT, '.tmp', 'bench'), { recursive: true });
    process.env.DATABASE_FILENAME = path.join(ROOT, '.tmp', 'bench', `${dbName}.db`);
  }
  const { createStrapi } = require('@strapi/strapi');
  const appDir = benchApp();
  const strapi = createStrapi({ appDir, distDir: appDir, autoReload: false, serveAdminPanel: false });
  strapi.log.level = 'error';
  try {
    await strapi.load();
    strapi.server.mount();
    await new Promise((r) => strapi.server.httpServer.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${strapi.server.httpServer.address().port}`;
    const base = `${origin}/api/id-vault`;
    const twins = `${origin}/api/bench-twins`;
    log(`seeding ${N} customers and their unencrypted twins…`);
    const t0 = Date.now();
    const people = await seed(strapi);
    log(`seeded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    // A bulk load leaves no statistics and (PostgreSQL) no visibility map; a live database has both.
    await strapi.db.connection.raw(client === 'postgres' ? 'vacuum analyze' : 'analyze');
    const tokens = strapi.service('admin::api-token-content-api') ?? strapi.service('admin::api-token');
    const token = (await tokens.create({ name: 'bench', type: 'full-access', lifespan: null })).accessKey;
    const readOnly = (await tokens.create({ name: 'bench-read-only', type: 'read-only', lifespan: null })).accessKey;
    const get = async (url, bearer = token) => {
      const res = await fetch(url.startsWith('/bench-twins') ? `${twins}${url.slice('/bench-twins'.length)}` : `${base}${url}`, { headers: { Authorization: `Bearer ${bearer}` } });
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      return res.json();
    };
    // Sanity: both sides answer the same rows.
    const probe = people[7];
    const [a, b] = await Promise.all([get(`/customers?filters[idNumber][$eq]=${probe.idNumber}`), get(`/bench-twins?filters[idNumber][$eq]=${probe.idNumber}`)]);
    if (a.data[0]?.idNumber !== probe.idNumber || b.data[0]?.idNumber !== probe.idNumber) throw new Error('the two sides disagree');

    if (process.env.BENCH_SEED_ONLY === '1') {
      // Seed, set up the scope, keep the database for EXPLAIN; measure nothing.
      process.env.BENCH_KEEP_DATABASE = '1';
      await scopeSetup(strapi);
      console.log(`BENCH_RESULT ${JSON.stringify({ client, customers: N, seedOnly: true })}`);
      return;
    }
    log('REST list of 100…');
    const list = await interleave(() => get('/customers?pagination[pageSize]=100'), () => get('/bench-twins?pagination[pageSize]=100'), { rounds: 120 });
    log('exact search…');
    const pick = (i) => people[(i * 7919) % people.length].idNumber;
    const search = await interleave(
      (i) => get(`/customers?filters[idNumber][$eq]=${pick(i)}`),
      (i) => get(`/bench-twins?filters[idNumber][$eq]=${pick(i)}`),
      { rounds: 80 }
    );
    log('masked role vs plaintext (same rows)…');
    const page = '/customers?pagination[pageSize]=100';
    const masked = await interleave(() => get(page, readOnly), () => get(page, token), { rounds: 120 });
    log('subtree row scope vs unscoped…');
    const jwts = await scopeSetup(strapi);
    const reach = (await get(page, jwts.subtree)).meta.pagination.total;
    if (reach !== Math.round(N / 10)) throw new Error(`the scoped user reaches ${reach} customers, not one tenth`);
    if ((await get(page, jwts.all)).meta.pagination.total !== N) throw new Error('the unscoped user does not reach every customer');
    const scoped = await interleave(() => get(page, jwts.subtree), () => get(page, jwts.all), { rounds: 120 });
    log('relation filter into customers: subtree scope vs full access…');
    // Which org unit holds the customer of this name? A customer of the scoped user's department (unit index < 20).
    const inDepartment = (i) => people[((i % 50) * 200 + (i % 20)) % people.length].name;
    const unitOf = (i) => `/org-units?filters[customers][name][$eq]=${encodeURIComponent(inDepartment(i))}`;
    const [seenScoped, seenFull] = [await get(unitOf(3), jwts.subtree), await get(unitOf(3), token)];
    if (seenScoped.data.length !== 1 || seenFull.data.length !== 1) throw new Error('the relation filter does not find the unit on both sides');
    const relation = await interleave((i) => get(unitOf(i), jwts.subtree), (i) => get(unitOf(i), token), { rounds: 120 });
    log('read auditing on vs off (list of 100)…');
    // The switch is read per request (ID_VAULT_AUDIT_READS), so both sides run in this one process.
    const withAudit = (on) => () => {
      process.env.ID_VAULT_AUDIT_READS = on ? 'true' : 'false';
      return get(page, token);
    };
    const readAudit = await interleave(withAudit(true), withAudit(false), { rounds: 120 });
    delete process.env.ID_VAULT_AUDIT_READS;
    console.log(`BENCH_RESULT ${JSON.stringify({ client, customers: N, list, search, masked, scoped, relation, readAudit })}`);
  } finally {
    await strapi.destroy().catch(() => {});
    // BENCH_KEEP_DATABASE=1 keeps the PostgreSQL database (to EXPLAIN what the bench ran); drop it yourself.
    if (client === 'postgres' && process.env.BENCH_KEEP_DATABASE === '1') log(`kept database ${dbName}`);
    else if (client === 'postgres') await pgAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    else removeSqlite(process.env.DATABASE_FILENAME);
    fs.rmSync(appDir, { recursive: true, force: true });
  }
  process.exit(0);
})().catch((e) => {
  console.error(`[bench ${client}] failed: ${e.stack || e.message}`);
  process.exit(1);
});
