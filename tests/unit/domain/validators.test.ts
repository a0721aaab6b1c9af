import {
  isValidResidentId,
  isValidCreditCode,
  normalisePhone,
  isValidEmail,
  validateValue,
  residentIdFrom,
  creditCodeFrom,
  type ValidatorName,
} from '../../../plugins/id-vault/server/src/domain';

const TODAY = new Date('2026-11-22T00:00:00Z');

// Independent reference implementations: weights as powers (2^k mod 11, 3^k mod 31).
const refIdCheck = (s: string) => {
  let sum = 0;
  for (let k = 0; k < 17; k += 1) sum += Number(s[k]) * (2 ** (17 - k) % 11);
  const c = (12 - (sum % 11)) % 11;
  return c === 10 ? 'X' : String(c);
};
const CC = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const refCcCheck = (s: string) => {
  let sum = 0;
  let w = 1;
  for (let k = 0; k < 17; k += 1, w = (w * 3) % 31) sum += CC.indexOf(s[k]) * w;
  return CC[(31 - (sum % 31)) % 31];
};

describe('resident ID numbers (GB 11643)', () => {
  test.each([
    ['11010519491231002X', true], // the standard's own sample
    ['11010519491231002x', true], // lower-case x accepted
    [residentIdFrom('44030520000229123'), true], // 29 Feb of a leap year
    [residentIdFrom('11010519960229001'), true],
    [residentIdFrom('11010119000101001'), true], // 1900 is the earliest year
    [residentIdFrom('11010120261122001'), true], // born today
    ['110105194912310021', false], // wrong check digit
    ['110105194912310020', false],
    [residentIdFrom('44030519000229123'), false], // 1900 was not a leap year
    [residentIdFrom('11010520010229001'), false], // nor 2001
    [residentIdFrom('11010520230229001'), false], // nor 2023
    [residentIdFrom('11010519990431001'), false], // 31 April
    [residentIdFrom('11010519900001001'), false], // month 0
    [residentIdFrom('11010519900100001'), false], // day 0
    [residentIdFrom('11010519901301001'), false], // month 13
    [residentIdFrom('11010519900132001'), false], // 32 January
    [residentIdFrom('11010518991231001'), false], // before 1900
    [residentIdFrom('11010520261123001'), false], // tomorrow
    [residentIdFrom('11010520301231001'), false], // in the future
    [residentIdFrom('01010519900101001'), false], // leading zero
    ['11010519491231002', false], // 17 characters
    ['11010519491231002XX', false], // 19
    ['1101051949123100AX', false], // letter in the body
    ['11010519491231002Y', false], // check char not 0-9X
    ['X10105194912310021', false],
    [' 11010519491231002X', false], // no trimming here (validateValue trims)
    ['１１０１０５１９４９１２３１００２Ｘ', false], // full-width digits
    ['', false],
  ])('%s → %p', (v, ok) => {
    expect(isValidResidentId(v, TODAY)).toBe(ok);
  });

  test('"today" defaults to now', () => {
    expect(isValidResidentId('11010519491231002X')).toBe(true);
    expect(isValidResidentId(residentIdFrom(`110105${new Date().getUTCFullYear() + 1}0101001`))).toBe(false);
  });

  test('check character agrees with an independent implementation', () => {
    for (let i = 0; i < 500; i += 1) {
      const body = `110105${1950 + (i % 70)}0${1 + (i % 9)}1${i % 10}${String(i * 7919).padStart(3, '0').slice(-3)}`;
      expect(residentIdFrom(body)[17]).toBe(refIdCheck(body));
      for (const c of '0123456789X') expect(isValidResidentId(body + c, TODAY)).toBe(c === refIdCheck(body));
    }
  });
});

describe('unified social credit codes (GB 32100)', () => {
  const good = '91350100M000100Y43'; // widely published sample
  test.each([
    [good, true],
    [good.toLowerCase(), true],
    [creditCodeFrom('91110101MA01ABCDE'), true],
    [creditCodeFrom('12100000400010275'), true], // public institution style
    ['91350100M000100Y44', false], // wrong check character
    ['91350100M000100Y4', false], // 17 characters
    ['91350100M000100Y433', false], // 19
    ['91110101MA01ABCDEI', false], // I is not in the alphabet
    ['91110101OA01ABCDE0', false], // O
    ['91110101ZA01ABCDE0', false], // Z
    ['91110101SA01ABCDE0', false], // S
    ['91110101VA01ABCDE0', false], // V
    ['91350100M000100Y4-', false],
    ['', false],
  ])('%s → %p', (v, ok) => {
    expect(isValidCreditCode(v)).toBe(ok);
  });

  test.each(['I', 'O', 'Z', 'S', 'V'])('a code containing %s is refused whatever its check character', (bad) => {
    const body = `91110101${bad}A01ABCDE`;
    for (const c of CC) expect(isValidCreditCode(body + c)).toBe(false);
  });

  test('check character agrees with an independent implementation', () => {
    for (let i = 0; i < 500; i += 1) {
      const body = Array.from({ length: 17 }, (_, k) => CC[(i * 31 + k * 17 + i * k) % CC.length]).join('');
      expect(creditCodeFrom(body)[17]).toBe(refCcCheck(body));
      for (const c of CC) expect(isValidCreditCode(body + c)).toBe(c === refCcCheck(body));
    }
  });
});

describe('phones', () => {
  test.each([
    ['13800000000', '+8613800000000'],
    ['19912345678', '+8619912345678'],
    ['138 0000 0000', '+8613800000000'],
    ['138-0000-0000', '+8613800000000'],
    ['138.0000.0000', '+8613800000000'],
    ['(138) 0000 0000', '+8613800000000'],
    ['+86 138 0000 0000', '+8613800000000'],
    ['+86-138-0000-0000', '+8613800000000'],
    ['+86 (138) 0000-0000', '+8613800000000'],
    ['0086 13800000000', '+8613800000000'],
    ['8613800000000', '+8613800000000'],
    ['(+86) 138.0000.0000', '+8613800000000'],
    ['  +8613800000000  ', '+8613800000000'],
    ['+44 20 7946 0000', '+442079460000'],
    ['+1 (555) 010-0000', '+15550100000'],
    ['+852 2123 4567', '+85221234567'],
    ['+12345678', '+12345678'], // shortest E.164 accepted here
    ['+123456789012345', '+123456789012345'], // 15 digits, the E.164 maximum
    ['12800000000', null], // no such mainland prefix
    ['11800000000', null],
    ['+86 12800000000', null],
    ['+86 010 1234 5678', null], // +86 must be a mobile
    ['+8613800000000 0', null],
    ['1380000000', null], // 10 digits
    ['138000000000', null], // 12 digits
    ['010-12345678', null], // domestic fixed line without country code
    ['+0123456789', null],
    ['+1234567', null],
    ['+1234567890123456', null],
    ['00441234567890', null],
    ['138O0000000', null], // letter O
    ['phone', null],
    ['+', null],
    ['', null],
  ])('%p → %p', (v, out) => {
    expect(normalisePhone(v)).toBe(out);
  });
});

describe('e-mail', () => {
  test.each([
    ['a@example.test', true],
    ['first.last+tag@sub.example.test', true],
    ["o'hara@example.test", true],
    ['x_y-z@ex-ample.co.uk', true],
    ['UPPER@EXAMPLE.COM', true],
    [`${'a'.repeat(64)}@example.test`, true],
    ['a@b.c', false], // one-letter TLD
    ['a@example.c0m', false], // TLD not letters
    ['a@example', false],
    ['a@example.', false],
    ['a@.example.test', false],
    ['a@example..test', false],
    ['.a@example.test', false],
    ['a.@example.test', false],
    ['a..b@example.test', false],
    ['a@-example.test', false],
    ['a@example-.test', false],
    ['a@exa_mple.test', false],
    ['a@@example.test', false],
    ['a@b@example.test', false],
    ['@example.test', false],
    ['a@', false],
    ['a b@example.test', false],
    ['"a b"@example.test', false], // quoted local parts are not accepted
    ['用户@example.test', false],
    [`${'a'.repeat(65)}@example.test`, false],
    [`a@${'b'.repeat(64)}.test`, false], // label > 63
    [`a@${Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.')}.test`, false], // > 254 total
    ['', false],
  ])('%s → %p', (v, ok) => {
    expect(isValidEmail(v)).toBe(ok);
  });
});

describe('validateValue', () => {
  test.each([
    ['resident-id', ' 11010519491231002x ', '11010519491231002X'],
    ['credit-code', ' 91350100m000100y43 ', '91350100M000100Y43'],
    ['phone', '138 0000 0000', '+8613800000000'],
    ['phone', '+44 20 7946 0000', '+442079460000'],
    ['email', ' A@Example.test ', 'A@Example.test'],
    ['none', ' anything ', ' anything '],
    ['none', '', ''],
  ] as const)('%s canonicalises %p', (name, raw, value) => {
    expect(validateValue(name, raw)).toEqual({ ok: true, value });
  });

  const INVALID: [ValidatorName, string][] = [
    ['resident-id', '110105194912310021'],
    ['resident-id', residentIdFrom('44030519000229123')],
    ['resident-id', 'secret-value-1234'],
    ['credit-code', '91110101MA01ABCDE0'],
    ['credit-code', '91350100M000100Y44'],
    ['phone', '12345'],
    ['phone', '+86 12800000000'],
    ['email', 'not-an-email@'],
    ['email', 'person42@example'],
  ];

  test.each(INVALID)('%s refuses %p without echoing it', (name, raw) => {
    const r = validateValue(name, raw);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toMatch(/^must be /);
    expect(r.message).not.toContain(raw);
    expect(r.message).not.toContain(raw.trim().toUpperCase());
    expect(r.message.toLowerCase()).not.toContain(raw.toLowerCase());
  });

  test('messages are fixed per validator (never derived from the value)', () => {
    const names: ValidatorName[] = ['resident-id', 'credit-code', 'phone', 'email'];
    for (const name of names) {
      const messages = new Set<string>();
      for (let i = 0; i < 200; i += 1) {
        const r = validateValue(name, `zz${i}-${'q'.repeat(i % 7)}#value`);
        expect(r.ok).toBe(false);
        if (!r.ok) messages.add(r.message);
      }
      expect(messages.size).toBe(1);
    }
  });

  test('an unknown validator fails closed', () => {
    expect(validateValue('iban' as ValidatorName, 'DE00')).toEqual({ ok: false, message: expect.stringMatching(/unknown validator/) });
  });
});

describe('synthetic builders refuse malformed bodies', () => {
  test.each(['1101051949123100', '110105194912310021', '1101051949123100A'])('residentIdFrom(%p)', (v) => {
    expect(() => residentIdFrom(v)).toThrow(TypeError);
  });
  test.each(['91350100M000100Y', '91350100M000100Y43', '91350100I000100Y4'])('creditCodeFrom(%p)', (v) => {
    expect(() => creditCodeFrom(v)).toThrow(TypeError);
  });
});
