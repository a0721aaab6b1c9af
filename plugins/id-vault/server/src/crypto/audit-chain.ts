import { createHash } from 'node:crypto';

/** What an audit event says; hashed canonically together with the previous event's hash. */
export interface ChainEvent {
  seq: number;
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  action: string;
  subjectUid: string | null;
  subjectId: string | null;
  fields: string[];
  outcome: string;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}

export type ChainRow = ChainEvent & { prevHash: string; hash: string };

export const GENESIS_HASH = '0'.repeat(64);

/** Deterministic JSON: keys sorted at every depth, no whitespace, undefined dropped, Dates as ISO. */
export const canonicalJson = (value: unknown): string => {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as any)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as any)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
};

export const eventHash = (e: ChainEvent, prevHash: string): string => {
  const content = {
    seq: e.seq,
    occurredAt: e.occurredAt,
    actorType: e.actorType,
    actorId: e.actorId,
    action: e.action,
    subjectUid: e.subjectUid,
    subjectId: e.subjectId,
    fields: e.fields,
    outcome: e.outcome,
    ip: e.ip,
    userAgent: e.userAgent,
    details: e.details,
    prevHash,
  };
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
};

export type ChainFailure = { ok: false; count: number; brokenAt: number; reason: 'hash-mismatch' | 'prev-mismatch' | 'seq-gap' };
export type ChainResult = { ok: true; count: number } | ChainFailure;

/** Verifies events pushed in seq order, page by page; the first failure sticks. */
export const createChainVerifier = () => {
  let count = 0;
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let failure: ChainFailure | null = null;
  return {
    push(row: ChainRow): ChainFailure | null {
      if (failure) return failure;
      if (row.seq !== expectedSeq) failure = { ok: false, count, brokenAt: row.seq, reason: 'seq-gap' };
      else if (row.prevHash !== prev) failure = { ok: false, count, brokenAt: row.seq, reason: 'prev-mismatch' };
      else if (eventHash(row, row.prevHash) !== row.hash) failure = { ok: false, count, brokenAt: row.seq, reason: 'hash-mismatch' };
      if (failure) return failure;
      count += 1;
      expectedSeq += 1;
      prev = row.hash;
      return null;
    },
    result(): ChainResult {
      return failure ?? { ok: true, count };
    },
  };
};

export const verifyChain = (rows: ChainRow[]): ChainResult => {
  const v = createChainVerifier();
  for (const row of rows) if (v.push(row)) break;
  return v.result();
};
