import { hkdfSync } from 'node:crypto';

const SALT = Buffer.from('id-vault/v1');

/** HKDF-SHA256 with a fixed, versioned salt. */
export const hkdf = (ikm: Buffer, info: string, length = 32): Buffer =>
  Buffer.from(hkdfSync('sha256', ikm, SALT, Buffer.from(info, 'utf8'), length));
