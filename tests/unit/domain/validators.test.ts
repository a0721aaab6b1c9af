import {
  isValidResidentId,
  isValidCreditCode,
  normalisePhone,
  isValidEmail,
  validateValue,
  residentIdFrom,
  creditCodeFrom,
  normalise,
  customerViolations,
} from '../../../plugins/id-vault/server/src/domain';

const TODAY = new Date('2026-11-22T00:00:00Z');

describe('resident ID numbers (GB 11643)', () => {
  test.each([
    ['11010519491231002X', true], // the standard's own sample
    ['11010519491231002x', true], // lower-case x accepted
    [residentIdFrom('44030520000229123'), true], // 29 Feb of a leap year
    [residentIdFrom('11010119000101001'), true],
    ['110105194912310021', false], // wrong check digit
    [residentIdFrom('44030519000229123'), false], // 1900 was not a leap year
    [residentIdFrom('11010520010229001'), false], // nor 2001
    [residentIdFrom('11010518991231001'), false], // before 1900
    [residentIdFrom('11010520301231001'), false], // in the future
    [residentIdFrom('11010519901301001'), false], // month 13
    [residentIdFrom('01010519900101001'), false], // leading zero
    ['11010519491231002', false], // 17 characters
    ['11010519491231002XX', false],
    ['1101051949123100AX', false],
    ['', false],
  ])('%s → %p', (v, ok) => {
    expect(isValidResidentId(v, TODAY)).toBe(ok);
  });
});

describe('unified social credit codes (GB 32100)', () => {
  const good = creditCodeFrom('91350100M000100Y4'.slice(0, 17));
  test.each([
    [good, true],
    [good.toLowerCase(), true],
    [creditCodeFrom('91110101MA01ABCDE'), true],
    [good.slice(0, 17) + (good[17] === '0' ? '1' : '0'), false],
    ['91110101MA01ABCDEI', false], // I is not in the alphabet
    ['91110101OA01ABCDE0', false], // O
    ['91110101ZA01ABCDE0', false], // Z
    ['91110101SA01ABCDE0', false], // S
    ['91110101VA01ABCDE0', false], // V
    [good.slice(0, 17), false],
    ['', false],
  ])('%s → %p', (v, ok) => {
    expect(isValidCreditCode(v)).toBe(ok);
  });
});

describe('phones', () => {
  test.each([
    ['13800000000', '+8613800000000'],
    ['138 0000 0000', '+8613800000000'],
    ['138-0000-0000', '+8613800000000'],
    ['+86 138 0000 0000', '+8613800000000'],
    ['0086 13800000000', '+8613800000000'],
    ['8613800000000', '+8613800000000'],
    ['(+86) 138.0000.0000', '+8613800000000'],
    ['+44 20 7946 0000', '+442079460000'],
    ['+1 (555) 010-0000', '+15550100000'],
    ['12800000000', null], // no such mainland prefix
    ['+86 12800000000', null],
    ['1380000000', null],
    ['+0123456789', null],
    ['+1234567', null],
    ['+1234567890123456', null],
    ['phone', null],
    ['', null],
  ])('%s → %p', (v, out) => {
    expect(normalisePhone(v)).toBe(out);
  });
});

describe('e-mail', () => {
  test.each([
    ['a@example.test', true],
    ['first.last+tag@sub.example.test', true],
    ["o'hara@example.test", true],
    ['a@b.c', false],
    ['a@example', false],
    ['.a@example.test', false],
    ['a.@example.test', false],
    ['a..b@example.test', false],
    ['a@-example.test', false],
    ['a@example-.test', false],
    ['a@@example.test', false],
    ['@example.test', false],
    ['a b@example.test', false],
    [`${'a'.repeat(65)}@example.test`, false],
    [`a@${'b'.repeat(250)}.test`, false],
    ['', false],
  ])('%s → %p', (v, ok) => {
    expect(isValidEmail(v)).toBe(ok);
  });
});

describe('validateValue', () => {
  test.each([
    ['resident-id', ' 11010519491231002x ', '11010519491231002X'],
    ['credit-code', creditCodeFrom('91110101MA01ABCDE').toLowerCase(), creditCodeFrom('91110101MA01ABCDE')],
    ['phone', '138 0000 0000', '+8613800000000'],
    ['email', ' A@Example.test ', 'A@Example.test'],
    ['none', ' anything ', ' anything '],
  ] as const)('%s canonicalises', (name, raw, value) => {
    expect(validateValue(name, raw)).toEqual({ ok: true, value });
  });

  test.each([
    ['resident-id', '110105194912310021'],
    ['credit-code', '91110101MA01ABCDE0'],
    ['phone', '12345'],
    ['email', 'not-an-email@'],
  ] as const)('%s failures never echo the value', (name, raw) => {
    const r = validateValue(name, raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).not.toContain(raw);
      expect(r.message).toMatch(/^must be /);
    }
  });
});

describe('normalise', () => {
  test.each([
    ['none', ' A  b ', ' A  b '],
    ['trim', '  A   b ', 'A b'],
    ['lower', '  A   B ', 'a b'],
    ['digits', '+86 138-0000', '861380000'],
  ] as const)('%s', (mode, v, out) => {
    expect(normalise(v, mode)).toBe(out);
  });
});

describe('customer rules', () => {
  test('a resident ID is checked when the ID type says so', () => {
    expect(customerViolations({ idType: 'resident-id', idNumber: '110105194912310021' }, new Set(['idNumber']))).toEqual([
      { field: 'idNumber', message: expect.stringMatching(/GB 11643/) },
    ]);
    expect(customerViolations({ idType: 'passport', idNumber: 'E12345678' }, new Set(['idNumber']))).toEqual([]);
    expect(customerViolations({ idType: 'resident-id', idNumber: '11010519491231002X' }, new Set(['idNumber']))).toEqual([]);
  });
  test('a credit code is checked when written', () => {
    expect(customerViolations({ creditCode: '91110101MA01ABCDE0' }, new Set(['creditCode']))).toHaveLength(1);
    expect(customerViolations({ creditCode: creditCodeFrom('91110101MA01ABCDE') }, new Set(['creditCode']))).toEqual([]);
  });
});
