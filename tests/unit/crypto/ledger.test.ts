/** The erasure ledger's lines: authenticated one by one, and as a whole ledger across a master-key rotation. */
import { randomBytes } from 'crypto';
import { entriesToResign, ledgerLine, parseMasterKeys, readLedger, readLedgerLine } from '../../../plugins/id-vault/server/src/crypto';

const entry = (i: number) => ({ customerDocumentId: `c${i}`.padEnd(24, '0'), erasedAt: `2026-12-0${i}T10:00:00.000Z`, refs: [`plugin::id-vault.customer#c${i}`] });
const OLD = `old:${randomBytes(32).toString('base64')}`;
const NEW = `new:${randomBytes(32).toString('base64')}`;
const items = (lines: string[]) => lines.map((line, i) => ({ at: `line ${i + 1}`, line }));

describe('one line', () => {
  test('verifies under the key that signed it, and names what is wrong otherwise', () => {
    const ring = parseMasterKeys(OLD);
    const line = ledgerLine(ring, entry(1));
    expect(readLedgerLine(ring, line)).toEqual({ entry: expect.objectContaining({ ...entry(1), keyId: 'old' }) });
    expect(readLedgerLine(ring, line.replace('c1', 'c2'))).toEqual({ problem: 'mac-mismatch' });
    expect(readLedgerLine(parseMasterKeys(NEW), line)).toEqual({ problem: 'key-unknown' });
    expect(readLedgerLine(ring, '{')).toEqual({ problem: 'not-json' });
    expect(readLedgerLine(ring, '{"customerDocumentId":1}')).toEqual({ problem: 'bad-shape' });
  });
});

describe('an identity document deleted for good (retention)', () => {
  test('its documentId is part of the line and of its MAC; a customer line carries none', () => {
    const ring = parseMasterKeys(OLD);
    const doc = { customerDocumentId: 'c1'.padEnd(24, '0'), documentId: 'd1'.padEnd(24, '0'), erasedAt: '2026-12-03T10:00:00.000Z', refs: ['plugin::id-vault.identity-document#d1'] };
    const line = ledgerLine(ring, doc);
    expect(readLedgerLine(ring, line)).toEqual({ entry: expect.objectContaining({ ...doc, keyId: 'old' }) });
    expect(readLedgerLine(ring, line.replace('"documentId":"d1', '"documentId":"d2'))).toEqual({ problem: 'mac-mismatch' });
    expect(readLedgerLine(ring, line.replace(/,"documentId":"[^"]*"/, ''))).toEqual({ problem: 'mac-mismatch' });
    expect(JSON.parse(ledgerLine(ring, entry(1)))).not.toHaveProperty('documentId');
    // Re-signed after a rotation, it stays a document entry.
    const both = parseMasterKeys(`${NEW},${OLD}`);
    expect(entriesToResign(both, [(readLedgerLine(ring, line) as any).entry])).toEqual([expect.objectContaining({ documentId: doc.documentId })]);
  });
});

describe('a whole ledger across a rotation', () => {
  const before = [ledgerLine(parseMasterKeys(OLD), entry(1)), ledgerLine(parseMasterKeys(OLD), entry(2))];

  test('after the rotation, entries under the old key are re-signed once each', () => {
    const both = parseMasterKeys(`${NEW},${OLD}`);
    const read = readLedger(both, items(before));
    expect('entries' in read && read.entries).toHaveLength(2);
    const todo = entriesToResign(both, (read as any).entries);
    expect(todo.map((e) => e.customerDocumentId)).toEqual([entry(1).customerDocumentId, entry(2).customerDocumentId]);
    const after = [...before, ...todo.map((e) => ledgerLine(both, e))];
    expect(entriesToResign(both, (readLedger(both, items(after)) as any).entries)).toEqual([]);

    // The old key leaves the ring: its lines are covered by their copies.
    const only = parseMasterKeys(NEW);
    expect(readLedger(only, items(after))).toEqual({ entries: [expect.objectContaining({ keyId: 'new' }), expect.objectContaining({ keyId: 'new' })] });
  });

  test('an entry under an unknown key without a copy under a known one refuses the ledger, naming it', () => {
    const both = parseMasterKeys(`${NEW},${OLD}`);
    const partly = [...before, ledgerLine(both, entry(1))];
    expect(readLedger(parseMasterKeys(NEW), items(partly))).toEqual({ problem: 'key-unknown', at: 'line 2' });
  });

  test('a copy does not excuse a tampered line', () => {
    const both = parseMasterKeys(`${NEW},${OLD}`);
    const tampered = [before[0].replace('2026-12-01', '2026-12-09'), ledgerLine(both, entry(1))];
    expect(readLedger(both, items(tampered))).toEqual({ problem: 'mac-mismatch', at: 'line 1' });
  });
});
