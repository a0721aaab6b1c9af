import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createBackupWriter, type BackupBegin, type BackupManifest } from '../crypto/backup-archive';
import type { DataKey } from '../crypto/aead';
import { asBuffer, fromThreadError, movable, sqliteTables, toThreadError, type ThreadError } from './backup-stage';
import { quote } from '../utils/sql';

/**
 * A SQLite backup's archive, written on a worker thread: a read-only connection of its own in one read
 * transaction (with WAL it sees one state of the file while the app goes on writing) — every table and its row
 * count, the data keys per master key, the scan objects the rows name, then the page image serialized inside
 * that transaction, its SHA-256 — sealed into the backup file as it goes. The caller then hands over the scan
 * objects (it reads them from the store, local or S3) and ends the archive. The image and its ciphertext (twice
 * the database's size) live on the worker's small heap: on the app's, their external memory made V8 collect
 * the whole Strapi heap again and again, and the app's thread is free meanwhile.
 */

/** What the worker needs: the database, the temp file to write, the backup key, the begin frame, two tables' names. */
export interface SqliteBackupTask {
  dbFile: string;
  temp: string;
  key: DataKey;
  begin: BackupBegin;
  /** The data key table (its master key column) and the scan table (its object column). */
  dataKeys: { name: string; masterColumn: string };
  scans: { name: string; objectColumn: string };
}

/** A backup's snapshot: every table's row count, the data keys per master key, the scan objects its rows name. */
export interface BackupSnapshot {
  counts: Map<string, number>;
  masters: Record<string, number>;
  objects: string[];
  /** Every master key a restore needs: the sealing key first, then those the data keys are wrapped under. */
  needsMasterKeys: string[];
}

type ToWorker = { object: string; bytes: Uint8Array } | { missing: true } | { finish: Pick<BackupManifest, 'dataKeyMasterKeys'> };
type FromWorker =
  | { snapshot: { counts: [string, number][]; masters: Record<string, number>; objects: string[]; needsMasterKeys: string[] } }
  | { imaged: true }
  | { ack: true }
  | { manifest: BackupManifest }
  | { error: ThreadError };

/**
 * Starts the worker; resolves once its snapshot is read (the image is then being written). `imaged` settles when
 * the image is in the archive; object() and missingObject() go in order after it; finish() ends the archive
 * and resolves with the manifest once the file is written (not yet fsynced). Any failure rejects what is
 * pending and what comes after; close() stops the worker (always call it).
 */
export const startSqliteBackup = async (task: SqliteBackupTask) => {
  const worker = new Worker(__filename, { workerData: { idVaultSqliteBackup: true, ...task } });
  let failed: Error | null = null;
  const waiting: { resolve: (m: any) => void; reject: (e: Error) => void }[] = [];
  /** The next reply (they come in the order of the requests). */
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      if (failed) reject(failed);
      else waiting.push({ resolve, reject });
    });
  const fail = (e: Error) => {
    failed ??= e;
    for (const w of waiting.splice(0)) w.reject(failed);
  };
  worker.on('message', (m: FromWorker) => {
    if ('error' in m) fail(fromThreadError(m.error));
    else waiting.shift()?.resolve(m);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the backup's database thread stopped (exit code ${code})`)));
  const snapshotReply = next<Extract<FromWorker, { snapshot: unknown }>>();
  const imaged = next<unknown>().then(() => undefined);
  imaged.catch(() => {});
  const close = () => worker.terminate().then(() => undefined);
  let s: Extract<FromWorker, { snapshot: unknown }>['snapshot'];
  try {
    ({ snapshot: s } = await snapshotReply);
  } catch (e) {
    await close();
    throw e;
  }
  const send = (m: ToWorker, transfer: ArrayBuffer[] = []) => {
    if (!failed) worker.postMessage(m, transfer);
  };
  const snapshot: BackupSnapshot = { counts: new Map(s.counts), masters: s.masters, objects: s.objects, needsMasterKeys: s.needsMasterKeys };
  return {
    snapshot,
    imaged,
    /** A scan object's sealed bytes into the archive (moved to the worker when they are alone in their buffer, else copied). */
    async object(name: string, bytes: Buffer) {
      const moved = movable(bytes);
      const acked = next();
      send({ object: name, bytes: moved }, [moved.buffer as ArrayBuffer]);
      await acked;
    },
    missingObject() {
      send({ missing: true });
    },
    async finish(extra: Pick<BackupManifest, 'dataKeyMasterKeys'>): Promise<BackupManifest> {
      const done = next<{ manifest: BackupManifest }>();
      send({ finish: extra });
      return (await done).manifest;
    },
    close,
  };
};

/** The worker: the snapshot and the image, then the caller's objects in order, then the manifest. */
const work = async (task: SqliteBackupTask) => {
  const post = (m: FromWorker) => parentPort!.postMessage(m);
  const Database = require('better-sqlite3');
  const db = new Database(task.dbFile, { readonly: true, fileMustExist: true });
  const end = () => {
    if (!db.open) return;
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
  };
  try {
    db.exec('BEGIN');
    const tables = sqliteTables(db);
    const counts = new Map<string, number>(tables.map((t) => [t, Number(db.prepare(`select count(*) from ${quote(t)}`).pluck().get())]));
    const { dataKeys: k, scans } = task;
    const masters: Record<string, number> = tables.includes(k.name)
      ? Object.fromEntries(db.prepare(`select ${quote(k.masterColumn)} as v, count(*) as n from ${quote(k.name)} group by 1`).all().map((r: any) => [String(r.v), Number(r.n)]))
      : {};
    const objects: string[] = tables.includes(scans.name) ? db.prepare(`select ${quote(scans.objectColumn)} from ${quote(scans.name)} order by id`).pluck().all().map(String) : [];
    const needsMasterKeys = [...new Set([task.key.id, ...Object.keys(masters).sort()])];
    const writer = createBackupWriter({ id: task.key.id, key: asBuffer(task.key.key) }, task.begin, { needsMasterKeys });
    const written = pipeline(writer.stream, fs.createWriteStream(task.temp, { flags: 'wx', mode: 0o600 }));
    written.catch(() => {}); // awaited at the end; a failure also ends the writes
    post({ snapshot: { counts: [...counts], masters, objects, needsMasterKeys } });

    const image: Buffer = db.serialize();
    // The image in rollback-journal mode (header bytes 18–19): SQLite deserializes no WAL-mode image; the
    // database it is restored into keeps its own journal mode.
    image[18] = 1;
    image[19] = 1;
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    for (const t of tables) writer.imageTable(t, db.prepare(`pragma table_info(${quote(t)})`).all().map((c: any) => c.name), counts.get(t)!);
    end();
    const sha256 = createHash('sha256').update(image).digest('hex');
    await writer.image(image);
    post({ imaged: true });

    // The caller's messages, one at a time, in order.
    let chain: Promise<void> = Promise.resolve();
    parentPort!.on('message', (m: ToWorker) => {
      chain = chain
        .then(async () => {
          if ('object' in m) {
            await writer.object(m.object, asBuffer(m.bytes));
            post({ ack: true });
          } else if ('missing' in m) writer.missingObject();
          else {
            const manifest = await writer.finish({ ...m.finish, image: { pageSize, sha256 } });
            await written;
            post({ manifest });
          }
        })
        .catch(reply);
    });
  } catch (e) {
    end();
    throw e;
  }
};

const reply = (e: unknown) => parentPort!.postMessage({ error: toThreadError(e) } satisfies FromWorker);

if (!isMainThread && (workerData as { idVaultSqliteBackup?: boolean })?.idVaultSqliteBackup) work(workerData as SqliteBackupTask).catch(reply);
