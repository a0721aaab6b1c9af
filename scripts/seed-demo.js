'use strict';
/**
 * Seeds synthetic demo data once: org units, tags, a super admin (whose e-mail and password it prints),
 * and 200 obviously fictitious customers with valid checksums. Run again, it keeps what is there.
 */
const path = require('path');
const { randomBytes } = require('crypto');
const { loadStrapi, PLUGIN_DIST } = require('./lib');

const CUSTOMER = 'plugin::id-vault.customer';
const ORG = 'plugin::id-vault.org-unit';
const TAG = 'plugin::id-vault.tag';
const COUNT = Number(process.env.ID_VAULT_DEMO_CUSTOMERS || 200);

const main = async () => {
  const { syntheticPerson, syntheticCompany } = require(path.join(PLUGIN_DIST, 'domain'));
  const app = await loadStrapi();
  try {
    // Seeding runs outside any request: as the system, on purpose (the plugin refuses a missing caller).
    const { asSystem } = app.plugin('id-vault').service('access');
    const docs = (uid) => {
      const d = app.documents(uid);
      return new Proxy(d, { get: (t, p) => (typeof t[p] === 'function' ? (...args) => asSystem(() => t[p](...args)) : t[p]) });
    };

    // The admin account.
    const admins = await app.db.query('admin::user').count();
    if (!admins) {
      const role = await app.service('admin::role').getSuperAdmin();
      const email = 'admin@id-vault.local';
      const password = `Vault-${randomBytes(9).toString('base64url')}-7a`;
      await app.service('admin::user').create({ email, firstname: 'Demo', lastname: 'Admin', password, isActive: true, roles: [role.id] });
      console.log(`\nDemo admin created. Log in at http://localhost:${process.env.PORT || 1337}/admin with\n  e-mail:   ${email}\n  password: ${password}\n(shown once: change it after logging in)\n`);
    } else {
      console.log('Admin account exists already: log in with the credentials printed on the first run.');
    }

    if (await docs(CUSTOMER).count()) {
      console.log('Demo data exists already: kept as it is.');
      return;
    }

    console.log('Seeding org units and tags…');
    const head = await docs(ORG).create({ data: { name: '总部 Head office' } });
    const sales = await docs(ORG).create({ data: { name: '销售部 Sales', parent: head.documentId } });
    const service = await docs(ORG).create({ data: { name: '客服部 Customer service', parent: head.documentId } });
    const groups = [
      await docs(ORG).create({ data: { name: '销售一组 Sales group 1', parent: sales.documentId } }),
      await docs(ORG).create({ data: { name: '销售二组 Sales group 2', parent: sales.documentId } }),
      service,
    ];
    const tags = [];
    for (const [name, colour] of [['VIP', '#d02b20'], ['新客户 New', '#328048'], ['待复核 Review', '#d9822f']]) {
      tags.push(await docs(TAG).create({ data: { name, colour } }));
    }

    console.log(`Seeding ${COUNT} synthetic customers…`);
    for (let i = 0; i < COUNT; i += 1) {
      const team = groups[i % groups.length].documentId;
      const tag = tags[i % tags.length].documentId;
      if (i % 5 === 4) {
        const c = syntheticCompany(i);
        await docs(CUSTOMER).create({
          data: { kind: 'enterprise', name: c.name, creditCode: c.creditCode, legalRepresentative: c.legalRepresentative, phone: c.phone, email: c.email, address: c.address, industry: 'Demo', team, tags: [tag], notes: 'Synthetic demo data' },
        });
      } else {
        const p = syntheticPerson(i);
        await docs(CUSTOMER).create({
          data: { kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address, team, tags: [tag], notes: 'Synthetic demo data' },
        });
      }
      if ((i + 1) % 50 === 0 || i + 1 === COUNT) console.log(`  ${i + 1}/${COUNT}`);
    }
    console.log('Demo data ready.');
  } finally {
    await app.destroy();
  }
};

main().catch((e) => {
  console.error(`Demo seeding failed: ${e.message}`);
  process.exit(1);
});
