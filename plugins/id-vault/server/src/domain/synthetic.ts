import { residentIdCheck, creditCodeCheck } from './validators';

/** Synthetic, obviously fictitious people and companies with valid checksums — for tests and the demo. */

// mulberry32: small deterministic PRNG in [0, 1).
const mulberry32 = (seed: number) => () => {
  let t = (seed += 0x6d2b79f5);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const REGIONS = ['110101', '310104', '440305', '330106', '510107'];
const GIVEN = ['测试', '示例', '样本', '虚构', '演示'];
const CC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const seedOk = (seed: number) => {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new TypeError('seed must be a non-negative integer');
};

/** 17 digits + GB 11643 check character. */
export const residentIdFrom = (first17: string): string => {
  if (!/^\d{17}$/.test(first17)) throw new TypeError('residentIdFrom needs exactly 17 digits');
  return first17 + residentIdCheck(first17);
};

/** 17 characters of the GB 32100 alphabet + check character. */
export const creditCodeFrom = (first17: string): string => {
  const body = first17.toUpperCase();
  const check = body.length === 17 ? creditCodeCheck(body) : null;
  if (!check) throw new TypeError('creditCodeFrom needs exactly 17 characters of the GB 32100 alphabet');
  return body + check;
};

/** A fictitious person: valid resident ID (born 1950..2004), +86 1380… phone, example.test e-mail. */
export const syntheticPerson = (seed: number) => {
  seedOk(seed);
  const r = mulberry32(seed + 1);
  const birth = new Date(Date.UTC(1950 + Math.floor(r() * 55), Math.floor(r() * 12), 1 + Math.floor(r() * 28)));
  const ymd = `${birth.getUTCFullYear()}${pad(birth.getUTCMonth() + 1, 2)}${pad(birth.getUTCDate(), 2)}`;
  const region = REGIONS[seed % REGIONS.length];
  return {
    name: `${GIVEN[seed % GIVEN.length]}用户${pad(seed, 5)}`,
    idNumber: residentIdFrom(`${region}${ymd}${pad(seed % 1000, 3)}`),
    phone: `+861380${pad(seed % 10000000, 7)}`, // +86 1380000xxxx for seeds < 10000
    email: `person${seed}@example.test`,
    address: `示例省测试市虚构路${seed}号`,
  };
};

/** A fictitious company: valid credit code 91110101…, +86 1390… phone, example.test e-mail. */
export const syntheticCompany = (seed: number) => {
  seedOk(seed);
  const r = mulberry32(seed + 7919);
  const body = Array.from({ length: 9 }, () => CC_CHARS[Math.floor(r() * CC_CHARS.length)]).join('');
  return {
    name: `示例科技有限公司 ${pad(seed, 5)}`,
    creditCode: creditCodeFrom(`91110101${body}`),
    legalRepresentative: `${GIVEN[seed % GIVEN.length]}法人${pad(seed, 4)}`,
    phone: `+861390${pad(seed % 10000000, 7)}`,
    email: `company${seed}@example.test`,
    address: `示例省测试市虚构大道${seed}号`,
  };
};
