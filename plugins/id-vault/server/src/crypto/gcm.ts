import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { IdVaultCryptoError } from './errors';

const IV = 12;
const TAG = 16;
const B64URL = /^[A-Za-z0-9_-]+$/;

/** AES-256-GCM with a random 96-bit IV; returns iv ‖ ciphertext ‖ tag. */
export const seal = (key: Buffer, plaintext: Buffer, aad: Buffer): Buffer => {
  if (key.length !== 32) throw new IdVaultCryptoError('BAD_KEY', 'key must be 32 bytes');
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]);
};

/** Opens what seal() made; AUTH_FAILED for any change of key, AAD, IV, ciphertext or tag. */
export const open = (key: Buffer, sealed: Buffer, aad: Buffer): Buffer => {
  if (key.length !== 32) throw new IdVaultCryptoError('BAD_KEY', 'key must be 32 bytes');
  if (sealed.length < IV + TAG) throw new IdVaultCryptoError('BAD_FORMAT', 'sealed value too short');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    const out = d.update(sealed.subarray(IV, sealed.length - TAG));
    const rest = d.final(); // always empty for GCM, but it is what checks the tag
    return rest.length ? Buffer.concat([out, rest]) : out;
  } catch {
    throw new IdVaultCryptoError('AUTH_FAILED', 'value failed authentication');
  }
};

/** Splits `$<tag>$<id>$<base64url>` into id and body; null when it is not of that shape. */
export const parseEnvelope = (value: unknown, prefix: string, idPattern: RegExp): { id: string; body: Buffer } | null => {
  if (typeof value !== 'string' || !value.startsWith(prefix)) return null;
  const rest = value.slice(prefix.length);
  const sep = rest.indexOf('$');
  if (sep < 0) return null;
  const id = rest.slice(0, sep);
  const b64 = rest.slice(sep + 1);
  if (!idPattern.test(id) || !B64URL.test(b64)) return null;
  // A non-canonical encoding decodes to other bytes and then fails authentication: no need to re-encode.
  const body = Buffer.from(b64, 'base64url');
  if (body.length < IV + TAG) return null;
  return { id, body };
};
