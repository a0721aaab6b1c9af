import { randomBytes } from 'crypto';
import { mask, looksMasked, isMaskRule, type MaskRule } from '../../../plugins/id-vault/server/src/domain';

describe('masks', () => {
  test.each([
    ['id-number', '11010519491231002X', '110***********002X'],
    ['phone', '+8613800001234', '+86 138****1234'],
    ['phone', '+442079460000', '+442*******00'],
    ['email', 'person42@example.test', 'p***@example.test'],
    ['email', 'no-at-sign', 'n*********'],
    ['name', '张三', '张*'],
    ['name', '欧阳娜娜', '欧***'],
    ['name', '李', '*'],
    ['address', '示例省测试市虚构路1号', '示例省测试市****'],
    ['address', '短地址', '****'],
    ['full', 'anything', '****'],
    ['keep:2:3', 'ABCDEFGH', 'AB***FGH'],
    ['keep:0:4', 'ABCDEFGH', '****EFGH'],
    ['keep:4:4', 'ABCDEFGH', '********'],
    ['id-number', '', ''],
  ] as [MaskRule, string, string][])('%s of %s', (rule, value, out) => {
    expect(mask(value, rule)).toBe(out);
    if (value) expect(looksMasked(mask(value, rule))).toBe(true);
  });

  test('no rule ever returns the whole value (random values, every rule)', () => {
    const rules: MaskRule[] = ['id-number', 'phone', 'email', 'name', 'address', 'full', 'keep:1:1', 'keep:3:4', 'keep:10:10'];
    for (let i = 0; i < 2000; i += 1) {
      const len = 2 + (i % 40);
      const value = randomBytes(len).toString('base64').slice(0, len).replace(/\*/g, 'x');
      for (const rule of rules) expect(mask(value, rule)).not.toBe(value);
    }
  });

  test.each([
    ['id-number', true],
    ['keep:2:3', true],
    ['keep:2', false],
    ['keep:-1:2', false],
    ['unknown', false],
    [3, false],
  ])('isMaskRule(%p) is %p', (v, ok) => {
    expect(isMaskRule(v)).toBe(ok);
  });
});
