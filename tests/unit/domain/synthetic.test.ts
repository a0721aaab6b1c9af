import {
  syntheticPerson,
  syntheticCompany,
  isValidResidentId,
  isValidCreditCode,
  normalisePhone,
  isValidEmail,
  validateValue,
} from '../../../plugins/id-vault/server/src/domain';

const TODAY = new Date('2026-11-22T00:00:00Z');

describe('synthetic people and companies', () => {
  test('seeds 0..999 give valid, canonical, obviously fictitious values', () => {
    for (let seed = 0; seed < 1000; seed += 1) {
      const p = syntheticPerson(seed);
      expect(isValidResidentId(p.idNumber, TODAY)).toBe(true);
      const year = Number(p.idNumber.slice(6, 10));
      expect(year).toBeGreaterThanOrEqual(1950);
      expect(year).toBeLessThanOrEqual(2004);
      expect(p.phone).toMatch(/^\+861380\d{7}$/);
      expect(validateValue('phone', p.phone)).toEqual({ ok: true, value: p.phone });
      expect(isValidEmail(p.email)).toBe(true);
      expect(p.email).toBe(`person${seed}@example.test`);
      expect(p.address).toMatch(/^示例省测试市虚构路\d+号$/);
      expect(p.name).toMatch(/用户/);

      const c = syntheticCompany(seed);
      expect(isValidCreditCode(c.creditCode)).toBe(true);
      expect(c.creditCode.startsWith('91110101')).toBe(true);
      expect(validateValue('credit-code', c.creditCode)).toEqual({ ok: true, value: c.creditCode });
      expect(normalisePhone(c.phone)).toBe(c.phone);
      expect(isValidEmail(c.email)).toBe(true);
      expect(c.email.endsWith('@example.test')).toBe(true);
      expect(c.name).toMatch(/示例科技有限公司/);
      expect(c.legalRepresentative.length).toBeGreaterThan(1);
    }
  });

  test('small seeds give the spelled-out fictitious phone range', () => {
    expect(syntheticPerson(42).phone).toBe('+8613800000042');
  });

  test('deterministic, and distinct per seed', () => {
    expect(syntheticPerson(5)).toEqual(syntheticPerson(5));
    expect(syntheticCompany(5)).toEqual(syntheticCompany(5));
    const ids = new Set<string>();
    const codes = new Set<string>();
    const phones = new Set<string>();
    for (let seed = 0; seed < 1000; seed += 1) {
      ids.add(syntheticPerson(seed).idNumber);
      codes.add(syntheticCompany(seed).creditCode);
      phones.add(syntheticPerson(seed).phone);
    }
    expect(ids.size).toBe(1000);
    expect(codes.size).toBe(1000);
    expect(phones.size).toBe(1000);
  });

  test.each([-1, 1.5, NaN])('refuses seed %p', (seed) => {
    expect(() => syntheticPerson(seed)).toThrow(TypeError);
    expect(() => syntheticCompany(seed)).toThrow(TypeError);
  });
});
