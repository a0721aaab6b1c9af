export type MaskRule = 'id-number' | 'phone' | 'email' | 'name' | 'address' | 'full' | `keep:${number}:${number}`;
export const MASK_CHAR = '*';
const NAMED = ['id-number', 'phone', 'email', 'name', 'address', 'full'];
const KEEP = /^keep:(\d{1,2}):(\d{1,2})$/;

export const isMaskRule = (v: unknown): v is MaskRule => typeof v === 'string' && (NAMED.includes(v) || KEEP.test(v));

const stars = (n: number) => MASK_CHAR.repeat(Math.max(1, n));

/** Keeps `first` and `last` code points; when that would show everything, shows nothing. */
const keep = (chars: string[], first: number, last: number): string => {
  if (first + last >= chars.length) return stars(chars.length);
  return chars.slice(0, first).join('') + stars(chars.length - first - last) + (last ? chars.slice(-last).join('') : '');
};

/** What a caller who may not see a value gets instead. Never the whole value (for 2+ characters). */
export const mask = (value: string, rule: MaskRule): string => {
  const chars = Array.from(value);
  if (!chars.length) return '';
  switch (rule) {
    case 'id-number':
      return keep(chars, 3, 4);
    case 'phone': {
      const m = /^\+86(1\d{10})$/.exec(value);
      if (m) return `+86 ${keep(Array.from(m[1]), 3, 4)}`;
      return keep(chars, 4, 2);
    }
    case 'email': {
      const at = value.lastIndexOf('@');
      if (at < 1) return keep(chars, 1, 0);
      return `${Array.from(value)[0]}***@${value.slice(at + 1)}`;
    }
    case 'name':
      return chars.length === 1 ? MASK_CHAR : chars[0] + MASK_CHAR.repeat(chars.length - 1);
    case 'address':
      return chars.length > 6 ? `${chars.slice(0, 6).join('')}****` : '****';
    case 'full':
      return '****';
    default: {
      const k = KEEP.exec(rule);
      return k ? keep(chars, Number(k[1]), Number(k[2])) : '****';
    }
  }
};

export const looksMasked = (value: string): boolean => value.includes(MASK_CHAR);
