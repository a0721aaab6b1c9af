/**
 * Retention of the audit trail: a prune deletes the oldest chained events past ID_VAULT_AUDIT_RETENTION_DAYS
 * behind a MACed checkpoint, and verification (the service and `npm run audit:verify`) starts from it; a
 * changed kept event, a changed or deleted checkpoint break it; a second prune goes on from the first;
 * pending events are never pruned; a retention below 365 days refuses to start.
 *
 * Age: an event's time is part of its hash, so a chained event cannot be backdated without breaking the
 * chain (the last test does exactly that). Events become "old" by pruning as of a later `now` (the clock
 * a year on); a pending event, not chained yet, is backdated with knex.
 */
import { bootStrapi, runScript, type TestApp } from '../helpers/strapi';

const DAY = 86_400_000;
const system = { kind: 'system' } as const;
const cli = (script: string) => runScript(script);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let app: TestApp;
let audit: any;
const events = () => app.knex('idv_audit_events');
const checkpoints = () => app.knex('idv_audit_checkpoints').orderBy('seq');
const chained = () => events().whereNotNull('seq').orderBy('seq');

/** Records `n` events named `action`, chains them, and returns the time of the last. */
const write = async (action: string, n: number): Promise<number> => {
  for (let i = 0; i < n; i += 1) await audit.record({ action, outcome: 'success', caller: system, details: { i } });
  await audit.flush();
  const last = await events().where({ action }).orderBy('seq', 'desc').first();
  // The next events must be strictly later than this one.
  await sleep(5);
  return Date.parse(last.occurred_at);
};
/** A `now` at which events up to `time` are past a 365-day retention and later ones are not. */
const yearAfter = (time: number) => new Date(time + 1 + 365 * DAY);

const saved = process.env.ID_VAULT_AUDIT_RETENTION_DAYS;
afterEach(() => {
  if (saved === undefined) delete process.env.ID_VAULT_AUDIT_RETENTION_DAYS;
  else process.env.ID_VAULT_AUDIT_RETENTION_DAYS = saved;
});

test.each(['364', 'a year'])('ID_VAULT_AUDIT_RETENTION_DAYS=%s is refused at start-up, naming the minimum', async (value) => {
  process.env.ID_VAULT_AUDIT_RETENTION_DAYS = value;
  await expect(bootStrapi()).rejects.toThrow(/ID_VAULT_AUDIT_RETENTION_DAYS must be a whole number of days, at least 365/);
});

describe('on one database', () => {
  beforeAll(async () => {
    app = await bootStrapi();
    audit = app.strapi.plugin('id-vault').service('audit');
    await audit.flush();
  });
  afterAll(async () => {
    await audit?.flush();
    await app?.close();
  });

  let first: { pruned: number; upToSeq: number; checkpointId: number };
  /** When the last event the first prune kept was written. */
  let keptUntil: number;

  test('a prune deletes the old prefix of the chain behind a checkpoint, never a pending event; verify starts from it', async () => {
    const oldUntil = await write('test.old', 6);
    keptUntil = await write('test.kept', 4);
    const [firstKept] = await events().where({ action: 'test.kept' }).orderBy('seq').limit(1);
    // Written by a process that died before chaining it, and old: pending events are never pruned.
    await events().insert({ action: 'test.pending', outcome: 'success', actor_type: 'system', occurred_at: '2001-01-01T00:00:00.000Z', fields: '[]' });

    first = await audit.prune(yearAfter(oldUntil));
    expect(first).toEqual({ pruned: firstKept.seq - 1, upToSeq: firstKept.seq - 1, checkpointId: expect.any(Number) });
    expect(await events().where({ action: 'test.pending' })).toHaveLength(1);
    expect(await events().where({ action: 'test.old' })).toHaveLength(0);
    expect((await chained())[0].seq).toBe(firstKept.seq);

    const [checkpoint] = await checkpoints();
    expect(checkpoint).toMatchObject({ id: first.checkpointId, seq: first.upToSeq, pruned_count: first.pruned, key_id: 'test1', mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(checkpoint.hash).toBe(firstKept.prev_hash);

    await audit.flush();
    const [pruned] = await app.strapi.db.query('plugin::id-vault.audit-event').findMany({ where: { action: 'audit.pruned' } });
    expect(pruned).toMatchObject({ outcome: 'success', actorType: 'system', seq: expect.any(Number), details: { count: first.pruned, upToSeq: first.upToSeq, checkpointId: first.checkpointId, retentionDays: 365 } });
    const kept = (await chained()).length;
    expect(await audit.verify()).toEqual({ ok: true, count: kept, from: { seq: first.upToSeq, prunedCount: first.pruned, keyId: 'test1' }, pending: 0 });

    const out = await cli('audit-verify.js');
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    // The CLI's own start adds one event.
    expect(out.stdout).toContain(`audit chain intact: ${kept + 1} events verified (from checkpoint after seq ${first.upToSeq}, ${first.pruned} pruned).`);
  });

  test('npm run audit:prune prunes now and says so (nothing is a year old by the real clock); the daily job runs once a day', async () => {
    const out = await cli('audit-prune.js');
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('audit pruned: nothing older than 365 days.');

    const day = new Date();
    expect(await audit.pruneJob(day)).toEqual({ pruned: 0, upToSeq: null, checkpointId: null });
    expect(await audit.pruneJob(day)).toBeNull();
  });

  test.each([
    ['seq', (c: any) => ({ seq: c.seq - 1 }), 'checkpoint-mac-mismatch'],
    ['hash', (c: any) => ({ hash: 'f'.repeat(64) }), 'checkpoint-mac-mismatch'],
    ['pruned_count', (c: any) => ({ pruned_count: c.pruned_count + 1 }), 'checkpoint-mac-mismatch'],
    ['cutoff', () => ({ cutoff: '2000-01-01T00:00:00.000Z' }), 'checkpoint-mac-mismatch'],
    ['mac', (c: any) => ({ mac: `${c.mac.slice(0, -1)}${c.mac.endsWith('0') ? '1' : '0'}` }), 'checkpoint-mac-mismatch'],
    ['key_id', () => ({ key_id: 'retired' }), 'checkpoint-key-unknown'],
  ])('a changed checkpoint %s breaks verification, and the prune refuses to go on from it', async (_column, change, reason) => {
    const [checkpoint] = await checkpoints();
    const changed = { ...checkpoint, ...change(checkpoint) };
    await app.knex('idv_audit_checkpoints').where({ id: checkpoint.id }).update(changed);
    try {
      expect(await audit.verify()).toMatchObject({ ok: false, reason, brokenAt: changed.seq });
      const before = (await chained()).length;
      await expect(audit.prune(new Date(Date.now() + 400 * DAY))).rejects.toThrow(/not pruned: the chain does not verify/);
      expect((await chained()).length).toBe(before);
    } finally {
      await app.knex('idv_audit_checkpoints').where({ id: checkpoint.id }).update(checkpoint);
    }
    await audit.flush();
    const [failure] = await app.strapi.db.query('plugin::id-vault.audit-event').findMany({ where: { action: 'audit.pruned', outcome: 'failure' }, orderBy: { seq: 'desc' }, limit: 1 });
    expect(failure.details).toMatchObject({ count: 0, upToSeq: null });
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  test('deleting the checkpoint while events are missing breaks verification; the CLI says why', async () => {
    const [checkpoint] = await checkpoints();
    await app.knex('idv_audit_checkpoints').where({ id: checkpoint.id }).delete();
    try {
      expect(await audit.verify()).toMatchObject({ ok: false, reason: 'seq-gap', brokenAt: checkpoint.seq + 1, count: 0 });
      const out = await cli('audit-verify.js');
      expect(out.status).toBe(1);
      expect(out.stderr).toContain(`audit chain BROKEN at event seq ${checkpoint.seq + 1} (seq-gap): events before it are missing, and no checkpoint accounts for them`);
    } finally {
      await app.knex('idv_audit_checkpoints').insert(checkpoint);
    }
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  test('the checkpoint and the events refuse every change through the query layer', async () => {
    const q = app.strapi.db.query('plugin::id-vault.audit-checkpoint');
    const [checkpoint] = await checkpoints();
    await expect(q.create({ data: { seq: 999999, hash: 'x', prunedCount: 1, cutoff: 'x', keyId: 'test1', mac: 'x' } })).rejects.toThrow(/written by the prune only/);
    await expect(q.update({ where: { id: checkpoint.id }, data: { prunedCount: 0 } })).rejects.toThrow(/append-only/);
    await expect(q.delete({ where: { id: checkpoint.id } })).rejects.toThrow(/append-only/);
    await expect(q.deleteMany({ where: {} })).rejects.toThrow(/append-only/);
    await expect(app.strapi.db.query('plugin::id-vault.audit-event').deleteMany({ where: { seq: { $lte: 5 } } })).rejects.toThrow(/append-only/);
    expect(await checkpoints()).toHaveLength(1);
  });

  test('a second prune goes on from the first checkpoint; verify passes after more events', async () => {
    // A year after test.kept: those, and the once-pending event chained after them, are old; the first
    // audit.pruned (written later) is not, and ends the prefix.
    const [firstNew] = await events().where({ action: 'audit.pruned' }).orderBy('seq').limit(1);
    expect((await events().where({ action: 'test.pending' }).first()).seq).toBe(firstNew.seq - 1);
    const second = await audit.prune(yearAfter(keptUntil));
    expect(second).toEqual({ pruned: firstNew.seq - 1 - first.upToSeq, upToSeq: firstNew.seq - 1, checkpointId: expect.any(Number) });

    const all = await checkpoints();
    expect(all.map((c: any) => [c.seq, c.pruned_count])).toEqual([
      [first.upToSeq, first.pruned],
      [second.upToSeq, first.pruned + second.pruned],
    ]);
    await write('test.later', 3);
    expect(await audit.verify()).toMatchObject({ ok: true, count: (await chained()).length, from: { seq: second.upToSeq, prunedCount: second.upToSeq } });
  });

  test('pruning the whole chain, in batches: each batch its checkpoint, and the next event continues from the last', async () => {
    const rows = Array.from({ length: 1100 }, (_, i) => ({ action: 'test.bulk', outcome: 'success', actor_type: 'system', occurred_at: new Date().toISOString(), fields: '[]', details: JSON.stringify({ i }) }));
    for (let i = 0; i < rows.length; i += 100) await events().insert(rows.slice(i, i + 100));
    await audit.flush();
    const tip = (await chained()).at(-1);
    const before = await checkpoints();

    const all = await audit.prune(new Date(Date.now() + 366 * DAY));
    expect(all).toMatchObject({ upToSeq: tip.seq, pruned: tip.seq - before.at(-1).seq });
    const made = (await checkpoints()).slice(before.length);
    expect(made.length).toBeGreaterThanOrEqual(2);
    expect(made.at(-1)).toMatchObject({ seq: tip.seq, pruned_count: tip.seq, hash: tip.hash });
    expect(await chained()).toHaveLength(0);

    // Nothing chained is left: the audit.pruned event links to the checkpoint.
    await audit.flush();
    const [next] = await chained();
    expect(next).toMatchObject({ action: 'audit.pruned', seq: tip.seq + 1, prev_hash: tip.hash });
    expect(await audit.verify()).toMatchObject({ ok: true, count: 1, from: { seq: tip.seq, prunedCount: tip.seq } });
  });

  test('a changed kept event breaks verification, and the prune refuses to delete it', async () => {
    await write('test.final', 3);
    const target = await events().where({ action: 'test.final' }).orderBy('seq').offset(1).first();
    // Backdating a chained event is a change like any other: its hash no longer matches.
    await events().where({ id: target.id }).update({ occurred_at: '2001-01-01T00:00:00.000Z' });
    expect(await audit.verify()).toMatchObject({ ok: false, reason: 'hash-mismatch', brokenAt: target.seq });
    await expect(audit.prune(new Date(Date.now() + 366 * DAY))).rejects.toThrow(`the chain does not verify at seq ${target.seq} (hash-mismatch)`);
    expect(await events().where({ id: target.id })).toHaveLength(1);

    const out = await cli('audit-verify.js');
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(`audit chain BROKEN at event seq ${target.seq} (hash-mismatch): the event was changed`);
  });
});
