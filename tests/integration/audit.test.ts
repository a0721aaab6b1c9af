/**
 * The audit chain from the outside: `npm run audit:verify` passes on an untouched chain and names the
 * first broken link after a row is edited directly in the database; an event commits or rolls back with
 * the transaction it was recorded in, and events a dead process left unchained are chained by the next
 * start; several Strapi processes appending at once on one PostgreSQL database never fork or break it.
 */
import path from 'path';
import { spawn } from 'child_process';
import { bootStrapi, ROOT, runScript, type TestApp } from '../helpers/strapi';

const verifyCli = () => runScript('audit-verify.js');

const withApp = async (database: string | undefined, fn: (app: TestApp) => Promise<void>) => {
  const app = await bootStrapi({ database, keep: true });
  try {
    await fn(app);
  } finally {
    await app.strapi.plugin('id-vault').service('audit').flush();
    await app.close();
  }
  return app.database;
};

let database: string;
afterAll(async () => {
  // Last boot without keep: drops the database.
  if (database) await (await bootStrapi({ database })).close();
});

test('audit:verify passes, then reports the first broken link after a direct edit', async () => {
  database = await withApp(undefined, async (app) => {
    const audit = app.strapi.plugin('id-vault').service('audit');
    for (let i = 0; i < 5; i += 1) await audit.record({ action: 'test.event', outcome: 'success', caller: { kind: 'system' }, details: { i } });
  });

  const ok = await verifyCli();
  expect(ok.stderr).toBe('');
  expect(ok.status).toBe(0);
  expect(ok.stdout).toMatch(/audit chain intact: \d+ events verified/);

  let editedSeq = 0;
  await withApp(database, async (app) => {
    const row = await app.knex('idv_audit_events').where({ action: 'test.event' }).orderBy('seq').offset(2).first();
    editedSeq = row.seq;
    await app.knex('idv_audit_events').where({ id: row.id }).update({ outcome: 'denied' });
  });

  const broken = await verifyCli();
  expect(broken.status).toBe(1);
  expect(broken.stderr).toContain(`audit chain BROKEN at event seq ${editedSeq} (hash-mismatch)`);
});

test('an event commits or rolls back with its transaction; what a dead process left pending is chained at the next start', async () => {
  const system = { kind: 'system' } as const;
  const rows = (app: TestApp, action: string) => app.knex('idv_audit_events').where({ action });
  const first = await withApp(undefined, async (app) => {
    const audit = app.strapi.plugin('id-vault').service('audit');
    await expect(
      app.strapi.db.transaction(async () => {
        await audit.record({ action: 'test.rolled-back', outcome: 'success', caller: system });
        throw new Error('abort');
      })
    ).rejects.toThrow('abort');
    await app.strapi.db.transaction(() => audit.record({ action: 'test.committed', outcome: 'success', caller: system }));
    await audit.flush();
    expect(await rows(app, 'test.rolled-back')).toHaveLength(0);
    const [committed] = await rows(app, 'test.committed');
    expect(committed.seq).toBeGreaterThan(0);
    // A process killed after its commit and before its chainer ran: the event is there, not chained.
    await audit.close();
    await app.knex('idv_audit_events').insert({ action: 'test.orphan', outcome: 'success', actor_type: 'system', occurred_at: new Date().toISOString(), fields: '[]' });
    expect((await audit.verify()).pending).toBe(1);
  });
  const app = await bootStrapi({ database: first });
  try {
    const audit = app.strapi.plugin('id-vault').service('audit');
    await audit.flush();
    const [orphan] = await rows(app, 'test.orphan');
    expect(orphan.seq).toBeGreaterThan(0);
    expect(await audit.verify()).toMatchObject({ ok: true, pending: 0 });
  } finally {
    await app.close();
  }
});

const onPostgres = process.env.DATABASE_CLIENT === 'postgres';
// Several processes on one SQLite file is not a supported deployment; the PostgreSQL lane runs this.
(onPostgres ? test : test.skip)('several Strapi processes appending at once keep one unbroken chain', async () => {
  const app = await bootStrapi({ keep: false });
  try {
    const audit = app.strapi.plugin('id-vault').service('audit');
    await audit.flush(); // this boot's own vault.start, still pending for a few milliseconds
    const before = (await audit.verify()).count;
    const child = () =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, [path.join(ROOT, 'tests', 'helpers', 'audit-writer.js'), '30'], { env: process.env });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (out += d));
        p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(out))));
      });
    const local = Promise.all(Array.from({ length: 30 }, (_, i) => audit.record({ action: 'test.concurrent', outcome: 'success', caller: { kind: 'system' }, details: { i } })));
    const outs = await Promise.all([child(), child(), child(), local]);
    expect(outs.slice(0, 3)).toEqual(['wrote 30\n', 'wrote 30\n', 'wrote 30\n']);
    await audit.flush();
    const result = await audit.verify();
    // 3 × 30 from the children, 30 here, and one vault.start per child boot.
    expect(result).toEqual({ ok: true, count: before + 120 + 3, pending: 0 });
  } finally {
    await app.close();
  }
});
