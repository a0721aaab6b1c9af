import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { hkdf } from './kdf';
import type { MasterKey, MasterKeyRing } from './keyring';

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

/**
 * Where the chain goes on after a prune: the last pruned event's seq and hash (the first kept event's
 * prevHash), how many events were pruned in all, the cut-off they were older than, and a MAC over all of
 * it under a key derived from the master key `keyId` — the active key at prune time, named so that
 * verification after a rotation uses the same key. Without the MAC, whoever can write to the database
 * could delete the oldest kept events and write a checkpoint that accounts for them.
 */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  prunedCount: number;
  cutoff: string;
  keyId: string;
  mac: string;
}

export type CheckpointProblem = 'checkpoint-key-unknown' | 'checkpoint-mac-mismatch';

const CHECKPOINT_INFO = 'idv-audit-checkpoint-v1';

/** Every field but the MAC, versioned, as canonical JSON: what the MAC covers. */
export const checkpointCanonical = (c: Omit<AuditCheckpoint, 'mac'>): string =>
  canonicalJson({ v: 1, seq: c.seq, hash: c.hash, prunedCount: c.prunedCount, cutoff: c.cutoff, keyId: c.keyId });

// A key of its own (HKDF, own info string): the master key itself only ever wraps data keys.
const checkpointMac = (master: MasterKey, c: Omit<AuditCheckpoint, 'mac'>): string =>
  createHmac('sha256', hkdf(master.key, CHECKPOINT_INFO)).update(checkpointCanonical(c), 'utf8').digest('hex');

/** A checkpoint MACed under the ring's active master key. */
export const signCheckpoint = (ring: MasterKeyRing, c: Omit<AuditCheckpoint, 'keyId' | 'mac'>): AuditCheckpoint => {
  const fields = { seq: c.seq, hash: c.hash, prunedCount: c.prunedCount, cutoff: c.cutoff, keyId: ring.active.id };
  return { ...fields, mac: checkpointMac(ring.active, fields) };
};

/** Why a checkpoint cannot be trusted, or null: its key is not in the ring, or its MAC does not match. */
export const checkpointProblem = (ring: MasterKeyRing, c: AuditCheckpoint): CheckpointProblem | null => {
  const master = ring.byId.get(c.keyId);
  if (!master) return 'checkpoint-key-unknown';
  const expected = Buffer.from(checkpointMac(master, c), 'hex');
  const given = Buffer.from(typeof c.mac === 'string' && /^[0-9a-f]{64}$/.test(c.mac) ? c.mac : '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? null : 'checkpoint-mac-mismatch';
};

export type ChainFailure = { ok: false; count: number; brokenAt: number; reason: 'hash-mismatch' | 'prev-mismatch' | 'seq-gap' | CheckpointProblem };
/** `from`: the checkpoint verification started from (absent: from the genesis). */
export type ChainResult = ({ ok: true; count: number } | ChainFailure) & { from?: { seq: number; prunedCount: number; keyId: string } };

/** A chain that starts after a prune: its latest checkpoint and the ring that checks the checkpoint's MAC. */
export interface ChainStart {
  checkpoint: AuditCheckpoint;
  ring: MasterKeyRing;
}

/**
 * Verifies events pushed in seq order, page by page; the first failure sticks. From a checkpoint, its MAC
 * is checked first (a failure there is reported at the checkpoint's seq), then the first event must
 * continue it: seq = checkpoint seq + 1, prevHash = the checkpoint's hash.
 */
export const createChainVerifier = (start?: ChainStart) => {
  const cp = start?.checkpoint;
  let count = 0;
  let prev = cp ? cp.hash : GENESIS_HASH;
  let expectedSeq = cp ? cp.seq + 1 : 1;
  const problem = start ? checkpointProblem(start.ring, start.checkpoint) : null;
  let failure: ChainFailure | null = problem && cp ? { ok: false, count, brokenAt: cp.seq, reason: problem } : null;
  const from = cp ? { from: { seq: cp.seq, prunedCount: cp.prunedCount, keyId: cp.keyId } } : {};
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
      return { ...(failure ?? { ok: true, count }), ...from };
    },
  };
};

export const verifyChain = (rows: ChainRow[], start?: ChainStart): ChainResult => {
  const v = createChainVerifier(start);
  for (const row of rows) if (v.push(row)) break;
  return v.result();
};
