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

const SEARCHABLE = ['none', 'exact', 'exact-prefix'];
const BITS = [32, 64, 128, 256];

const int = (v: unknown, name: string, ok: (n: number) => boolean): number => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || !ok(n)) throw new TypeError(`option ${name} has an invalid value ${JSON.stringify(v)}`);
  return n;
};

const oneOf = <T extends string>(v: unknown, name: string, allowed: readonly string[]): T => {
  if (typeof v !== 'string' || !allowed.includes(v)) throw new TypeError(`option ${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
};

/** Reads a field's options, filling defaults; throws on anything unknown (bad config fails at boot). */
export const parseFieldOptions = (raw: unknown, defaults: Partial<EncryptedFieldOptions> = {}): EncryptedFieldOptions => {
  const o: Record<string, unknown> = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const d = { ...DEFAULT_FIELD_OPTIONS, ...defaults };
  let mask: MaskRule = d.mask;
  if (o.mask === 'keep') {
    mask = `keep:${int(o.keepFirst ?? 0, 'keepFirst', (n) => n >= 0 && n <= 32)}:${int(o.keepLast ?? 0, 'keepLast', (n) => n >= 0 && n <= 32)}`;
  } else if (o.mask !== undefined && o.mask !== '') {
    if (!isMaskRule(o.mask)) throw new TypeError(`option mask has an invalid value ${JSON.stringify(o.mask)}`);
    mask = o.mask;
  }
  return {
    searchable: o.searchable === undefined ? d.searchable : oneOf(o.searchable, 'searchable', SEARCHABLE),
    prefixLength: o.prefixLength === undefined ? d.prefixLength : int(o.prefixLength, 'prefixLength', (n) => n >= 1 && n <= 32),
    normalise: o.normalise === undefined ? d.normalise : oneOf(o.normalise, 'normalise', NORMALISATIONS),
    mask,
    validate: o.validate === undefined ? d.validate : oneOf(o.validate, 'validate', VALIDATORS),
    indexBits: o.indexBits === undefined ? d.indexBits : int(o.indexBits, 'indexBits', (n) => BITS.includes(n)),
  };
};
