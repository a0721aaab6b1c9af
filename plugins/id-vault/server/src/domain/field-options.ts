import { NORMALISATIONS, type Normalisation } from './normalise';
import { VALIDATORS, type ValidatorName } from './validators';
import { isMaskRule, type MaskRule } from './masking';

/** What an admin chose for one "Encrypted text" field (attribute `options` in the schema). */
export interface EncryptedFieldOptions {
  searchable: 'none' | 'exact' | 'exact-prefix';
  prefixLength: number;
  normalise: Normalisation;
  mask: MaskRule;
  validate: ValidatorName;
  indexBits: number;
}

export const DEFAULT_FIELD_OPTIONS: EncryptedFieldOptions = {
  searchable: 'none',
  prefixLength: 4,
  normalise: 'none',
  mask: 'full',
  validate: 'none',
  indexBits: 64,
};

const SEARCHABLE = ['none', 'exact', 'exact-prefix'] as const;
const BITS = [32, 64, 128, 256];

/** The admin panel leaves cleared inputs as null or ''. */
const unset = (v: unknown) => v === undefined || v === null || v === '';

/** Integers, or strings of digits (the admin panel stores strings). */
const int = (v: unknown, name: string, ok: (n: number) => boolean, rule: string): number => {
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || !ok(n)) throw new TypeError(`option ${name} must be ${rule} (got ${JSON.stringify(v)})`);
  return n;
};

const oneOf = <T extends string>(v: unknown, name: string, allowed: readonly T[]): T => {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new TypeError(`option ${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  }
  return v as T;
};

const keepCount = (v: unknown, name: string) => (unset(v) ? 0 : int(v, name, (n) => n >= 0 && n <= 32, 'an integer 0..32'));

/**
 * Reads a field's options, filling defaults (`defaults` overrides DEFAULT_FIELD_OPTIONS, e.g. the plugin's
 * configured index size). Throws a TypeError on anything unknown, so bad config fails at boot.
 */
export const parseFieldOptions = (raw: unknown, defaults: Partial<EncryptedFieldOptions> = {}): EncryptedFieldOptions => {
  if (!unset(raw) && (typeof raw !== 'object' || Array.isArray(raw))) throw new TypeError('field options must be an object');
  const o = (raw ?? {}) as Record<string, unknown>;
  const d = { ...DEFAULT_FIELD_OPTIONS, ...defaults };

  let mask: MaskRule = d.mask;
  if (o.mask === 'keep') mask = `keep:${keepCount(o.keepFirst, 'keepFirst')}:${keepCount(o.keepLast, 'keepLast')}`;
  else if (!unset(o.mask)) {
    if (!isMaskRule(o.mask)) throw new TypeError(`option mask must be a mask rule or keep:N:N (got ${JSON.stringify(o.mask)})`);
    mask = o.mask;
  }

  return {
    searchable: unset(o.searchable) ? d.searchable : oneOf(o.searchable, 'searchable', SEARCHABLE),
    prefixLength: unset(o.prefixLength) ? d.prefixLength : int(o.prefixLength, 'prefixLength', (n) => n >= 1 && n <= 32, 'an integer 1..32'),
    normalise: unset(o.normalise) ? d.normalise : oneOf(o.normalise, 'normalise', NORMALISATIONS),
    mask,
    validate: unset(o.validate) ? d.validate : oneOf(o.validate, 'validate', VALIDATORS),
    indexBits: unset(o.indexBits) ? d.indexBits : int(o.indexBits, 'indexBits', (n) => BITS.includes(n), 'one of 32, 64, 128, 256'),
  };
};
