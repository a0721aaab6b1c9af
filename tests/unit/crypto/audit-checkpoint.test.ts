import { randomBytes } from 'crypto';
import {
  eventHash,
  verifyChain,
  createChainVerifier,
  signCheckpoint,
  checkpointProblem,
  checkpointCanonical,
  parseMasterKeys,
  GENESIS_HASH,
  type AuditCheckpoint,
  type ChainEvent,
  type ChainRow,
} from '../../../plugins/id-vault/server/src/crypto';

const entry = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const ring = parseMasterKeys(`${entry('k2')},${entry('k1')}`);

const event = (seq: number): ChainEvent => ({
  seq,
  occurredAt: `2025-01-0${(seq % 9) + 1}T10:00:00.000Z`,
  actorType: 'system',
  actorId: null,
  action: 'test.event',
  subjectUid: null,
  subjectId: null,
  fields: [],
  outcome: 'success',
  ip: null,
  userAgent: null,
  details: { n: seq },
});

const chain = (n: number): ChainRow[] => {
  const rows: ChainRow[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i += 1) {
    const hash = eventHash(event(i), prev);
    rows.push({ ...event(i), prevHash: prev, hash });
    prev = hash;
  }
  return rows;
};

/** A chain of 8 whose first `pruned` events were pruned: the checkpoint after them, and the kept rest. */
const pruned = (n = 3) => {
  const rows = chain(8);
  const last = rows[n - 1];
  const checkpoint = signCheckpoint(ring, { seq: last.seq, hash: last.hash, prunedCount: n, cutoff: '2025-06-01T00:00:00.000Z' });
  return { checkpoint, kept: rows.slice(n) };
};

describe('audit checkpoint', () => {
  test('is MACed under the active master key and names it', () => {
    const { checkpoint } = pruned();
    expect(checkpoint.keyId).toBe('k2');
    expect(checkpoint.mac).toMatch(/^[0-9a-f]{64}$/);
    expect(checkpointProblem(ring, checkpoint)).toBeNull();
  });

  test('verifies after a rotation while the ring keeps its key; says so once the key is gone', () => {
    const { checkpoint } = pruned();
    const rotated = parseMasterKeys(`${entry('k3')},k2:${ring.byId.get('k2')!.key.toString('base64')}`);
    expect(checkpointProblem(rotated, checkpoint)).toBeNull();
    expect(checkpointProblem(parseMasterKeys(entry('k3')), checkpoint)).toBe('checkpoint-key-unknown');
  });

  test('a ring with another key under the same id does not verify it', () => {
    expect(checkpointProblem(parseMasterKeys(entry('k2')), pruned().checkpoint)).toBe('checkpoint-mac-mismatch');
  });

  test('the canonical form is versioned, sorted, and leaves the MAC out', () => {
    const { checkpoint } = pruned();
    expect(checkpointCanonical(checkpoint)).toBe(
      `{"cutoff":"2025-06-01T00:00:00.000Z","hash":"${checkpoint.hash}","keyId":"k2","prunedCount":3,"seq":3,"v":1}`
    );
  });

  test('the kept events verify from it, and the result says where verification started', () => {
    const { checkpoint, kept } = pruned();
    expect(verifyChain(kept, { checkpoint, ring })).toEqual({ ok: true, count: 5, from: { seq: 3, prunedCount: 3, keyId: 'k2' } });
    // Everything pruned, nothing after it yet: still intact.
    expect(verifyChain([], { checkpoint, ring })).toMatchObject({ ok: true, count: 0 });
  });

  type Tamper = (c: AuditCheckpoint, kept: ChainRow[]) => { checkpoint: AuditCheckpoint | null; kept: ChainRow[] };
  test.each<[string, Tamper, number, string]>([
    ['a changed seq', (c, k) => ({ checkpoint: { ...c, seq: 2 }, kept: k }), 2, 'checkpoint-mac-mismatch'],
    ['a changed hash', (c, k) => ({ checkpoint: { ...c, hash: k[0].prevHash.replace(/^./, 'f') }, kept: k }), 3, 'checkpoint-mac-mismatch'],
    ['a changed count', (c, k) => ({ checkpoint: { ...c, prunedCount: 2 }, kept: k }), 3, 'checkpoint-mac-mismatch'],
    ['a changed cut-off', (c, k) => ({ checkpoint: { ...c, cutoff: '2025-07-01T00:00:00.000Z' }, kept: k }), 3, 'checkpoint-mac-mismatch'],
    ['another key id of the ring', (c, k) => ({ checkpoint: { ...c, keyId: 'k1' }, kept: k }), 3, 'checkpoint-mac-mismatch'],
    ['a key id not in the ring', (c, k) => ({ checkpoint: { ...c, keyId: 'gone' }, kept: k }), 3, 'checkpoint-key-unknown'],
    ['a changed MAC', (c, k) => ({ checkpoint: { ...c, mac: c.mac.replace(/^./, c.mac[0] === '0' ? '1' : '0') }, kept: k }), 3, 'checkpoint-mac-mismatch'],
    ['a MAC that is not hex', (c, k) => ({ checkpoint: { ...c, mac: 'x'.repeat(64) }, kept: k }), 3, 'checkpoint-mac-mismatch'],
    ['no MAC', (c, k) => ({ checkpoint: { ...c, mac: null as any }, kept: k }), 3, 'checkpoint-mac-mismatch'],
    ['a re-signed checkpoint that skips kept events', (c, k) => ({ checkpoint: signCheckpoint(parseMasterKeys(entry('k2')), { ...c, seq: 5, hash: k[1].hash }), kept: k.slice(2) }), 5, 'checkpoint-mac-mismatch'],
    ['a deleted checkpoint (events missing from the genesis)', (_c, k) => ({ checkpoint: null, kept: k }), 4, 'seq-gap'],
    ['the first kept event deleted', (c, k) => ({ checkpoint: c, kept: k.slice(1) }), 5, 'seq-gap'],
    ['a pruned event left behind', (c, k) => ({ checkpoint: c, kept: [chain(3)[2], ...k] }), 3, 'seq-gap'],
    ['the first kept event relinked elsewhere', (c, k) => { const e = event(4); const prev = 'a'.repeat(64); return { checkpoint: c, kept: [{ ...e, prevHash: prev, hash: eventHash(e, prev) }, ...k.slice(1)] }; }, 4, 'prev-mismatch'],
    ['a changed kept event', (c, k) => ({ checkpoint: c, kept: k.map((r, i) => (i === 2 ? { ...r, outcome: 'denied' } : r)) }), 6, 'hash-mismatch'],
    ['a kept event deleted and the rest renumbered', (c, k) => ({ checkpoint: c, kept: [k[0], ...k.slice(2).map((r, i) => ({ ...r, seq: 5 + i }))] }), 5, 'prev-mismatch'],
  ])('detects %s', (_label, tamper, brokenAt, reason) => {
    const { checkpoint, kept } = pruned();
    const t = tamper(checkpoint, kept);
    expect(verifyChain(t.kept, t.checkpoint ? { checkpoint: t.checkpoint, ring } : undefined)).toMatchObject({ ok: false, brokenAt, reason });
  });

  test('a checkpoint that does not verify fails before any event is read', () => {
    const { checkpoint, kept } = pruned();
    const v = createChainVerifier({ checkpoint: { ...checkpoint, prunedCount: 99 }, ring });
    expect(v.result()).toMatchObject({ ok: false, count: 0, brokenAt: 3, reason: 'checkpoint-mac-mismatch' });
    expect(v.push(kept[0])).toMatchObject({ reason: 'checkpoint-mac-mismatch' });
  });
});
