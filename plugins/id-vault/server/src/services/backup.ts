import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Core } from '@strapi/strapi';
import {
  backupKey,
  readBackupHeader,
  createBackupWriter,
  decryptParsed,
  parseCiphertext,
  parseMasterKeys,
  readBackup,
  unwrapDataKey,
  BACKUP_CHUNK,
  BACKUP_FORMAT,
  type BackupBegin,
  type BackupFrame,
  type BackupManifest,
} from '../crypto';
import { onceAcrossProcesses } from '../utils/jobs';
import { quote } from '../utils/sql';
import { getService, UIDS } from '../utils/strapi';
import { errors } from '@strapi/utils';
import { scanError as httpError } from '../scans/errors';
import type { Caller } from '../domain';
import type { RunningBackup } from '../../../shared/contracts';
import { createBackupBucket, type BackupBucket } from '../scans/store';
import type { BackupConfig } from '../config';
import { startSqliteBackup, type BackupSnapshot } from './backup-sqlite';
import { READ_CHUNK, alive, fileDigest, removeStaleTemps, restoreTempOf, sqliteTables, verifyAndStage, verifyStagingImage, type Verified } from './backup-stage';

/** Backup files: the time (UTC) they were started, and a random tail. Nothing else is in a name. */
export const BACKUP_FILE = /^idv-backup-(\d{8}T\d{6}Z)-([0-9a-f]{6})\.idvb$/;
const TEMP_FILE = /^\.idv-backup-.*\.(\d+)\.part$/;
/** Records of each encrypted type a restore decrypts (picked at random), besides a data key of each master key. */
export const DECRYPT_SAMPLE = 200;
/** Scan objects a restore writes to the store at once. */
const PUTS = 16;
/** How much of an archive a restore keeps in memory from its verification (ID_VAULT_RESTORE_MEMORY_MB). */
const restoreMemory = () => (Math.max(0, Number(process.env.ID_VAULT_RESTORE_MEMORY_MB ?? 512)) || 0) * 1024 * 1024;

export interface BackupResult {
  file: string;
  bytes: number;
  sha256: string;
  masterKeyId: string;
  tables: number;
  rows: number;
  scans: number;
  missingScans: number;
  /** Every master key a restore of it needs: the one it is sealed under, and those its data keys are wrapped under. */
  needsMasterKeys: string[];
  /** ID_VAULT_BACKUP_S3: 'uploaded' or 'failed'; 'off' when backups stay local only. */
  s3: 'uploaded' | 'failed' | 'off';
}

/** The local file was written (and is kept) but its copy to S3 failed: the run fails (backup.failed, exit 1). */
export class BackupS3Error extends Error {
  constructor(readonly result: BackupResult, readonly code: string) {
    super(`the backup ${result.file} was written locally but its upload to S3 failed (${code})`);
  }
}

export interface BackupFileInfo {
  file: string;
  bytes: number;
  createdAt: string;
  /** The master key it is sealed under (from its clear header); null when the header is unreadable. */
  masterKeyId: string | null;
  /** Every master key its restore needs (from its clear header); null when the header is unreadable. */
  needsMasterKeys: string[] | null;
}

/** The Backups page: a file kept locally, in S3 (ID_VAULT_BACKUP_S3), or both. */
export interface BackupListing extends BackupFileInfo {
  local: boolean;
  /** null: backups do not go to S3 (or the bucket could not be listed: `s3Error`). */
  s3: boolean | null;
}

export interface RestoreCheck {
  ledgerReplayed: number;
  /** Identity documents the ledger deleted again (retention deletions after the backup). */
  documentsReplayed: number;
  audit: { ok: boolean; count: number; reason?: string };
  decryptChecked: number;
  decryptFailures: number;
}

export interface Loaded {
  rows: number;
  scans: number;
  /** Encrypted values decrypted before the restore was committed (a sample of each type) and data keys unwrapped (one per master key). */
  decryptChecked: number;
  dataKeysChecked: number;
}

type Progress = (done: number, total: number) => void;
type Writer = ReturnType<typeof createBackupWriter>;
/** Rows of a query with `?` parameters, whatever runs it (knex, a transaction, a better-sqlite3 database). */
type Query = (sql: string, params?: unknown[]) => Promise<any[]>;
const knexQuery =
  (knex: any): Query =>
  async (sql, params = []) => {
    const r = await knex.raw(sql, params);
    return Array.isArray(r) ? r : r.rows;
  };

/** PostgreSQL: a read-only, consistent view of the live database, whatever other processes write meanwhile. */
interface Snapshot {
  /** Every table with its row count. */
  counts: Map<string, number>;
  /** Master key id → how many data keys it wraps. */
  masters: Record<string, number>;
  /** The scan objects the snapshot's rows name. */
  objects: string[];
  /** Writes the database into the archive (format 2); `onRows` as tables are done. */
  write(writer: Writer, onRows: (n: number) => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * A backup being written to its temp file: a snapshot of the database (and the master keys a restore will
 * need), the database put into the archive, then the scan objects, then the manifest. PostgreSQL: on this
 * thread; SQLite: on a worker thread (backup-sqlite.ts).
 */
interface BackupJob {
  snapshot: BackupSnapshot;
  /** The database into the archive; `onRows` as tables are done. */
  database(onRows: (n: number) => void): Promise<void>;
  object(name: string, bytes: Buffer): Promise<void>;
  /** A scan object a row names that the store no longer has (erased since the snapshot, or lost). */
  missingObject(): void;
  /** The manifest written and the archive ended: the file is whole (not yet fsynced). */
  finish(extra: Pick<BackupManifest, 'dataKeyMasterKeys'>): Promise<BackupManifest>;
  close(): Promise<void>;
}

/** Another backup is being written: a second one waits for it (two at once would double the load, and in one process the second's sweep of stale temp files would take the first's). */
const busyError = (b: RunningBackup) =>
  httpError(409, 'BackupRunning', `a backup is being written (started ${b.startedAt}${b.pid === process.pid ? '' : `, by process ${b.pid}`}); wait for it to finish`);

/**
 * A restore's first pass (backup-stage.ts): the whole backup read and authenticated, its frames kept while
 * their bytes stay within `keepBytes` (past that: frames null). With `dbFile` (SQLite), an image is staged
 * beside that database file, in a worker thread. Also used by the restore command before Strapi starts.
 */
export const verifyKeeping = async (file: string, ring: ReturnType<typeof parseMasterKeys>, onBytes?: (n: number) => void, keepBytes = restoreMemory(), dbFile?: string): Promise<Verified> =>
  dbFile ? verifyStagingImage(file, ring, restoreTempOf(dbFile), { onBytes, keepBytes }) : verifyAndStage(file, ring, { onBytes, keepBytes });

/** Tables in an order where every table comes after those its foreign keys point to (cycles: by name). */
const byDependencies = (tables: string[], parents: Map<string, Set<string>>): string[] => {
  const out: string[] = [];
  const left = new Set([...tables].sort());
  while (left.size) {
    const ready = [...left].filter((t) => [...(parents.get(t) ?? [])].every((p) => p === t || !left.has(p)));
    const next = ready.length ? ready : [[...left][0]];
    for (const t of next) {
      out.push(t);
      left.delete(t);
    }
  }
  return out;
};

/** A table's rows did not load: the table and the error's code, never the statement or the database's message (either may quote a value). */
const loadFailed = (table: string, e: any) => new Error(`the rows of table ${table} did not load (${String(e?.code ?? e?.name ?? 'error').slice(0, 40)})`);

/** Error text for the audit trail and the log: the kind of error, never a value a database error may quote. */
const safeError = (e: any): string => String(e?.code ?? e?.name ?? 'Error').slice(0, 80);

/**
 * Encrypted backups and their restore (`npm run backup`, `npm run backup:restore`, the daily job). A backup is
 * one archive (crypto/backup-archive.ts) of every table of the database — enumerated from the live database,
 * read in one consistent snapshot — and every scan object the snapshot's rows name, sealed under a key derived
 * from the active master key, written to ID_VAULT_BACKUP_DIR under a temporary name and renamed when whole.
 * Restore loads an archive, verified whole first, into the schema a fresh start created, in one transaction,
 * with lifecycles bypassed (raw rows: ciphertext moves as stored) but every encrypted value decrypted before
 * the commit: nothing passes the storage boundary unchecked.
 */
const backup = ({ strapi }: { strapi: Core.Strapi }) => {
  const audit = () => getService(strapi, 'audit');
  const ring = () => parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS);
  const dir = () => path.resolve(process.env.ID_VAULT_BACKUP_DIR || path.join(strapi.dirs.app.root, '.vault-data', 'backups'));
  const keep = () => Math.max(1, Math.floor(Number(process.env.ID_VAULT_BACKUP_KEEP)) || 30);
  let bucketOf: { cfg: unknown; bucket: BackupBucket } | null = null;
  /** The S3 copies of ID_VAULT_BACKUP_S3 (null: local only). */
  const bucket = (): BackupBucket | null => {
    const cfg = (strapi.config.get('plugin::id-vault.backups') as BackupConfig | undefined)?.s3 ?? null;
    if (!cfg) return null;
    if (bucketOf?.cfg !== cfg) bucketOf = { cfg, bucket: createBackupBucket(cfg) };
    return bucketOf.bucket;
  };
  const createdAtOf = (file: string) => {
    const t = BACKUP_FILE.exec(file)![1];
    return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}Z`;
  };
  const client = (): 'sqlite' | 'postgres' => (strapi.db.dialect.client === 'postgres' ? 'postgres' : 'sqlite');
  const versions = () => {
    const read = (file: string) => {
      try {
        return String(JSON.parse(fs.readFileSync(file, 'utf8')).version);
      } catch {
        return 'unknown';
      }
    };
    return { strapiVersion: read(require.resolve('@strapi/strapi/package.json')), pluginVersion: read(path.join(__dirname, '..', '..', '..', 'package.json')) };
  };

  const sqliteFile = () => (strapi.db as any).config.connection.connection.filename as string;

  const sqliteJob = async (r: ReturnType<typeof ring>, begin: BackupBegin, temp: string): Promise<BackupJob> => {
    const job = await startSqliteBackup({ dbFile: sqliteFile(), temp, key: backupKey(r), begin, dataKeys: dataKeyTable(), scans: scanTable() });
    const rows = [...job.snapshot.counts.values()].reduce((a, b) => a + b, 0);
    return {
      ...job,
      async database(onRows) {
        await job.imaged;
        onRows(rows);
      },
    };
  };

  const postgresJob = async (r: ReturnType<typeof ring>, begin: BackupBegin, temp: string): Promise<BackupJob> => {
    const snap = await postgresSnapshot();
    try {
      const needsMasterKeys = [...new Set([r.active.id, ...Object.keys(snap.masters).sort()])];
      const writer = createBackupWriter(backupKey(r), begin, { needsMasterKeys });
      const written = pipeline(writer.stream, fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
      written.catch(() => {}); // awaited in finish(); a failure also ends the writes
      return {
        snapshot: { counts: snap.counts, masters: snap.masters, objects: snap.objects, needsMasterKeys },
        async database(onRows) {
          await snap.write(writer, onRows);
          await snap.close();
        },
        object: (name, bytes) => writer.object(name, bytes),
        missingObject: () => writer.missingObject(),
        async finish(extra) {
          const manifest = await writer.finish(extra);
          await written;
          return manifest;
        },
        close: () => snap.close(),
      };
    } catch (e) {
      await snap.close().catch(() => {});
      throw e;
    }
  };

  const postgresSnapshot = async (): Promise<Snapshot> => {
    // A connection of the pool in one REPEATABLE READ, READ ONLY transaction: every table as of its first
    // query; each table leaves it as `COPY … TO STDOUT` text.
    const pool = (strapi.db.connection as any).client;
    const conn = await pool.acquireConnection();
    const q = async (sql: string, params: unknown[] = []) => (await conn.query(sql, params)).rows;
    let open = true;
    const end = async (how: 'commit' | 'rollback') => {
      if (!open) return;
      open = false;
      try {
        await q(how);
      } finally {
        await pool.releaseConnection(conn);
      }
    };
    try {
      await q('begin isolation level repeatable read read only');
      const names: string[] = (await q(`select tablename from pg_tables where schemaname = current_schema()`)).map((r: any) => r.tablename);
      const fks = await q(
        `select tc.table_name as child, ccu.table_name as parent from information_schema.table_constraints tc
         join information_schema.constraint_column_usage ccu on tc.constraint_name = ccu.constraint_name and tc.table_schema = ccu.table_schema
         where tc.constraint_type = 'FOREIGN KEY' and tc.table_schema = current_schema()`
      );
      const parents = new Map<string, Set<string>>();
      for (const f of fks) parents.set(f.child, (parents.get(f.child) ?? new Set()).add(f.parent));
      const tables = byDependencies(names, parents);
      const columns = new Map<string, string[]>();
      for (const r of await q(`select table_name, column_name from information_schema.columns where table_schema = current_schema() order by table_name, ordinal_position`)) {
        columns.set(r.table_name, [...(columns.get(r.table_name) ?? []), r.column_name]);
      }
      const counts = new Map<string, number>();
      for (const t of tables) counts.set(t, Number((await q(`select count(*) as n from ${quote(t)}`))[0].n));
      const keys = dataKeyTable();
      const scans = scanTable();
      const masters: Record<string, number> = tables.includes(keys.name)
        ? Object.fromEntries((await q(`select ${quote(keys.masterColumn)} as v, count(*) as n from ${quote(keys.name)} group by 1`)).map((r: any) => [String(r.v), Number(r.n)]))
        : {};
      const objects: string[] = tables.includes(scans.name) ? (await q(`select ${quote(scans.objectColumn)} as o from ${quote(scans.name)} order by id`)).map((r: any) => String(r.o)) : [];
      return {
        counts,
        masters,
        objects,
        async write(writer, onRows) {
          const { to } = require('pg-copy-streams');
          for (const t of tables) {
            const cols = columns.get(t) ?? [];
            await writer.table(t, cols, counts.get(t)!);
            let pending: Buffer[] = [];
            let size = 0;
            for await (const chunk of conn.query(to(`copy ${quote(t)} (${cols.map(quote).join(', ')}) to stdout`))) {
              pending.push(chunk);
              size += chunk.length;
              if (size >= BACKUP_CHUNK) {
                await writer.copy(Buffer.concat(pending));
                pending = [];
                size = 0;
              }
            }
            if (size) await writer.copy(Buffer.concat(pending));
            onRows(counts.get(t)!);
          }
        },
        close: () => end('commit'),
      };
    } catch (e) {
      await end('rollback').catch(() => {});
      throw e;
    }
  };

  const dataKeyTable = () => {
    const m: any = strapi.db.metadata.get(UIDS.dataKey);
    const col = (a: string, d: string) => (m.attributes[a]?.columnName ?? d) as string;
    return { name: m.tableName as string, masterColumn: col('masterKeyId', 'master_key_id'), keyColumn: col('keyId', 'key_id'), wrappedColumn: col('wrapped', 'wrapped') };
  };

  const scanTable = () => {
    const m: any = strapi.db.metadata.get(UIDS.scan);
    return { name: m.tableName as string, objectColumn: (m.attributes.objectName.columnName ?? 'object_name') as string };
  };

  /** A directory's entries (a rename into it) made durable. */
  const syncDir = async (d: string) => {
    const handle = await fs.promises.open(d, 'r');
    await handle.sync().catch(() => {});
    await handle.close();
  };

  const list = async (): Promise<BackupFileInfo[]> => {
    const d = dir();
    if (!fs.existsSync(d)) return [];
    const out: BackupFileInfo[] = [];
    for (const file of (await fs.promises.readdir(d)).filter((n) => BACKUP_FILE.test(n)).sort().reverse()) {
      const full = path.join(d, file);
      const stat = await fs.promises.stat(full);
      const head = Buffer.alloc(4096);
      const fd = await fs.promises.open(full, 'r');
      let masterKeyId: string | null = null;
      let needsMasterKeys: string[] | null = null;
      try {
        const { bytesRead } = await fd.read(head, 0, head.length, 0);
        const header = readBackupHeader(head.subarray(0, bytesRead));
        masterKeyId = header.masterKeyId;
        needsMasterKeys = header.needsMasterKeys;
      } catch {
        masterKeyId = null;
      } finally {
        await fd.close();
      }
      out.push({ file, bytes: stat.size, createdAt: createdAtOf(file), masterKeyId, needsMasterKeys });
    }
    return out;
  };

  /** The schema of the live database: tables and their columns (what a restore loads into). */
  const liveSchema = async (knex: any): Promise<Map<string, Set<string>>> => {
    const out = new Map<string, Set<string>>();
    if (client() === 'postgres') {
      const rows = (await knex.raw(`select table_name, column_name from information_schema.columns where table_schema = current_schema()`)).rows;
      const tables = new Set((await knex.raw(`select tablename from pg_tables where schemaname = current_schema()`)).rows.map((r: any) => r.tablename));
      for (const r of rows) if (tables.has(r.table_name)) out.set(r.table_name, (out.get(r.table_name) ?? new Set()).add(r.column_name));
    } else {
      const tables = (await knex.raw(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`)).map((r: any) => r.name);
      for (const t of tables) out.set(t, new Set((await knex.raw(`pragma table_info(${quote(t)})`)).map((c: any) => c.name)));
    }
    return out;
  };

  /**
   * The decrypt check of a restore, before it is committed: DECRYPT_SAMPLE records of each content type with
   * encrypted fields, picked at random, every encrypted value of them decrypted with the data keys of the
   * restored rows (unwrapped with this ring); and one data key wrapped under each master key `masterKeys`
   * (those the archive's data keys need), unwrapped. Read with `query` (the load's transaction, or the image),
   * not through the document service, so that nothing but the cryptography decides.
   */
  const decryptCheck = async (query: Query, masterKeys: string[], perType = DECRYPT_SAMPLE) => {
    const fields = getService(strapi, 'fields');
    const r = ring();
    const dk = dataKeyTable();
    const keys = new Map<string, Buffer>();
    const keySql = `select ${quote(dk.keyColumn)} as k, ${quote(dk.wrappedColumn)} as w from ${quote(dk.name)}`;
    const unwrap = (row: any) => {
      keys.set(row.k, unwrapDataKey(r, row.w, row.k));
    };
    let checked = 0;
    let failures = 0;
    let keysChecked = 0;
    let keyFailures = 0;
    for (const master of masterKeys) {
      const [row] = await query(`${keySql} where ${quote(dk.masterColumn)} = ? limit 1`, [master]);
      keysChecked += 1;
      try {
        unwrap(row);
      } catch {
        keyFailures += 1;
      }
    }
    for (const uid of fields.uids()) {
      const meta: any = strapi.db.metadata.get(uid);
      const attrs = fields.of(uid).map((a) => ({ name: a.name, column: (meta.attributes[a.name]?.columnName ?? a.name) as string }));
      if (!attrs.length) continue;
      const docColumn = meta.attributes.documentId?.columnName ?? 'document_id';
      const rows = await query(`select ${[docColumn, ...attrs.map((a) => a.column)].map(quote).join(', ')} from ${quote(meta.tableName)} order by random() limit ${perType}`);
      const parsed = rows.flatMap((row) => attrs.filter((a) => row[a.column] !== null && row[a.column] !== undefined).map((a) => ({ row, a, p: parseCiphertext(row[a.column]) })));
      const missing = [...new Set(parsed.flatMap((x) => (x.p && !keys.has(x.p.keyId) ? [x.p.keyId] : [])))];
      for (let i = 0; i < missing.length; i += 500) {
        const part = missing.slice(i, i + 500);
        for (const row of await query(`${keySql} where ${quote(dk.keyColumn)} in (${part.map(() => '?').join(', ')})`, part)) {
          try {
            unwrap(row);
          } catch {
            // its values fail below
          }
        }
      }
      for (const { row, a, p } of parsed) {
        checked += 1;
        try {
          if (!p) throw new Error('not ciphertext');
          decryptParsed(p, (id) => keys.get(id), { uid, documentId: row[docColumn], field: a.name });
        } catch {
          failures += 1;
        }
      }
    }
    return { checked, failures, keysChecked, keyFailures };
  };

  /** The decrypt check, failing the load (which then rolls back) if a value or a data key does not open. */
  const mustDecrypt = async (query: Query, manifest: BackupManifest) => {
    const check = await decryptCheck(query, Object.keys(manifest.dataKeyMasterKeys ?? {}).sort());
    const bad = [check.failures ? `${check.failures} encrypted value(s)` : '', check.keyFailures ? `${check.keyFailures} data key(s)` : ''].filter(Boolean);
    if (bad.length) throw new Error(`${bad.join(' and ')} of the backup do not decrypt with its keys and this master key ring; nothing was restored`);
    return check;
  };

  /**
   * Inserts a format-1 archive's rows into a table within the load's transaction: one prepared statement on
   * SQLite, batches on PostgreSQL.
   */
  const inserter = async (trx: any) => {
    const insert = await rawInserter(trx);
    return async (table: string, columns: string[], rows: unknown[][]) => {
      try {
        await insert(table, columns, rows);
      } catch (e: any) {
        throw loadFailed(table, e);
      }
    };
  };

  const rawInserter = async (trx: any): Promise<(table: string, columns: string[], rows: unknown[][]) => Promise<void>> => {
    if (client() === 'postgres') {
      // Multi-row inserts written once per table and size (no query builder per row): at most 60,000 parameters.
      return async (table: string, columns: string[], rows: unknown[][]) => {
        const per = Math.max(1, Math.min(1000, Math.floor(60000 / Math.max(1, columns.length))));
        const one = `(${columns.map(() => '?').join(', ')})`;
        const head = `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values `;
        for (let i = 0; i < rows.length; i += per) {
          const part = rows.slice(i, i + per);
          await trx.raw(head + Array(part.length).fill(one).join(', '), part.flat());
        }
      };
    }
    // The transaction's own better-sqlite3 connection: a statement prepared once per table, run per row.
    const conn = await trx.client.acquireConnection();
    const statements = new Map<string, any>();
    const bindable = (v: unknown) => (typeof v === 'boolean' ? (v ? 1 : 0) : v instanceof Date ? v.getTime() : v);
    return async (table: string, columns: string[], rows: unknown[][]) => {
      let stmt = statements.get(table);
      if (!stmt) {
        stmt = conn.prepare(`insert into ${quote(table)} (${columns.map(quote).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
        statements.set(table, stmt);
      }
      for (const row of rows) stmt.run(row.map(bindable));
    };
  };

  /** The archive as a stream of big chunks. */
  const read = (file: string) => fs.createReadStream(file, { highWaterMark: READ_CHUNK });
  /** The archive's frames: those verifyKeeping() kept, or the file read (and authenticated) again. */
  const eachFrame = async (file: string, frames: BackupFrame[] | null, onFrame: (f: BackupFrame) => Promise<void>) => {
    if (!frames) return readBackup(read(file), ring(), onFrame);
    for (const f of frames) await onFrame(f);
  };

  /** `COPY … FROM STDIN` into one table after another, on the load transaction's PostgreSQL connection. */
  const copier = async (trx: any) => {
    const { from } = require('pg-copy-streams');
    const conn = await trx.client.acquireConnection();
    let current: { table: string; stream: Writable; done: Promise<void> } | null = null;
    return {
      start(table: string, columns: string[]) {
        const stream: Writable = conn.query(from(`copy ${quote(table)} (${columns.map(quote).join(', ')}) from stdin`));
        const done = finished(stream);
        done.catch(() => {});
        current = { table, stream, done };
      },
      async write(bytes: Buffer) {
        const c = current!;
        try {
          if (!c.stream.write(bytes)) await Promise.race([once(c.stream, 'drain'), c.done]);
        } catch (e) {
          throw loadFailed(c.table, e);
        }
      },
      async end() {
        const c = current;
        if (!c) return;
        current = null;
        c.stream.end();
        await c.done.catch((e) => {
          throw loadFailed(c.table, e);
        });
      },
    };
  };

  /** This process's backup in progress (at most one). */
  let current: RunningBackup | null = null;
  /** Backups being written now: this process's, with its progress, and those of other live processes on this machine (their temp files in the directory). */
  const running = async (): Promise<RunningBackup[]> => {
    const out: RunningBackup[] = current ? [{ ...current }] : [];
    for (const name of await fs.promises.readdir(dir()).catch(() => [] as string[])) {
      const pid = Number(TEMP_FILE.exec(name)?.[1]);
      if (!pid || pid === process.pid || !alive(pid)) continue;
      const file = name.slice(1).replace(/\.\d+\.part$/, '');
      const startedAt = BACKUP_FILE.test(file) ? createdAtOf(file) : (await fs.promises.stat(path.join(dir(), name)).catch(() => null))?.mtime.toISOString();
      if (startedAt) out.push({ file, startedAt, pid, trigger: null, done: null, total: null });
    }
    return out;
  };

  const service = {
    dir,
    list,
    running,

    /**
     * Writes one backup (`trigger`: who asked — cli, job, admin). Records backup.created with counts, size and
     * the file's SHA-256, or backup.failed; keeps the newest ID_VAULT_BACKUP_KEEP files.
     */
    async create(opts: { onProgress?: Progress; trigger?: string; caller?: Caller } = {}): Promise<BackupResult> {
      const trigger = opts.trigger ?? 'cli';
      const caller: Caller = opts.caller ?? { kind: 'system' };
      const d = dir();
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      const file = `idv-backup-${stamp}-${randomBytes(3).toString('hex')}.idvb`;
      const temp = path.join(d, `.${file}.${process.pid}.part`);
      let job: BackupJob | null = null;
      let mine: RunningBackup | null = null;
      try {
        // One backup at a time: this process's (checked and claimed before the first await), then other processes' temp files.
        if (current) throw busyError(current);
        current = mine = { file, startedAt: createdAtOf(file), pid: process.pid, trigger, done: null, total: null };
        await fs.promises.mkdir(d, { recursive: true, mode: 0o700 });
        await fs.promises.chmod(d, 0o700);
        const other = (await running()).find((b) => b.pid !== process.pid);
        if (other) throw busyError(other);
        await removeStaleTemps(d, TEMP_FILE);
        const r = ring();
        const begin = { format: BACKUP_FORMAT, createdAt: new Date().toISOString(), client: client(), ...versions(), masterKeyId: r.active.id };
        job = client() === 'postgres' ? await postgresJob(r, begin, temp) : await sqliteJob(r, begin, temp);
        // needsMasterKeys: which master keys a restore will need (the snapshot's data keys are wrapped under these).
        const { masters, objects, needsMasterKeys } = job.snapshot;
        const total = [...job.snapshot.counts.values()].reduce((a, b) => a + b, 0) + objects.length;
        const progress = (done: number) => {
          Object.assign(mine!, { done, total });
          opts.onProgress?.(done, total);
        };
        let done = 0;
        progress(0);
        await job.database((n) => progress((done += n)));
        // Scan objects never change once written (a new object gets a new name): those the snapshot's rows
        // name, copied after it. One erased since then is gone from the store: counted as missing.
        const store = getService(strapi, 'scans').store();
        for (const name of objects) {
          let sealed: Buffer | null = null;
          try {
            sealed = await store.get(name);
          } catch {
            job.missingObject();
          }
          if (sealed) await job.object(name, sealed);
          progress(++done);
        }
        const manifest = await job.finish({ dataKeyMasterKeys: masters });
        await job.close();
        job = null;
        // The file's SHA-256 on another core while this one waits for the fsync.
        const digest = fileDigest(temp);
        digest.catch(() => {});
        const handle = await fs.promises.open(temp, 'r');
        const { size: bytes } = await handle.stat();
        await handle.sync();
        await handle.close();
        const sha256 = await digest;
        await fs.promises.rename(temp, path.join(d, file));
        await syncDir(d);

        const result: BackupResult = {
          file,
          bytes,
          sha256,
          masterKeyId: r.active.id,
          tables: Object.keys(manifest.tables).length,
          rows: Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0),
          scans: manifest.scans.count,
          missingScans: manifest.scans.missing,
          needsMasterKeys,
          s3: 'off',
        };
        // The S3 copy (ID_VAULT_BACKUP_S3): the file as written, streamed up. A failure keeps the local file,
        // records backup.created with s3: 'failed' and then backup.failed, and fails the run.
        let s3Error: string | null = null;
        const remote = bucket();
        if (remote) {
          try {
            await remote.put(file, path.join(d, file));
            result.s3 = 'uploaded';
          } catch (e) {
            result.s3 = 'failed';
            s3Error = safeError(e);
          }
        }
        let pruned = 0;
        try {
          pruned = await service.prune();
        } catch (e) {
          if (!remote) throw e;
          result.s3 = 'failed'; // the S3 copies could not be listed or pruned
          s3Error ??= safeError(e);
        }
        await audit().record({ action: 'backup.created', outcome: 'success', caller, details: { ...result, trigger, pruned } });
        if (s3Error) throw new BackupS3Error(result, s3Error);
        return result;
      } catch (e) {
        await job?.close().catch(() => {});
        await fs.promises.rm(temp, { force: true }).catch(() => {});
        const s3Failed = e instanceof BackupS3Error;
        await audit()
          .record({
            action: 'backup.failed',
            outcome: 'failure',
            caller,
            details: { file, trigger, error: s3Failed ? `s3:${e.code}` : safeError(e), ...(s3Failed ? { s3: 'failed', local: 'kept' } : {}) },
          })
          .catch(() => {});
        throw e;
      } finally {
        if (mine && current === mine) current = null;
      }
    },

    /**
     * Back up now (the Backups page): starts a backup in the background and answers at once with it (409 while
     * one is being written, here or by another process on this machine). Its end is recorded as ever
     * (backup.created or backup.failed); the page follows it in status().running.
     */
    async start(caller: Caller): Promise<RunningBackup> {
      const busy = (await running())[0] ?? current; // current: claimed while running() read the directory
      if (busy) throw busyError(busy);
      service.create({ trigger: 'admin', caller }).catch((e) => strapi.log.warn(`id-vault: a backup asked for in the admin panel failed (${safeError(e)}); see backup.failed in the audit log`));
      return { ...current! };
    },

    /** The Backups page: kept files (newest first), the last success and failure (from the audit trail), the settings. */
    async status() {
      const meta: any = strapi.db.metadata.get(UIDS.auditEvent);
      const col = (a: string) => meta.attributes[a]?.columnName ?? a;
      const last = async (action: string) => {
        const row = await strapi.db
          .connection(meta.tableName)
          .where(col('action'), action)
          .orderBy('id', 'desc')
          .first({ at: col('occurredAt'), details: col('details') });
        if (!row) return null;
        const d = typeof row.details === 'string' ? JSON.parse(row.details) : row.details ?? {};
        return { at: new Date(row.at).toISOString(), file: d.file ?? null, bytes: d.bytes ?? null, error: d.error ?? null, trigger: d.trigger ?? null };
      };
      return {
        ...(await service.listing()),
        running: await running(),
        lastSuccess: await last('backup.created'),
        lastFailure: await last('backup.failed'),
        keep: keep(),
        cron: process.env.ID_VAULT_BACKUP_CRON ?? '0 2 * * *',
        activeMasterKeyId: ring().active.id,
      };
    },

    /** A kept backup as a stream, for the admin's download (recorded as backup.downloaded); 404 for any other name. */
    async download(file: unknown, caller: Caller) {
      if (typeof file !== 'string' || !BACKUP_FILE.test(file)) throw new errors.NotFoundError('backup not found');
      const full = path.join(dir(), file);
      const stat = await fs.promises.stat(full).catch(() => null);
      if (!stat?.isFile()) throw new errors.NotFoundError('backup not found');
      await audit().record({ action: 'backup.downloaded', outcome: 'success', caller, details: { file, bytes: stat.size } });
      return { file, bytes: stat.size, stream: fs.createReadStream(full) };
    },

    /**
     * Kept backups, newest first, each saying whether it is local and in S3 (ID_VAULT_BACKUP_S3); files only
     * in S3 are listed too (size and time from the bucket, header unread: masterKeyId null). A bucket that
     * cannot be listed leaves `s3: null` and `s3Error` (the error's kind).
     */
    async listing(): Promise<{ files: BackupListing[]; s3: boolean; s3Error: string | null }> {
      const local = await list();
      const remote = bucket();
      if (!remote) return { files: local.map((f) => ({ ...f, local: true, s3: null })), s3: false, s3Error: null };
      let objects: Array<{ name: string; bytes: number }>;
      try {
        objects = (await remote.list()).filter((o) => BACKUP_FILE.test(o.name));
      } catch (e) {
        return { files: local.map((f) => ({ ...f, local: true, s3: null })), s3: true, s3Error: safeError(e) };
      }
      const inS3 = new Set(objects.map((o) => o.name));
      const here = new Set(local.map((f) => f.file));
      const files: BackupListing[] = [
        ...local.map((f) => ({ ...f, local: true, s3: inS3.has(f.file) })),
        ...objects.filter((o) => !here.has(o.name)).map((o) => ({ file: o.name, bytes: o.bytes, createdAt: createdAtOf(o.name), masterKeyId: null, needsMasterKeys: null, local: false, s3: true })),
      ];
      files.sort((a, b) => (a.file < b.file ? 1 : a.file > b.file ? -1 : 0));
      return { files, s3: true, s3Error: null };
    },

    /** Removes all but the newest ID_VAULT_BACKUP_KEEP backups, locally and (ID_VAULT_BACKUP_S3) in S3; returns how many local files went. */
    async prune(): Promise<number> {
      const files = await list();
      const gone = files.slice(keep());
      for (const f of gone) await fs.promises.rm(path.join(dir(), f.file), { force: true });
      const remote = bucket();
      if (remote) {
        const names = (await remote.list()).map((o) => o.name).filter((n) => BACKUP_FILE.test(n)).sort().reverse();
        for (const name of names.slice(keep())) await remote.delete(name);
      }
      return gone.length;
    },

    /** The scheduled backup (ID_VAULT_BACKUP_CRON): once per trigger across every process. */
    job(now = new Date()) {
      return onceAcrossProcesses(strapi, `backup:${now.toISOString().slice(0, 16)}`, () => service.create({ trigger: 'job' }));
    },

    /** Reads a backup whole, every segment and digest checked; the manifest, or IdVaultCryptoError. */
    verify(file: string, onBytes?: (n: number) => void): Promise<BackupManifest> {
      return readBackup(read(file), ring(), undefined, onBytes);
    },

    /**
     * verify(), keeping the archive's frames in memory when they fit in `keepBytes` (ID_VAULT_RESTORE_MEMORY_MB,
     * default 512 MiB): load() then takes them instead of reading (and decrypting) the file a second time.
     * `frames` is null when the archive is larger. On SQLite the image is staged beside the database as it is
     * opened (backup-stage.ts; removed when the archive fails). Nothing reaches the database or the scan store
     * before the whole file verified.
     */
    async verifyKeeping(file: string, onBytes?: (n: number) => void, keepBytes = restoreMemory()): Promise<Verified> {
      return verifyKeeping(file, ring(), onBytes, keepBytes, client() === 'sqlite' ? sqliteFile() : undefined);
    },

    /**
     * Restore, the loading part, on the database this process started on (its schema just created), from what
     * verifyKeeping() handed over: its frames, or else the archive read (and authenticated) again as it loads
     * (a file changed since it was verified fails).
     * - formats 2 and 3, SQLite: the page image verifyKeeping() staged beside the database is fsynced; its size
     *   and digest (format 3: of the file as written), tables and row counts are checked against the manifest and
     *   the decrypt check runs on it; then the scan objects are written; only then does it take the database's
     *   place (closed connections, a rename, connections opened again): all of it or nothing. No other process
     *   may have the database open meanwhile (stop the app);
     * - formats 2 and 3, PostgreSQL: in one transaction, every table truncated and loaded with `COPY … FROM STDIN`,
     *   the row counts checked, the sequences set past the restored ids, the decrypt check — a failure rolls
     *   everything back;
     * - format 1: the same transaction, rows inserted (a prepared statement per table on SQLite).
     * Lifecycles are bypassed (ciphertext moves as stored); the scan objects are written to the store as they come.
     */
    async load(file: string, manifest: BackupManifest, onProgress?: Progress, verified: Verified | null = null): Promise<Loaded> {
      const frames = verified?.frames ?? null;
      if (manifest.client !== client()) throw new Error(`this backup is of a ${manifest.client} database; it restores into ${manifest.client} only (this one is ${client()})`);
      const live = await liveSchema(strapi.db.connection);
      for (const [name, t] of Object.entries(manifest.tables)) {
        const have = live.get(name);
        const missing = have ? t.columns.filter((c) => !have.has(c)) : null;
        if (!have || missing!.length) {
          throw new Error(`the backup does not fit this database's schema (${have ? `table ${name} lacks column(s) ${missing!.join(', ')}` : `no table ${name}`}): restore with the version that made it (Strapi ${manifest.strapiVersion}, plugin ${manifest.pluginVersion})`);
        }
      }
      // This process's own audit chaining stops here: the chain is replaced whole.
      await audit().flush();
      await audit().close();
      const rows = Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0);
      const total = rows + manifest.scans.count;
      const store = getService(strapi, 'scans').store();
      let done = 0;
      let scans = 0;
      // Scan objects are written up to PUTS at a time (the store's writes wait on the disk or the network).
      const writing = new Set<Promise<void>>();
      let putFailed: unknown = null;
      const object = async (name: string, bytes: Buffer) => {
        if (putFailed) throw putFailed;
        const put: Promise<void> = store.put(name, bytes).then(
          () => {
            scans += 1;
            onProgress?.(++done, total);
          },
          (e) => {
            putFailed ??= e;
          }
        );
        writing.add(put);
        put.finally(() => writing.delete(put));
        if (writing.size >= PUTS) await Promise.race(writing);
      };
      /** Every object written (also after a failure elsewhere: nothing is left running); the first failure, if any. */
      const written = async () => {
        await Promise.all(writing);
        if (putFailed) throw putFailed;
      };
      const counted = (t: string, n: number) => {
        if (n !== manifest.tables[t].rows) throw new Error(`table ${t} holds ${n} rows after the load, the manifest says ${manifest.tables[t].rows}; nothing was restored`);
      };

      if (manifest.format >= 2 && client() === 'sqlite') {
        // The image verifyKeeping() staged beside the database is checked there — its size and SHA-256
        // (format 3), its tables and their row counts, the decrypt check — and only then takes the database's
        // place, with one rename: the database is the old one or the restored one, never a mix.
        const target = sqliteFile();
        const temp = restoreTempOf(target);
        const staged = verified?.image;
        if (staged?.file !== temp) {
          if (staged) await fs.promises.rm(staged.file, { force: true });
          throw new Error('the database image was not staged beside this database (verify the backup with this app\'s database settings first); nothing was restored');
        }
        /** The image file opened read-only: the manifest's tables, each with its row count; the decrypt check. */
        const checkImage = async (image: string) => {
          const Database = require('better-sqlite3');
          const db = new Database(image, { readonly: true, fileMustExist: true });
          try {
            const tables = sqliteTables(db);
            if (tables.join('\u0000') !== Object.keys(manifest.tables).sort().join('\u0000')) throw new Error('the database image holds other tables than its manifest lists; nothing was restored');
            for (const t of tables) counted(t, Number(db.prepare(`select count(*) from ${quote(t)}`).pluck().get()));
            return await mustDecrypt(async (sql, params = []) => db.prepare(sql).all(...params), manifest);
          } finally {
            db.close();
          }
        };
        let swapped = false;
        try {
          if (staged.bytes !== manifest.image?.bytes) throw new Error('the database image is not of the manifest size; nothing was restored');
          // The staged file's digest on another core, its fsync on libuv's threads, while the checks run here;
          // the scan objects only once the image passed them.
          const digest = manifest.format >= 3 ? fileDigest(temp) : null;
          digest?.catch(() => {});
          const out = await fs.promises.open(temp, 'r+');
          let check: Awaited<ReturnType<typeof mustDecrypt>>;
          try {
            const synced = out.sync();
            synced.catch(() => {});
            try {
              check = await checkImage(temp);
            } finally {
              await synced;
            }
          } finally {
            await out.close();
          }
          if (digest && (await digest) !== manifest.image.sha256) throw new Error('the database image does not match its digest in the manifest; nothing was restored');
          await eachFrame(file, frames, async (f) => {
            if (f.type === 'object') await object(f.name, f.bytes);
          }).catch(async (e) => {
            await Promise.all(writing);
            throw e;
          });
          await written();
          // The swap: this process's connections closed (the old database's log folded in and removed), any
          // journal file left removed (SQLite would apply it to the new file), the restored file renamed into
          // place, the connections opened again — on the restored database.
          const knex: any = strapi.db.connection;
          await knex.destroy();
          try {
            for (const suffix of ['-wal', '-shm', '-journal']) await fs.promises.rm(target + suffix, { force: true });
            await fs.promises.rename(temp, target);
            swapped = true;
            await syncDir(path.dirname(target));
          } finally {
            knex.initialize();
          }
          onProgress?.((done += rows), total);
          return { rows, scans, decryptChecked: check.checked, dataKeysChecked: check.keysChecked };
        } finally {
          if (!swapped) await fs.promises.rm(temp, { force: true });
        }
      }

      const tables = [...live.keys()];
      return strapi.db.transaction(async ({ trx }: any) => {
        // PostgreSQL: the tables' own triggers (the scope mirror's) are off during the load, inside its
        // transaction: the rows come with the values those triggers kept, and every start-up reconciles the
        // mirror anyway. Foreign keys are still checked.
        let triggered: string[] = [];
        if (client() === 'postgres') {
          await trx.raw(`truncate ${tables.map(quote).join(', ')} restart identity cascade`);
          triggered = (
            await trx.raw(
              `select distinct c.relname as t from pg_trigger g join pg_class c on c.oid = g.tgrelid join pg_namespace n on n.oid = c.relnamespace where not g.tgisinternal and n.nspname = current_schema()`
            )
          ).rows.map((r: any) => r.t);
          for (const t of triggered) await trx.raw(`alter table ${quote(t)} disable trigger user`);
        } else {
          await trx.raw('pragma defer_foreign_keys = on');
          for (const t of tables) await trx.raw(`delete from ${quote(t)}`);
        }
        const insert = manifest.format === 1 ? await inserter(trx) : null;
        const copy = manifest.format >= 2 ? await copier(trx) : null;
        let table: { name: string; columns: string[] } | null = null;
        await eachFrame(file, frames, async (f) => {
          if (f.type === 'table') {
            await copy?.end();
            table = { name: f.name, columns: f.columns };
            if (copy) {
              copy.start(f.name, f.columns);
              onProgress?.((done += manifest.tables[f.name].rows), total);
            }
          } else if (f.type === 'rows' && table && insert) {
            await insert(table.name, table.columns, f.rows);
            onProgress?.((done += f.rows.length), total);
          } else if (f.type === 'copy' && copy) await copy.write(f.bytes);
          else if (f.type === 'object') {
            await copy?.end();
            await object(f.name, f.bytes);
          }
        }).catch(async (e) => {
          await Promise.all(writing);
          throw e;
        });
        await copy?.end();
        await written();
        for (const t of triggered) await trx.raw(`alter table ${quote(t)} enable trigger user`);
        if (client() === 'postgres') {
          for (const t of tables) {
            if (!live.get(t)!.has('id')) continue;
            const seq = (await trx.raw(`select pg_get_serial_sequence(?, 'id') as s`, [quote(t)])).rows[0]?.s;
            if (seq) await trx.raw(`select setval(?, coalesce((select max(id) from ${quote(t)}), 1), (select max(id) from ${quote(t)}) is not null)`, [seq]);
          }
        }
        if (copy) for (const t of Object.keys(manifest.tables)) counted(t, Number((await trx.raw(`select count(*) as n from ${quote(t)}`)).rows[0].n));
        // Nothing past the storage boundary unchecked: a sample of every encrypted type, a key of every master key.
        const check = await mustDecrypt(knexQuery(trx), manifest);
        return { rows: done - scans, scans, decryptChecked: check.checked, dataKeysChecked: check.keysChecked };
      });
    },

    /**
     * Restore, the checking part, on a fresh start after load(): the start-up has re-applied the erasure
     * ledger; this verifies the audit chain, decrypts a sample of every encrypted type, and records
     * backup.restored (failure if either check failed).
     */
    async afterRestore(file: string, manifest: BackupManifest, loaded: Loaded): Promise<RestoreCheck> {
      await audit().flush();
      const verified = await audit().verify();
      const sample = await decryptCheck(knexQuery(strapi.db.connection), [], 50);
      const check: RestoreCheck = {
        ledgerReplayed: getService(strapi, 'erasure').lastReplayed(),
        documentsReplayed: getService(strapi, 'erasure').lastReplayedDocuments(),
        audit: { ok: verified.ok, count: verified.count, ...(verified.ok ? {} : { reason: String((verified as any).reason) }) },
        decryptChecked: sample.checked,
        decryptFailures: sample.failures,
      };
      const ok = check.audit.ok && !check.decryptFailures;
      await audit().record({
        action: 'backup.restored',
        outcome: ok ? 'success' : 'failure',
        caller: { kind: 'system' },
        details: {
          file: path.basename(file),
          createdAt: manifest.createdAt,
          masterKeyId: manifest.masterKeyId,
          tables: Object.keys(manifest.tables).length,
          rows: loaded.rows,
          scans: loaded.scans,
          decryptCheckedOnLoad: loaded.decryptChecked,
          dataKeysCheckedOnLoad: loaded.dataKeysChecked,
          ...check,
        },
      });
      await audit().flush();
      return check;
    },
  };
  return service;
};

export type BackupService = ReturnType<typeof backup>;
export default backup;
