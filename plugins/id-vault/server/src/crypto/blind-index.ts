import { createHmac } from 'node:crypto';
import { hkdf } from './kdf';

/** The HMAC key of one field's blind indexes, derived from the index root (not an encryption key). */
export const fieldIndexKey = (indexRoot: Buffer, uid: string, field: string): Buffer => hkdf(indexRoot, `bidx\u0000${uid}\u0000${field}`);

const truncated = (key: Buffer, message: string, bits: number): string => {
  if (!Number.isInteger(bits) || bits % 8 !== 0 || bits < 32 || bits > 256) throw new TypeError('index bits must be a multiple of 8 from 32 to 256');
  return createHmac('sha256', key).update(message, 'utf8').digest().subarray(0, bits / 8).toString('hex');
};

/** Exact-match index of an already normalised value. */
export const exactIndex = (fieldKey: Buffer, normalised: string, bits: number): string => truncated(fieldKey, `e\u0000${normalised}`, bits);

/** Index of the first `prefixLength` characters (code points); null when the value is shorter. */
export const prefixIndex = (fieldKey: Buffer, normalised: string, prefixLength: number, bits: number): string | null => {
  const chars = Array.from(normalised);
  if (chars.length < prefixLength) return null;
  return truncated(fieldKey, `p${prefixLength}\u0000${chars.slice(0, prefixLength).join('')}`, bits);
};
