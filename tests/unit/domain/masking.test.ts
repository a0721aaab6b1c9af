import { randomBytes, randomInt } from 'crypto';
import { mask, looksMasked, isMaskRule, MASK_CHAR, syntheticPerson, type MaskRule } from '../../../plugins/id-vault/server/src/domain';

const RULES: MaskRule[] = ['id-number', 'phone', 'email', 'name', 'address', 'full', 'keep:0:0', 'keep:1:1', 'keep:2:3', 'keep:3:4', 'keep:0:4', 'keep:10:10', 'keep:32:0'];

describe('mask rules', () => {
  test.each([
    ['id-number', '11010519491231002X', '110***********002X'],
    ['id-number', '1234567', '*******'], // too short to keep 3 + 4
    ['id-number', 'E12345678', 'E12**5678'],
    ['phone', '+8613800001234', '+86 138****1234'],
    ['phone', '+442079460000', '+442*******00'],
    ['phone', '13800001234', '1380*****34'],
    ['phone', '+12345', '******'],
    ['email', 'person42@example.test', 'p***@example.test'],
    ['email', 'a@example.test', 'a***@example.test'], // local length hidden
    ['email', '张三@例子.测试', '张***@例子.测试'],
    ['email', 'no-at-sign', 'n*********'],
    ['email', '@example.test', '@************'], // no local part: keep-1 fallback
    ['name', '张三', '张*'],
    ['name', '欧阳娜娜', '欧***'],
    ['name', '李', '*'],
    ['name', 'Zoë Li', 'Z*****'],
    ['name', '𠀀𠀁𠀂', '𠀀**'], // astral code points count once
    ['name', '👩‍💻x', '👩***'], // ZWJ sequence: code points, not graphemes
    ['address', '示例省测试市虚构路1号', '示例省测试市****'],
    ['address', '示例省测试市', '****'], // exactly 6: nothing kept
    ['address', '短地址', '****'],
    ['full', 'anything', '****'],
    ['full', 'x', '****'],
    ['keep:2:3', 'ABCDEFGH', 'AB***FGH'],
    ['keep:0:4', 'ABCDEFGH', '****EFGH'],
    ['keep:4:0', 'ABCDEFGH', 'ABCD****'],
    ['keep:4:4', 'ABCDEFGH', '********'], // would show all
    ['keep:1:1', '𠀀𠀁𠀂', '𠀀*𠀂'],
  ] as [MaskRule, string, string][])('%s of %s', (rule, value, out) => {
    expect(mask(value, rule)).toBe(out);
    expect(looksMasked(mask(value, rule))).toBe(true);
  });

  test.each(RULES)('%s of the empty string is empty', (rule) => {
    expect(mask('', rule)).toBe('');
  });

  test('unknown rules hide everything', () => {
    expect(mask('secret', 'nope' as MaskRule)).toBe('****');
  });

  test('masks are deterministic', () => {
    const p = syntheticPerson(7);
    for (const rule of RULES) expect(mask(p.idNumber, rule)).toBe(mask(p.idNumber, rule));
  });
});

describe('never the whole plaintext', () => {
  const ALPHABET = Array.from('abcXYZ0189@.+-_ 张三李示例𠀀é😀');
  const randomValue = (len: number) => Array.from({ length: len }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

  test('random values of 2..60 code points, every rule', () => {
    for (let i = 0; i < 3000; i += 1) {
      const value = randomValue(2 + (i % 59));
      for (const rule of RULES) {
        const out = mask(value, rule);
        expect(out).not.toBe(value);
        expect(out).toContain(MASK_CHAR);
      }
    }
  });

  test('random bytes as base64, every rule', () => {
    for (let i = 0; i < 1000; i += 1) {
      const len = 2 + (i % 40);
      const value = randomBytes(len).toString('base64').slice(0, len);
      for (const rule of RULES) expect(mask(value, rule)).not.toBe(value);
    }
  });

  test('phone-shaped and e-mail-shaped values', () => {
    for (let i = 0; i < 500; i += 1) {
      const phone = `+861${3 + (i % 7)}${String(randomInt(1e9)).padStart(9, '0')}`;
      const email = `${randomValue(1 + (i % 10)).replace(/[@ ]/g, 'q')}@example.test`;
      for (const rule of RULES) {
        expect(mask(phone, rule)).not.toBe(phone);
        expect(mask(email, rule)).not.toBe(email);
      }
    }
  });

  test('keep rules show no code point at a hidden position', () => {
    for (let i = 0; i < 500; i += 1) {
      const chars = Array.from(randomValue(1 + (i % 30)));
      const [f, l] = [i % 5, (i >> 2) % 5];
      const out = Array.from(mask(chars.join(''), `keep:${f}:${l}`));
      expect(out).toHaveLength(chars.length);
      const shown = out.filter((c, k) => c !== MASK_CHAR || chars[k] === MASK_CHAR).length;
      expect(shown).toBeLessThan(chars.length);
    }
  });
});

describe('isMaskRule / looksMasked', () => {
  test.each([
    ['id-number', true],
    ['phone', true],
    ['full', true],
    ['keep:2:3', true],
    ['keep:0:0', true],
    ['keep', false],
    ['keep:2', false],
    ['keep:-1:2', false],
    ['keep:a:b', false],
    ['keep:100:1', false],
    ['unknown', false],
    ['', false],
    [3, false],
    [null, false],
  ])('isMaskRule(%p) is %p', (v, ok) => {
    expect(isMaskRule(v)).toBe(ok);
  });

  test('looksMasked', () => {
    expect(MASK_CHAR).toBe('*');
    expect(looksMasked('138****1234')).toBe(true);
    expect(looksMasked('13800001234')).toBe(false);
    expect(looksMasked('')).toBe(false);
  });
});
