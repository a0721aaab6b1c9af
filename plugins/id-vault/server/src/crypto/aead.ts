import { IdVaultCryptoError } from './errors';
import { seal, open, parseEnvelope } from './gcm';

/** Where a value lives: the AAD binds the ciphertext to it, so a moved value never decrypts. */
export interface FieldContext {
  uid: string;
  documentId: string;
  field: string;
}

export interface DataKey {
  id: string;
  key: Buffer;
}

export const CIPHERTEXT_PREFIX = '$idv1$';
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

const filled = (part: unknown): part is string => typeof part === 'string' && part !== '';

const aad = (keyId: string, ctx: FieldContext): Buffer => {
  if (!filled(ctx.uid) || !filled(ctx.documentId) || !filled(ctx.field)) {
    throw new IdVaultCryptoError('BAD_FORMAT', 'field context is incomplete');
  }
  return Buffer.from(`idv1\u0000${keyId}\u0000${ctx.uid}\u0000${ctx.documentId}\u0000${ctx.field}`, 'utf8');
};

/** `$idv1$<keyId>$<base64url(iv ‖ ciphertext ‖ tag)>` — AES-256-GCM, random 96-bit IV. */
export const encryptField = (plaintext: string, key: DataKey, ctx: FieldContext): string => {
  if (!KEY_ID.test(key.id)) throw new IdVaultCryptoError('BAD_KEY', 'data key id is malformed');
  const sealed = seal(key.key, Buffer.from(plaintext, 'utf8'), aad(key.id, ctx));
  return `${CIPHERTEXT_PREFIX}${key.id}$${sealed.toString('base64url')}`;
};

/** A parsed ciphertext: which data key, and iv ‖ ciphertext ‖ tag. Parse once, decrypt later. */
export interface ParsedCiphertext {
  keyId: string;
  body: Buffer;
}

export const parseCiphertext = (value: unknown): ParsedCiphertext | null => {
  const env = parseEnvelope(value, CIPHERTEXT_PREFIX, KEY_ID);
  return env && { keyId: env.id, body: env.body };
};

export const isCiphertext = (value: unknown): value is string => parseEnvelope(value, CIPHERTEXT_PREFIX, KEY_ID) !== null;

export const ciphertextKeyId = (token: string): string => {
  const env = parseEnvelope(token, CIPHERTEXT_PREFIX, KEY_ID);
  if (!env) throw new IdVaultCryptoError('BAD_FORMAT', 'not an id-vault ciphertext');
  return env.id;
};

/** Decrypts a parsed value; throws UNKNOWN_KEY or AUTH_FAILED (tampered, moved, wrong key) — never garbage. */
export const decryptParsed = (parsed: ParsedCiphertext, resolveKey: (keyId: string) => Buffer | undefined, ctx: FieldContext): string => {
  const key = resolveKey(parsed.keyId);
  if (!key) throw new IdVaultCryptoError('UNKNOWN_KEY', 'the data key of this value is unknown');
  return open(key, parsed.body, aad(parsed.keyId, ctx)).toString('utf8');
};

/** Decrypts; throws BAD_FORMAT, UNKNOWN_KEY or AUTH_FAILED (tampered, moved, wrong key) — never garbage. */
export const decryptField = (token: string, resolveKey: (keyId: string) => Buffer | undefined, ctx: FieldContext): string => {
  const parsed = parseCiphertext(token);
  if (!parsed) throw new IdVaultCryptoError('BAD_FORMAT', 'not an id-vault ciphertext');
  return decryptParsed(parsed, resolveKey, ctx);
};
