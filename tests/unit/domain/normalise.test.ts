import { normalise } from '../../../plugins/id-vault/server/src/domain';

describe('normalise', () => {
  test.each([
    ['none', ' A  b ', ' A  b '],
    ['trim', '  A   b ', 'A b'],
    ['trim', '\t示例\u3000\u3000路 \n', '示例 路'],
    ['lower', '  A@Example.TEST ', 'a@example.test'],
    ['lower', ' E1234  X ', 'e1234  x'], // lower does not collapse inner spaces
    ['digits', '+86 138-0000', '861380000'],
    ['digits', 'abc', ''],
  ] as const)('%s of %p', (mode, v, out) => {
    expect(normalise(v, mode)).toBe(out);
  });

  test('unknown modes throw rather than guess', () => {
    expect(() => normalise('x', 'upper' as never)).toThrow(TypeError);
  });
});
