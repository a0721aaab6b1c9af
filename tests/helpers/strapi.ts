/**
 * Boots a real Strapi (the compiled app in dist/) for one test suite, on a database of its own:
 * a fresh SQLite file, or with DATABASE_CLIENT=postgres a fresh PostgreSQL database that is dropped
 * afterwards. Secrets and the master key are random per run.
 */
import path from 'path';
import fs from 'fs';
import { randomBytes } from 'crypto';
import request from 'supertest';

export const ROOT = path.resolve(__dirname, '../..');
export const PG_ADMIN_URL = process.env.ID_VAULT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestApp {
  strapi: any;
  http: () => request.Agent;
  client: 'sqlite' | 'postgres';
  /** The database's name, to boot again on it. */
  database: string;
  /** The raw database connection (knex), for assertions on what is really stored. */
  knex: any;
  close: () => Promise<void>;
}

const secret = () => randomBytes(24).toString('base64');

export const newMasterKeyEntry = (id = 'test1') => `${id}:${randomBytes(32).toString('base64')}`;

const setSecrets = () => {
  process.env.STRAPI_TELEMETRY_DISABLED = 'true';
  process.env.APP_KEYS ??= [secret(), secret()].join(',');
  process.env.API_TOKEN_SALT ??= secret();
  process.env.ADMIN_JWT_SECRET ??= secret();
  process.env.TRANSFER_TOKEN_SALT ??= secret();
  process.env.JWT_SECRET ??= secret();
  process.env.ENCRYPTION_KEY ??= secret();
  process.env.ID_VAULT_MASTER_KEYS ??= newMasterKeyEntry();
};

const pgAdmin = async <T>(fn: (c: any) => Promise<T>): Promise<T> => {
  const { Client } = require('pg');
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
};

/** One statement on the PostgreSQL server's admin database (CREATE / DROP DATABASE). */
export const pgSql = (sql: string) => pgAdmin((c) => c.query(sql));

/** The SQLite file of test database `name`. */
export const sqliteFile = (name: string) => path.join(ROOT, '.tmp', 'test', `${name}.db`);

export interface BootOptions {
  /** Reuse an existing database (name for PostgreSQL, file for SQLite) instead of a fresh one. */
  database?: string;
  /** Keep the database after close (to boot again on it). */
  keep?: boolean;
  /** Another app directory (a JavaScript app: its own config/ and src/), e.g. a throw-away copy. */
  appDir?: string;
  /** Strapi's develop mode flag (the Content-Type Builder writes only with it). */
  autoReload?: boolean;
  /** Serve the built admin panel (dist/build, from `npm run build`) — for the e2e tests. */
  serveAdminPanel?: boolean;
}

export const bootStrapi = async (opts: BootOptions = {}): Promise<TestApp> => {
  setSecrets();
  const client = process.env.DATABASE_CLIENT === 'postgres' ? 'postgres' : 'sqlite';
  const name = opts.database ?? `idvault_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (client === 'postgres') {
    if (!opts.database) await pgAdmin((c) => c.query(`CREATE DATABASE ${name}`));
    process.env.DATABASE_URL = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  } else {
    process.env.DATABASE_FILENAME = sqliteFile(name);
    fs.mkdirSync(path.join(ROOT, '.tmp', 'test'), { recursive: true });
  }
  const { createStrapi } = require('@strapi/strapi');
  const appDir = opts.appDir ?? ROOT;
  const distDir = opts.appDir ?? path.join(ROOT, 'dist');
  const app = createStrapi({ appDir, distDir, autoReload: opts.autoReload ?? false, serveAdminPanel: opts.serveAdminPanel ?? false });
  app.log.level = process.env.STRAPI_LOG_LEVEL ?? 'error';
  const dropDatabase = async () => {
    if (client === 'postgres') await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    else for (const ext of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${process.env.DATABASE_FILENAME}${ext}`, { force: true });
  };
  try {
    await app.load();
  } catch (e) {
    await app.destroy().catch(() => {});
    if (!opts.database) await dropDatabase();
    throw e;
  }
  app.server.mount();
  return {
    strapi: app,
    client,
    knex: app.db.connection,
    http: () => request.agent(app.server.httpServer),
    close: async () => {
      await app.destroy();
      if (!opts.keep) await dropDatabase();
    },
    database: name,
  };
};

/** An API token of the given type; returns the bearer value. */
export const apiToken = async (strapi: any, type: 'full-access' | 'read-only' | 'custom', permissions: string[] = []) => {
  const service = strapi.service('admin::api-token-content-api') ?? strapi.service('admin::api-token');
  const token = await service.create({
    name: `test-${type}-${randomBytes(3).toString('hex')}`,
    type,
    lifespan: null,
    permissions: type === 'custom' ? permissions : undefined,
  });
  return token.accessKey as string;
};

/** A throw-away JavaScript copy of the compiled app (config, src), sharing plugins/ and node_modules/. */
export const scratchApp = (): { dir: string; remove: () => void } => {
  fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'app-'));
  fs.cpSync(path.join(ROOT, 'dist', 'config'), path.join(dir, 'config'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist', 'src'), path.join(dir, 'src'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.mkdirSync(path.join(dir, 'public', 'uploads'), { recursive: true });
  for (const link of ['plugins', 'node_modules']) fs.symlinkSync(path.join(ROOT, link), path.join(dir, link), 'dir');
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
};

/** An admin user with the given role code (strapi-super-admin, strapi-editor, strapi-author). */
export const adminUser = async (app: TestApp, roleCode: string) => {
  const role = await app.strapi.db.query('admin::role').findOne({ where: { code: roleCode } });
  if (!role) throw new Error(`no admin role ${roleCode}`);
  const email = `${roleCode}-${randomBytes(3).toString('hex')}@example.test`;
  const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
  await app.strapi.service('admin::user').create({ email, firstname: 'Test', lastname: roleCode, password, isActive: true, roles: [role.id] });
  return { email, password };
};

/** A logged-in admin session of the given role; returns its JWT. */
export const adminSession = async (app: TestApp, roleCode: string) => {
  const { email, password } = await adminUser(app, roleCode);
  const res = await app.http().post('/admin/login').send({ email, password });
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status}`);
  return res.body.data.token as string;
};

/** Every text value of every column of every table: for "no plaintext anywhere" assertions. */
export const dumpDatabase = async (app: TestApp): Promise<string> => {
  const knex = app.knex;
  const tables: string[] =
    app.client === 'postgres'
      ? (await knex.raw(`select tablename from pg_tables where schemaname = 'public'`)).rows.map((r: any) => r.tablename)
      : (await knex.raw(`select name from sqlite_master where type = 'table'`)).map((r: any) => r.name);
  const parts: string[] = [];
  for (const t of tables) {
    const rows = await knex(t).select('*');
    for (const row of rows) parts.push(JSON.stringify(row));
  }
  return parts.join('\n');
};

/**
 * Runs `fn` as the system, as code outside a request must (the plugin refuses a missing caller): test
 * fixtures written through the document service.
 */
export const asSystem = <T>(app: TestApp, fn: () => Promise<T>): Promise<T> => app.strapi.plugin('id-vault').service('access').asSystem(fn);

/** `strapi.documents(uid)` whose every call runs as the system. */
export const systemDocs = (app: TestApp, uid: string): any => {
  const docs = app.strapi.documents(uid);
  return new Proxy(docs, {
    get: (target, prop) => (typeof target[prop] === 'function' ? (...args: any[]) => asSystem(app, () => target[prop](...args)) : target[prop]),
  });
};

/**
 * Runs one of the app's scripts (`scripts/<name>`) as a child process and waits for it without blocking
 * this process: a CLI that waits for the audit chain's lock must not wait on a test whose event loop it froze
 * (spawnSync would, if a chaining round of this process holds the lock at that moment).
 */
export const runScript = (name: string, args: string[] = []): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const { spawn } = require('child_process');
    const p = spawn(process.execPath, [path.join(ROOT, 'scripts', name), ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    p.stdout.on('data', (c: Buffer) => (out.stdout += c));
    p.stderr.on('data', (c: Buffer) => (out.stderr += c));
    p.on('exit', (status: number | null) => resolve({ status, ...out }));
  });

/**
 * A database with the demo data, made as `npm run demo` makes it: a first start (schema, default roles), then
 * scripts/seed-demo.js on its own (ID_VAULT_DEMO_CUSTOMERS customers), no server running. Returns the database to
 * boot on and the seed's output (the accounts' credentials, printed once).
 */
export const seedDemo = async (customers = 40): Promise<{ database: string; printed: string }> => {
  const first = await bootStrapi({ keep: true });
  await first.close();
  const prev = process.env.ID_VAULT_DEMO_CUSTOMERS;
  process.env.ID_VAULT_DEMO_CUSTOMERS = String(customers);
  const seeded = await runScript('seed-demo.js').finally(() => {
    if (prev === undefined) delete process.env.ID_VAULT_DEMO_CUSTOMERS;
    else process.env.ID_VAULT_DEMO_CUSTOMERS = prev;
  });
  if (seeded.status !== 0) throw new Error(`seed-demo failed: ${seeded.stderr.slice(0, 500)}`);
  return { database: first.database, printed: seeded.stdout };
};

/** The e-mail and password the demo seed printed for one account. */
export const demoCredentials = (printed: string, email: string) => {
  const line = printed.split('\n').find((l) => l.includes(` ${email} `));
  const password = line?.match(/Vault-[A-Za-z0-9_-]+-7a/)?.[0];
  if (!password) throw new Error(`no password printed for ${email}`);
  return { email, password };
};
