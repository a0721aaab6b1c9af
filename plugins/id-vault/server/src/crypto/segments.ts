import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { IdVaultCryptoError } from './errors';
import { hkdf } from './kdf';
import type { DataKey } from './aead';

/**
 * Segmented AES-256-GCM for stored objects (scans; later exports and backups) — the STREAM construction
 * (as in age and Tink's streaming AEAD): the plaintext is cut into segments of SEGMENT_SIZE bytes, each
 * sealed on its own with a nonce that binds its counter and whether it is the last one, so an object
 * streams both ways and a flipped byte, a reordering or a truncation (even at a segment boundary) fails.
 *
 * Layout: header ‖ segment₀ ‖ … ‖ segmentₙ, each segment ciphertext ‖ 16-byte tag.
 * Header: "IDVS" ‖ version (1) ‖ log2(segment size) (1) ‖ salt (16) ‖ key-id length (1) ‖ key id (ASCII).
 * The object key is HKDF(data key, salt, context): every object gets its own key (random salt), and an
 * object moved to another context (another document, another name) does not open. The header is the AAD
 * of every segment.
 */
export const SEGMENT_SIZE = 64 * 1024;
const MAGIC = Buffer.from('IDVS');
const VERSION = 1;
const SALT = 16;
const TAG = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SEGMENTS = 0xffffffff;

const objectKey = (dataKey: Buffer, salt: Buffer, context: string) => hkdf(dataKey, `idv-segments-v1\u0000${salt.toString('hex')}\u0000${context}`, 32 + 7);

/** 7-byte prefix from the key derivation ‖ 4-byte big-endian counter ‖ 1-byte final flag. */
const nonce = (prefix: Buffer, counter: number, final: boolean) => {
  if (counter > MAX_SEGMENTS) throw new IdVaultCryptoError('BAD_FORMAT', 'object too large');
  const n = Buffer.alloc(12);
  prefix.copy(n, 0, 0, 7);
  n.writeUInt32BE(counter, 7);
  n[11] = final ? 1 : 0;
  return n;
};

const header = (salt: Buffer, keyId: string, log2: number) =>
  Buffer.concat([MAGIC, Buffer.from([VERSION, log2]), salt, Buffer.from([keyId.length]), Buffer.from(keyId, 'ascii')]);

interface Sealer {
  key: Buffer;
  prefix: Buffer;
  aad: Buffer;
}

const sealSegment = (s: Sealer, counter: number, final: boolean, plain: Buffer): Buffer => {
  const c = createCipheriv('aes-256-gcm', s.key, nonce(s.prefix, counter, final));
  c.setAAD(s.aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
};

const openSegment = (s: Sealer, counter: number, final: boolean, sealed: Buffer): Buffer => {
  if (sealed.length < TAG) throw new IdVaultCryptoError('AUTH_FAILED', 'stored object is cut short');
  const d = createDecipheriv('aes-256-gcm', s.key, nonce(s.prefix, counter, final));
  d.setAAD(s.aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    const plain = d.update(sealed.subarray(0, sealed.length - TAG));
    d.final(); // GCM's final returns nothing; it checks the tag
    return plain;
  } catch {
    throw new IdVaultCryptoError('AUTH_FAILED', 'stored object failed authentication (changed, reordered or cut short)');
  }
};

/** Parses the header at the start of `buf`; null while it is incomplete. */
const parseHeader = (buf: Buffer): { length: number; log2: number; salt: Buffer; keyId: string } | null => {
  const fixed = MAGIC.length + 2 + SALT + 1;
  if (buf.length < fixed) return null;
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new IdVaultCryptoError('BAD_FORMAT', 'not an id-vault object');
  if (buf[4] !== VERSION) throw new IdVaultCryptoError('BAD_FORMAT', `unknown object version ${buf[4]}`);
  const log2 = buf[5];
  if (log2 < 10 || log2 > 24) throw new IdVaultCryptoError('BAD_FORMAT', 'bad segment size');
  const idLength = buf[fixed - 1];
  if (buf.length < fixed + idLength) return null;
  const keyId = buf.subarray(fixed, fixed + idLength).toString('ascii');
  if (!KEY_ID.test(keyId)) throw new IdVaultCryptoError('BAD_FORMAT', 'bad key id');
  return { length: fixed + idLength, log2, salt: buf.subarray(6, 6 + SALT), keyId };
};

/** The data key id an object was sealed under (from its header), without decrypting. */
export const objectKeyId = (head: Buffer): string => {
  const h = parseHeader(head);
  if (!h) throw new IdVaultCryptoError('BAD_FORMAT', 'stored object is cut short');
  return h.keyId;
};

/** A new object's header and sealer: a fresh salt, so a fresh object key. */
const newSealer = (dataKey: DataKey, context: string, segmentSize: number): { head: Buffer; s: Sealer } => {
  if (!KEY_ID.test(dataKey.id)) throw new IdVaultCryptoError('BAD_KEY', 'data key id is malformed');
  const log2 = Math.log2(segmentSize);
  if (!Number.isInteger(log2) || log2 < 10 || log2 > 24) throw new IdVaultCryptoError('BAD_FORMAT', 'segment size must be a power of two, 1 KiB to 16 MiB');
  const salt = randomBytes(SALT);
  const okm = objectKey(dataKey.key, salt, context);
  const head = header(salt, dataKey.id, log2);
  return { head, s: { key: okm.subarray(0, 32), prefix: okm.subarray(32), aad: head } };
};

/**
 * A Transform that seals what is written to it; `segmentSize` a power of two (tests use small ones). A segment
 * made of a few large pieces is fed to the cipher piece by piece (no copy of the plaintext); many small
 * pieces are joined first (fewer, larger output buffers).
 */
export const encryptStream = (dataKey: DataKey, context: string, segmentSize = SEGMENT_SIZE): Transform => {
  const { head, s } = newSealer(dataKey, context, segmentSize);
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let counter = 0;
  let started = false;
  const cipher = (final: boolean) => {
    const c = createCipheriv('aes-256-gcm', s.key, nonce(s.prefix, counter++, final));
    c.setAAD(s.aad);
    return c;
  };
  const join = () => {
    if (pending.length > 8) pending = [Buffer.concat(pending)];
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (!started) {
        this.push(head);
        started = true;
      }
      pending.push(chunk);
      pendingLength += chunk.length;
      // Keep at least one byte back: only at the end is it known which segment is the last.
      while (pendingLength > segmentSize) {
        join();
        const c = cipher(false);
        for (let left = segmentSize; left > 0; ) {
          const first = pending[0];
          if (first.length <= left) {
            this.push(c.update(first));
            pending.shift();
            left -= first.length;
          } else {
            this.push(c.update(first.subarray(0, left)));
            pending[0] = first.subarray(left);
            left = 0;
          }
        }
        c.final();
        this.push(c.getAuthTag());
        pendingLength -= segmentSize;
      }
      done();
    },
    flush(done: TransformCallback) {
      if (!started) this.push(head);
      join();
      const c = cipher(true);
      for (const piece of pending) this.push(c.update(piece));
      c.final();
      this.push(c.getAuthTag());
      done();
    },
  });
};

/**
 * A Transform that opens what encryptStream made. It emits each segment once it is authenticated; a bad
 * segment, a missing last segment or trailing bytes end the stream with IdVaultCryptoError (AUTH_FAILED,
 * BAD_FORMAT or UNKNOWN_KEY) — a consumer that must not act on part of an object reads it whole first.
 */
export const decryptStream = (resolveKey: (keyId: string) => Buffer | undefined, context: string): Transform => {
  let head: Buffer = Buffer.alloc(0);
  let s: Sealer | null = null;
  let sealedSize = 0;
  let counter = 0;
  // The segment being gathered: bytes are copied once, into it, and only when a segment spans chunks.
  let seg: Buffer = Buffer.alloc(0);
  let filled = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      try {
        if (!s) {
          head = head.length ? Buffer.concat([head, chunk]) : chunk;
          const h = parseHeader(head);
          if (!h) return done();
          const key = resolveKey(h.keyId);
          if (!key) throw new IdVaultCryptoError('UNKNOWN_KEY', 'the data key of this object is unknown');
          const okm = objectKey(key, h.salt, context);
          s = { key: okm.subarray(0, 32), prefix: okm.subarray(32), aad: Buffer.from(head.subarray(0, h.length)) };
          sealedSize = (1 << h.log2) + TAG;
          seg = Buffer.allocUnsafe(sealedSize);
          chunk = head.subarray(h.length);
        }
        let at = 0;
        while (at < chunk.length) {
          // A full segment followed by more bytes is not the last one.
          if (filled === sealedSize) {
            this.push(openSegment(s, counter++, false, seg));
            filled = 0;
          }
          if (filled === 0 && chunk.length - at > sealedSize) {
            this.push(openSegment(s, counter++, false, chunk.subarray(at, at + sealedSize)));
            at += sealedSize;
            continue;
          }
          const n = chunk.copy(seg, filled, at, Math.min(chunk.length, at + sealedSize - filled));
          filled += n;
          at += n;
        }
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!s) throw new IdVaultCryptoError('BAD_FORMAT', 'stored object is cut short');
        this.push(openSegment(s, counter, true, seg.subarray(0, filled)));
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
};

const run = (t: Transform, input: Buffer): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    t.on('data', (c: Buffer) => out.push(c));
    t.on('error', reject);
    t.on('end', () => resolve(Buffer.concat(out)));
    t.end(input);
  });

/** The header, then each segment as it is sealed: encryptStream's output for a whole buffer. */
function* sealParts(plain: Buffer, dataKey: DataKey, context: string, segmentSize: number): Generator<Buffer> {
  const { head, s } = newSealer(dataKey, context, segmentSize);
  yield head;
  const segments = Math.max(1, Math.ceil(plain.length / segmentSize));
  for (let i = 0; i < segments; i++) yield sealSegment(s, i, i === segments - 1, plain.subarray(i * segmentSize, (i + 1) * segmentSize));
}

/** How long the sealed form of `plainLength` bytes is (header, ciphertext, a tag a segment). */
export const sealedLength = (plainLength: number, keyId: string, segmentSize = SEGMENT_SIZE): number =>
  MAGIC.length + 2 + SALT + 1 + keyId.length + plainLength + Math.max(1, Math.ceil(plainLength / segmentSize)) * TAG;

/**
 * encryptStream's output for a whole buffer, as a stream that seals a segment each time it is read: an
 * upload holds its plaintext in memory anyway, this holds one segment of ciphertext at a time, not a copy.
 */
export const sealedStream = (plain: Buffer, dataKey: DataKey, context: string, segmentSize = SEGMENT_SIZE): Readable => {
  const parts = sealParts(plain, dataKey, context, segmentSize);
  return new Readable({
    read() {
      try {
        const next = parts.next();
        this.push(next.done ? null : next.value);
      } catch (e) {
        this.destroy(e as Error);
      }
    },
  });
};

/** encryptStream's output for a whole buffer, written into one buffer of the exact size. */
export const sealObject = async (plain: Buffer, dataKey: DataKey, context: string, segmentSize = SEGMENT_SIZE): Promise<Buffer> => {
  const out = Buffer.allocUnsafe(sealedLength(plain.length, dataKey.id, segmentSize));
  let at = 0;
  for (const part of sealParts(plain, dataKey, context, segmentSize)) at += part.copy(out, at);
  return out;
};

/** decryptStream over a whole buffer: all of it or an error, never part. */
export const openObject = (sealed: Buffer, resolveKey: (keyId: string) => Buffer | undefined, context: string): Promise<Buffer> =>
  run(decryptStream(resolveKey, context), sealed);

/**
 * A keyed digest of an object's plaintext, kept for integrity: HMAC-SHA256 under a key derived from the
 * data key, so the stored digest cannot confirm a guessed file the way a plain SHA-256 would.
 */
export const objectDigest = (dataKey: Buffer, plain: Buffer): string =>
  createHmac('sha256', hkdf(dataKey, 'idv-object-digest-v1')).update(plain).digest('base64url');
