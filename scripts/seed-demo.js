'use strict';
/**
 * Seeds a believable synthetic organisation once, for `npm run demo`:
 * - org units: 总部 Head office → 销售部 Sales (→ 销售一组 Sales group 1, 销售二组 Sales group 2), 客服部 Customer service;
 * - one admin account per role — Super Admin, Archive admin, Unit head (a demo role made here: department head,
 *   approves access requests), Sales rep (two: one in each sales group), Customer-service lead — put in their
 *   units as members and heads; their e-mails and passwords are printed once, on this run only;
 * - ID_VAULT_DEMO_CUSTOMERS (default 200) obviously fictitious customers with valid checksums across the units,
 *   every 20th of them hidden, each with an identity document.
 * Run again, it keeps what is there and prints no password.
 */
const path = require('path');
const { randomBytes } = require('crypto');
const { loadStrapi, PLUGIN_DIST } = require('./lib');

const CUSTOMER = 'plugin::id-vault.customer';
const DOCUMENT = 'plugin::id-vault.identity-document';
const ORG = 'plugin::id-vault.org-unit';
const TAG = 'plugin::id-vault.tag';
const COUNT = Number(process.env.ID_VAULT_DEMO_CUSTOMERS || 200);
const UNIT_HEAD_ROLE = { code: 'id-vault-unit-head', name: 'Unit head', description: 'ID Vault (demo): customers of my org unit and below, masked; first approval of access requests.' };

const password = () => `Vault-${randomBytes(9).toString('base64url')}-7a`;

const main = async () => {
  const { syntheticPerson, syntheticCompany } = require(path.join(PLUGIN_DIST, 'domain'));
  const { CONDITIONS, ACTIONS, ARCHIVE_ADMIN_ROLE } = require(path.join(PLUGIN_DIST, 'utils', 'strapi'));
  const app = await loadStrapi();
  try {
    // Seeding runs outside any request: as the system, on purpose (the plugin refuses a missing caller).
    const { asSystem } = app.plugin('id-vault').service('access');
    const docs = (uid) => {
      const d = app.documents(uid);
      return new Proxy(d, { get: (t, p) => (typeof t[p] === 'function' ? (...args) => asSystem(() => t[p](...args)) : t[p]) });
    };

    if ((await app.db.query('admin::user').count()) || (await docs(CUSTOMER).count())) {
      console.log('Demo data exists already: kept as it is. Log in with the credentials printed on the first run.');
      return;
    }

    console.log('Seeding org units and tags…');
    const hq = await docs(ORG).create({ data: { name: '总部 Head office' } });
    const sales = await docs(ORG).create({ data: { name: '销售部 Sales', parent: hq.documentId } });
    const group1 = await docs(ORG).create({ data: { name: '销售一组 Sales group 1', parent: sales.documentId } });
    const group2 = await docs(ORG).create({ data: { name: '销售二组 Sales group 2', parent: sales.documentId } });
    const service = await docs(ORG).create({ data: { name: '客服部 Customer service', parent: hq.documentId } });
    const tags = [];
    for (const [name, colour] of [['VIP', '#d02b20'], ['新客户 New', '#328048'], ['待复核 Review', '#d9822f']]) {
      tags.push(await docs(TAG).create({ data: { name, colour } }));
    }

    console.log('Seeding roles and accounts…');
    const roleService = app.service('admin::role');
    const role = async (code) => {
      const found = await app.db.query('admin::role').findOne({ where: { code } });
      if (!found) throw new Error(`admin role ${code} is missing (the vault makes its roles on the first start)`);
      return found;
    };
    // The Unit head: a department head sees the customers of their unit and below (masked like a Sales rep)
    // and gives the first of the two approvals of an access request.
    let unitHead = await app.db.query('admin::role').findOne({ where: { code: UNIT_HEAD_ROLE.code } });
    if (!unitHead) {
      unitHead = await roleService.create(UNIT_HEAD_ROLE);
      const scoped = [CONDITIONS.myUnitOrBelow, CONDITIONS.granted];
      const fields = (uid) => Object.keys(app.getModel(uid).attributes);
      await roleService.assignPermissions(unitHead.id, [
        ...[CUSTOMER, DOCUMENT].flatMap((uid) => [
          { action: 'plugin::content-manager.explorer.read', subject: uid, properties: { fields: fields(uid) }, conditions: scoped },
          { action: 'plugin::content-manager.explorer.update', subject: uid, properties: { fields: fields(uid) }, conditions: scoped },
        ]),
        ...[ORG, TAG].map((uid) => ({ action: 'plugin::content-manager.explorer.read', subject: uid, properties: { fields: fields(uid) }, conditions: [] })),
        ...['grant.request', 'grant.approve', 'scan.view'].map((a) => ({ action: ACTIONS[a], subject: null, properties: {}, conditions: [] })),
      ]);
      const access = app.plugin('id-vault').service('access');
      const policy = await access.policy();
      const masked = (...keys) => Object.fromEntries(keys.map((k) => [k, 'masked']));
      const plain = (...keys) => Object.fromEntries(keys.map((k) => [k, 'plain']));
      policy.subjects[`admin-role:${UNIT_HEAD_ROLE.code}`] = {
        fields: {
          ...plain(`${CUSTOMER}#email`, `${CUSTOMER}#address`),
          ...masked(`${CUSTOMER}#idNumber`, `${CUSTOMER}#phone`, `${DOCUMENT}#documentNumber`),
        },
      };
      await asSystem(() => access.save(policy));
    }

    const accounts = [
      { key: 'admin', email: 'admin@id-vault.local', firstname: 'Demo', lastname: 'Admin', role: 'strapi-super-admin', label: 'Super Admin', where: '—' },
      { key: 'archive', email: 'archive@id-vault.local', firstname: 'Jing', lastname: 'Chen', role: ARCHIVE_ADMIN_ROLE, label: 'Archive admin', where: '总部 Head office' },
      { key: 'head', email: 'head@id-vault.local', firstname: 'Lei', lastname: 'Wang', role: UNIT_HEAD_ROLE.code, label: 'Unit head', where: 'head of 销售部 Sales' },
      { key: 'rep', email: 'rep@id-vault.local', firstname: 'Min', lastname: 'Zhao', role: 'id-vault-sales-rep', label: 'Sales rep', where: '销售一组 Sales group 1' },
      { key: 'rep2', email: 'rep2@id-vault.local', firstname: 'Hao', lastname: 'Sun', role: 'id-vault-sales-rep', label: 'Sales rep', where: 'head of 销售二组 Sales group 2' },
      { key: 'service', email: 'service@id-vault.local', firstname: 'Yang', lastname: 'Liu', role: 'id-vault-customer-service-lead', label: 'Customer-service lead', where: 'head of 客服部 Customer service' },
    ];
    const users = {};
    for (const a of accounts) {
      const secret = password();
      const r = a.role === 'strapi-super-admin' ? await roleService.getSuperAdmin() : await role(a.role);
      users[a.key] = await app.service('admin::user').create({ email: a.email, firstname: a.firstname, lastname: a.lastname, password: secret, isActive: true, roles: [r.id] });
      a.password = secret;
    }
    const place = (unit, data) => asSystem(() => app.db.query(ORG).update({ where: { documentId: unit.documentId }, data }));
    await place(hq, { members: [users.archive.id] });
    await place(sales, { members: [users.head.id], heads: [users.head.id] });
    await place(group1, { members: [users.rep.id] });
    await place(group2, { members: [users.rep2.id], heads: [users.rep2.id] });
    await place(service, { members: [users.service.id], heads: [users.service.id] });

    console.log(`Seeding ${COUNT} synthetic customers with their identity documents…`);
    const teams = [group1, group2, service, sales];
    for (let i = 0; i < COUNT; i += 1) {
      const team = teams[i % teams.length].documentId;
      const tag = tags[i % tags.length].documentId;
      // Every 20th customer is hidden (a protected person): only "See hidden customers" shows them.
      const hidden = i % 20 === 19;
      const notes = hidden ? 'Synthetic demo data (hidden customer)' : 'Synthetic demo data';
      let customer;
      if (i % 5 === 4) {
        const c = syntheticCompany(i);
        customer = await docs(CUSTOMER).create({
          data: { kind: 'enterprise', name: c.name, creditCode: c.creditCode, legalRepresentative: c.legalRepresentative, phone: c.phone, email: c.email, address: c.address, industry: 'Demo', team, tags: [tag], notes, hidden },
        });
        await docs(DOCUMENT).create({ data: { customer: customer.documentId, type: 'business-licence', documentNumber: c.creditCode, notes: 'Synthetic demo data' } });
      } else {
        const p = syntheticPerson(i);
        customer = await docs(CUSTOMER).create({
          data: { kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address, team, tags: [tag], notes, hidden },
        });
        await docs(DOCUMENT).create({ data: { customer: customer.documentId, type: 'id-front', documentNumber: p.idNumber, notes: 'Synthetic demo data' } });
      }
      if ((i + 1) % 50 === 0 || i + 1 === COUNT) console.log(`  ${i + 1}/${COUNT}`);
    }

    const port = process.env.PORT || 1337;
    const width = Math.max(...accounts.map((a) => a.label.length));
    console.log(`\nDemo accounts — log in at http://localhost:${port}/admin (shown once: change the passwords after logging in)\n`);
    for (const a of accounts) console.log(`  ${a.label.padEnd(width)}  ${a.email.padEnd(24)}  ${a.password}   ${a.firstname} ${a.lastname}, ${a.where}`);
    console.log('\nDemo data ready.');
  } finally {
    // Chain what the seed recorded (and let a round in progress end) before the connection closes.
    await app.plugin('id-vault').service('audit').flush().catch(() => {});
    await app.destroy();
  }
};

main().catch((e) => {
  console.error(`Demo seeding failed: ${e.message}`);
  process.exit(1);
});
