import { customerViolations, creditCodeFrom } from '../../../plugins/id-vault/server/src/domain';

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
