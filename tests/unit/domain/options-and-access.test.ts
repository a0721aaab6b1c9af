import {
  parseFieldOptions,
  DEFAULT_FIELD_OPTIONS,
  fieldVisibility,
  describeCaller,
  syntheticPerson,
  syntheticCompany,
  isValidResidentId,
  isValidCreditCode,
  normalisePhone,
  isValidEmail,
  type Caller,
} from '../../../plugins/id-vault/server/src/domain';

describe('encrypted field options', () => {
  test('defaults', () => {
    expect(parseFieldOptions(undefined)).toEqual(DEFAULT_FIELD_OPTIONS);
    expect(parseFieldOptions({})).toEqual(DEFAULT_FIELD_OPTIONS);
    expect(parseFieldOptions({}, { indexBits: 128 }).indexBits).toBe(128);
  });

  test('what the admin panel stores (strings, keep first/last)', () => {
    expect(parseFieldOptions({ searchable: 'exact-prefix', prefixLength: '6', normalise: 'digits', mask: 'keep', keepFirst: '2', keepLast: '3', validate: 'phone', indexBits: '32' })).toEqual({
      searchable: 'exact-prefix',
      prefixLength: 6,
      normalise: 'digits',
      mask: 'keep:2:3',
      validate: 'phone',
      indexBits: 32,
    });
  });

  test.each([
    [{ searchable: 'fuzzy' }, /searchable/],
    [{ prefixLength: 0 }, /prefixLength/],
    [{ prefixLength: '33' }, /prefixLength/],
    [{ normalise: 'upper' }, /normalise/],
    [{ mask: 'stars' }, /mask/],
    [{ validate: 'iban' }, /validate/],
    [{ indexBits: 48 }, /indexBits/],
    [{ mask: 'keep', keepFirst: -1 }, /keepFirst/],
  ])('refuses %p', (raw, message) => {
    expect(() => parseFieldOptions(raw)).toThrow(message);
  });
});

describe('who sees what', () => {
  const subject = { uid: 'plugin::id-vault.customer', field: 'idNumber' };
  test.each([
    [{ kind: 'system' }, 'plain'],
    [{ kind: 'admin', id: 1, roles: ['strapi-super-admin'] }, 'plain'],
    [{ kind: 'admin', id: 2, roles: ['strapi-editor'] }, 'masked'],
    [{ kind: 'admin', id: 3, roles: [] }, 'masked'],
    [{ kind: 'api-token', id: 1, tokenType: 'full-access' }, 'plain'],
    [{ kind: 'api-token', id: 2, tokenType: 'read-only' }, 'masked'],
    [{ kind: 'api-token', id: 3, tokenType: 'custom' }, 'masked'],
    [{ kind: 'user', id: 1, role: 'authenticated' }, 'masked'],
    [{ kind: 'public' }, 'masked'],
    [{ kind: 'martian' } as unknown as Caller, 'hidden'],
  ] as [Caller, string][])('%p → %s', (caller, visibility) => {
    expect(fieldVisibility(caller, subject)).toBe(visibility);
  });

  test('audit actor', () => {
    expect(describeCaller({ kind: 'system' })).toEqual({ actorType: 'system', actorId: null });
    expect(describeCaller({ kind: 'api-token', id: 7, tokenType: 'read-only' })).toEqual({ actorType: 'api-token', actorId: '7' });
  });
});

describe('synthetic people and companies', () => {
  test('valid checksums, deterministic, obviously fictitious', () => {
    for (let seed = 0; seed < 1000; seed += 1) {
      const p = syntheticPerson(seed);
      expect(isValidResidentId(p.idNumber)).toBe(true);
      expect(normalisePhone(p.phone)).toBe(p.phone);
      expect(isValidEmail(p.email)).toBe(true);
      expect(p.email.endsWith('@example.test')).toBe(true);
      const c = syntheticCompany(seed);
      expect(isValidCreditCode(c.creditCode)).toBe(true);
      expect(normalisePhone(c.phone)).toBe(c.phone);
    }
    expect(syntheticPerson(5)).toEqual(syntheticPerson(5));
    expect(syntheticPerson(5)).not.toEqual(syntheticPerson(6));
  });
});
