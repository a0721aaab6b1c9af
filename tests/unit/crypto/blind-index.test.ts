import { randomBytes } from 'crypto';
import { fieldIndexKey, exactIndex, prefixIndex } from '../../../plugins/id-vault/server/src/crypto';

const root = randomBytes(32);
const uid = 'plugin::id-vault.customer';
const k = fieldIndexKey(root, uid, 'idNumber');

describe('blind indexes', () => {
  test('deterministic, truncated to the requested bits', () => {
    for (const bits of [32, 64, 128, 256]) {
      const a = exactIndex(k, '11010519491231002x', bits);
      expect(a).toHaveLength(bits / 4);
      expect(exactIndex(k, '11010519491231002x', bits)).toBe(a);
    }
  });

  test('different values, fields, content types and roots give different indexes', () => {
    const base = exactIndex(k, 'v', 64);
    expect(exactIndex(k, 'w', 64)).not.toBe(base);
    expect(exactIndex(fieldIndexKey(root, uid, 'phone'), 'v', 64)).not.toBe(base);
    expect(exactIndex(fieldIndexKey(root, 'api::x.x', 'idNumber'), 'v', 64)).not.toBe(base);
    expect(exactIndex(fieldIndexKey(randomBytes(32), uid, 'idNumber'), 'v', 64)).not.toBe(base);
  });

  test('prefix indexes: by code point, null when short, distinct from exact', () => {
    expect(prefixIndex(k, 'abc', 4, 64)).toBeNull();
    expect(prefixIndex(k, 'abcd', 4, 64)).toBe(prefixIndex(k, 'abcdef', 4, 64));
    expect(prefixIndex(k, 'abcd', 4, 64)).not.toBe(exactIndex(k, 'abcd', 64));
    expect(prefixIndex(k, '测试用户甲', 4, 64)).toBe(prefixIndex(k, '测试用户乙', 4, 64));
    expect(prefixIndex(k, 'abcd', 3, 64)).not.toBe(prefixIndex(k, 'abcd', 4, 64));
  });

  test.each([0, 8, 31, 33, 100, 264, 1.5])('refuses %p bits', (bits) => {
    expect(() => exactIndex(k, 'v', bits)).toThrow(TypeError);
  });
});
