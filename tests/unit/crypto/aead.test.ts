import { randomBytes } from 'crypto';
import {
  encryptField,
  decryptField,
  isCiphertext,
  ciphertextKeyId,
  IdVaultCryptoError,
  CIPHERTEXT_PREFIX,
  type FieldContext,
} from '../../../plugins/id-vault/server/src/crypto';

const key = { id: 'dk_test', key: randomBytes(32) };
const ctx: FieldContext = { uid: 'plugin::id-vault.customer', documentId: 'doc0000000000000000000001', field: 'idNumber' };
const resolve = (id: string) => (id === key.id ? key.key : undefined);

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IdVaultCryptoError);
    return (e as IdVaultCryptoError).code;
  }
  throw new Error('expected a throw');
};

describe('field encryption', () => {
  test.each(['', 'a', '11010519491231002X', '测试用户 张三', '🏠 emoji and 中文', 'x'.repeat(10000)])('round trip %#', (plain) => {
    const token = encryptField(plain, key, ctx);
    expect(token.startsWith(`${CIPHERTEXT_PREFIX}${key.id}$`)).toBe(true);
    expect(isCiphertext(token)).toBe(true);
    expect(ciphertextKeyId(token)).toBe(key.id);
    expect(decryptField(token, resolve, ctx)).toBe(plain);
  });

  test('a fresh IV every time: equal plaintexts give different ciphertexts', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => encryptField('same', key, ctx)));
    expect(tokens.size).toBe(200);
  });

  test('the ciphertext does not contain the plaintext', () => {
    expect(encryptField('11010519491231002X', key, ctx)).not.toContain('11010519491231002X');
  });

  const token = encryptField('11010519491231002X', key, ctx);
  const body = token.slice(token.lastIndexOf('$') + 1);
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

  test.each([
    ['a flipped character in the IV', () => decryptField(token.replace(body, flip(body, 2)), resolve, ctx), 'AUTH_FAILED'],
    ['a flipped character in the ciphertext', () => decryptField(token.replace(body, flip(body, 20)), resolve, ctx), 'AUTH_FAILED'],
    ['a flipped character in the tag', () => decryptField(token.replace(body, flip(body, body.length - 3)), resolve, ctx), 'AUTH_FAILED'],
    ['another document', () => decryptField(token, resolve, { ...ctx, documentId: 'doc0000000000000000000002' }), 'AUTH_FAILED'],
    ['another field', () => decryptField(token, resolve, { ...ctx, field: 'phone' }), 'AUTH_FAILED'],
    ['another content type', () => decryptField(token, resolve, { ...ctx, uid: 'api::x.x' }), 'AUTH_FAILED'],
    ['a wrong key', () => decryptField(token, () => randomBytes(32), ctx), 'AUTH_FAILED'],
    ['a changed key id in the header', () => decryptField(token.replace('$dk_test$', '$dk_other$'), () => key.key, ctx), 'AUTH_FAILED'],
    ['an unknown key id', () => decryptField(token, () => undefined, ctx), 'UNKNOWN_KEY'],
    ['a truncated body', () => decryptField(token.slice(0, token.length - body.length + 10), resolve, ctx), 'BAD_FORMAT'],
    ['plaintext', () => decryptField('11010519491231002X', resolve, ctx), 'BAD_FORMAT'],
    ['another version', () => decryptField(token.replace('$idv1$', '$idv2$'), resolve, ctx), 'BAD_FORMAT'],
    ['an empty context', () => decryptField(token, resolve, { ...ctx, documentId: '' }), 'BAD_FORMAT'],
    ['a short key', () => encryptField('x', { id: 'k', key: randomBytes(16) }, ctx), 'BAD_KEY'],
  ])('refuses %s', (_label, fn, expected) => {
    expect(code(fn)).toBe(expected);
  });

  test.each([
    [null, false],
    [42, false],
    ['', false],
    ['$idv1$', false],
    ['$idv1$dk$', false],
    ['$idv1$dk$short', false],
    ['$idv1$bad id$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', false],
    ['$idv1$dk$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+', false],
    ['$idv1$dk$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', true],
  ])('isCiphertext(%p) is %p', (value, expected) => {
    expect(isCiphertext(value)).toBe(expected);
  });

  test('error messages carry no plaintext or key material', () => {
    try {
      decryptField(token, () => randomBytes(32), ctx);
    } catch (e) {
      expect(String((e as Error).message)).not.toMatch(/11010519491231002X|[A-Za-z0-9+/]{40}/);
    }
  });
});
