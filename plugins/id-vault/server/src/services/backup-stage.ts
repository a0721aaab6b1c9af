import fs from 'node:fs';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readBackup, type BackupFrame, type BackupManifest } from '../crypto/backup-archive';
import type { MasterKeyRing } from '../crypto/keyring';
import { IdVaultCryptoError } from '../crypto/errors';

/**
 * A restore's first pass: the whole archive read and authenticated (every segment's tag, every digest of the
 * manifest) before anything reaches the database or the scan store. Nothing here knows Strapi.
 *
 * A SQLite page image is *staged* as it is opened: written to `<database file>.restore-<pid>.part` (0600,
 * beside the database). The staged file is not the database: the load checks it (size, the SHA-256 of the file
 * as written — fileDigest —, tables, row counts, a decrypt sample) and only then renames it into place. When the archive
 * fails verification the staged file is removed before the error is thrown (a process killed meanwhile leaves
 * it for the next restore to remove: its pid is gone). The other frames (scan objects, PostgreSQL COPY text)
 * are kept in memory while they fit in `keepBytes`.
 *
 * With a SQLite image the pass runs in a worker thread: its buffers live on the worker's small heap (not the
 * app's, whose collector they kept busy), and the app's thread is free meanwhile.
 */

/** A SQLite restore's image, beside the database, until it is renamed into place. */
export const RESTORE_TEMP = /\.restore-(\d+)\.part$/;
/** The staged image's file for database `dbFile` in this process. */
export const restoreTempOf = (dbFile: string) => `${path.resolve(dbFile)}.restore-${process.pid}.part`;
/** The archive is read in chunks this large. */
export const READ_CHUNK = 4 * 1024 * 1024;
/** Image writes in flight at once (positional: in any order). */
const WRITES = 4;

/** The image, staged (its bytes authenticated): its file and size. */
export interface StagedImage {
  file: string;
  bytes: number;
}

/** What a restore's first pass hands the load. */
export interface Verified {
  manifest: BackupManifest;
  /** The frames but the image's, when they fit in memory; null: the load reads the archive again for them. */
  frames: BackupFrame[] | null;
  /** The SQLite image, staged (when an image file was named and the archive holds an image). */
  image?: StagedImage;
}

export interface StageOptions {
  onBytes?: (n: number) => void;
  keepBytes: number;
  /** Where a SQLite image goes (restoreTempOf(the database file)); none: an image is kept with the frames. */
  imageFile?: string;
}

/** Whether another process `pid` runs (this process's own temp files count as left behind). */
export const alive = (pid: number) => {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e.code !== 'ESRCH';
  }
};

/**
 * Temp files in `d` (named by `pattern`, the writer's pid its group 1) whose process is gone (killed
 * part-way): never a final name, removed here.
 */
export const removeStaleTemps = async (d: string, pattern: RegExp) => {
  for (const name of await fs.promises.readdir(d)) {
    const m = pattern.exec(name);
    if (m && !alive(Number(m[1]))) await fs.promises.rm(path.join(d, name), { force: true });
  }
};

/** The image file being written: the next offset, the writes in flight, the first failure. */
interface Staging {
  out: fs.promises.FileHandle;
  at: number;
  writes: Set<Promise<void>>;
  failed: unknown;
}

/** The first pass on this thread (the worker runs it too). */
export const verifyAndStage = async (file: string, ring: MasterKeyRing, opts: StageOptions): Promise<Verified> => {
  let frames: BackupFrame[] | null = opts.keepBytes > 0 ? [] : null;
  let kept = 0;
  let staged = null as Staging | null;
  const keep = (f: BackupFrame, bytes: number) => {
    if (!frames) return;
    kept += bytes;
    if (kept > opts.keepBytes) frames = null;
    else frames.push(f);
  };
  const image = async (bytes: Buffer) => {
    if (!opts.imageFile) return keep({ type: 'image', bytes }, bytes.length);
    staged ??= { out: await fs.promises.open(opts.imageFile, 'wx', 0o600), at: 0, writes: new Set(), failed: null };
    const s = staged;
    if (s.failed) throw s.failed;
    const at = s.at;
    s.at += bytes.length;
    const write: Promise<void> = (async () => {
      for (let o = 0; o < bytes.length; ) o += (await s.out.write(bytes, o, bytes.length - o, at + o)).bytesWritten;
    })().catch((e) => {
      s.failed ??= e;
    });
    s.writes.add(write);
    write.finally(() => s.writes.delete(write));
    if (s.writes.size >= WRITES) await Promise.race(s.writes);
  };
  try {
    const manifest = await readBackup(
      fs.createReadStream(file, { highWaterMark: READ_CHUNK }),
      ring,
      (f) => {
        if (f.type === 'image') return image(f.bytes);
        if (f.type === 'begin' || f.type === 'manifest') return;
        keep(f, f.type === 'rows' ? 64 * f.rows.length : f.type === 'table' ? 0 : f.bytes.length);
      },
      opts.onBytes
    );
    const s = staged;
    if (!s) return { manifest, frames };
    await Promise.all(s.writes);
    if (s.failed) throw s.failed;
    await s.out.close();
    staged = null;
    return { manifest, frames, image: { file: opts.imageFile!, bytes: s.at } };
  } finally {
    const s = staged;
    if (s) {
      await Promise.all(s.writes);
      await s.out.close().catch(() => {});
      await fs.promises.rm(opts.imageFile!, { force: true });
    }
  }
};

/** A file's SHA-256 (hex), read and hashed on a thread of its own (node:fs and node:crypto only). */
const DIGEST_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
const fd = fs.openSync(workerData.file, 'r');
const buf = Buffer.allocUnsafe(${READ_CHUNK});
try {
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
} finally {
  fs.closeSync(fd);
}
parentPort.postMessage(hash.digest('hex'));`;

/**
 * The SHA-256 of a file as it is on disk (a staged image: what the load renames into place), computed on
 * another core while this thread goes on.
 */
export const fileDigest = (file: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(DIGEST_THREAD, { eval: true, workerData: { file } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the digest thread stopped (exit code ${code})`)));
  });

interface WorkerTask {
  idVaultBackupStage: true;
  file: string;
  keys: { id: string; key: Uint8Array }[];
  keepBytes: number;
  imageFile: string;
}
/** An error as it crosses from a worker thread (its message, code and class name; messages never carry values). */
export type ThreadError = { message: string; code?: string; name?: string };
export const toThreadError = (e: any): ThreadError => ({ message: String(e?.message ?? e), code: e?.code, name: e?.name });
/** The error again on this side: an IdVaultCryptoError stays one. */
export const fromThreadError = (e: ThreadError): Error =>
  e.name === 'IdVaultCryptoError' ? new IdVaultCryptoError(e.code as any, e.message) : Object.assign(new Error(e.message), { code: e.code });

type WorkerReply = { bytes: number } | { done: Verified } | { error: ThreadError };

/** A Buffer again (a structured clone hands Uint8Arrays over), without copying. */
export const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
/** Bytes in an ArrayBuffer of their own, to move to another thread: `b` itself when it fills its buffer, else a copy. */
export const movable = (b: Uint8Array): Uint8Array => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b));
/** A SQLite database's own tables (better-sqlite3 connection), by name. */
export const sqliteTables = (db: any): string[] => db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`).pluck().all();
/** A frame as the worker made it: its bytes (and a format-1 row's byte values) Buffers again. */
const fromClone = (f: BackupFrame): BackupFrame => {
  if (f.type === 'rows') return { ...f, rows: f.rows.map((r) => r.map((v) => (v instanceof Uint8Array ? asBuffer(v) : v))) };
  return 'bytes' in f ? { ...f, bytes: asBuffer(f.bytes) } : f;
};

/**
 * The first pass, staging a SQLite image to `imageFile` (restoreTempOf(the database file)): any stale staged
 * image of a killed restore beside it removed first, then the pass in a worker thread. Rejects, the staged
 * file removed, when the archive does not verify.
 */
export const verifyStagingImage = async (file: string, ring: MasterKeyRing, imageFile: string, opts: Omit<StageOptions, 'imageFile'>): Promise<Verified> => {
  await fs.promises.mkdir(path.dirname(imageFile), { recursive: true });
  await removeStaleTemps(path.dirname(imageFile), RESTORE_TEMP);
  const task: WorkerTask = { idVaultBackupStage: true, file, keys: [...ring.byId.values()].map((k) => ({ id: k.id, key: k.key })), keepBytes: opts.keepBytes, imageFile };
  const worker = new Worker(__filename, { workerData: task });
  try {
    return await new Promise<Verified>((resolve, reject) => {
      worker.on('message', (m: WorkerReply) => {
        if ('bytes' in m) opts.onBytes?.(m.bytes);
        else if ('done' in m) {
          const frames = m.done.frames?.map(fromClone) ?? null;
          resolve({ ...m.done, frames });
        } else reject(fromThreadError(m.error));
      });
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`the backup's verification stopped (worker exit code ${code})`)));
    });
  } catch (e) {
    // A worker that died mid-way left its staged file.
    await fs.promises.rm(imageFile, { force: true });
    throw e;
  } finally {
    await worker.terminate();
  }
};

if (!isMainThread && (workerData as WorkerTask)?.idVaultBackupStage) {
  const task = workerData as WorkerTask;
  const byId = new Map(task.keys.map((k) => [k.id, { id: k.id, key: asBuffer(k.key) }]));
  const ring: MasterKeyRing = { active: byId.values().next().value!, byId };
  verifyAndStage(task.file, ring, { keepBytes: task.keepBytes, imageFile: task.imageFile, onBytes: (bytes) => parentPort!.postMessage({ bytes } satisfies WorkerReply) }).then(
    (done) => {
      // Each kept frame's bytes in a buffer of their own, moved to the caller (not its whole segment cloned).
      const moved = new Set<ArrayBuffer>();
      const frames =
        done.frames?.map((f) => {
          if (!('bytes' in f) || !f.bytes.length) return f;
          const bytes = movable(f.bytes);
          moved.add(bytes.buffer as ArrayBuffer);
          return { ...f, bytes: bytes as Buffer };
        }) ?? null;
      parentPort!.postMessage({ done: { ...done, frames } } satisfies WorkerReply, [...moved]);
    },
    (e) => parentPort!.postMessage({ error: toThreadError(e) } satisfies WorkerReply)
  );
}
