import { randomBytes } from 'crypto';
import {
  parseMasterKeys,
  generateMasterKeyEntry,
  newDataKey,
  wrapDataKey,
  unwrapDataKey,
  rewrapDataKey,
  wrappedMasterKeyId,
  IdVaultConfigError,
  IdVaultCryptoError,
} from '../../../plugins/id-vault/server/src/crypto';

const b64 = (n = 32) => randomBytes(n).toString('base64');

describe('master key ring', () => {
  test('one entry, then two with whitespace: the first is active', () => {
    const one = parseMasterKeys(`k1:${b64()}`);
    expect(one.active.id).toBe('k1');
    const two = parseMasterKeys(` k2:${b64()} , k1:${b64()} `);
    expect(two.active.id).toBe('k2');
    expect([...two.byId.keys()]).toEqual(['k2', 'k1']);
  });

  test('generated entries parse', () => {
    const entry = generateMasterKeyEntry();
    expect(entry).toMatch(/^k\d{8}[0-9a-f]{4}:/);
    expect(parseMasterKeys(entry).active.key).toHaveLength(32);
    expect(parseMasterKeys(generateMasterKeyEntry('custom_1')).active.id).toBe('custom_1');
  });

  const secret = b64();
  test.each([
    ['missing', undefined],
    ['empty', '  '],
    ['no colon', secret],
    ['a bad id', `bad id:${secret}`],
    ['a too long id', `${'k'.repeat(33)}:${secret}`],
    ['31 bytes', `k1:${b64(31)}`],
    ['33 bytes', `k1:${b64(33)}`],
    ['invalid base64', `k1:${secret.slice(0, -4)}!!!!`],
    ['a duplicate id', `k1:${secret},k1:${b64()}`],
    ['an empty second entry', `k1:${secret},`],
  ])('refuses %s with a message that says how to fix it and no key', (_label, value) => {
    let error: unknown;
    try {
      parseMasterKeys(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IdVaultConfigError);
    expect((error as Error).message).toMatch(/npm run keys:generate/);
    expect((error as Error).message).not.toContain(secret);
  });
});

describe('data keys', () => {
  const oldRing = parseMasterKeys(`old:${b64()}`);
  const dk = newDataKey();
  const wrapped = wrapDataKey(oldRing, dk);

  test('wrap and unwrap', () => {
    expect(dk.id).toMatch(/^dk_[A-Za-z0-9_-]{22}$/);
    expect(wrappedMasterKeyId(wrapped)).toBe('old');
    expect(unwrapDataKey(oldRing, wrapped, dk.id).equals(dk.key)).toBe(true);
  });

  test('rotation: a new active key reads old wraps, and rewrap moves them to it', () => {
    const newRing = parseMasterKeys(`new:${b64()},old:${oldRing.active.key.toString("base64")}`);
    expect(unwrapDataKey(newRing, wrapped, dk.id).equals(dk.key)).toBe(true);
    const rewrapped = rewrapDataKey(newRing, wrapped, dk.id);
    expect(wrappedMasterKeyId(rewrapped)).toBe('new');
    expect(unwrapDataKey(newRing, rewrapped, dk.id).equals(dk.key)).toBe(true);
    expect(wrapDataKey(newRing, dk)).not.toBe(rewrapped); // fresh IV
  });

  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as IdVaultCryptoError).code;
    }
    return 'no error';
  };
  test.each([
    ['another data key id', () => unwrapDataKey(oldRing, wrapped, 'dk_other'), 'AUTH_FAILED'],
    ['a ring without its master key', () => unwrapDataKey(parseMasterKeys(`x:${b64()}`), wrapped, dk.id), 'UNKNOWN_KEY'],
    ['a master key with the same id but other bytes', () => unwrapDataKey(parseMasterKeys(`old:${b64()}`), wrapped, dk.id), 'AUTH_FAILED'],
    ['junk', () => unwrapDataKey(oldRing, 'junk', dk.id), 'BAD_FORMAT'],
    ['a field ciphertext', () => unwrapDataKey(oldRing, wrapped.replace('$idvk1$', '$idv1$'), dk.id), 'BAD_FORMAT'],
  ])('unwrap refuses %s', (_label, fn, expected) => {
    expect(code(fn)).toBe(expected);
  });
});
