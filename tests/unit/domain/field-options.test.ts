import { parseFieldOptions, DEFAULT_FIELD_OPTIONS } from '../../../plugins/id-vault/server/src/domain';

describe('encrypted field options', () => {
  test('defaults', () => {
    expect(DEFAULT_FIELD_OPTIONS).toEqual({ searchable: 'none', prefixLength: 4, normalise: 'none', mask: 'full', validate: 'none', indexBits: 64 });
    expect(parseFieldOptions(undefined)).toEqual(DEFAULT_FIELD_OPTIONS);
    expect(parseFieldOptions(null)).toEqual(DEFAULT_FIELD_OPTIONS);
    expect(parseFieldOptions({})).toEqual(DEFAULT_FIELD_OPTIONS);
    expect(parseFieldOptions({}, { indexBits: 128 }).indexBits).toBe(128);
    expect(parseFieldOptions({ indexBits: 32 }, { indexBits: 128 }).indexBits).toBe(32);
  });

  test('cleared inputs (null, empty string) fall back to defaults', () => {
    expect(parseFieldOptions({ searchable: null, prefixLength: '', normalise: '', mask: '', validate: null, indexBits: null })).toEqual(DEFAULT_FIELD_OPTIONS);
  });

  test('what the admin panel stores (strings, keep first/last)', () => {
    expect(
      parseFieldOptions({ searchable: 'exact-prefix', prefixLength: '6', normalise: 'digits', mask: 'keep', keepFirst: '2', keepLast: '3', validate: 'phone', indexBits: '32' })
    ).toEqual({ searchable: 'exact-prefix', prefixLength: 6, normalise: 'digits', mask: 'keep:2:3', validate: 'phone', indexBits: 32 });
  });

  test.each([
    [{ mask: 'keep:2:3' }, 'keep:2:3'],
    [{ mask: 'keep', keepFirst: 2, keepLast: 3 }, 'keep:2:3'],
    [{ mask: 'keep', keepFirst: ' 1 ' }, 'keep:1:0'],
    [{ mask: 'keep' }, 'keep:0:0'],
    [{ mask: 'id-number', keepFirst: 9 }, 'id-number'], // keep counts ignored for other rules
    [{ mask: 'email' }, 'email'],
  ])('mask from %p', (raw, out) => {
    expect(parseFieldOptions(raw).mask).toBe(out);
  });

  test.each([
    [{ prefixLength: 1 }, 1],
    [{ prefixLength: '32' }, 32],
  ])('prefixLength bounds %p', (raw, n) => {
    expect(parseFieldOptions(raw).prefixLength).toBe(n);
  });

  test.each([32, 64, 128, 256, '256'])('indexBits %p', (bits) => {
    expect(parseFieldOptions({ indexBits: bits }).indexBits).toBe(Number(bits));
  });

  test.each([
    [{ searchable: 'fuzzy' }, /searchable/],
    [{ searchable: true }, /searchable/],
    [{ prefixLength: 0 }, /prefixLength/],
    [{ prefixLength: '33' }, /prefixLength/],
    [{ prefixLength: 2.5 }, /prefixLength/],
    [{ prefixLength: '0x10' }, /prefixLength/],
    [{ prefixLength: '1e1' }, /prefixLength/],
    [{ prefixLength: 'four' }, /prefixLength/],
    [{ normalise: 'upper' }, /normalise/],
    [{ mask: 'stars' }, /mask/],
    [{ mask: 'keep:2' }, /mask/],
    [{ mask: 7 }, /mask/],
    [{ validate: 'iban' }, /validate/],
    [{ indexBits: 48 }, /indexBits/],
    [{ indexBits: '512' }, /indexBits/],
    [{ mask: 'keep', keepFirst: -1 }, /keepFirst/],
    [{ mask: 'keep', keepLast: '33' }, /keepLast/],
    [{ mask: 'keep', keepLast: 'x' }, /keepLast/],
  ])('refuses %p', (raw, message) => {
    expect(() => parseFieldOptions(raw)).toThrow(TypeError);
    expect(() => parseFieldOptions(raw)).toThrow(message);
  });

  test.each(['exact', 42, ['exact']])('refuses non-object options %p', (raw) => {
    expect(() => parseFieldOptions(raw)).toThrow(TypeError);
  });

  test('the schema options of the built-in fields parse', () => {
    expect(parseFieldOptions({ searchable: 'exact', normalise: 'lower', mask: 'id-number', validate: 'none' })).toMatchObject({ searchable: 'exact', mask: 'id-number' });
    expect(parseFieldOptions({ searchable: 'exact', normalise: 'none', mask: 'phone', validate: 'phone' })).toMatchObject({ validate: 'phone' });
  });
});
