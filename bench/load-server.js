'use strict';
/**
 * One Strapi server for the load benchmark (bench/load.js), in a process of its own, started by it with
 * an IPC channel. Boots the throw-away app in LOAD_APP_DIR (bench/app.js: the compiled app plus the
 * unencrypted twin) on the database in its environment and listens on 127.0.0.1 (a free port).
 *
 * With LOAD_SEED=N (> 0; the first process), it also creates a full-access API token and seeds N synthetic
 * people through its own REST API, each as a customer and as a twin (LOAD_SIDES=vault: as a customer only), then sends
 *   { type: 'ready', origin, token, seeded: [{ seed, vault: documentId, twin: documentId }, …] }
 * Without (the second process, on the same database), it sends { type: 'ready', origin } once it listens.
 * { type: 'stop' }, SIGTERM, SIGINT or a lost parent: Strapi is destroyed and the process exits.
 * Logs go to stderr; nothing is printed on stdout.
 */
const path = require('path');
const { DIST } = require('./app');

const name = process.env.LOAD_SERVER_NAME || 'A';
const appDir = process.env.LOAD_APP_DIR;
const seedCount = Number(process.env.LOAD_SEED || 0);
/** LOAD_SIDES=vault (the soak): seed customers only, no twins (`twin` is null in `seeded`). */
const vaultOnly = process.env.LOAD_SIDES === 'vault';
const log = (...a) => console.error(`[load-server ${name}]`, ...a);

let strapi = null;
let stopping = null;
const stop = (code = 0) => {
  stopping ??= (async () => {
    // Memory under load (e.g. to judge a heap cap set with NODE_OPTIONS=--max-old-space-size=…).
    const mb = (n) => Math.round(n / 1048576);
    log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB, heap limit ${mb(require('v8').getHeapStatistics().heap_size_limit)} MB`);
    const timer = setTimeout(() => process.exit(code), 10000);
    timer.unref();
    if (strapi) await strapi.destroy().catch(() => {});
    process.exit(code);
  })();
  return stopping;
};
process.on('message', (m) => m?.type === 'stop' && stop(0));

// CPU profiles on request (bench/load.js with LOAD_PROFILE=dir): one per measured half.
let profiler = null;
process.on('message', (m) => {
  if (m?.type === 'profile-start') {
    const inspector = require('inspector');
    profiler = new inspector.Session();
    profiler.connect();
    profiler.post('Profiler.enable', () => profiler.post('Profiler.start'));
  } else if (m?.type === 'profile-stop' && profiler) {
    const session = profiler;
    profiler = null;
    session.post('Profiler.stop', (err, res) => {
      if (!err) require('fs').writeFileSync(m.file, JSON.stringify(res.profile));
      session.disconnect();
    });
  }
});
process.on('disconnect', () => stop(0));
const onSignals = () => {
  // Strapi adds its own SIGTERM/SIGINT handlers (destroy, exit); one destroy only, so ours replace them.
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.removeAllListeners(sig);
    process.on(sig, () => stop(0));
  }
};
onSignals();

/** POSTs the same people to both sides, `parallel` at a time; returns their documentIds in seed order. */
const seedPeople = async (origin, token) => {
  const { syntheticPerson } = require(path.join(DIST, 'domain'));
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const post = async (url, p) => {
    const body = { data: { kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address } };
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(60000) });
    const text = await res.text();
    if (res.status !== 200 && res.status !== 201) throw new Error(`seeding: POST ${url.slice(origin.length)} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text).data.documentId;
  };
  const seeded = new Array(seedCount);
  let next = 0;
  let done = 0;
  let lastLog = Date.now();
  const t0 = Date.now();
  const worker = async () => {
    while (next < seedCount && !stopping) {
      const seed = next++;
      const p = syntheticPerson(seed);
      const [vault, twin] = await Promise.all([post(`${origin}/api/id-vault/customers`, p), vaultOnly ? null : post(`${origin}/api/bench-twins`, p)]);
      seeded[seed] = { seed, vault, twin };
      done += 1;
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        const rate = done / ((Date.now() - t0) / 1000);
        log(`seeding: ${done}/${seedCount} people, ~${Math.ceil((seedCount - done) / rate)} s left`);
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  if (stopping) await stopping;
  log(`seeded ${seedCount} people ${vaultOnly ? 'as customers' : 'on both sides'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return seeded;
};

(async () => {
  if (!appDir) throw new Error('LOAD_APP_DIR is not set (start this through bench/load.js)');
  const { createStrapi } = require('@strapi/strapi');
  strapi = createStrapi({ appDir, distDir: appDir, autoReload: false, serveAdminPanel: false });
  onSignals();
  strapi.log.level = 'error';
  await strapi.load();
  strapi.server.mount();
  await new Promise((resolve, reject) => {
    strapi.server.httpServer.once('error', reject);
    strapi.server.httpServer.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${strapi.server.httpServer.address().port}`;
  log(`listening on ${origin}`);
  if (seedCount <= 0) {
    process.send({ type: 'ready', origin });
    return;
  }
  const tokens = strapi.service('admin::api-token-content-api') ?? strapi.service('admin::api-token');
  const token = (await tokens.create({ name: 'load-bench', type: 'full-access', lifespan: null })).accessKey;
  log(`seeding ${seedCount} people as customers${vaultOnly ? '' : ' and as twins'} through REST…`);
  const seeded = await seedPeople(origin, token);
  // A fresh table has no planner statistics (PostgreSQL: and no visibility map); a live database has both.
  await strapi.db.connection.raw(process.env.DATABASE_CLIENT === 'postgres' ? 'vacuum analyze' : 'analyze');
  process.send({ type: 'ready', origin, token, seeded });
})().catch((e) => {
  log(`failed: ${e.stack || e.message}`);
  if (!process.connected) return stop(1);
  process.send({ type: 'error', message: e.message }, () => stop(1));
});
