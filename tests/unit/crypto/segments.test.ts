import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import {
  sealObject,
  sealedStream,
  sealedLength,
  openObject,
  decryptStream,
  encryptStream,
  objectKeyId,
  objectDigest,
  IdVaultCryptoError,
} from '../../../plugins/id-vault/server/src/crypto';

const SEG = 1024;
const key = { id: 'dk_scan', key: randomBytes(32) };
const resolve = (id: string) => (id === key.id ? key.key : undefined);
const CTX = 'plugin::id-vault.identity-document#doc1/scan-abc';
const HEADER = 4 + 2 + 16 + 1 + key.id.length;

const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IdVaultCryptoError);
    return (e as IdVaultCryptoError).code;
  }
  throw new Error('expected a failure');
};

describe('segmented objects (STREAM)', () => {
  it.each([0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 17])('round-trips %i bytes', async (n) => {
    const plain = randomBytes(n);
    const sealed = await sealObject(plain, key, CTX, SEG);
    expect(sealed.length).toBe(HEADER + n + 16 * Math.max(1, Math.ceil(n / SEG)));
    expect((await openObject(sealed, resolve, CTX)).equals(plain)).toBe(true);
    expect(objectKeyId(sealed)).toBe(key.id);
  });

  it('streams: chunks of any size in, the same plaintext out', async () => {
    const plain = randomBytes(5 * SEG + 3);
    const sealed = await sealObject(plain, key, CTX, SEG);
    const out: Buffer[] = [];
    const chunks = Array.from({ length: Math.ceil(sealed.length / 333) }, (_, i) => sealed.subarray(i * 333, (i + 1) * 333));
    await pipeline(Readable.from(chunks), decryptStream(resolve, CTX), async function* (src) {
      for await (const c of src) out.push(c as Buffer);
    });
    expect(Buffer.concat(out).equals(plain)).toBe(true);
  });

  it('encryptStream (for exports and backups that stream) makes what sealObject makes, chunked any way', async () => {
    for (const n of [0, 5, SEG, 4 * SEG + 1]) {
      const plain = randomBytes(n);
      const out: Buffer[] = [];
      const chunks = Array.from({ length: Math.ceil(n / 700) }, (_, i) => plain.subarray(i * 700, (i + 1) * 700));
      await pipeline(Readable.from(chunks), encryptStream(key, CTX, SEG), async function* (src) {
        for await (const c of src) out.push(c as Buffer);
      });
      const sealed = Buffer.concat(out);
      expect(sealed.length).toBe((await sealObject(plain, key, CTX, SEG)).length);
      expect((await openObject(sealed, resolve, CTX)).equals(plain)).toBe(true);
    }
  });

  it('sealedStream (an upload into the store) makes what sealObject makes, of the length sealedLength says', async () => {
    for (const n of [0, 1, SEG, SEG + 1, 4 * SEG + 9]) {
      const plain = randomBytes(n);
      const sealed = Buffer.concat(await sealedStream(plain, key, CTX, SEG).toArray());
      expect(sealed.length).toBe(sealedLength(n, key.id, SEG));
      expect(sealed.length).toBe((await sealObject(plain, key, CTX, SEG)).length);
      expect((await openObject(sealed, resolve, CTX)).equals(plain)).toBe(true);
    }
  });

  it('every object has its own key: the same plaintext seals differently', async () => {
    const plain = Buffer.from('the same scan bytes');
    const [a, b] = await Promise.all([sealObject(plain, key, CTX, SEG), sealObject(plain, key, CTX, SEG)]);
    expect(a.equals(b)).toBe(false);
  });

  it('a flipped byte anywhere fails', async () => {
    const sealed = await sealObject(randomBytes(2 * SEG + 5), key, CTX, SEG);
    for (const at of [0, 5, 7, HEADER - 1, HEADER, HEADER + SEG + 3, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at] ^= 0x01;
      expect(['AUTH_FAILED', 'BAD_FORMAT', 'UNKNOWN_KEY']).toContain(await failure(openObject(bad, resolve, CTX)));
    }
  });

  it('truncation fails, at a segment boundary too; so do appended bytes and reordered segments', async () => {
    const sealed = await sealObject(randomBytes(3 * SEG), key, CTX, SEG);
    const seg = SEG + 16;
    expect(await failure(openObject(sealed.subarray(0, HEADER + 2 * seg), resolve, CTX))).toBe('AUTH_FAILED');
    expect(await failure(openObject(sealed.subarray(0, sealed.length - 1), resolve, CTX))).toBe('AUTH_FAILED');
    expect(await failure(openObject(sealed.subarray(0, HEADER - 2), resolve, CTX))).toBe('BAD_FORMAT');
    expect(await failure(openObject(Buffer.concat([sealed, Buffer.from([0])]), resolve, CTX))).toBe('AUTH_FAILED');
    const head = sealed.subarray(0, HEADER);
    const s = (i: number) => sealed.subarray(HEADER + i * seg, HEADER + (i + 1) * seg);
    expect(await failure(openObject(Buffer.concat([head, s(1), s(0), s(2)]), resolve, CTX))).toBe('AUTH_FAILED');
  });

  it('another context, another key or no key: it does not open', async () => {
    const sealed = await sealObject(Buffer.from('x'.repeat(100)), key, CTX, SEG);
    expect(await failure(openObject(sealed, resolve, `${CTX}-moved`))).toBe('AUTH_FAILED');
    expect(await failure(openObject(sealed, () => randomBytes(32), CTX))).toBe('AUTH_FAILED');
    expect(await failure(openObject(sealed, () => undefined, CTX))).toBe('UNKNOWN_KEY');
    expect(await failure(openObject(Buffer.from('%PDF-1.7 not ours'), resolve, CTX))).toBe('BAD_FORMAT');
  });

  it('the digest is keyed: another data key gives another digest', () => {
    const plain = Buffer.from('scan');
    expect(objectDigest(key.key, plain)).toBe(objectDigest(key.key, plain));
    expect(objectDigest(randomBytes(32), plain)).not.toBe(objectDigest(key.key, plain));
  });
});
