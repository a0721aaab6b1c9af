/**
 * Committed ciphertext from an earlier build, decrypted on every run: a change to the stored format
 * (which would orphan real data) fails here. Never regenerate the fixtures to make this pass.
 */
import fixtures from '../../fixtures/crypto-fixtures.json';
import { parseMasterKeys, unwrapDataKey, decryptField, fieldIndexKey, exactIndex, prefixIndex, verifyChain } from '../../../plugins/id-vault/server/src/crypto';

describe('committed fixtures still decrypt', () => {
  const ring = parseMasterKeys(fixtures.masterKeys);
  const dataKey = unwrapDataKey(ring, fixtures.dataKey.wrapped, fixtures.dataKey.id);

  test.each(fixtures.fields.map((f) => [f.ctx.field, f] as const))('%s', (_field, f) => {
    expect(decryptField(f.ciphertext, (id) => (id === fixtures.dataKey.id ? dataKey : undefined), f.ctx)).toBe(f.plaintext);
  });

  test.each(fixtures.blindIndexes.map((b) => [b.field, b] as const))('blind indexes of %s', (_field, b) => {
    const key = fieldIndexKey(Buffer.from(fixtures.indexRoot, 'base64'), b.uid, b.field);
    expect(exactIndex(key, b.normalised, 64)).toBe(b.exact64);
    expect(prefixIndex(key, b.normalised, 4, 128)).toBe(b.prefix4x128);
  });

  test('audit chain', () => {
    expect(verifyChain(fixtures.audit as any)).toEqual({ ok: true, count: 2 });
  });
});
