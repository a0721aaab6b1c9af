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
const PG_ADMIN_URL = process.env.ID_VAULT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestApp {
  strapi: any;
  http: () => request.Agent;
  client: 'sqlite' | 'postgres';
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

export interface BootOptions {
  /** Reuse an existing database (name for PostgreSQL, file for SQLite) instead of a fresh one. */
  database?: string;
  /** Keep the database after close (to boot again on it). */
  keep?: boolean;
}

export const bootStrapi = async (opts: BootOptions = {}): Promise<TestApp> => {
  setSecrets();
  const client = process.env.DATABASE_CLIENT === 'postgres' ? 'postgres' : 'sqlite';
  const name = opts.database ?? `idvault_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (client === 'postgres') {
    if (!opts.database) await pgAdmin((c) => c.query(`CREATE DATABASE ${name}`));
    process.env.DATABASE_URL = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  } else {
    process.env.DATABASE_FILENAME = path.join('.tmp', 'test', `${name}.db`);
    fs.mkdirSync(path.join(ROOT, '.tmp', 'test'), { recursive: true });
  }
  const { createStrapi } = require('@strapi/strapi');
  const app = createStrapi({ appDir: ROOT, distDir: path.join(ROOT, 'dist'), autoReload: false, serveAdminPanel: false });
  app.log.level = process.env.STRAPI_LOG_LEVEL ?? 'error';
  await app.load();
  app.server.mount();
  return {
    strapi: app,
    client,
    knex: app.db.connection,
    http: () => request.agent(app.server.httpServer),
    close: async () => {
      await app.destroy();
      if (opts.keep) return;
      if (client === 'postgres') await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      else for (const ext of ['', '-wal', '-shm', '-journal']) fs.rmSync(path.join(ROOT, `${process.env.DATABASE_FILENAME}${ext}`), { force: true });
    },
    // The database name, for tests that boot twice on it.
    ...({ database: name } as any),
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

/** An admin user with the given role code (strapi-super-admin, strapi-editor, strapi-author); returns a JWT. */
export const adminSession = async (app: TestApp, roleCode: string) => {
  const role = await app.strapi.db.query('admin::role').findOne({ where: { code: roleCode } });
  if (!role) throw new Error(`no admin role ${roleCode}`);
  const email = `${roleCode}-${randomBytes(3).toString('hex')}@example.test`;
  const password = `Pw-${randomBytes(9).toString('base64url')}1a`;
  await app.strapi.service('admin::user').create({ email, firstname: 'Test', lastname: roleCode, password, isActive: true, roles: [role.id] });
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
