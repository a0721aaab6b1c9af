'use strict';
/**
 * `npm run bench:load`: concurrent load against id-vault's customers and the unencrypted bench twin, in
 * one run, on SQLite and/or PostgreSQL, with one or two Strapi processes (bench/load-server.js, children of
 * this process; two only on PostgreSQL, one database). Loopback only: the servers listen on 127.0.0.1
 * and this process talks to nothing else.
 *
 *   node bench/load.js [--db sqlite|postgres|both] [--clients N] [--duration S] [--mix reads|writes|mixed|all]
 *                      [--processes 1|2|both] [--seed N]
 *   node bench/load.js --soak [S] [--clients N] [--seed N]
 * Env fallbacks: LOAD_DB, LOAD_CLIENTS, LOAD_DURATION, LOAD_MIX, LOAD_PROCESSES, LOAD_SEED, LOAD_SOAK.
 *
 * Per database × processes: a fresh database, N synthetic people seeded through REST on both sides, a short
 * warm-up (not counted), then per mix `duration` seconds of closed-loop load per side in alternating halves
 * (vault, twin, vault, twin). Then the checks: every record written during the load reads back with the
 * values last written, each type's count is seeded + created, and `scripts/audit-verify.js` passes once the
 * servers are stopped. Tables on stdout, progress on stderr, last line `LOAD_RESULT <json>`. Exit code 1
 * when a 5xx or network error happened under load or a check failed.
 *
 * Soak (`--soak S`, default 60 s, 20 to 600; PostgreSQL, two processes A and B on one fresh database,
 * customers only): the mixed load for S seconds, clients spread over A and B; at S/2 B is killed with
 * SIGKILL under load and, 5 s later, started again on the same database (no seeding); B's clients use it
 * again once it is ready. Then, with the servers stopped: A answered everything 2xx; nobody answered 5xx and
 * B failed only with network errors, only while dead or in flight at the kill; every acknowledged write
 * reads back as last acknowledged (through a server booted again; an update in flight at the kill may hold
 * either value); no half-written rows (SQL: customers without their data key or blind-index rows, blind-index
 * rows without their customer); audit:verify passes (events pending before it are counted); at least one
 * success audit event per acknowledged create and update. A table per process and phase on stdout, progress
 * on stderr, last line `SOAK_RESULT <json>`; exit code 1 when an expectation fails.
 */
const path = require('path');
const fs = require('fs');
const { spawn } = require('child_process');
const { performance } = require('perf_hooks');
const { ROOT, DIST, secretsEnv, benchApp, pgAdmin, pgQuery, pgUrl, removeSqlite, serverNodeFlags } = require('./app');

// ---------------------------------------------------------------------------------------------- options

const USAGE = `usage: node bench/load.js [--db sqlite|postgres|both] [--clients N] [--duration S] [--mix reads|writes|mixed|all] [--processes 1|2|both] [--seed N]
       node bench/load.js --soak [S] [--clients N] [--seed N]    (PostgreSQL, 2 processes, B killed with SIGKILL at S/2; S default 60, 20 to 600)`;
const fail = (msg) => {
  console.error(`bench:load: ${msg}\n${USAGE}`);
  process.exit(2);
};

const FLAGS = { db: 'LOAD_DB', clients: 'LOAD_CLIENTS', duration: 'LOAD_DURATION', mix: 'LOAD_MIX', processes: 'LOAD_PROCESSES', seed: 'LOAD_SEED', soak: 'LOAD_SOAK' };
const SOAK_DEFAULT = 60;

const parseArgs = (argv) => {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1] in FLAGS)) fail(`unknown argument ${a}`);
    let value = m[2];
    if (value === undefined && m[1] === 'soak' && (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))) value = String(SOAK_DEFAULT);
    else value ??= argv[(i += 1)];
    if (value === undefined) fail(`--${m[1]} needs a value`);
    out[m[1]] = value;
  }
  for (const [flag, envName] of Object.entries(FLAGS)) if (out[flag] === undefined && process.env[envName]) out[flag] = process.env[envName];
  return out;
};

const int = (raw, name, def, min, max) => {
  if (raw === undefined) return def;
  if (!/^\d+$/.test(String(raw))) fail(`--${name} must be a whole number (got ${raw})`);
  const n = Number(raw);
  if (n < min || n > max) fail(`--${name} must be between ${min} and ${max} (got ${n})`);
  return n;
};
const oneOf = (raw, name, def, allowed) => {
  if (raw === undefined) return def;
  if (!allowed.includes(raw)) fail(`--${name} must be one of ${allowed.join(', ')} (got ${raw})`);
  return raw;
};

const args = parseArgs(process.argv.slice(2));
const opts = {
  db: oneOf(args.db, 'db', 'both', ['sqlite', 'postgres', 'both']),
  clients: int(args.clients, 'clients', 50, 1, 200),
  duration: int(args.duration, 'duration', 40, 2, 600),
  mix: oneOf(args.mix, 'mix', 'all', ['reads', 'writes', 'mixed', 'all']),
  processes: oneOf(args.processes, 'processes', undefined, ['1', '2', 'both']),
  seed: int(args.seed, 'seed', 2000, 10, 20000),
  soak: args.soak === undefined ? null : int(args.soak, 'soak', SOAK_DEFAULT, 20, 600),
};
if (opts.db === 'sqlite' && opts.processes === '2') fail('2 processes only on PostgreSQL (SQLite is one file, one writer process)');
if (opts.soak !== null) {
  if (args.db !== undefined && args.db !== 'postgres') fail('--soak runs on PostgreSQL only');
  if (args.processes !== undefined && args.processes !== '2') fail('--soak runs 2 processes');
  if (args.mix !== undefined && args.mix !== 'mixed') fail('--soak runs the mixed load');
  if (args.duration !== undefined) fail('--soak S sets the duration (no --duration)');
  if (opts.clients < 2) fail('--soak needs at least 2 clients (one per process)');
}

const CONFIGS = [];
if (opts.db !== 'postgres') CONFIGS.push({ db: 'sqlite', processes: 1 });
if (opts.db !== 'sqlite') {
  const ps = opts.processes === '1' ? [1] : opts.processes === '2' ? [2] : [1, 2];
  for (const processes of ps) CONFIGS.push({ db: 'postgres', processes });
}
const MIXES = opts.mix === 'all' ? ['reads', 'writes', 'mixed'] : [opts.mix];
const OPS = { reads: ['list', 'search', 'findOne'], writes: ['create', 'update'], mixed: ['list', 'search', 'findOne', 'create', 'update'] };
const SIDES = { vault: '/api/id-vault/customers', twin: '/api/bench-twins' };
const HALF = opts.duration / 2;
const WARMUP = Math.min(5, Math.max(1, Math.round(opts.duration / 8)));
const REQUEST_TIMEOUT_MS = 30000;
const FIELDS = ['name', 'idNumber', 'phone', 'email', 'address'];

const { syntheticPerson } = require(path.join(DIST, 'domain'));
const log = (...a) => console.error('[load]', ...a);
const label = (c) => `${c.db === 'sqlite' ? 'SQLite' : 'PostgreSQL'} × ${c.processes} process${c.processes > 1 ? 'es' : ''}`;

// ------------------------------------------------------------------------------------- clean-up registry

const live = { children: new Set(), dirs: new Set(), pgDbs: new Set(), sqliteFiles: new Set(), unexpectedExits: [] };
let aborted = false;

const waitExit = (child, ms) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        child.once('exit', () => {
          clearTimeout(t);
          resolve(true);
        });
      });

const stopChild = async (child) => {
  child.stopRequested = true;
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.connected) child.send({ type: 'stop' });
  else child.kill('SIGTERM');
  if (!(await waitExit(child, 15000))) {
    child.kill('SIGKILL');
    await waitExit(child, 5000);
  }
};

const dropDatabase = async (name) => {
  await pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  live.pgDbs.delete(name);
};

const cleanupAll = async () => {
  await Promise.all([...live.children].map((c) => stopChild(c).catch(() => {})));
  for (const name of [...live.pgDbs]) await dropDatabase(name).catch((e) => log(`could not drop database ${name}: ${e.message}`));
  for (const file of [...live.sqliteFiles]) {
    removeSqlite(file);
    live.sqliteFiles.delete(file);
  }
  for (const dir of [...live.dirs]) {
    fs.rmSync(dir, { recursive: true, force: true });
    live.dirs.delete(dir);
  }
};

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (aborted) return;
    aborted = true;
    log(`${sig}: stopping the servers and cleaning up…`);
    cleanupAll().finally(() => process.exit(130));
  });
}

// ------------------------------------------------------------------------------------------- helpers

const mulberry32 = (seed) => () => {
  let t = (seed += 0x6d2b79f5);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const percentile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : null);
const round = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
const ratio = (a, b) => (a === null || b === null || !b ? null : a / b);
const loopbackOnly = (origin) => {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) throw new Error(`refusing a non-loopback server origin ${origin}`);
  return origin;
};

/** Seeds handed to people created or updated under load: unique across the whole run, none a seeded one. */
let nextSeed = opts.seed;
const person = (seed) => {
  const p = syntheticPerson(seed);
  return { name: p.name, idNumber: p.idNumber, phone: p.phone, email: p.email, address: p.address };
};

// ------------------------------------------------------------------------------------------- servers

const startServer = (name, env, appDir, seed) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...serverNodeFlags(), path.join(__dirname, 'load-server.js')], {
      cwd: ROOT,
      env: { ...env, LOAD_SERVER_NAME: name, LOAD_APP_DIR: appDir, LOAD_SEED: String(seed) },
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    live.children.add(child);
    let ready = false;
    child.once('exit', (code, sig) => {
      live.children.delete(child);
      if (ready && !child.stopRequested && !aborted) {
        live.unexpectedExits.push(`server ${name} exited (${sig || code}) while in use`);
        log(`server ${name} exited (${sig || code}) while in use`);
      }
    });
    const limit = (180 + seed * 0.2) * 1000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server ${name} was not ready after ${Math.round(limit / 1000)} s`));
    }, limit);
    child.once('message', (m) => {
      clearTimeout(timer);
      ready = m?.type === 'ready';
      try {
        if (ready) resolve({ child, ...m, origin: loopbackOnly(m.origin) });
        else reject(new Error(`server ${name} failed: ${m?.message}`));
      } catch (e) {
        reject(e);
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`server ${name} exited (${sig || code}) before it was ready`));
    });
  });

// -------------------------------------------------------------------------------------- the load itself

/**
 * CPU seconds (user + system) the server processes have used so far, from /proc (Linux); null elsewhere.
 * Per request it says what a request costs whatever else shares the cores (throughput alone moves with them).
 */
const cpuSeconds = (servers) => {
  try {
    return servers.reduce((sum, s) => {
      const stat = fs.readFileSync(`/proc/${s.child.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return sum + (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    }, 0);
  } catch {
    return null;
  }
};
const CLOCK_TICKS = 100;
/**
 * CPU seconds used so far by PostgreSQL's processes on this machine (the postmaster and every backend, of
 * every database: meaningful when nothing else uses this PostgreSQL), or null where /proc cannot tell.
 */
const postgresCpuSeconds = () => {
  try {
    let sum = 0;
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat;
      try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      if (!stat.startsWith(`${pid} (postgres) `)) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    }
    return sum;
  } catch {
    return null;
  }
};

const newStats = () => ({ ops: {}, elapsed: 0, late: 0, drain: 0, cpu: 0, dbCpu: 0, errors: { non2xx: 0, status5xx: 0, network: 0, byStatus: {}, samples: [] } });

class Side {
  constructor(name, seeded, field) {
    this.name = name;
    this.path = SIDES[name];
    this.records = new Map(); // documentId → the values last written (what a read must answer)
    this.seededIds = [];
    this.seededIdNumbers = [];
    for (const s of seeded) {
      const p = person(s.seed);
      this.records.set(s[field], p);
      this.seededIds.push(s[field]);
      this.seededIdNumbers.push(p.idNumber);
    }
    this.seeded = seeded.length;
    this.pool = [...this.seededIds]; // records an update may pick
    this.busy = new Set(); // records with an update in flight (one writer per record, so "last written" is exact)
    this.created = new Set();
    this.updated = new Set();
    this.acks = { create: 0, update: 0 }; // acknowledged (2xx) writes, each one, warm-up and late answers included
    this.maybe = new Map(); // documentId → { phone, email } of an unacknowledged update that may have committed (soak: in flight at the kill)
  }
}

const request = async (token, method, url, body) => {
  const headers = { Authorization: `Bearer ${token}` };
  if (body) headers['Content-Type'] = 'application/json';
  const t0 = performance.now();
  try {
    const res = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    const at = performance.now();
    return { status: res.status, text, ms: at - t0, at };
  } catch (e) {
    const at = performance.now();
    return { status: 0, text: `${e.name}: ${e.cause?.code || e.cause?.message || e.message}`, ms: at - t0, at };
  }
};

const pickOp = (mix, r) => {
  if (mix === 'reads') return r < 1 / 3 ? 'list' : r < 2 / 3 ? 'search' : 'findOne';
  if (mix === 'writes') return r < 0.75 ? 'create' : 'update';
  return r < 0.2 ? 'list' : r < 0.4 ? 'search' : r < 0.6 ? 'findOne' : r < 0.9 ? 'create' : 'update';
};

/**
 * One request of `op` on `side`; books what it wrote in `side` and its outcome in `stats`: its latency only
 * when it answered by `end` (the close of the half), any failure always. Returns { op, res } (the operation
 * done: an update whose every pick was busy is a create). A write that got no answer (network error) is
 * passed to `ctx.lost(origin, res, op, update)` when set — for an update before its record is free again.
 */
const operate = async (ctx, side, origin, op, rnd, stats, end) => {
  const base = `${origin}${side.path}`;
  let res;
  let onOk = null;
  if (op === 'list') res = await request(ctx.token, 'GET', `${base}?pagination[pageSize]=25`);
  else if (op === 'search') res = await request(ctx.token, 'GET', `${base}?filters[idNumber][$eq]=${encodeURIComponent(side.seededIdNumbers[Math.floor(rnd() * side.seeded)])}`);
  else if (op === 'findOne') res = await request(ctx.token, 'GET', `${base}/${side.seededIds[Math.floor(rnd() * side.seeded)]}`);
  else if (op === 'create') {
    const p = person(nextSeed++);
    res = await request(ctx.token, 'POST', base, { data: { kind: 'personal', name: p.name, idType: 'resident-id', ...p } });
    if (res.status === 0) ctx.lost?.(origin, res, op, null);
    onOk = () => {
      const documentId = JSON.parse(res.text)?.data?.documentId;
      if (!documentId) throw new Error('no documentId in the answer');
      side.records.set(documentId, p);
      side.pool.push(documentId);
      side.created.add(documentId);
      side.acks.create += 1;
    };
  } else {
    let documentId = null;
    for (let i = 0; i < 8 && !documentId; i += 1) {
      const d = side.pool[Math.floor(rnd() * side.pool.length)];
      if (!side.busy.has(d)) documentId = d;
    }
    if (!documentId) return operate(ctx, side, origin, 'create', rnd, stats, end); // every pick busy: create instead
    const fresh = person(nextSeed++);
    side.busy.add(documentId);
    try {
      res = await request(ctx.token, 'PUT', `${base}/${documentId}`, { data: { phone: fresh.phone, email: fresh.email } });
      if (res.status === 0) ctx.lost?.(origin, res, op, { documentId, phone: fresh.phone, email: fresh.email });
    } finally {
      side.busy.delete(documentId);
    }
    onOk = () => {
      const rec = side.records.get(documentId);
      rec.phone = fresh.phone;
      rec.email = fresh.email;
      side.updated.add(documentId);
      side.maybe.delete(documentId); // acknowledged after the lost one: the record holds these values, exactly
      side.acks.update += 1;
    };
  }
  let ok = res.status >= 200 && res.status < 300;
  if (ok && onOk) {
    try {
      onOk();
    } catch (e) {
      ok = false;
      res = { ...res, status: 0, text: `unreadable ${op} answer (${e.message}): ${res.text.slice(0, 120)}` };
    }
  }
  const o = (stats.ops[op] ??= { n: 0, lat: [] });
  if (ok) {
    if (res.at > end) stats.late += 1;
    else {
      o.n += 1;
      o.lat.push(res.ms);
    }
    return { op, res };
  }
  const err = stats.errors;
  err.non2xx += res.status !== 0 ? 1 : 0;
  err.status5xx += res.status >= 500 ? 1 : 0;
  err.network += res.status === 0 ? 1 : 0;
  err.byStatus[res.status || 'network'] = (err.byStatus[res.status || 'network'] || 0) + 1;
  if (res.status === 0) await new Promise((r) => setTimeout(r, 50)); // a dead server: do not spin
  if (err.samples.length < 5) err.samples.push(`${op} → ${res.status || 'network error'}: ${res.text.slice(0, 200)}`);
  return { op, res };
};

/** `clients` closed loops against one side for `seconds`; client i talks to server i mod servers. */
const runHalf = async (ctx, side, mix, seconds, stats, phase) => {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const ticker = setInterval(() => {
    const left = Math.max(0, Math.round((end - performance.now()) / 1000));
    const total = Object.values(stats.ops).reduce((s, o) => s + o.n, 0);
    log(`${phase}: ${left} s left in this half${ctx.loadLeft ? `, ~${Math.round(ctx.loadLeft() - (seconds - left))} s of load left on ${ctx.label}` : ''} (${total} ok, ${stats.errors.non2xx + stats.errors.network} failed so far on ${side.name})`);
  }, 5000);
  try {
    await Promise.all(
      ctx.rngs.map(async (rnd, i) => {
        const origin = ctx.origins[i % ctx.origins.length];
        while (performance.now() < end && !aborted) await operate(ctx, side, origin, pickOp(mix, rnd()), rnd, stats, end);
      })
    );
  } finally {
    clearInterval(ticker);
  }
  // Throughput is per the half's own window: requests still open at its close are waited for, not counted.
  stats.elapsed += seconds;
  stats.drain += (performance.now() - end) / 1000;
};

const summarise = (stats, mix) => {
  const ops = {};
  const all = [];
  let n = 0;
  for (const op of OPS[mix]) {
    const o = stats.ops[op] || { n: 0, lat: [] };
    const sorted = Float64Array.from(o.lat).sort();
    for (const x of o.lat) all.push(x);
    n += o.n;
    ops[op] = { n: o.n, rps: round(o.n / stats.elapsed, 1), p50: round(percentile(sorted, 0.5)), p99: round(percentile(sorted, 0.99)) };
  }
  const sorted = Float64Array.from(all).sort();
  const { samples, ...errors } = stats.errors;
  const perRequest = (seconds) => (seconds === null || !n ? null : round((seconds * 1000) / (n + stats.late), 2));
  const total = { n, rps: round(n / stats.elapsed, 1), p50: round(percentile(sorted, 0.5)), p99: round(percentile(sorted, 0.99)), cpuMsPerRequest: perRequest(stats.cpu), dbCpuMsPerRequest: perRequest(stats.dbCpu || null) };
  return { seconds: round(stats.elapsed, 1), lateUncounted: stats.late, drainSeconds: round(stats.drain, 1), ops, total, errors, errorSamples: samples };
};

// -------------------------------------------------------------------------------------------- checks

const pool = async (items, parallel, fn) => {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, async () => {
    while (next < items.length && !aborted) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
};

/**
 * Every record written under load (created or updated) answers, by documentId, the values last written. A
 * record in `side.maybe` (its last update got no answer) may hold either the values last acknowledged or
 * the unacknowledged ones; both are accepted and counted.
 */
const readBack = async (ctx, side) => {
  const ids = [...new Set([...side.created, ...side.updated, ...side.maybe.keys()])];
  const problems = [];
  let bad = 0;
  const maybe = { old: 0, new: 0 };
  await pool(ids, 12, async (documentId, i) => {
    const res = await request(ctx.token, 'GET', `${ctx.origins[i % ctx.origins.length]}${side.path}/${documentId}`);
    let why = null;
    if (res.status !== 200) why = `answered ${res.status || res.text}`;
    else {
      const data = JSON.parse(res.text).data || {};
      const want = side.records.get(documentId);
      const wrong = FIELDS.filter((f) => data[f] !== want[f]);
      const alt = side.maybe.get(documentId);
      const wrongAlt = alt ? FIELDS.filter((f) => data[f] !== { ...want, ...alt }[f]) : null;
      if (alt && !wrong.length) maybe.old += 1;
      else if (alt && !wrongAlt.length) maybe.new += 1;
      else if (alt) why = `differs in ${wrong.join(', ')} from the values last acknowledged and in ${wrongAlt.join(', ')} from the unacknowledged update's`;
      else if (wrong.length) why = `differs in ${wrong.join(', ')}`;
    }
    if (why) {
      bad += 1;
      if (problems.length < 5) problems.push(`${documentId} ${why}`);
    }
  });
  const inFlight = side.maybe.size ? `; ${side.maybe.size} with an unacknowledged update last (either values accepted): ${maybe.old} hold the old values, ${maybe.new} the new` : '';
  return { name: `${side.name}: ${ids.length} records written under load read back as last written`, ok: bad === 0 && !aborted, ...(side.maybe.size ? { maybe } : {}), detail: `${bad ? `${bad} of ${ids.length} do not: ${problems.join('; ')}` : `${ids.length} checked (${side.created.size} created, ${side.updated.size} updated)`}${inFlight}` };
};

/** The side's count is seeded + created; with `unanswered` creates that got no answer (they may have committed), up to that many more. */
const countCheck = async (ctx, side, unanswered = 0) => {
  const want = side.seeded + side.created.size;
  const res = await request(ctx.token, 'GET', `${ctx.origins[0]}${side.path}?pagination[pageSize]=1`);
  const got = res.status === 200 ? JSON.parse(res.text).meta?.pagination?.total : null;
  const ok = typeof got === 'number' && got >= want && got <= want + unanswered;
  const more = unanswered ? ` (+ up to ${unanswered} unanswered creates: ${got === null ? '?' : got - want} of them committed)` : '';
  return { name: `${side.name}: count = seeded + created${unanswered ? ' (+ unanswered)' : ''}`, ok, detail: `${got ?? `answered ${res.status || res.text}`} in the table, ${side.seeded} seeded + ${side.created.size} created = ${want}${more}` };
};

const auditVerify = (env) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'audit-verify.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.children.add(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300000);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      live.children.delete(child);
      const m = /audit chain intact: (\d+) events verified/.exec(out);
      const last = out.trim().split('\n').filter((l) => /audit/i.test(l)).pop() || out.trim().split('\n').pop() || '';
      resolve({ name: 'audit:verify after the servers stopped', ok: code === 0 && !!m, events: m ? Number(m[1]) : null, detail: code === 0 && m ? last : `exit ${sig || code}: ${last.slice(0, 300)}` });
    });
  });

// ------------------------------------------------------------------------------------------- one setup

/** A fresh database for `config` and the servers' environment on it (fresh secrets); `drop()` removes it. */
const freshDatabase = async (config) => {
  const dbName = `idvault_load_${process.pid}`;
  const env = { ...process.env, ...secretsEnv(), STRAPI_TELEMETRY_DISABLED: 'true' };
  for (const k of Object.keys(env)) if (/^(DATABASE_|LOAD_)/.test(k)) delete env[k];
  if (config.db === 'postgres') {
    await pgAdmin(`CREATE DATABASE ${dbName}`);
    live.pgDbs.add(dbName);
    Object.assign(env, { DATABASE_CLIENT: 'postgres', DATABASE_URL: pgUrl(dbName) });
    return { env, dbName, url: pgUrl(dbName), drop: () => dropDatabase(dbName).catch((e) => log(`could not drop database ${dbName}: ${e.message}`)) };
  }
  fs.mkdirSync(path.join(ROOT, '.tmp', 'bench'), { recursive: true });
  const sqliteFile = path.join(ROOT, '.tmp', 'bench', `${dbName}.db`);
  removeSqlite(sqliteFile);
  live.sqliteFiles.add(sqliteFile);
  Object.assign(env, { DATABASE_CLIENT: 'sqlite', DATABASE_FILENAME: sqliteFile });
  return {
    env,
    dbName,
    drop: async () => {
      removeSqlite(sqliteFile);
      live.sqliteFiles.delete(sqliteFile);
    },
  };
};

/** A throw-away app copy, removed at clean-up. */
const appDir = () => {
  const dir = benchApp();
  live.dirs.add(dir);
  return dir;
};

const removeAppDirs = () => {
  for (const dir of [...live.dirs]) {
    fs.rmSync(dir, { recursive: true, force: true });
    live.dirs.delete(dir);
  }
};

const runConfig = async (config, index) => {
  const name = label(config);
  const result = { db: config.db, processes: config.processes, seeded: opts.seed, clients: opts.clients, warmup: null, mixes: {}, checks: [], audit: null, error: null };
  const db = await freshDatabase(config);
  const { env } = db;
  const servers = [];
  try {
    log(`${name}: booting server A and seeding ${opts.seed} people on both sides…`);
    const a = await startServer('A', env, appDir(), opts.seed);
    servers.push(a);
    if (config.processes === 2) {
      log(`${name}: booting server B on the same database…`);
      servers.push(await startServer('B', env, appDir(), 0));
    }
    const rngs = Array.from({ length: opts.clients }, (_, i) => mulberry32(1000003 * (index + 1) + i));
    const ctx = { token: a.token, origins: servers.map((s) => s.origin), rngs, label: name };
    const sides = { vault: new Side('vault', a.seeded, 'vault'), twin: new Side('twin', a.seeded, 'twin') };

    // Warm-up (JIT, connection pools, caches), the mixed mix on both sides; not counted, but its writes are checked.
    const warm = { vault: newStats(), twin: newStats() };
    for (const s of ['vault', 'twin']) await runHalf(ctx, sides[s], 'mixed', WARMUP, warm[s], `${name}: warm-up ${s} (${WARMUP} s)`);
    result.warmup = { seconds: WARMUP, vault: summarise(warm.vault, 'mixed'), twin: summarise(warm.twin, 'mixed') };

    let loadLeft = MIXES.length * opts.duration * 2;
    for (const mix of MIXES) {
      const stats = { vault: newStats(), twin: newStats() };
      const halves = ['vault', 'twin', 'vault', 'twin'];
      for (let h = 0; h < halves.length && !aborted; h += 1) {
        const s = halves[h];
        const leftAtStart = loadLeft;
        ctx.loadLeft = () => leftAtStart;
        log(`${name}: ${mix}, ${s} half ${h + 1}/4 (${HALF} s, ${opts.clients} clients)`);
        // LOAD_PROFILE=dir: every server writes a CPU profile of each measured half (where the time goes).
        if (process.env.LOAD_PROFILE) for (const sv of servers) sv.child.send({ type: 'profile-start' });
        const cpuBefore = cpuSeconds(servers);
        const dbBefore = config.db === 'postgres' ? postgresCpuSeconds() : null;
        await runHalf(ctx, sides[s], mix, HALF, stats[s], `${name}: ${mix}, ${s} half ${h + 1}/4`);
        const cpuAfter = cpuSeconds(servers);
        const dbAfter = config.db === 'postgres' ? postgresCpuSeconds() : null;
        stats[s].cpu = cpuBefore === null || cpuAfter === null || stats[s].cpu === null ? null : stats[s].cpu + cpuAfter - cpuBefore;
        stats[s].dbCpu = dbBefore === null || dbAfter === null || stats[s].dbCpu === null ? null : stats[s].dbCpu + dbAfter - dbBefore;
        if (process.env.LOAD_PROFILE) for (const [i, sv] of servers.entries()) sv.child.send({ type: 'profile-stop', file: path.join(process.env.LOAD_PROFILE, `${config.db}-${config.processes}p-${mix}-${s}-${h + 1}-server${i + 1}.cpuprofile`) });
        loadLeft -= HALF;
      }
      if (aborted) return result;
      const vault = summarise(stats.vault, mix);
      const twin = summarise(stats.twin, mix);
      const cpuRatio = (key) => (vault.total[key] && twin.total[key] ? round(ratio(vault.total[key], twin.total[key])) : null);
      const ratios = { rps: round(ratio(vault.total.rps, twin.total.rps)), p99: round(ratio(vault.total.p99, twin.total.p99)), cpu: cpuRatio('cpuMsPerRequest'), dbCpu: cpuRatio('dbCpuMsPerRequest'), ops: {} };
      for (const op of OPS[mix]) ratios.ops[op] = { rps: round(ratio(vault.ops[op].rps, twin.ops[op].rps)), p99: round(ratio(vault.ops[op].p99, twin.ops[op].p99)) };
      result.mixes[mix] = { vault, twin, ratios };
      printMix(name, mix, result.mixes[mix]);
    }
    if (aborted) return result;

    log(`${name}: checks — reading back what was written…`);
    for (const s of ['vault', 'twin']) result.checks.push(await readBack(ctx, sides[s]));
    for (const s of ['vault', 'twin']) result.checks.push(await countCheck(ctx, sides[s]));
    result.written = Object.fromEntries(Object.entries(sides).map(([k, s]) => [k, { seeded: s.seeded, created: s.created.size, updated: s.updated.size }]));

    log(`${name}: stopping the server${servers.length > 1 ? 's' : ''}, then audit:verify…`);
    await Promise.all(servers.map((s) => stopChild(s.child)));
    const audit = await auditVerify(env);
    result.audit = { events: audit.events, auditedWrites: sides.vault.seeded + sides.vault.created.size + sides.vault.updated.size };
    result.checks.push(audit);
  } catch (e) {
    result.error = e.message;
    if (!aborted) log(`${name}: failed: ${e.stack || e.message}`);
  } finally {
    await Promise.all(servers.map((s) => stopChild(s.child).catch(() => {})));
    await db.drop();
    removeAppDirs();
  }
  if (!aborted) printChecks(name, result);
  return result;
};

// ------------------------------------------------------------------------------------------------ soak

const SOAK_PHASES = ['before kill', 'B down', 'after restart'];
const VAULT_UID = 'plugin::id-vault.customer';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sumStats = (list) => {
  const t = { requests: 0, ok: 0, network: 0, non2xx: 0, status5xx: 0 };
  for (const st of list) {
    const ok = Object.values(st.ops).reduce((a, o) => a + o.n, 0) + st.late;
    t.ok += ok;
    t.network += st.errors.network;
    t.non2xx += st.errors.non2xx;
    t.status5xx += st.errors.status5xx;
    t.requests += ok + st.errors.network + st.errors.non2xx;
  }
  return t;
};

/** The half-written rows check, in SQL on the bench database: each count must be 0. */
const orphanCheck = async (url) => {
  const q = async (sql, params) => Number((await pgQuery(url, sql, params)).rows[0].n);
  const noKey = await q(`select count(*) as n from idv_customers c where not exists (select 1 from idv_data_keys k where k.ref = $1 || '#' || c.document_id)`, [VAULT_UID]);
  const noCustomer = await q(`select count(*) as n from idv_blind_indexes b where b.subject = $1 and not exists (select 1 from idv_customers c where c.document_id = b.doc_id)`, [VAULT_UID]);
  // Every customer of the load has an ID number, a phone and an e-mail (all searchable): one token each at least.
  const noIndex = await q(
    `select count(*) as n from idv_customers c cross join (values ('idNumber'), ('phone'), ('email')) as f(field)
       where not exists (select 1 from idv_blind_indexes b where b.subject = $1 and b.doc_id = c.document_id and b.field = f.field)`,
    [VAULT_UID]
  );
  const customers = await q('select count(*) as n from idv_customers');
  return {
    name: '(4) nothing half-written (SQL on the database)',
    ok: noKey === 0 && noCustomer === 0 && noIndex === 0,
    counts: { customers, customersWithoutDataKey: noKey, blindIndexRowsWithoutCustomer: noCustomer, customerFieldsWithoutBlindIndex: noIndex },
    detail: `${customers} customers: ${noKey} without their data key, ${noIndex} (customer, searchable field) pairs without a blind-index row; ${noCustomer} blind-index rows without their customer`,
  };
};

const runSoak = async () => {
  const S = opts.soak;
  const name = `soak · PostgreSQL × 2 processes · ${opts.clients} clients · ${S} s`;
  const result = { seconds: S, clients: opts.clients, seeded: opts.seed, timeline: {}, inFlightAtKill: null, phases: {}, checks: [], audit: null, written: null, error: null };
  const db = await freshDatabase({ db: 'postgres' });
  const env = { ...db.env, LOAD_SIDES: 'vault' };
  const servers = {};
  let restart = null;
  try {
    log(`${name}: booting server A and seeding ${opts.seed} customers…`);
    servers.A = await startServer('A', env, appDir(), opts.seed);
    log(`${name}: booting server B on the same database…`);
    servers.B = await startServer('B', env, appDir(), 0);
    const side = new Side('vault', servers.A.seeded, 'vault');
    const rngs = Array.from({ length: opts.clients }, (_, i) => mulberry32(7000003 + i));
    const ctx = { token: servers.A.token, origins: [servers.A.origin, servers.B.origin], rngs, label: name };

    const t0 = performance.now();
    const end = t0 + S * 1000;
    const tl = { killedAt: null, killedOrigin: null, restartAt: null, readyAt: null };
    const rel = (t) => (t === null ? null : round((t - t0) / 1000, 1));
    const phaseOf = (t) => (tl.killedAt === null || t < tl.killedAt ? SOAK_PHASES[0] : tl.readyAt === null || t < tl.readyAt ? SOAK_PHASES[1] : SOAK_PHASES[2]);
    const stats = { A: {}, B: {} };
    const statsFor = (proc, phase) => (stats[proc][phase] ??= newStats());
    // B's network errors, sorted: in flight at the kill (sent before it, failed after), while dead (sent to the killed origin after it), any other (a live B failed).
    const lostAtKill = { list: 0, search: 0, findOne: 0, create: 0, update: 0 };
    const bNet = { inFlightAtKill: 0, whileDead: 0, unexpected: 0, unexpectedSamples: [] };
    const inFlightAtKill = (origin, res) => tl.killedAt !== null && origin === tl.killedOrigin && res.at - res.ms < tl.killedAt && res.at >= tl.killedAt;
    ctx.lost = (origin, res, op, update) => {
      if (update && inFlightAtKill(origin, res)) side.maybe.set(update.documentId, { phone: update.phone, email: update.email });
    };

    // At S/2: SIGKILL B under load; 5 s later, a new B on the same database; its clients switch once it is ready.
    restart = (async () => {
      await sleep(Math.max(0, t0 + (S / 2) * 1000 - performance.now()));
      if (aborted) return;
      const victim = servers.B.child;
      victim.stopRequested = true; // expected: not an unexpected exit
      tl.killedOrigin = ctx.origins[1];
      tl.killedAt = performance.now();
      victim.kill('SIGKILL');
      log(`${name}: KILLED server B (pid ${victim.pid}, SIGKILL) at ${rel(tl.killedAt)} s, under load`);
      await waitExit(victim, 5000);
      await sleep(Math.max(0, tl.killedAt + 5000 - performance.now()));
      if (aborted) return;
      tl.restartAt = performance.now();
      log(`${name}: RESTARTING server B on the same database at ${rel(tl.restartAt)} s (no seeding)…`);
      servers.B = await startServer('B', env, appDir(), 0);
      ctx.origins[1] = servers.B.origin;
      tl.readyAt = performance.now();
      log(`${name}: server B is back at ${rel(tl.readyAt)} s (${round((tl.readyAt - tl.restartAt) / 1000, 1)} s to boot), ${servers.B.origin}; its clients use it again`);
    })();
    restart.catch(() => {});

    const ticker = setInterval(() => {
      const now = performance.now();
      const t = (p) => sumStats(Object.values(stats[p]));
      const a = t('A');
      const b = t('B');
      log(`${name}: ${phaseOf(now)}, ${Math.max(0, Math.round((end - now) / 1000))} s left — A ${a.ok} ok / ${a.requests - a.ok} failed, B ${b.ok} ok / ${b.requests - b.ok} failed (${b.network} network errors)`);
    }, 5000);
    log(`${name}: load started (mixed, customers only; B is killed at ${S / 2} s)`);
    try {
      await Promise.all(
        rngs.map(async (rnd, i) => {
          const proc = i % 2 ? 'B' : 'A';
          while (performance.now() < end && !aborted) {
            const origin = ctx.origins[i % 2];
            const { op, res } = await operate(ctx, side, origin, pickOp('mixed', rnd()), rnd, statsFor(proc, phaseOf(performance.now())), end);
            if (proc !== 'B' || res.status !== 0) continue;
            if (inFlightAtKill(origin, res)) {
              bNet.inFlightAtKill += 1;
              lostAtKill[op] += 1;
            } else if (tl.killedAt !== null && origin === tl.killedOrigin && res.at - res.ms >= tl.killedAt) bNet.whileDead += 1;
            else {
              bNet.unexpected += 1;
              if (bNet.unexpectedSamples.length < 5) bNet.unexpectedSamples.push(`${op} at ${rel(res.at)} s → ${res.text.slice(0, 160)}`);
            }
          }
        })
      );
    } finally {
      clearInterval(ticker);
    }
    if (aborted) return result;
    const loadEnd = performance.now();
    log(`${name}: load ended (${round((loadEnd - end) / 1000, 1)} s draining)`);
    if (tl.readyAt === null) log(`${name}: waiting for the restarted B to be ready…`);
    let restartError = null;
    await restart.catch((e) => (restartError = e.message));

    result.timeline = { killedAt: rel(tl.killedAt), restartAt: rel(tl.restartAt), readyAt: rel(tl.readyAt), end: S, bootSeconds: tl.readyAt && tl.restartAt ? round((tl.readyAt - tl.restartAt) / 1000, 1) : null };
    const bounds = {
      [SOAK_PHASES[0]]: [t0, tl.killedAt ?? end],
      [SOAK_PHASES[1]]: [tl.killedAt ?? end, Math.min(tl.readyAt ?? end, end)],
      [SOAK_PHASES[2]]: [Math.min(tl.readyAt ?? end, end), end],
    };
    for (const proc of ['A', 'B']) {
      result.phases[proc] = {};
      for (const phase of [...SOAK_PHASES, 'whole run']) {
        const list = phase === 'whole run' ? Object.values(stats[proc]) : stats[proc][phase] ? [stats[proc][phase]] : [];
        const seconds = phase === 'whole run' ? S : Math.max(0, (bounds[phase][1] - bounds[phase][0]) / 1000);
        const t = sumStats(list);
        result.phases[proc][phase] = { seconds: round(seconds, 1), ...t, rps: seconds ? round(t.ok / seconds, 1) : null, samples: list.flatMap((st) => st.errors.samples).slice(0, 5) };
      }
    }
    result.inFlightAtKill = { total: bNet.inFlightAtKill, ...lostAtKill };
    result.bNetwork = { inFlightAtKill: bNet.inFlightAtKill, whileDead: bNet.whileDead, unexpected: bNet.unexpected };
    result.written = { seeded: side.seeded, created: side.created.size, updated: side.updated.size, acknowledged: { ...side.acks }, updatesInFlightAtKill: side.maybe.size };
    printSoakTable(name, result);

    // (1) A kept serving; (2) B failed cleanly.
    const A = result.phases.A['whole run'];
    const B = result.phases.B['whole run'];
    result.checks.push({ name: '(1) A kept serving the whole run', ok: A.requests > 0 && A.non2xx === 0 && A.network === 0, detail: `${A.requests} requests, ${A.ok} 2xx, ${A.non2xx} non-2xx, ${A.network} network errors${A.samples.length ? `: ${A.samples.join('; ')}` : ''}` });
    const lost = Object.entries(lostAtKill).filter(([, n]) => n).map(([op, n]) => `${n} ${op}`).join(', ') || 'none';
    const after = result.phases.B[SOAK_PHASES[2]];
    result.checks.push({
      name: '(2) B failed cleanly: no 5xx from anyone, only network errors, only while dead or in flight at the kill',
      ok: A.status5xx === 0 && B.status5xx === 0 && B.non2xx === 0 && bNet.unexpected === 0,
      detail: `5xx: A ${A.status5xx}, B ${B.status5xx}; B: ${B.non2xx} non-2xx answers, ${B.network} network errors = ${bNet.inFlightAtKill} in flight at the kill (${lost}; not acknowledged) + ${bNet.whileDead} while dead + ${bNet.unexpected} on a live B${bNet.unexpectedSamples.length ? ` (${bNet.unexpectedSamples.join('; ')})` : ''}${B.samples.length && B.non2xx ? `; samples: ${B.samples.join('; ')}` : ''}`,
    });
    result.checks.push({
      name: '(2) B restarted on the same database and served again',
      ok: !restartError && tl.readyAt !== null && tl.readyAt < end && after.ok > 0,
      detail: restartError
        ? `restart failed: ${restartError}`
        : `killed at ${result.timeline.killedAt} s, restarted at ${result.timeline.restartAt} s, ready at ${result.timeline.readyAt} s (${result.timeline.bootSeconds} s to boot under load); ${after.ok} requests 2xx on the new B before the end at ${S} s`,
    });

    // Both servers stopped (the restarted B included): the database as the processes left it.
    log(`${name}: stopping A and B…`);
    await Promise.all(Object.values(servers).map((s) => stopChild(s.child)));
    log(`${name}: SQL checks on ${db.dbName}…`);
    const orphans = await orphanCheck(db.url);
    const pending = Number((await pgQuery(db.url, 'select count(*) as n from idv_audit_events where seq is null')).rows[0].n);
    const byAction = Object.fromEntries(
      (await pgQuery(db.url, `select action, count(*) as n from idv_audit_events where outcome = 'success' and action in ('customer.create', 'customer.update') group by action`)).rows.map((r) => [r.action, Number(r.n)])
    );
    log(`${name}: ${pending} audit events pending; audit:verify…`);
    const audit = await auditVerify(env);

    log(`${name}: booting a server again to read back what was acknowledged…`);
    servers.check = await startServer('check', env, appDir(), 0);
    const checkCtx = { token: ctx.token, origins: [servers.check.origin] };
    const back = await readBack(checkCtx, side);
    const count = await countCheck(checkCtx, side, lostAtKill.create);
    await stopChild(servers.check.child);
    back.name = `(3) ${back.name.replace('written under load read back as last written', 'written read back as last acknowledged')}`;
    count.name = `(3) ${count.name}`;
    result.checks.push(back, count, orphans);
    audit.name = '(5) audit:verify after the servers stopped';
    audit.detail = `${audit.detail} (${pending} events pending before it)`;
    result.checks.push(audit);

    const wantCreates = side.seeded + side.acks.create;
    const wantUpdates = side.acks.update;
    const gotCreates = byAction['customer.create'] ?? 0;
    const gotUpdates = byAction['customer.update'] ?? 0;
    result.audit = { pendingBeforeVerify: pending, events: audit.events, success: { create: gotCreates, update: gotUpdates }, acknowledged: { create: wantCreates, update: wantUpdates } };
    result.checks.push({
      name: '(6) every acknowledged write has its audit event',
      ok: gotCreates >= wantCreates && gotUpdates >= wantUpdates,
      detail: `customer.create success ${gotCreates} ≥ ${wantCreates} acknowledged (${side.seeded} seeded + ${side.acks.create}); customer.update success ${gotUpdates} ≥ ${wantUpdates} acknowledged; unanswered at the kill: ${lostAtKill.create} creates, ${lostAtKill.update} updates (events beyond the acknowledged: ${gotCreates - wantCreates} create, ${gotUpdates - wantUpdates} update; ${orphans.counts?.customers ?? '?'} customers in the table)`,
    });
  } catch (e) {
    result.error = e.message;
    if (!aborted) log(`${name}: failed: ${e.stack || e.message}`);
  } finally {
    await restart?.catch(() => {});
    await Promise.all(Object.values(servers).map((s) => stopChild(s.child).catch(() => {})));
    await db.drop();
    removeAppDirs();
  }
  if (aborted) return result;
  out(`\n-- ${name}: expectations`);
  if (result.error) out(`   FAILED  run: ${result.error}`);
  for (const c of result.checks) out(`   ${c.ok ? 'ok     ' : 'FAILED '} ${c.name}: ${c.detail}`);
  return result;
};

const printSoakTable = (name, r) => {
  const t = r.timeline;
  out(`\n== ${name} (seeded ${r.seeded}; B killed at ${t.killedAt} s, restarted at ${t.restartAt} s, ready at ${t.readyAt ?? '–'} s) ==`);
  out(`${'process'.padEnd(8)}${'phase'.padEnd(15)}│${pad('seconds', 8)}${pad('requests', 10)}${pad('2xx', 8)}${pad('network', 9)}${pad('5xx', 6)}${pad('req/s', 8)}`);
  for (const proc of ['A', 'B']) {
    for (const [phase, p] of Object.entries(r.phases[proc])) out(`${proc.padEnd(8)}${phase.padEnd(15)}│${pad(f(p.seconds), 8)}${pad(p.requests, 10)}${pad(p.ok, 8)}${pad(p.network, 9)}${pad(p.status5xx, 6)}${pad(f(p.rps), 8)}`);
  }
  out(`req/s: 2xx answers per second of the phase; a request belongs to the phase it was sent in. In flight on B at the kill: ${r.inFlightAtKill.total} (${Object.entries(r.inFlightAtKill).filter(([k, n]) => k !== 'total' && n).map(([k, n]) => `${n} ${k}`).join(', ') || 'none'})`);
};

// ------------------------------------------------------------------------------------------- printing

const out = (s = '') => process.stdout.write(`${s}\n`);
const f = (x, d = 1) => (x === null || x === undefined ? '–' : x.toFixed(d));
const pad = (s, w) => String(s).padStart(w);

const printMix = (name, mix, r) => {
  out(`\n== ${name} · ${mix} · ${opts.clients} clients · ${opts.duration} s per side in 2 halves (answered after a half's close, not counted: vault ${r.vault.lateUncounted}, twin ${r.twin.lateUncounted}) ==`);
  out(`${'operation'.padEnd(10)}│${pad('vault n', 8)}${pad('req/s', 8)}${pad('p50 ms', 8)}${pad('p99 ms', 8)} │${pad('twin n', 8)}${pad('req/s', 8)}${pad('p50 ms', 8)}${pad('p99 ms', 8)} │${pad('req/s v/t', 10)}${pad('p99 v/t', 9)}`);
  const row = (labelText, v, t, q) =>
    out(`${labelText.padEnd(10)}│${pad(v.n, 8)}${pad(f(v.rps), 8)}${pad(f(v.p50), 8)}${pad(f(v.p99), 8)} │${pad(t.n, 8)}${pad(f(t.rps), 8)}${pad(f(t.p50), 8)}${pad(f(t.p99), 8)} │${pad(f(q.rps, 2), 10)}${pad(f(q.p99, 2), 9)}`);
  for (const op of OPS[mix]) row(op, r.vault.ops[op], r.twin.ops[op], r.ratios.ops[op]);
  row('all', r.vault.total, r.twin.total, r.ratios);
  const e = (x) => `${x.errors.non2xx} non-2xx (${x.errors.status5xx} 5xx), ${x.errors.network} network errors`;
  out(`non-2xx   │ vault ${e(r.vault)} · twin ${e(r.twin)}`);
  if (r.ratios.cpu !== null) out(`cpu       │ server CPU per request: vault ${f(r.vault.total.cpuMsPerRequest, 2)} ms · twin ${f(r.twin.total.cpuMsPerRequest, 2)} ms → v/t ${f(r.ratios.cpu, 2)}`);
  if (r.ratios.dbCpu !== null) out(`db cpu    │ PostgreSQL CPU per request (all its processes): vault ${f(r.vault.total.dbCpuMsPerRequest, 2)} ms · twin ${f(r.twin.total.dbCpuMsPerRequest, 2)} ms → v/t ${f(r.ratios.dbCpu, 2)}`);
  for (const side of ['vault', 'twin']) for (const s of r[side].errorSamples) out(`          │ ${side}: ${s}`);
};

const printChecks = (name, r) => {
  out(`\n-- ${name}: checks${r.written ? ` (vault ${r.written.vault.created} created / ${r.written.vault.updated} updated, twin ${r.written.twin.created} / ${r.written.twin.updated}, warm-up included)` : ''}`);
  if (r.error) out(`   FAILED  run: ${r.error}`);
  const w = r.warmup;
  if (w) {
    const bad = ['vault', 'twin'].map((s) => w[s].errors.non2xx + w[s].errors.network).reduce((a, b) => a + b, 0);
    if (bad) out(`   warm-up: ${['vault', 'twin'].map((s) => `${s} ${w[s].errors.non2xx} non-2xx (${w[s].errors.status5xx} 5xx), ${w[s].errors.network} network`).join(' · ')}`);
  }
  for (const c of r.checks) out(`   ${c.ok ? 'ok     ' : 'FAILED '} ${c.name}: ${c.detail}`);
  if (r.audit?.events !== null && r.audit?.events !== undefined && r.audit.events < r.audit.auditedWrites) {
    out(`   note: ${r.audit.events} audit events for ${r.audit.auditedWrites} successful vault writes (seeding included): fewer events than writes`);
  }
};

// ------------------------------------------------------------------------------------------------ main

(async () => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'config')) || !fs.existsSync(path.join(DIST, 'domain'))) {
    fail('build first: npm run -s build:plugin && node scripts/compile-app.js');
  }
  if (opts.soak !== null) {
    const t0 = performance.now();
    log(`soak: PostgreSQL × 2 processes, mixed load on customers for ${opts.soak} s, ${opts.clients} clients, ${opts.seed} seeded; B is killed (SIGKILL) at ${opts.soak / 2} s and restarted 5 s later`);
    const r = await runSoak();
    if (aborted) return;
    const failures = [...live.unexpectedExits];
    if (r.error) failures.push(`run: ${r.error}`);
    for (const c of r.checks) if (!c.ok) failures.push(`${c.name} — ${c.detail}`);
    const wall = round((performance.now() - t0) / 1000, 1);
    out(failures.length ? `\nFAILED (${failures.length}):\n${failures.map((x) => `  - ${x}`).join('\n')}` : `\nall soak expectations met (${wall} s in all)`);
    out(`SOAK_RESULT ${JSON.stringify({ options: { soak: opts.soak, clients: opts.clients, seed: opts.seed }, wallSeconds: wall, ...r, failures, ok: failures.length === 0 })}`);
    process.exitCode = failures.length ? 1 : 0;
    return;
  }
  const loadSeconds = CONFIGS.length * (MIXES.length * opts.duration * 2 + 2 * WARMUP);
  log(`${CONFIGS.map(label).join(', ')}; mixes ${MIXES.join(', ')}; ${opts.clients} clients; ${opts.duration} s per mix per side; ${opts.seed} seeded — ~${loadSeconds} s of load plus seeding and checks`);
  const results = [];
  for (let i = 0; i < CONFIGS.length && !aborted; i += 1) results.push(await runConfig(CONFIGS[i], i));
  if (aborted) return;

  const scaling = {};
  const one = results.find((r) => r.db === 'postgres' && r.processes === 1);
  const two = results.find((r) => r.db === 'postgres' && r.processes === 2);
  if (one && two) {
    out('\n== PostgreSQL: 2 processes vs 1, overall throughput (req/s) ==');
    out(`${'mix'.padEnd(8)}│${pad('vault 1p', 10)}${pad('2p', 8)}${pad('2p/1p', 8)} │${pad('twin 1p', 10)}${pad('2p', 8)}${pad('2p/1p', 8)}`);
    for (const mix of MIXES) {
      const a = one.mixes[mix];
      const b = two.mixes[mix];
      if (!a || !b) continue;
      scaling[mix] = { vault: round(ratio(b.vault.total.rps, a.vault.total.rps)), twin: round(ratio(b.twin.total.rps, a.twin.total.rps)) };
      out(`${mix.padEnd(8)}│${pad(f(a.vault.total.rps), 10)}${pad(f(b.vault.total.rps), 8)}${pad(f(scaling[mix].vault, 2), 8)} │${pad(f(a.twin.total.rps), 10)}${pad(f(b.twin.total.rps), 8)}${pad(f(scaling[mix].twin, 2), 8)}`);
    }
  }

  const failures = [...live.unexpectedExits];
  for (const r of results) {
    const name = label(r);
    if (r.error) failures.push(`${name}: ${r.error}`);
    const phases = [['warm-up', r.warmup], ...Object.entries(r.mixes)];
    for (const [phase, m] of phases) {
      if (!m) continue;
      for (const side of ['vault', 'twin']) {
        const e = m[side].errors;
        if (e.status5xx || e.network) failures.push(`${name} ${phase} ${side}: ${e.status5xx} 5xx, ${e.network} network errors under load`);
      }
    }
    for (const c of r.checks) if (!c.ok) failures.push(`${name}: ${c.name} — ${c.detail}`);
  }
  out(failures.length ? `\nFAILED (${failures.length}):\n${failures.map((x) => `  - ${x}`).join('\n')}` : '\nall checks passed, no 5xx or network errors under load');
  const { soak, ...loadOpts } = opts;
  out(`LOAD_RESULT ${JSON.stringify({ options: { ...loadOpts, processes: opts.processes ?? 'default', warmup: WARMUP }, runs: results, scaling, failures, ok: failures.length === 0 })}`);
  process.exitCode = failures.length ? 1 : 0;
})()
  .catch(async (e) => {
    console.error(`[load] failed: ${e.stack || e.message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (aborted) return;
    await cleanupAll();
    process.exit(process.exitCode ?? 0);
  });
