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

// Any fixed 64-bit number: the PostgreSQL advisory lock that serialises appends across processes.
const CHAIN_LOCK = 0x1d5a17;
const PAGE = 500;

/**
 * The append-only, hash-chained audit trail. Appends are serialised twice: a promise queue within the
 * process, and (PostgreSQL) an advisory transaction lock across processes; the unique index on seq makes
 * a fork impossible even if both failed. An event recorded inside a database transaction is written after
 * that transaction commits, so the trail never names a change that was rolled back.
 */
const audit = ({ strapi }: { strapi: Core.Strapi }) => {
  let queue: Promise<unknown> = Promise.resolve();

  const append = async (event: Omit<ChainEvent, 'seq'>) => {
    await strapi.db.transaction(async ({ trx }: any) => {
      if (strapi.db.dialect.client === 'postgres') await trx.raw('select pg_advisory_xact_lock(?)', [CHAIN_LOCK]);
      const [last] = await strapi.db
        .query(UIDS.auditEvent)
        .findMany({ select: ['seq', 'hash'], orderBy: { seq: 'desc' }, limit: 1 });
      const seq = (last?.seq ?? 0) + 1;
      const prevHash = last?.hash ?? GENESIS_HASH;
      const full: ChainEvent = { ...event, seq };
      await strapi.db.query(UIDS.auditEvent).create({ data: { ...full, prevHash, hash: eventHash(full, prevHash) } });
    });
  };

  const enqueue = (event: Omit<ChainEvent, 'seq'>) => {
    const run = queue.then(() => append(event));
    queue = run.catch((e) => strapi.log.error(`id-vault: could not append audit event ${event.action}: ${(e as Error).message}`));
    return run;
  };

  return {
    /** Records one event. Resolves once written (or, inside a transaction, once queued for after commit). */
    async record(input: AuditInput): Promise<void> {
      const caller = input.caller ?? currentCaller(strapi);
      const { actorType, actorId } = describeCaller(caller);
      const event: Omit<ChainEvent, 'seq'> = {
        occurredAt: new Date().toISOString(),
        actorType,
        actorId,
        action: input.action,
        subjectUid: input.subjectUid ?? null,
        subjectId: input.subjectId ?? null,
        fields: [...(input.fields ?? [])].sort(),
        outcome: input.outcome,
        ...requestFacts(strapi),
        details: input.details ?? null,
      };
      if (strapi.db.inTransaction()) {
        await strapi.db.transaction(async ({ onCommit }: any) => onCommit(() => enqueue(event).catch(() => {})));
        return;
      }
      await enqueue(event);
    },

    /** Waits until every event queued so far is written. */
    async flush(): Promise<void> {
      await queue;
    },

    /** Walks the whole chain in order of seq and reports the first broken link. */
    async verify(): Promise<VerifyResult> {
      const verifier = createChainVerifier();
      let after = 0;
      for (;;) {
        const page = await strapi.db.query(UIDS.auditEvent).findMany({
          where: { seq: { $gt: after } },
          orderBy: { seq: 'asc' },
          limit: PAGE,
        });
        for (const row of page) {
          const failure = verifier.push(toChainRow(row));
          if (failure) return verifier.result();
        }
        if (page.length < PAGE) return verifier.result();
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
