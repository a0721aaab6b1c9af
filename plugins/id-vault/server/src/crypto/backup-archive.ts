import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable, Transform } from 'node:stream';
import { IdVaultCryptoError } from './errors';
import { hkdf } from './kdf';
import { decryptStream, encryptStream } from './segments';
import { PassThrough } from 'node:stream';
import type { DataKey } from './aead';
import type { MasterKeyRing } from './keyring';

/**
 * The backup archive: one stream of frames — a begin frame, the database, every scan object (already ciphertext: sealed under its document's data key), and last a
 * manifest with row counts, digests and the object count — sealed whole with the segmented AES-256-GCM of
 * segments.ts (the STREAM construction: a flipped byte, a reordering or a truncation fails) under a backup
 * key derived from a master key. A clear header before the sealed stream names the master keys a restore
 * needs — the one the file is sealed under and those its data keys are wrapped under — so restore, the
 * Backups and the Keys page know without decrypting; its digest is part of the sealing context, so a
 * changed header does not open either.
 *
 * File: "IDVB" ‖ version (1) ‖ length (2, big-endian) ‖ clear header (JSON) ‖ the segments stream.
 *
 * Frame: type (1 byte) ‖ length (4 bytes, big-endian) ‖ payload. JSON payloads but the object bytes.
 * Nothing here knows Strapi or a database. The database is carried in one of three ways:
 * - format 1 (still read): per table, its columns, then its rows as JSON arrays of values in batches;
 * - format 3, SQLite: `image` frames, the database file's page image (as of one read transaction) in chunks;
 *   the manifest has its size and SHA-256, and per table its row count. The caller computes and checks those
 *   (only it can open the image); here the image is only counted. The reader hands an image on in the pieces
 *   it decrypts, never joined: a restore writes them to disk as they are;
 * - format 2 (still read), SQLite: the same, but the manifest's digests are of each table's pages and of the
 *   pages no table owns. A restore does not recompute them (SQLite's dbstat walk cost as much as the rest of
 *   the check): the GCM tags already prove every byte is the one written;
 * - formats 2 and 3, PostgreSQL: per table, its columns, then `copy` frames: the table's `COPY … TO STDOUT`
 *   text in chunks, its SHA-256 in the manifest.
 */
export const BACKUP_FORMAT = 3;
/** Formats this reader opens. */
export const BACKUP_FORMATS = [1, 2, 3];
const CONTEXT = 'id-vault-backup-v1';
const MAGIC = Buffer.from('IDVB');
const HEADER_VERSION = 1;

/** What a backup file says in the clear: no personal data, key ids and a time. */
export interface BackupClearHeader {
  /** The master key the file is sealed under. */
  masterKeyId: string;
  /** Every master key a restore needs (the sealing key first). */
  needsMasterKeys: string[];
  createdAt: string;
}

const clearPrefix = (h: BackupClearHeader): Buffer => {
  const body = Buffer.from(JSON.stringify({ masterKeyId: h.masterKeyId, needsMasterKeys: h.needsMasterKeys, createdAt: h.createdAt }), 'utf8');
  const head = Buffer.alloc(7);
  MAGIC.copy(head);
  head[4] = HEADER_VERSION;
  head.writeUInt16BE(body.length, 5);
  return Buffer.concat([head, body]);
};
/** The sealing context binds the clear header: a header changed after the fact makes the file fail to open. */
const contextOf = (prefix: Buffer) => `${CONTEXT}\u0000${createHash('sha256').update(prefix).digest('hex')}`;

/** Parses the clear header at the start of `buf`; null while incomplete. */
const parseClear = (buf: Buffer): { header: BackupClearHeader; length: number } | null => {
  if (buf.length < 7) return null;
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new IdVaultCryptoError('BAD_FORMAT', 'not an id-vault backup');
  if (buf[4] !== HEADER_VERSION) throw new IdVaultCryptoError('BAD_FORMAT', `unknown backup header version ${buf[4]}`);
  const length = 7 + buf.readUInt16BE(5);
  if (buf.length < length) return null;
  let h: any;
  try {
    h = JSON.parse(buf.subarray(7, length).toString('utf8'));
  } catch {
    throw new IdVaultCryptoError('BAD_FORMAT', 'the backup header is not readable');
  }
  const id = /^[A-Za-z0-9_-]{1,64}$/;
  if (typeof h?.masterKeyId !== 'string' || !id.test(h.masterKeyId) || !Array.isArray(h.needsMasterKeys) || !h.needsMasterKeys.every((k: unknown) => typeof k === 'string' && id.test(k))) {
    throw new IdVaultCryptoError('BAD_FORMAT', 'the backup header is not readable');
  }
  return { header: { masterKeyId: h.masterKeyId, needsMasterKeys: h.needsMasterKeys, createdAt: String(h.createdAt ?? '') }, length };
};
const MAX_FRAME = 256 * 1024 * 1024;
/** 4 MiB segments: a backup is large and read whole; fewer, larger segments cost less. */
export const BACKUP_SEGMENT_SIZE = 4 * 1024 * 1024;
/** The size of the image and COPY frames a writer makes from what it is handed. */
export const BACKUP_CHUNK = 4 * 1024 * 1024;

export const FRAME = { begin: 1, table: 2, rows: 3, objectHead: 5, objectBody: 6, manifest: 7, image: 8, copy: 9 } as const;

export interface BackupBegin {
  format: number;
  createdAt: string;
  client: string;
  strapiVersion: string;
  pluginVersion: string;
  masterKeyId: string;
}

export interface BackupManifest extends BackupBegin {
  /** `sha256`: of the table's frames; none for the tables of a format-3 image (the image's digest covers them). */
  tables: Record<string, { columns: string[]; rows: number; sha256?: string }>;
  /** SQLite: the database's page image — its size, page size and SHA-256 (format 2: of the pages no table owns). */
  image?: { bytes: number; pageSize: number; sha256: string };
  scans: { count: number; bytes: number; sha256: string; missing: number };
  /** Master key ids the backed-up data keys are wrapped under, with how many each wraps (a restore needs them all). */
  dataKeyMasterKeys?: Record<string, number>;
}

/** The backup key under one master key: HKDF of it, with the master key's id as the key id. */
export const backupKey = (ring: MasterKeyRing, masterKeyId = ring.active.id): DataKey => {
  const master = ring.byId.get(masterKeyId);
  if (!master) throw new IdVaultCryptoError('UNKNOWN_KEY', `this backup needs master key ${masterKeyId}, which is not in ID_VAULT_MASTER_KEYS`);
  return { id: master.id, key: hkdf(master.key, 'idv-backup-key-v1') };
};

/** A backup file's clear header, from its first bytes (a few hundred are enough). */
export const readBackupHeader = (head: Buffer): BackupClearHeader => {
  const h = parseClear(head);
  if (!h) throw new IdVaultCryptoError('BAD_FORMAT', 'the backup is cut short');
  return h.header;
};

/** Values as JSON can carry them, tagged where JSON would lose the type (dates, bytes, JSON columns). */
export const encodeValue = (v: unknown): unknown => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return { $n: v.toString() };
  if (v instanceof Date) return { $d: v.toISOString() };
  if (Buffer.isBuffer(v)) return { $b: v.toString('base64') };
  return { $j: JSON.stringify(v) };
};

export const decodeValue = (v: unknown): unknown => {
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, string>;
  if ('$d' in o) return new Date(o.$d);
  if ('$b' in o) return Buffer.from(o.$b, 'base64');
  if ('$n' in o) return o.$n;
  if ('$j' in o) return o.$j;
  throw new IdVaultCryptoError('BAD_FORMAT', 'backup holds a value of an unknown kind');
};

const frameHead = (type: number, length: number): Buffer => {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(length, 1);
  return head;
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');
const sha = () => createHash('sha256');

/**
 * Writes an archive into `out` (the sealed bytes; e.g. a file stream), frame by frame, with backpressure.
 * Tables and objects in any number; finish() writes the manifest and ends the stream.
 */
export const createBackupWriter = (dataKey: DataKey, begin: BackupBegin, clear: Pick<BackupClearHeader, 'needsMasterKeys'>, segmentSize = BACKUP_SEGMENT_SIZE) => {
  const prefix = clearPrefix({ masterKeyId: dataKey.id, needsMasterKeys: [...new Set([dataKey.id, ...clear.needsMasterKeys])], createdAt: begin.createdAt });
  const sealer: Transform = encryptStream(dataKey, contextOf(prefix), segmentSize);
  // Piped, not iterated: an async iterator's read() joins whatever is buffered (the sealer pushes each
  // segment's ciphertext and tag apart), which copied the whole archive once more.
  const sealed = new PassThrough({ highWaterMark: segmentSize });
  sealed.write(prefix);
  sealer.on('error', (e) => sealed.destroy(e));
  sealer.pipe(sealed);
  const tables: BackupManifest['tables'] = {};
  const scans = { count: 0, bytes: 0, missing: 0 };
  const scanDigest = sha();
  let current: { name: string; hash: ReturnType<typeof sha> } | null = null;
  let plainBytes = 0;
  let imageBytes = 0;

  const write = async (type: number, payload: Buffer) => {
    plainBytes += payload.length + 5;
    sealer.write(frameHead(type, payload.length));
    if (!sealer.write(payload)) await once(sealer, 'drain');
  };
  const closeTable = () => {
    if (current) tables[current.name].sha256 = current.hash.digest('hex');
    current = null;
  };
  const started = write(FRAME.begin, json(begin));

  return {
    /** The file's bytes (clear header, then the sealed stream): pipe them somewhere before writing. */
    stream: sealed as Readable,
    get plainBytes() {
      return plainBytes;
    },
    /** A table whose rows follow (format 1: rows(); format 2: copy(), with `rows` its row count). */
    async table(name: string, columns: string[], rows = 0) {
      await started;
      closeTable();
      if (tables[name]) throw new Error(`table ${name} written twice`);
      tables[name] = { columns, rows, sha256: '' };
      current = { name, hash: sha() };
      await write(FRAME.table, json({ name, columns }));
    },
    /** Format 2, PostgreSQL: the current table's COPY text, in chunks of BACKUP_CHUNK at most. */
    async copy(bytes: Buffer) {
      if (!current) throw new Error('copy before a table');
      current.hash.update(bytes);
      for (let at = 0; at < bytes.length; at += BACKUP_CHUNK) await write(FRAME.copy, bytes.subarray(at, at + BACKUP_CHUNK));
    },
    /** SQLite: the next bytes of the database's page image (its digest is the caller's: finish). */
    async image(bytes: Buffer) {
      await started;
      closeTable();
      imageBytes += bytes.length;
      for (let at = 0; at < bytes.length; at += BACKUP_CHUNK) await write(FRAME.image, bytes.subarray(at, at + BACKUP_CHUNK));
    },
    /** SQLite: a table held in the image, with its row count. */
    imageTable(name: string, columns: string[], rows: number) {
      if (tables[name]) throw new Error(`table ${name} written twice`);
      tables[name] = { columns, rows };
    },
    /** Format 1 (the tests' writer of old archives): the current table's rows, as JSON. */
    async rows(rows: unknown[][]) {
      if (!current) throw new Error('rows before a table');
      if (!rows.length) return;
      const payload = json(rows.map((r) => r.map(encodeValue)));
      current.hash.update(payload);
      tables[current.name].rows += rows.length;
      await write(FRAME.rows, payload);
    },
    async object(name: string, bytes: Buffer) {
      await started;
      closeTable();
      const digest = sha().update(bytes).digest('hex');
      scanDigest.update(`${name}:${digest}\n`);
      scans.count += 1;
      scans.bytes += bytes.length;
      await write(FRAME.objectHead, json({ name, size: bytes.length, sha256: digest }));
      await write(FRAME.objectBody, bytes);
    },
    /** A scan object a row names that the store no longer has (erased since the snapshot, or lost). */
    missingObject() {
      scans.missing += 1;
    },
    /** `image`: the page size and the image's SHA-256, when the archive holds an image. */
    async finish(extra: Pick<BackupManifest, 'dataKeyMasterKeys'> & { image?: { pageSize: number; sha256: string } } = {}): Promise<BackupManifest> {
      await started;
      closeTable();
      const { image, ...rest } = extra;
      if (!imageBytes !== !image) throw new Error('an image needs its page size and digest, and only an image');
      const manifest: BackupManifest = {
        ...begin,
        tables,
        ...(image ? { image: { bytes: imageBytes, ...image } } : {}),
        scans: { ...scans, sha256: scanDigest.digest('hex') },
        ...rest,
      };
      await write(FRAME.manifest, json(manifest));
      sealer.end();
      return manifest;
    },
  };
};

export type BackupFrame =
  | { type: 'begin'; begin: BackupBegin }
  | { type: 'table'; name: string; columns: string[] }
  | { type: 'rows'; table: string; rows: unknown[][] }
  | { type: 'copy'; table: string; bytes: Buffer }
  | { type: 'image'; bytes: Buffer }
  | { type: 'object'; name: string; bytes: Buffer }
  | { type: 'manifest'; manifest: BackupManifest };

/**
 * A stream's chunks one by one, as it emits them, with backpressure (paused while a few wait). Not its async
 * iterator: that one's read() joins whatever is buffered, a copy of every segment opened in the same turn.
 */
async function* chunksOf(stream: Readable): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failed: { e: unknown } | null = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  stream.on('data', (c: Buffer) => {
    queue.push(c);
    if (queue.length >= 4) stream.pause();
    poke();
  });
  stream.on('end', () => {
    ended = true;
    poke();
  });
  stream.on('error', (e) => {
    failed = { e };
    poke();
  });
  for (;;) {
    if (failed) throw (failed as { e: unknown }).e;
    if (queue.length) {
      const c = queue.shift()!;
      if (queue.length < 2 && stream.isPaused()) stream.resume();
      yield c;
    } else if (ended) return;
    else await new Promise<void>((r) => (wake = r));
  }
}

const bad = (why: string) => new IdVaultCryptoError('BAD_FORMAT', `backup is malformed: ${why}`);
const parse = (payload: Buffer): any => {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    throw bad('a frame is not JSON');
  }
};

/**
 * Reads an archive (`source`: the sealed bytes), opening every segment, checking every digest against the
 * manifest, and hands each frame to `onFrame` as it is authenticated (rows decoded). Throws
 * IdVaultCryptoError on any failure — a changed byte, a cut, a digest or count that does not match — and
 * resolves with the manifest only when the whole archive is good. A caller that must not act on part of a
 * backup runs this once with no `onFrame` (verification) before acting.
 */
export const readBackup = async (
  source: Readable,
  ring: MasterKeyRing,
  onFrame?: (f: BackupFrame) => Promise<void> | void,
  onBytes?: (sealedBytes: number) => void
): Promise<BackupManifest> => {
  let needed = null as string | null;
  // The clear header first: its digest is part of the sealing context.
  const chunks = source[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  let clear: ReturnType<typeof parseClear> = null;
  while (!(clear = parseClear(head))) {
    const next = await chunks.next();
    if (next.done) throw new IdVaultCryptoError('BAD_FORMAT', 'the backup is cut short');
    onBytes?.(next.value.length);
    head = Buffer.concat([head, next.value as Buffer]);
  }
  const opener = decryptStream((keyId) => {
    needed = keyId;
    return ring.byId.has(keyId) ? backupKey(ring, keyId).key : undefined;
  }, contextOf(head.subarray(0, clear.length)));
  const feed = (async () => {
    const write = async (c: Buffer) => {
      if (!opener.write(c)) await once(opener, 'drain');
    };
    if (head.length > clear!.length) await write(head.subarray(clear!.length));
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      onBytes?.(next.value.length);
      await write(next.value as Buffer);
    }
    opener.end();
  })();
  feed.catch((e) => opener.destroy(e));

  let begin: BackupBegin | null = null;
  let manifest: BackupManifest | null = null;
  const seen: Record<string, { columns: string[]; rows: number; hash: ReturnType<typeof sha> }> = {};
  let table: string | null = null;
  let object: { name: string; size: number; sha256: string } | null = null;
  const scans = { count: 0, bytes: 0, hash: sha() };
  let imageBytes = 0;

  const handle = async (type: number, payload: Buffer) => {
    if (manifest) throw bad('frames after the manifest');
    if (!begin && type !== FRAME.begin) throw bad('no begin frame');
    if (object && type !== FRAME.objectBody) throw bad('an object without its bytes');
    switch (type) {
      case FRAME.begin: {
        if (begin) throw bad('two begin frames');
        begin = parse(payload) as BackupBegin;
        if (!BACKUP_FORMATS.includes(begin.format)) throw bad(`unknown format ${begin.format}`);
        if (begin.masterKeyId !== needed || clear!.header.masterKeyId !== needed) throw bad('the begin frame names another master key than the header');
        return onFrame?.({ type: 'begin', begin });
      }
      case FRAME.table: {
        const t = parse(payload);
        if (typeof t?.name !== 'string' || !Array.isArray(t.columns) || seen[t.name]) throw bad('a table frame is bad or repeated');
        seen[t.name] = { columns: t.columns, rows: 0, hash: sha() };
        table = t.name;
        return onFrame?.({ type: 'table', name: t.name, columns: t.columns });
      }
      case FRAME.copy: {
        if (!table || begin!.format < 2) throw bad('copy data outside a table');
        seen[table].hash.update(payload);
        return onFrame?.({ type: 'copy', table, bytes: payload });
      }
      case FRAME.image: {
        if (begin!.format < 2) throw bad('an image in a format-1 archive');
        table = null;
        imageBytes += payload.length;
        return onFrame?.({ type: 'image', bytes: payload });
      }
      case FRAME.rows: {
        if (!table || begin!.format !== 1) throw bad('rows outside a table');
        const rows = parse(payload);
        if (!Array.isArray(rows)) throw bad('a rows frame is not a list');
        seen[table].hash.update(payload);
        seen[table].rows += rows.length;
        return onFrame?.({ type: 'rows', table, rows: rows.map((r: unknown[]) => r.map(decodeValue)) });
      }
      case FRAME.objectHead: {
        table = null;
        object = parse(payload);
        return;
      }
      case FRAME.objectBody: {
        if (!object) throw bad('object bytes without a head');
        const digest = sha().update(payload).digest('hex');
        if (payload.length !== object.size || digest !== object.sha256) throw bad('a scan object does not match its digest');
        scans.hash.update(`${object.name}:${digest}\n`);
        scans.count += 1;
        scans.bytes += payload.length;
        const name = object.name;
        object = null;
        return onFrame?.({ type: 'object', name, bytes: payload });
      }
      case FRAME.manifest: {
        manifest = parse(payload) as BackupManifest;
        return;
      }
      default:
        throw bad(`unknown frame type ${type}`);
    }
  };

  // Decrypted chunks wait in a queue. A frame's payload is joined only when it spans chunks; an image frame
  // is never joined: it is handed on in the pieces it arrives in (subarrays of the decrypted chunks).
  const queue: Buffer[] = [];
  let queued = 0;
  /** The next `n` queued bytes, consumed: a subarray when one chunk holds them, else one copy. */
  const take = (n: number): Buffer => {
    if (!n) return Buffer.alloc(0);
    queued -= n;
    if (queue[0].length >= n) {
      const b = queue[0].subarray(0, n);
      if (b.length === queue[0].length) queue.shift();
      else queue[0] = queue[0].subarray(n);
      return b;
    }
    const out = Buffer.allocUnsafe(n);
    for (let at = 0; at < n; ) {
      const q = queue[0];
      const k = Math.min(q.length, n - at);
      q.copy(out, at, 0, k);
      at += k;
      if (k === q.length) queue.shift();
      else queue[0] = q.subarray(k);
    }
    return out;
  };
  /** The next frame's 5-byte head, not consumed (joined from the first chunks only when the first is shorter). */
  const peekHead = () => {
    if (queue[0].length >= 5) return queue[0];
    const head: Buffer[] = [];
    for (let i = 0, n = 0; n < 5; n += queue[i].length, i += 1) head.push(queue[i]);
    return Buffer.concat(head);
  };
  let imageLeft = 0;
  try {
    for await (const chunk of chunksOf(opener)) {
      if (!chunk.length) continue;
      queue.push(chunk);
      queued += chunk.length;
      for (;;) {
        while (imageLeft && queued) {
          const piece = take(Math.min(imageLeft, queue[0].length));
          imageLeft -= piece.length;
          await handle(FRAME.image, piece);
        }
        if (imageLeft || queued < 5) break;
        const head = peekHead();
        const type = head[0];
        const length = head.readUInt32BE(1);
        if (length > MAX_FRAME) throw bad('a frame is too large');
        if (type === FRAME.image) {
          take(5);
          imageLeft = length;
          continue;
        }
        if (queued < 5 + length) break;
        take(5);
        await handle(type, take(length));
      }
    }
  } finally {
    source.destroy();
    opener.destroy();
  }
  if (queued || imageLeft || object) throw bad('it ends inside a frame');
  const m = manifest as BackupManifest | null;
  if (!m) throw bad('no manifest');
  const names = Object.keys(seen);
  // The tables of an image are inside it (the caller checks them); the others each have their frames.
  if (!imageBytes && names.length !== Object.keys(m.tables ?? {}).length) throw bad('the manifest lists other tables than the archive holds');
  if (imageBytes && names.length) throw bad('an archive holds both an image and tables');
  // Format 2: a table's rows are counted where they load (the COPY, the image), by the caller.
  for (const name of names) {
    const want = m.tables[name];
    if (!want || (m.format === 1 && want.rows !== seen[name].rows) || want.sha256 !== seen[name].hash.digest('hex')) throw bad(`table ${name} does not match the manifest`);
  }
  // An image's digests are checked by the caller, which can open it.
  if ((m.image?.bytes ?? 0) !== imageBytes) throw bad('the database image does not match the manifest');
  if (Object.keys(m.dataKeyMasterKeys ?? {}).some((k) => !clear!.header.needsMasterKeys.includes(k))) throw bad('the header does not name every master key its data keys need');
  if (m.scans?.count !== scans.count || m.scans.bytes !== scans.bytes || m.scans.sha256 !== scans.hash.digest('hex')) throw bad('the scan objects do not match the manifest');
  return m;
};
