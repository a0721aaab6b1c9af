import type { Core } from '@strapi/strapi';
import { eventHash, createChainVerifier, GENESIS_HASH, type ChainEvent } from '../crypto';
import { describeCaller, type Caller } from '../domain';
import { UIDS } from '../utils/strapi';
import { currentCaller, requestFacts } from '../utils/caller';

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

// Any fixed 64-bit number: the PostgreSQL advisory lock that lets one chainer at a time, across processes, extend the chain.
const CHAIN_LOCK = 0x1d5a17;
const PAGE = 500;
/** Pending events chained per transaction. */
const BATCH = 1000;
/**
 * How long a chaining round waits for more events to join it: each round is a transaction (a commit on
 * SQLite's one writer), so under load a round should take many events, not one.
 */
const CHAIN_DELAY_MS = 50;

/**
 * The append-only, hash-chained audit trail, written as a group commit:
 * - `record` inserts the event as *pending* (no seq, no hash) — inside the caller's database transaction
 *   when there is one, so an operation and its event commit or roll back together (an acknowledged write
 *   never lacks its event, even after kill -9), and never waits on other writers;
 * - the chainer then gives pending events their seq, previous hash and hash, in batches, under a PostgreSQL
 *   advisory lock (SQLite has one writer anyway), so one chain grows across every process; the unique index
 *   on seq makes a fork impossible even if the lock failed. It runs after each commit that recorded events,
 *   at start-up (leftovers of a process that died) and on `flush()`. Filling in those three columns of a
 *   pending row, with knex, is the one change the append-only guard lets past (the guard covers db.query).
 */
const audit = ({ strapi }: { strapi: Core.Strapi }) => {
  const meta = () => strapi.db.metadata.get(UIDS.auditEvent) as any;
  const col = (attr: string): string => meta().attributes[attr]?.columnName ?? attr;
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v ?? null);

  /** Chains up to BATCH pending events in one transaction; returns how many. */
  const chainBatch = async (): Promise<number> =>
    strapi.db.connection.transaction(async (trx: any) => {
      const table = meta().tableName;
      if (strapi.db.dialect.client === 'postgres') await trx.raw('select pg_advisory_xact_lock(?)', [CHAIN_LOCK]);
      const pending = await trx(table).whereNull(col('seq')).orderBy('id').limit(BATCH);
      if (!pending.length) return 0;
      const last = await trx(table).whereNotNull(col('seq')).orderBy(col('seq'), 'desc').first(col('seq'), col('hash'));
      let seq = Number(last?.[col('seq')] ?? 0);
      let prevHash: string = last?.[col('hash')] ?? GENESIS_HASH;
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
        for (const c of chained) {
          await trx(table).where({ id: c.id }).whereNull(col('seq')).update({ [col('seq')]: c.seq, [col('prevHash')]: c.prevHash, [col('hash')]: c.hash });
        }
      }
      return chained.length;
    });

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
          while ((await chainBatch()) === BATCH);
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

  return {
    /**
     * Records one event: written when this resolves — inside the caller's transaction if there is one
     * (then it commits or rolls back with it). Chained right after.
     */
    async record(input: AuditInput): Promise<void> {
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
      if (!strapi.db.inTransaction()) {
        await strapi.db.connection(meta().tableName).insert(row);
        kick();
        return;
      }
      await strapi.db.transaction(async ({ trx, onCommit }: any) => {
        await trx(meta().tableName).insert(row);
        onCommit(kick);
      });
    },

    /** Chains every event recorded so far (in this process and any other) and waits until it is done. */
    async flush(): Promise<void> {
      await chain();
    },

    /** At shutdown: lets a chaining round in progress finish, then starts no more (what is pending then is chained at the next start). */
    async close(): Promise<void> {
      closed = true;
      if (scheduled) clearTimeout(scheduled);
      await running?.catch(() => {});
    },

    /** Walks the whole chain in order of seq and reports the first broken link, and how many events wait to be chained. */
    async verify(): Promise<VerifyResult & { pending: number }> {
      const verifier = createChainVerifier();
      const pending = async () => Number((await strapi.db.connection(meta().tableName).whereNull(col('seq')).count({ n: '*' }).first())?.n ?? 0);
      let after = 0;
      for (;;) {
        const page = await strapi.db.query(UIDS.auditEvent).findMany({
          where: { seq: { $gt: after } },
          orderBy: { seq: 'asc' },
          limit: PAGE,
        });
        for (const row of page) {
          const failure = verifier.push(toChainRow(row));
          if (failure) return { ...verifier.result(), pending: await pending() };
        }
        if (page.length < PAGE) return { ...verifier.result(), pending: await pending() };
        after = page[page.length - 1].seq;
      }
    },
  };
};

const toChainRow = (row: any): ChainEvent & { prevHash: string; hash: string } => ({
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
