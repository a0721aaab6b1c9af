export type MaskRule = 'id-number' | 'phone' | 'email' | 'name' | 'address' | 'full' | `keep:${number}:${number}`;
export const MASK_CHAR = '*';
const NAMED = ['id-number', 'phone', 'email', 'name', 'address', 'full'];
const KEEP = /^keep:(\d{1,2}):(\d{1,2})$/;
const FIXED = MASK_CHAR.repeat(4); // hides the length

export const isMaskRule = (v: unknown): v is MaskRule => typeof v === 'string' && (NAMED.includes(v) || KEEP.test(v));

/** Keeps `first` and `last` code points, stars between; when that would show everything, shows nothing. */
const keep = (chars: string[], first: number, last: number): string => {
  if (first + last >= chars.length) return MASK_CHAR.repeat(chars.length);
  return chars.slice(0, first).join('') + MASK_CHAR.repeat(chars.length - first - last) + chars.slice(chars.length - last).join('');
};

/**
 * What a caller who may not see a value gets instead. Works on code points; deterministic (the Content
 * Manager recognises a mask sent back unchanged). Never reveals the whole of a value of 2+ characters.
 */
export const mask = (value: string, rule: MaskRule): string => {
  const chars = Array.from(value);
  if (!chars.length) return '';
  switch (rule) {
    case 'id-number':
      return keep(chars, 3, 4);
    case 'phone': {
      const cn = /^\+86(1\d{10})$/.exec(value);
      return cn ? `+86 ${keep(Array.from(cn[1]), 3, 4)}` : keep(chars, 4, 2);
    }
    case 'email': {
      const at = value.lastIndexOf('@');
      return at < 1 ? keep(chars, 1, 0) : `${chars[0]}***@${value.slice(at + 1)}`;
    }
    case 'name':
      return chars.length === 1 ? MASK_CHAR : chars[0] + MASK_CHAR.repeat(chars.length - 1);
    case 'address':
      return chars.length > 6 ? chars.slice(0, 6).join('') + FIXED : FIXED;
    case 'full':
      return FIXED;
    default: {
      const k = KEEP.exec(rule);
      return k ? keep(chars, Number(k[1]), Number(k[2])) : FIXED; // unknown rule: hide all
    }
  }
};

export const looksMasked = (value: string): boolean => value.includes(MASK_CHAR);
