import fs from 'fs';
import os from 'os';
import path from 'path';
import { createHash, randomBytes } from 'crypto';
import { backupKey, createBackupWriter, parseMasterKeys, BACKUP_FORMAT, IdVaultCryptoError } from '../../../plugins/id-vault/server/src/crypto';
import { fileDigest, verifyAndStage, removeStaleTemps, restoreTempOf, RESTORE_TEMP } from '../../../plugins/id-vault/server/src/services/backup-stage';

/** A restore's first pass on this thread (the worker runs the same function; the integration tests run the worker). */
const ring = parseMasterKeys(`k1:${randomBytes(32).toString('base64')}`);
const begin = { format: BACKUP_FORMAT, createdAt: '2026-12-04T02:00:00.000Z', client: 'sqlite', strapiVersion: '5.54.0', pluginVersion: '0.1.0', masterKeyId: 'k1' };
const img = randomBytes(50000);
const object = randomBytes(3000);
let dir: string;
let file: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idv-stage-'));
  file = path.join(dir, 'a.idvb');
  const w = createBackupWriter(backupKey(ring), begin, { needsMasterKeys: ['k1'] }, 1024);
  const out = fs.createWriteStream(file);
  w.stream.pipe(out);
  w.imageTable('people', ['id'], 3);
  for (let at = 0; at < img.length; at += 7000) await w.image(img.subarray(at, at + 7000));
  await w.object('0123456789abcdef0123456789abcdef', object);
  await w.finish({ image: { pageSize: 4096, sha256: createHash('sha256').update(img).digest('hex') } });
  await new Promise((r) => out.on('finish', r));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const temps = () => fs.readdirSync(dir).filter((f) => RESTORE_TEMP.test(f));

describe('a restore\'s first pass (verify, staging the image)', () => {
  it('writes the image to the staged file (0600), and keeps the other frames', async () => {
    const imageFile = restoreTempOf(path.join(dir, 'data.db'));
    let read = 0;
    const v = await verifyAndStage(file, ring, { keepBytes: 1 << 20, imageFile, onBytes: (n) => void (read += n) });
    expect(read).toBe(fs.statSync(file).size);
    expect(v.image).toEqual({ file: imageFile, bytes: img.length });
    expect(fs.readFileSync(imageFile).equals(img)).toBe(true);
    // The load's digest check: of the file as written, on a thread of its own.
    await expect(fileDigest(imageFile)).resolves.toBe(v.manifest.image!.sha256);
    expect(fs.statSync(imageFile).mode & 0o777).toBe(0o600);
    expect(v.frames!.map((f) => f.type)).toEqual(['object']);
    expect((v.frames![0] as any).bytes.equals(object)).toBe(true);
    fs.rmSync(imageFile);
    // Beyond keepBytes: no frames (the load reads the file again for them); the image is staged all the same.
    const big = await verifyAndStage(file, ring, { keepBytes: 100, imageFile });
    expect(big.frames).toBeNull();
    expect(fs.readFileSync(imageFile).equals(img)).toBe(true);
    fs.rmSync(imageFile);
    // No image file named: the image is kept in memory with the rest.
    const inMemory = await verifyAndStage(file, ring, { keepBytes: 1 << 20 });
    expect(inMemory.image).toBeUndefined();
    expect(Buffer.concat(inMemory.frames!.filter((f) => f.type === 'image').map((f: any) => f.bytes)).equals(img)).toBe(true);
    expect(temps()).toEqual([]);
  });

  it('removes the staged file when the archive fails (a changed byte, a cut), and refuses to overwrite one', async () => {
    const good = fs.readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[Math.floor(good.length * 0.6)] ^= 1;
    const imageFile = restoreTempOf(path.join(dir, 'data.db'));
    for (const [name, bytes] of [['flipped.idvb', flipped], ['cut.idvb', good.subarray(0, good.length - 50)]] as const) {
      fs.writeFileSync(path.join(dir, name), bytes);
      await expect(verifyAndStage(path.join(dir, name), ring, { keepBytes: 1 << 20, imageFile })).rejects.toBeInstanceOf(IdVaultCryptoError);
      expect(temps()).toEqual([]);
    }
    fs.writeFileSync(imageFile, 'x');
    await expect(verifyAndStage(file, ring, { keepBytes: 1 << 20, imageFile })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(imageFile, 'utf8')).toBe('x');
    // Left by this process, which removeStaleTemps counts as gone (a killed run's pid is): removed.
    await removeStaleTemps(dir, RESTORE_TEMP);
    expect(temps()).toEqual([]);
  });
});
