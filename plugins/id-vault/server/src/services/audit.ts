import type { Core } from '@strapi/strapi';
import {
  eventHash,
  createChainVerifier,
  signCheckpoint,
  checkpointProblem,
  parseMasterKeys,
  GENESIS_HASH,
  type AuditCheckpoint,
  type ChainFailure,
  type ChainRow,
  type MasterKeyRing,
} from '../crypto';
import { describeCaller, type Caller } from '../domain';
import { getService, UIDS, stamps, tableOf } from '../utils/strapi';
import { insertRows } from '../utils/sql';
import type { ChainedFact } from './anomalies';
import { currentCaller, requestFacts } from '../utils/caller';
import { onceAcrossProcesses } from '../utils/jobs';

export interface AuditInput {
  action: string;
  outcome: 'success' | 'rejected' | 'denied' | 'failure';
  subjectUid?: string | null;
  subjectId?: string | null;
  /** Field names only: never values. */
  fields?: string[];
  /** Small, value-free facts (counts, key ids, reasons chosen from a list). */
  details?: Record<string, unknown> | null;
  caller?: Caller;
}

export type VerifyResult = ReturnType<ReturnType<typeof createChainVerifier>['result']>;

/** What a prune did: events pruned, the last pruned seq and the checkpoint now in force (null: nothing was old enough). */
export interface PruneResult {
  pruned: number;
  upToSeq: number | null;
  checkpointId: number | null;
}

/** The shortest retention of audit events ID_VAULT_AUDIT_RETENTION_DAYS may set, and its default. */
export const MIN_RETENTION_DAYS = 365;
const DAY_MS = 86_400_000;

// Any fixed 64-bit number: the PostgreSQL advisory lock that lets one chainer at a time, across processes, extend the chain.
const CHAIN_LOCK = 0x1d5a17;
const PAGE = 500;
/** Pending events chained per transaction. */
const BATCH = 1000;
/** Events recorded outside a transaction, inserted per statement at most. */
const INSERT_GROUP = 200;
/** On SQLite, a group of events recorded outside a transaction goes as soon as it is this large. */
const SQLITE_GROUP = 8;
/**
 * How long a chaining round waits for more events to join it: each round is a transaction (a commit on
 * SQLite's one writer), so under load a round should take many events, not one.
 */
const CHAIN_DELAY_MS = 50;

/** ID_VAULT_AUDIT_RETENTION_DAYS: whole days, at least MIN_RETENTION_DAYS; anything else is refused (at start-up: bootstrap reads it). */
const retentionDays = (value = process.env.ID_VAULT_AUDIT_RETENTION_DAYS): number => {
  if (value === undefined || value.trim() === '') return MIN_RETENTION_DAYS;
  const days = Number(value);
  if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS) {
    throw new Error(`id-vault: ID_VAULT_AUDIT_RETENTION_DAYS must be a whole number of days, at least ${MIN_RETENTION_DAYS} (the minimum); it is ${value}`);
  }
  return days;
};

const describeFailure = (f: ChainFailure) => `seq ${f.brokenAt} (${f.reason})`;

/**
 * The append-only, hash-chained audit trail, written as a group commit:
 * - `record` inserts the event as *pending* (no seq, no hash) — inside the caller's database transaction
 *   when there is one, so an operation and its event commit or roll back together (an acknowledged write
 *   never lacks its event, even after kill -9), and never waits on other writers;
 * - the chainer then gives pending events their seq, previous hash and hash, in batches, under a PostgreSQL
 *   advisory lock (SQLite has one writer anyway), so one chain grows across every process; the unique index
 *   on seq makes a fork impossible even if the lock failed. It runs after each commit that recorded events,
 *   at start-up (leftovers of a process that died) and on `flush()`. Filling in those three columns of a
 *   pending row, with knex, is one of the three changes the append-only guard lets past (the guard covers db.query);
 * - `prune` is the second: with knex, under the same lock, it deletes the oldest chained events past the
 *   retention, in seq order and in batches, each batch in one transaction with the checkpoint (MACed, see
 *   crypto/audit-chain.ts) that verification then starts from. It verifies what it deletes first, so it never
 *   erases the evidence of a broken chain;
 * - `resignCheckpoint` the third: after a master-key rotation, a new MAC on the latest checkpoint.
 */
const audit = ({ strapi }: { strapi: Core.Strapi }) => {
  const meta = () => strapi.db.metadata.get(UIDS.auditEvent) as any;
  const col = (attr: string): string => meta().attributes[attr]?.columnName ?? attr;
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v ?? null);
  const checkpoints = () => tableOf(strapi, UIDS.auditCheckpoint);
  const lockChain = async (trx: any) => {
    if (strapi.db.dialect.client === 'postgres') await trx.raw('select pg_advisory_xact_lock(?)', [CHAIN_LOCK]);
  };

  // The ring the keys service reads at start-up (register refuses to start without a well-formed one).
  let ring: MasterKeyRing | null = null;
  const masterRing = () => (ring ??= parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS));

  /** The checkpoint of the latest prune (highest seq), with the row id; null before the first prune. */
  const latestCheckpoint = async (knex: any): Promise<(AuditCheckpoint & { id: number }) | null> => {
    const t = checkpoints();
    const row = await knex(t.name).orderBy(t.col('seq'), 'desc').first();
    if (!row) return null;
    return {
      id: row.id,
      seq: Number(row[t.col('seq')]),
      hash: row[t.col('hash')],
      prunedCount: Number(row[t.col('prunedCount')]),
      cutoff: row[t.col('cutoff')],
      keyId: row[t.col('keyId')],
      mac: row[t.col('mac')],
    };
  };

  /**
   * Up to BATCH pending events, oldest first, each with the chain's tip beside it (`tip_seq`, `tip_hash`: its
   * last chained event; null when none is left) — one statement, under the chain lock.
   */
  const pendingWithTip = (trx: any, table: string): Promise<any[]> =>
    trx
      .select('e.*', 't.tip_seq', 't.tip_hash')
      .from(trx(table).whereNull(col('seq')).orderBy('id').limit(BATCH).as('e'))
      .leftJoin(trx(table).whereNotNull(col('seq')).orderBy(col('seq'), 'desc').limit(1).select({ tip_seq: col('seq'), tip_hash: col('hash') }).as('t'), trx.raw('1 = 1'))
      .orderBy('e.id');

  /** Where the chain goes on: its last chained event, else the latest checkpoint (all of it was pruned), else the genesis. */
  const chainTip = async (trx: any, first: any): Promise<{ seq: number; hash: string }> => {
    if (first.tip_seq !== null && first.tip_seq !== undefined) return { seq: Number(first.tip_seq), hash: first.tip_hash };
    const checkpoint = await latestCheckpoint(trx);
    return checkpoint ?? { seq: 0, hash: GENESIS_HASH };
  };

  /** Chains up to BATCH pending events in one transaction; returns the facts anomaly detection reads of each. */
  const chainBatch = async (): Promise<ChainedFact[]> =>
    strapi.db.connection.transaction(async (trx: any) => {
      const table = meta().tableName;
      await lockChain(trx);
      const pending = await pendingWithTip(trx, table);
      if (!pending.length) return [];
      let { seq, hash: prevHash } = await chainTip(trx, pending[0]);
      const chained = pending.map((row: any) => {
        seq += 1;
        const event = toChainRow({ ...fromColumns(row), seq, prevHash: null, hash: null });
        const hash = eventHash(event, prevHash);
        const out = { id: row.id, seq, prevHash, hash };
        prevHash = hash;
        return out;
      });
      if (strapi.db.dialect.client === 'postgres') {
        const values = chained.map(() => '(?::int, ?::int, ?, ?)').join(', ');
        await trx.raw(
          `UPDATE ?? AS e SET ?? = v.seq, ?? = v.prev, ?? = v.hash FROM (VALUES ${values}) AS v(id, seq, prev, hash) WHERE e.id = v.id AND e.?? IS NULL`,
          [table, col('seq'), col('prevHash'), col('hash'), ...chained.flatMap((c: any) => [c.id, c.seq, c.prevHash, c.hash]), col('seq')]
        );
      } else {
        // One statement (SQLite ≥ 3.33 has UPDATE … FROM): the round holds SQLite's one connection, which
        // every request shares, for as short as it can.
        const values = chained.map(() => '(?, ?, ?, ?)').join(', ');
        await trx.raw(
          `UPDATE ?? AS e SET ?? = v.column2, ?? = v.column3, ?? = v.column4 FROM (VALUES ${values}) AS v WHERE e.id = v.column1 AND e.?? IS NULL`,
          [table, col('seq'), col('prevHash'), col('hash'), ...chained.flatMap((c: any) => [c.id, c.seq, c.prevHash, c.hash]), col('seq')]
        );
      }
      return pending.map((row: any) => ({ actorType: row[col('actorType')], actorId: row[col('actorId')] ?? null, action: row[col('action')], outcome: row[col('outcome')] }));
    });

  /** Anomaly detection over a batch just chained: its failure is logged, never stops the chain (the next counted event looks again). */
  const detect = (facts: ChainedFact[]) =>
    getService(strapi, 'anomalies')
      .detect(facts)
      .catch((e) => strapi.log.error(`id-vault: anomaly detection failed: ${(e as Error).message}`));

  /** A database row (column names) as attribute names, JSON parsed as db.query would. */
  const fromColumns = (row: any) => {
    const out: any = {};
    for (const [attr, def] of Object.entries<any>(meta().attributes)) {
      const v = row[def.columnName ?? attr];
      out[attr] = def.type === 'json' ? json(v) : v;
    }
    return out;
  };

  // One chainer per process; events recorded while it runs are picked up by its next round.
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;
  const chain = (): Promise<void> => {
    if (closed) return running ?? Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        for (;;) {
          again = false;
          // Each batch chained (committed) here, in this process only, is looked at once for anomalies.
          for (let batch = await chainBatch(); ; batch = await chainBatch()) {
            await detect(batch);
            if (batch.length < BATCH) break;
          }
          if (!again || closed) break;
          // Events arrived during the round: let more join the next one.
          await new Promise((resolve) => setTimeout(resolve, CHAIN_DELAY_MS));
        }
      } finally {
        running = null;
      }
    })();
    return running;
  };
  // A round starts CHAIN_DELAY_MS after the first event that wants one, so events of concurrent
  // requests share it (group commit). Not holding the process open: what is pending at exit waits for the next start.
  let scheduled: NodeJS.Timeout | null = null;
  const kick = () => {
    if (scheduled || closed) return;
    scheduled = setTimeout(() => {
      scheduled = null;
      chain().catch((e) => strapi.log.error(`id-vault: could not chain audit events (they stay pending and are chained later): ${(e as Error).message}`));
    }, CHAIN_DELAY_MS);
    scheduled.unref();
  };

  /**
   * Events recorded outside a transaction (reads, sign-ins, jobs) are inserted in groups: one statement and one
   * commit for many requests' events, where each used to cost its own (on SQLite a commit writes every page it
   * touched — the table's and each index's — to the WAL again: ~0.3 ms of a read's CPU under load).
   * - PostgreSQL: the first event goes at once; those recorded during that round trip go together in the next.
   * - SQLite (synchronous: nothing is "under way" to join): a group goes when SQLITE_GROUP events are queued,
   *   or at the end of this turn of the event loop (setImmediate), whichever comes first — a request waits for
   *   at most a few others' work, never a whole turn.
   * Each caller resolves when its row is written; when a group fails, its rows are tried one by one, so a
   * caller fails only for its own row.
   */
  const queued: Array<{ row: Record<string, unknown>; done: (e?: unknown) => void }> = [];
  let draining: Promise<void> | null = null;
  let turnEnd: NodeJS.Immediate | null = null;
  const drain = (): Promise<void> => {
    if (draining || !queued.length) return draining ?? Promise.resolve();
    return (draining = (async () => {
      try {
        while (queued.length) {
          const group = queued.splice(0, INSERT_GROUP);
          try {
            await insertRows(strapi, meta().tableName, group.map((q) => q.row));
            for (const q of group) q.done();
          } catch (e) {
            if (group.length === 1) group[0].done(e);
            else for (const q of group) await insertRows(strapi, meta().tableName, [q.row]).then(() => q.done(), q.done);
          }
          kick();
        }
      } finally {
        draining = null;
      }
    })());
  };
  const insertOutsideTransaction = (row: Record<string, unknown>) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ row, done: (e) => (e === undefined ? resolve() : reject(e)) });
      if (strapi.db.dialect.client !== 'sqlite' || queued.length >= SQLITE_GROUP) void drain();
      else
        turnEnd ??= setImmediate(() => {
          turnEnd = null;
          void drain();
        });
    });

  /**
   * Records one event: written when this resolves — inside the caller's transaction if there is one
   * (then it commits or rolls back with it). Chained right after.
   */
  const record = async (input: AuditInput): Promise<void> => {
    const caller = input.caller ?? currentCaller(strapi);
    const { actorType, actorId } = describeCaller(caller);
    const facts = requestFacts(strapi);
    const row = {
      [col('occurredAt')]: new Date().toISOString(),
      [col('actorType')]: actorType,
      [col('actorId')]: actorId,
      [col('action')]: input.action,
      [col('subjectUid')]: input.subjectUid ?? null,
      [col('subjectId')]: input.subjectId ?? null,
      [col('fields')]: JSON.stringify([...(input.fields ?? [])].sort()),
      [col('outcome')]: input.outcome,
      [col('ip')]: facts.ip,
      [col('userAgent')]: facts.userAgent,
      [col('details')]: input.details ? JSON.stringify(input.details) : null,
    };
    if (!strapi.db.inTransaction()) return insertOutsideTransaction(row);
    await strapi.db.transaction(async ({ onCommit }: any) => {
      await insertRows(strapi, meta().tableName, [row], { holdable: true });
      onCommit(kick);
    });
  };

  /**
   * Prunes, in one transaction under the chain lock, up to BATCH of the oldest chained events that occurred
   * before `cutoff` — a prefix of the chain, so what is kept still links to the checkpoint — and writes the
   * checkpoint after them. Refuses (rolls back) if the checkpoint or the events to delete do not verify.
   * Returns the new checkpoint and how many events this batch pruned, or null when nothing is old enough.
   */
  const pruneBatch = (cutoff: string) =>
    strapi.db.connection.transaction(async (trx: any) => {
      await lockChain(trx);
      const table = meta().tableName;
      const from = await latestCheckpoint(trx);
      const oldest: ChainRow[] = (await trx(table).whereNotNull(col('seq')).orderBy(col('seq')).limit(BATCH)).map((r: any) => toChainRow(fromColumns(r)));
      const old = olderPrefix(oldest, Date.parse(cutoff));
      if (!old.length) return null;
      const verifier = createChainVerifier(from ? { checkpoint: from, ring: masterRing() } : undefined);
      for (const row of old) {
        const failure = verifier.push(row);
        if (failure) throw new Error(`id-vault: audit events not pruned: the chain does not verify at ${describeFailure(failure)}`);
      }
      const last = old[old.length - 1];
      const deleted = await trx(table).whereNotNull(col('seq')).whereBetween(col('seq'), [old[0].seq, last.seq]).del();
      if (deleted !== old.length) throw new Error('id-vault: audit events not pruned: they changed while pruning');
      const checkpoint = signCheckpoint(masterRing(), { seq: last.seq, hash: last.hash, prunedCount: (from?.prunedCount ?? 0) + deleted, cutoff });
      const t = checkpoints();
      const columns = Object.fromEntries(Object.entries(checkpoint).map(([attr, v]) => [t.col(attr), v]));
      const [inserted] = await trx(t.name).insert({ ...columns, ...stamps(strapi) }).returning('id');
      return { checkpoint: { ...checkpoint, id: Number(inserted?.id ?? inserted) }, pruned: deleted as number };
    });

  /**
   * After a master-key rotation: the latest checkpoint, if its MAC is under another master key, gets a new
   * MAC under the active one (its old MAC verified first; seq, hash and counts unchanged), so verification no
   * longer needs the retired key. Under the chain lock, like a prune; with knex, the third change the
   * append-only guard lets past. Returns the key id it was under, or null when it needed nothing.
   */
  const resignCheckpoint = () =>
    strapi.db.connection.transaction(async (trx: any): Promise<string | null> => {
      await lockChain(trx);
      const latest = await latestCheckpoint(trx);
      if (!latest || latest.keyId === masterRing().active.id) return null;
      const problem = checkpointProblem(masterRing(), latest);
      if (problem) throw new Error(`id-vault: the latest audit checkpoint does not verify (${problem}); it was not re-signed`);
      const { keyId, mac } = signCheckpoint(masterRing(), latest);
      const t = checkpoints();
      await trx(t.name).where('id', latest.id).update({ [t.col('keyId')]: keyId, [t.col('mac')]: mac });
      return latest.keyId;
    });

  /** Deletes events older than the retention, batch by batch, then records `audit.pruned` (also when it fails part-way). */
  const prune = async (now = new Date()): Promise<PruneResult> => {
    const cutoff = new Date(now.getTime() - retentionDays() * DAY_MS).toISOString();
    const result: PruneResult = { pruned: 0, upToSeq: null, checkpointId: null };
    const details = () => ({ count: result.pruned, upToSeq: result.upToSeq, checkpointId: result.checkpointId, retentionDays: retentionDays() });
    try {
      for (;;) {
        const batch = await pruneBatch(cutoff);
        if (!batch) break;
        Object.assign(result, { pruned: result.pruned + batch.pruned, upToSeq: batch.checkpoint.seq, checkpointId: batch.checkpoint.id });
        if (batch.pruned < BATCH) break;
      }
    } catch (e) {
      // The prune's own error is the one to report, even if the database refuses this record too.
      await record({ action: 'audit.pruned', outcome: 'failure', caller: { kind: 'system' }, details: details() }).catch(() => {});
      throw e;
    }
    if (result.pruned) await record({ action: 'audit.pruned', outcome: 'success', caller: { kind: 'system' }, details: details() });
    return result;
  };

  /** Verifies every chained event in seq order (from seq 1: an event left at or below the checkpoint is a break), from `checkpoint` if any. */
  const walk = async (checkpoint: AuditCheckpoint | null): Promise<VerifyResult> => {
    const verifier = createChainVerifier(checkpoint ? { checkpoint, ring: masterRing() } : undefined);
    for (let after = 0; ; ) {
      const page = await strapi.db.query(UIDS.auditEvent).findMany({ where: { seq: { $gt: after } }, orderBy: { seq: 'asc' }, limit: PAGE });
      for (const row of page) if (verifier.push(toChainRow(row))) return verifier.result();
      if (page.length < PAGE) return verifier.result();
      after = page[page.length - 1].seq;
    }
  };

  return {
    record,

    /** ID_VAULT_AUDIT_RETENTION_DAYS, checked: throws below the minimum (bootstrap calls it to refuse to start). */
    retentionDays(): number {
      return retentionDays();
    },

    /** Prunes events older than the retention now (`npm run audit:prune`; safe beside the daily job: batches take the chain lock). */
    prune,

    resignCheckpoint,

    /** The daily prune: once a day across every process (the first to claim the day runs it; null for the others). */
    pruneJob(today = new Date()): Promise<PruneResult | null> {
      return onceAcrossProcesses(strapi, `audit-prune:${today.toISOString().slice(0, 10)}`, () => prune(today));
    },

    /** Chains every event recorded so far (in this process and any other) and waits until it is done. */
    async flush(): Promise<void> {
      await drain();
      await chain();
    },

    /** At shutdown: lets a chaining round in progress finish, then starts no more (what is pending then is chained at the next start). */
    async close(): Promise<void> {
      await drain();
      closed = true;
      if (scheduled) clearTimeout(scheduled);
      await running?.catch(() => {});
    },

    /**
     * Walks the chain in order of seq — from the latest checkpoint (its MAC first) if events were pruned —
     * and reports the first broken link, and how many events wait to be chained.
     */
    async verify(): Promise<VerifyResult & { pending: number }> {
      const knex = strapi.db.connection;
      let result: VerifyResult;
      // A prune that commits during a walk deletes events the walk has not reached: walk again from its checkpoint.
      for (let walks = 0; ; walks += 1) {
        const checkpoint = await latestCheckpoint(knex);
        result = await walk(checkpoint);
        if (result.ok || walks === 2 || (await latestCheckpoint(knex))?.seq === checkpoint?.seq) break;
      }
      const pending = Number((await knex(meta().tableName).whereNull(col('seq')).count({ n: '*' }).first())?.n ?? 0);
      return { ...result, pending };
    },
  };
};

/** The longest run of events from the start of `rows` (in seq order) that occurred before `cutoffMs`; an unreadable time ends it. */
const olderPrefix = (rows: ChainRow[], cutoffMs: number): ChainRow[] => {
  const end = rows.findIndex((r) => !(Date.parse(r.occurredAt) < cutoffMs));
  return end < 0 ? rows : rows.slice(0, end);
};

const toChainRow = (row: any): ChainRow => ({
  seq: Number(row.seq),
  occurredAt: row.occurredAt,
  actorType: row.actorType,
  actorId: row.actorId ?? null,
  action: row.action,
  subjectUid: row.subjectUid ?? null,
  subjectId: row.subjectId ?? null,
  fields: row.fields ?? [],
  outcome: row.outcome,
  ip: row.ip ?? null,
  userAgent: row.userAgent ?? null,
  details: row.details ?? null,
  prevHash: row.prevHash,
  hash: row.hash,
});

export type AuditService = ReturnType<typeof audit>;
export default audit;
