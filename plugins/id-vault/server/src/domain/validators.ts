export type ValidatorName = 'none' | 'resident-id' | 'credit-code' | 'phone' | 'email';
export const VALIDATORS: readonly ValidatorName[] = ['none', 'resident-id', 'credit-code', 'phone', 'email'];

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits. */
export const residentIdCheck = (first17: string): string => {
  if (!/^\d{17}/.test(first17)) throw new TypeError('a resident ID body is 17 digits');
  return ID_CHECK[ID_WEIGHTS.reduce((sum, w, i) => sum + w * Number(first17[i]), 0) % 11];
};

const realDate = (y: number, m: number, d: number): Date | null => {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d ? date : null;
};

/** PRC resident ID number: 18 characters, GB 11643 check character, a real birth date (1900..today). */
export const isValidResidentId = (v: string, today = new Date()): boolean => {
  const s = v.toUpperCase();
  if (!/^[1-9]\d{16}[0-9X]$/.test(s)) return false;
  const birth = realDate(Number(s.slice(6, 10)), Number(s.slice(10, 12)), Number(s.slice(12, 14)));
  if (!birth || birth.getUTCFullYear() < 1900 || birth.getTime() > today.getTime()) return false;
  return residentIdCheck(s) === s[17];
};

const CC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'; // no I, O, Z, S, V
const CC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** GB 32100 check character of the first 17 characters; null if one is missing or outside the alphabet. */
export const creditCodeCheck = (first17: string): string | null => {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) {
    const n = i < first17.length ? CC_ALPHABET.indexOf(first17[i]) : -1;
    if (n < 0) return null;
    sum += n * CC_WEIGHTS[i];
  }
  return CC_ALPHABET[(31 - (sum % 31)) % 31];
};

/** Unified social credit code (GB 32100-2015); lower case accepted. */
export const isValidCreditCode = (v: string): boolean => {
  const s = v.toUpperCase();
  if (s.length !== 18 || [...s].some((c) => !CC_ALPHABET.includes(c))) return false;
  return creditCodeCheck(s) === s[17];
};

/** Mainland mobile (returned as +86 and 11 digits) or E.164 (as is); null otherwise. +86 must be a mobile. */
export const normalisePhone = (v: string): string | null => {
  const s = v.replace(/[\s\-().]/g, '');
  const mainland = /^(?:\+86|0086|86)?(1[3-9]\d{9})$/.exec(s);
  if (mainland) return `+86${mainland[1]}`;
  if (s.startsWith('+86')) return null;
  return /^\+[1-9]\d{7,14}$/.test(s) ? s : null;
};

const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Pragmatic e-mail check: dot-atom local part, dotted domain, alphabetic TLD. */
export const isValidEmail = (v: string): boolean => {
  if (v.length > 254) return false;
  const at = v.indexOf('@');
  if (at < 1 || v.lastIndexOf('@') !== at) return false;
  const local = v.slice(0, at);
  const labels = v.slice(at + 1).split('.');
  if (local.length > 64 || !LOCAL.test(local) || labels.length < 2) return false;
  return labels.every((l) => LABEL.test(l)) && /^[A-Za-z]{2,}$/.test(labels[labels.length - 1]);
};

export type ValidationResult = { ok: true; value: string } | { ok: false; message: string };

const fail = (message: string): ValidationResult => ({ ok: false, message });

/** Checks a value and returns the canonical form to store. Messages never contain the value. */
export const validateValue = (name: ValidatorName, raw: string): ValidationResult => {
  switch (name) {
    case 'none':
      return { ok: true, value: raw };
    case 'resident-id': {
      const v = raw.trim().toUpperCase();
      return isValidResidentId(v)
        ? { ok: true, value: v }
        : fail('must be a valid 18-character resident ID number (GB 11643 check digit and a real birth date)');
    }
    case 'credit-code': {
      const v = raw.trim().toUpperCase();
      return isValidCreditCode(v) ? { ok: true, value: v } : fail('must be a valid unified social credit code (GB 32100)');
    }
    case 'phone': {
      const v = normalisePhone(raw);
      return v ? { ok: true, value: v } : fail('must be a mainland mobile number or an E.164 phone number');
    }
    case 'email': {
      const v = raw.trim();
      return isValidEmail(v) ? { ok: true, value: v } : fail('must be a valid e-mail address');
    }
    default:
      return fail('has an unknown validator'); // fail closed
  }
};
