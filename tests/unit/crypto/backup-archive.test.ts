import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import {
  backupKey,
  readBackupHeader,
  createBackupWriter,
  decodeValue,
  encodeValue,
  parseMasterKeys,
  readBackup,
  BACKUP_FORMAT,
  IdVaultCryptoError,
  type BackupFrame,
} from '../../../plugins/id-vault/server/src/crypto';

const entry = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const k1 = entry('k1');
const k2 = entry('k2');
const ring = parseMasterKeys(`${k1},${k2}`);
const begin = { format: 1, createdAt: '2026-12-02T02:00:00.000Z', client: 'sqlite', strapiVersion: '5.54.0', pluginVersion: '0.1.0', masterKeyId: 'k1' };
const SEG = 1024;

/** A small format-1 archive (the format restore still reads): two tables, one scan object; sealed with 1 KiB segments so that it spans many. */
const archive = async (masterKeyId = 'k1') => {
  const w = createBackupWriter(backupKey(ring, masterKeyId), { ...begin, masterKeyId }, { needsMasterKeys: ['k1', 'k2'] }, SEG);
  const out: Buffer[] = [];
  w.stream.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((r) => w.stream.on('end', r));
  await w.table('people', ['id', 'name', 'born', 'photo', 'meta']);
  await w.rows([
    [1, 'Ann', new Date('2000-01-02T03:04:05.000Z'), Buffer.from([0, 1, 2]), { a: [1, 2] }],
    [2, null, null, null, null],
  ]);
  await w.rows(Array.from({ length: 100 }, (_, i) => [i + 3, `p${i}`, null, null, null]));
  await w.table('empty', ['id']);
  await w.object('0123456789abcdef0123456789abcdef', randomBytes(3000));
  w.missingObject();
  const manifest = await w.finish();
  await ended;
  return { bytes: Buffer.concat(out), manifest };
};

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IdVaultCryptoError);
    return `${(e as IdVaultCryptoError).code}: ${(e as Error).message}`;
  }
  throw new Error('expected a failure');
};

describe('backup archive', () => {
  it('round-trips tables, typed values and objects, with a manifest of counts and digests', async () => {
    const { bytes, manifest } = await archive();
    expect(manifest.tables.people.rows).toBe(102);
    expect(manifest.tables.empty).toMatchObject({ rows: 0, columns: ['id'] });
    expect(manifest.scans).toMatchObject({ count: 1, bytes: 3000, missing: 1 });
    expect(readBackupHeader(bytes)).toEqual({ masterKeyId: 'k1', needsMasterKeys: ['k1', 'k2'], createdAt: begin.createdAt });
    const frames: BackupFrame[] = [];
    const read = await readBackup(Readable.from([bytes]), ring, (f) => {
      frames.push(f);
    });
    expect(read).toEqual(manifest);
    expect(frames.map((f) => f.type)).toEqual(['begin', 'table', 'rows', 'rows', 'table', 'object']);
    const rows = (frames[2] as any).rows;
    expect(rows[0]).toEqual([1, 'Ann', new Date('2000-01-02T03:04:05.000Z'), Buffer.from([0, 1, 2]), '{"a":[1,2]}']);
    expect(rows[1]).toEqual([2, null, null, null, null]);
  });

  it('opens under an older master key still in the ring, and names a missing one', async () => {
    const { bytes } = await archive('k2');
    expect(readBackupHeader(bytes)).toMatchObject({ masterKeyId: 'k2', needsMasterKeys: ['k2', 'k1'] });
    await expect(readBackup(Readable.from([bytes]), ring)).resolves.toMatchObject({ masterKeyId: 'k2' });
    expect(await code(readBackup(Readable.from([bytes]), parseMasterKeys(k1)))).toMatch(/^UNKNOWN_KEY/);
    expect(() => backupKey(parseMasterKeys(k1), 'k2')).toThrow(/needs master key k2/);
  });

  it('refuses every flipped byte position sampled, any truncation and trailing bytes', async () => {
    const { bytes } = await archive();
    for (let at = 0; at < bytes.length; at += 97) {
      const bad = Buffer.from(bytes);
      bad[at] ^= 0x20;
      expect(await code(readBackup(Readable.from([bad]), ring))).toMatch(/^(AUTH_FAILED|BAD_FORMAT|UNKNOWN_KEY)/);
    }
    for (const cut of [1, 16, SEG + 16, bytes.length - 1, Math.floor(bytes.length / 2)]) {
      expect(await code(readBackup(Readable.from([bytes.subarray(0, bytes.length - cut)]), ring))).toMatch(/^(AUTH_FAILED|BAD_FORMAT)/);
    }
    expect(await code(readBackup(Readable.from([Buffer.concat([bytes, Buffer.from([0])])]), ring))).toMatch(/^AUTH_FAILED/);
  });

  it('binds the clear header: one that names other keys does not open', async () => {
    const { bytes } = await archive();
    const text = bytes.toString('latin1');
    const forged = Buffer.from(text.replace('"needsMasterKeys":["k1","k2"]', '"needsMasterKeys":["k1","kx"]'), 'latin1');
    expect(forged.length).toBe(bytes.length);
    expect(readBackupHeader(forged).needsMasterKeys).toEqual(['k1', 'kx']);
    expect(await code(readBackup(Readable.from([forged]), ring))).toMatch(/^AUTH_FAILED/);
  });

  it('acts on nothing before the segment holding it is authenticated', async () => {
    const { bytes } = await archive();
    const bad = Buffer.from(bytes);
    bad[bad.length - 5] ^= 0x01; // in the last segment's tag
    const seen: string[] = [];
    await code(readBackup(Readable.from([bad]), ring, (f) => void seen.push(f.type)));
    // Earlier segments' frames may have been handed over; the manifest (in the last segment) never is.
    expect(seen).not.toContain('manifest');
  });

  it('format 3: a page image (handed on in pieces, whatever the chunks it comes in), or COPY text per table, with their digests in the manifest', async () => {
    const seal = async (fill: (w: ReturnType<typeof createBackupWriter>) => Promise<void>, image?: { pageSize: number; sha256: string }) => {
      const w = createBackupWriter(backupKey(ring), { ...begin, format: BACKUP_FORMAT }, { needsMasterKeys: ['k1'] }, SEG);
      const out: Buffer[] = [];
      w.stream.on('data', (c: Buffer) => out.push(c));
      const ended = new Promise((r) => w.stream.on('end', r));
      await fill(w);
      const manifest = await w.finish({ image });
      await ended;
      return { bytes: Buffer.concat(out), manifest };
    };
    const img = randomBytes(10000);
    const a = await seal(async (w) => {
      w.imageTable('people', ['id'], 3);
      await w.image(img.subarray(0, 6000));
      await w.image(img.subarray(6000));
    }, { pageSize: 4096, sha256: 'cd'.repeat(32) });
    expect(a.manifest.image).toEqual({ bytes: 10000, pageSize: 4096, sha256: 'cd'.repeat(32) });
    const got: Buffer[] = [];
    await expect(readBackup(Readable.from([a.bytes]), ring, (f) => void (f.type === 'image' && got.push(f.bytes)))).resolves.toEqual(a.manifest);
    expect(Buffer.concat(got).equals(img)).toBe(true);
    expect(a.manifest.tables).toEqual({ people: { columns: ['id'], rows: 3 } });
    // Fed a byte at a time to 1000 at a time: the same image, in the pieces its segments open into, never joined.
    for (const step of [1, 7, 1000]) {
      const chunks = Array.from({ length: Math.ceil(a.bytes.length / step) }, (_, i) => a.bytes.subarray(i * step, (i + 1) * step));
      const pieces: Buffer[] = [];
      await expect(readBackup(Readable.from(chunks), ring, (f) => void (f.type === 'image' && pieces.push(f.bytes)))).resolves.toEqual(a.manifest);
      expect(Buffer.concat(pieces).equals(img)).toBe(true);
      expect(pieces.length).toBeGreaterThanOrEqual(Math.floor(img.length / SEG));
    }
    // Cut inside the image: refused (the last segment, and the manifest with it, is missing).
    await code(readBackup(Readable.from([a.bytes.subarray(0, 7000)]), ring));

    const b = await seal(async (w) => {
      await w.table('people', ['id', 'name'], 2);
      await w.copy(Buffer.from('1\tAnn\n2\t\\N\n'));
      await w.table('empty', ['id'], 0);
    });
    const frames: BackupFrame[] = [];
    await expect(readBackup(Readable.from([b.bytes]), ring, (f) => void frames.push(f))).resolves.toEqual(b.manifest);
    expect(frames.filter((f) => f.type === 'copy').map((f: any) => [f.table, f.bytes.toString()])).toEqual([['people', '1\tAnn\n2\t\\N\n']]);
    expect(b.manifest.tables).toMatchObject({ people: { rows: 2, columns: ['id', 'name'] }, empty: { rows: 0 } });
  });

  it('encodes values JSON would lose', () => {
    for (const v of [null, 'x', 0, 1.5, true, new Date(0), Buffer.from('ab')]) expect(decodeValue(JSON.parse(JSON.stringify(encodeValue(v))))).toEqual(v);
    expect(decodeValue(encodeValue({ a: 1 }))).toBe('{"a":1}');
    expect(decodeValue(encodeValue(BigInt(7)))).toBe('7');
    expect(() => decodeValue({ x: 1 })).toThrow(IdVaultCryptoError);
  });
});
