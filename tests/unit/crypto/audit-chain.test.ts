import { eventHash, verifyChain, createChainVerifier, canonicalJson, GENESIS_HASH, type ChainEvent, type ChainRow } from '../../../plugins/id-vault/server/src/crypto';

const event = (seq: number, over: Partial<ChainEvent> = {}): ChainEvent => ({
  seq,
  occurredAt: `2026-11-22T10:00:0${seq % 10}.000Z`,
  actorType: 'api-token',
  actorId: '3',
  action: 'customer.update',
  subjectUid: 'plugin::id-vault.customer',
  subjectId: `doc${seq}`,
  fields: ['phone'],
  outcome: 'success',
  ip: '127.0.0.1',
  userAgent: 'test',
  details: { n: seq, nested: { b: 1, a: 2 } },
  ...over,
});

const chain = (n: number): ChainRow[] => {
  const rows: ChainRow[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i += 1) {
    const e = event(i);
    const hash = eventHash(e, prev);
    rows.push({ ...e, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
};

describe('audit hash chain', () => {
  test('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":2,"z":1}]},"b":1}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  test('an untouched chain verifies', () => {
    expect(verifyChain(chain(5))).toEqual({ ok: true, count: 5 });
    expect(verifyChain([])).toEqual({ ok: true, count: 0 });
  });

  test('key order of stored JSON does not matter (PostgreSQL jsonb reorders keys)', () => {
    const rows = chain(2);
    rows[1] = { ...rows[1], details: { nested: { a: 2, b: 1 }, n: 2 } };
    expect(verifyChain(rows)).toEqual({ ok: true, count: 2 });
  });

  test.each([
    ['an edited field', (r: ChainRow[]) => { r[2] = { ...r[2], outcome: 'denied' }; }, 3, 'hash-mismatch'],
    ['an edited field list', (r: ChainRow[]) => { r[1] = { ...r[1], fields: [] }; }, 2, 'hash-mismatch'],
    ['a deleted middle event', (r: ChainRow[]) => { r.splice(2, 1); }, 4, 'seq-gap'],
    ['a deleted and renumbered event', (r: ChainRow[]) => { r.splice(2, 1); for (let i = 2; i < r.length; i += 1) r[i] = { ...r[i], seq: i + 1 }; }, 3, 'prev-mismatch'],
    ['a forged event with a recomputed hash', (r: ChainRow[]) => { const e = event(3, { action: 'forged' }); r[2] = { ...e, prevHash: r[1].hash, hash: eventHash(e, r[1].hash) }; }, 4, 'prev-mismatch'],
    ['a deleted first event', (r: ChainRow[]) => { r.shift(); }, 2, 'seq-gap'],
  ])('detects %s', (_label, tamper, brokenAt, reason) => {
    const rows = chain(5);
    tamper(rows);
    expect(verifyChain(rows)).toMatchObject({ ok: false, brokenAt, reason });
  });

  test('the streaming verifier agrees and stops at the first failure', () => {
    const rows = chain(6);
    rows[3] = { ...rows[3], actorId: '4' };
    const v = createChainVerifier();
    const failures = rows.map((r) => v.push(r));
    expect(failures.slice(0, 3)).toEqual([null, null, null]);
    expect(v.result()).toEqual(verifyChain(rows));
    expect(v.result()).toMatchObject({ ok: false, brokenAt: 4, count: 3 });
  });
});
