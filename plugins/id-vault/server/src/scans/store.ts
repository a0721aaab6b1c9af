import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Where sealed scan objects live. Only ciphertext (crypto/segments.ts) ever reaches a store; names are
 * random and carry no personal data. Nothing here is ever served by URL: the plugin reads, decrypts and
 * streams itself.
 */
export interface ScanStore {
  readonly kind: 'local' | 's3';
  /** A stream is written as it is read (an upload's ciphertext need not be held whole beside its plaintext). */
  put(name: string, sealed: Buffer | Readable): Promise<void>;
  get(name: string): Promise<Buffer>;
  stream(name: string): Promise<Readable>;
  delete(name: string): Promise<void>;
  /** Every object name (for the orphan sweep and the tests' raw scans). */
  list(): Promise<string[]>;
}

export interface ScanStoreConfig {
  store: 'local' | 's3';
  /** Local: a private directory, outside public/ and outside what `strapi develop` watches. */
  dir: string;
  s3?: { bucket: string; prefix: string; region: string; endpoint?: string; forcePathStyle?: boolean; accessKeyId?: string; secretAccessKey?: string } | null;
}

/** A random object name: 32 hex characters. */
export const newObjectName = () => randomBytes(16).toString('hex');
const NAME = /^[0-9a-f]{32}$/;
const checked = (name: string) => {
  if (!NAME.test(name)) throw new Error('id-vault: bad scan object name');
  return name;
};

/** Local disk: <dir>/<2 hex>/<name>, directories 0700, files 0600, written to a temp name and renamed. */
const localStore = (dir: string): ScanStore => {
  const file = (name: string) => path.join(dir, checked(name).slice(0, 2), name);
  // Shard directories this store made or found: a restore writes thousands of objects, one mkdir a shard
  // (one removed since is made again).
  const shards = new Set<string>();
  const mkdir = async (shard: string) => {
    await fs.promises.mkdir(shard, { recursive: true, mode: 0o700 });
    shards.add(shard);
  };
  return {
    kind: 'local',
    async put(name, sealed) {
      const target = file(name);
      const shard = path.dirname(target);
      const temp = `${target}.${randomBytes(4).toString('hex')}.part`;
      try {
        if (Buffer.isBuffer(sealed)) {
          if (!shards.has(shard)) await mkdir(shard);
          const write = () => fs.promises.writeFile(temp, sealed, { mode: 0o600, flag: 'wx' });
          await write().catch(async (e) => {
            if (e?.code !== 'ENOENT') throw e;
            await mkdir(shard);
            await write();
          });
        } else {
          await mkdir(shard);
          await pipeline(sealed, fs.createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
        }
      } catch (e) {
        await fs.promises.rm(temp, { force: true });
        throw e;
      }
      await fs.promises.rename(temp, target);
    },
    get: (name) => fs.promises.readFile(file(name)),
    stream: async (name) => fs.createReadStream(file(name)),
    async delete(name) {
      await fs.promises.rm(file(name), { force: true });
    },
    async list() {
      if (!fs.existsSync(dir)) return [];
      const shards = await fs.promises.readdir(dir);
      const names = await Promise.all(shards.map(async (s) => (await fs.promises.readdir(path.join(dir, s)).catch(() => [])) as string[]));
      return names.flat().filter((n) => NAME.test(n));
    },
  };
};

type S3Config = NonNullable<ScanStoreConfig['s3']>;

/**
 * @aws-sdk/client-s3 (the upload provider's own dependency), loaded only when configured: the SDK is large.
 * Checksums only where an operation requires them: a streamed body then goes out as a plain PUT with its
 * Content-Length (not aws-chunked with a trailing checksum, which not every S3-compatible store takes).
 */
export const s3Client = (cfg: S3Config) => {
  const sdk = require('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    region: cfg.region,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    endpoint: cfg.endpoint,
    forcePathStyle: cfg.forcePathStyle ?? !!cfg.endpoint,
    ...(cfg.accessKeyId ? { credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } } : {}),
  });
  /** Every key under `prefix`, in the bucket's (lexical) order. */
  const keys = async (prefix: string): Promise<string[]> => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.push(String(o.Key));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  };
  return { sdk, client, keys };
};

/** S3, in a private bucket or prefix. */
const s3Store = (cfg: S3Config): ScanStore => {
  const { sdk, client, keys } = s3Client(cfg);
  const { PutObjectCommand, GetObjectCommand, DeleteObjectCommand } = sdk;
  const Key = (name: string) => `${cfg.prefix}${checked(name)}`;
  const body = async (name: string): Promise<Readable> => (await client.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: Key(name) }))).Body;
  return {
    kind: 's3',
    async put(name, sealed) {
      // Held whole here: a streamed body goes out aws-chunked with the SDK's default checksums, which not
      // every S3-compatible store takes.
      const Body = Buffer.isBuffer(sealed) ? sealed : Buffer.concat(await sealed.toArray());
      await client.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: Key(name), Body, ACL: 'private', ContentType: 'application/octet-stream' }));
    },
    async get(name) {
      const chunks: Buffer[] = [];
      for await (const c of await body(name)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    },
    stream: body,
    async delete(name) {
      await client.send(new DeleteObjectCommand({ Bucket: cfg.bucket, Key: Key(name) }));
    },
    async list() {
      return (await keys(cfg.prefix)).map((k) => k.slice(cfg.prefix.length)).filter((n) => NAME.test(n));
    },
  };
};

export const createScanStore = (cfg: ScanStoreConfig): ScanStore => {
  if (cfg.store === 's3') {
    if (!cfg.s3?.bucket) throw new Error('id-vault: ID_VAULT_SCAN_STORE=s3 needs ID_VAULT_S3_BUCKET (and region, credentials, endpoint as needed)');
    return s3Store(cfg.s3);
  }
  return localStore(cfg.dir);
};

/**
 * Where the erasure ledger lives: beside the scan store, never in the database or its backups. Local: one
 * append-only file per installation id in a directory of its own, each line fsynced. S3 (with the S3 scan
 * store): one object per entry under a prefix of the same bucket, `<prefix><installation id>/<time>-<random>.json`
 * (S3 cannot append; a PUT is atomic, so an entry is there whole or not at all).
 */
export interface LedgerStore {
  /** For messages: the file or the bucket and prefix. */
  where(name: string): string;
  append(name: string, line: string): Promise<void>;
  /** Every entry in the order written, each with where it is (a line number or an object key) for messages. */
  read(name: string): Promise<Array<{ at: string; line: string }>>;
}

export interface LedgerStoreConfig {
  store: 'local' | 's3';
  dir: string;
  s3?: (S3Config & { ledgerPrefix?: string }) | null;
}

const INSTALL = /^[0-9a-f]{24}$/;
const install = (name: string) => {
  if (!INSTALL.test(name)) throw new Error('id-vault: bad installation id for the erasure ledger');
  return name;
};

const localLedger = (dir: string): LedgerStore => {
  const file = (name: string) => path.join(dir, `${install(name)}.jsonl`);
  return {
    where: file,
    async append(name, line) {
      await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
      const handle = await fs.promises.open(file(name), 'a', 0o600);
      try {
        await handle.write(`${line}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    async read(name) {
      if (!fs.existsSync(file(name))) return [];
      const lines = (await fs.promises.readFile(file(name), 'utf8')).split('\n');
      return lines.flatMap((line, i) => (line.trim() ? [{ at: `line ${i + 1}`, line }] : []));
    },
  };
};

const s3Ledger = (cfg: S3Config & { ledgerPrefix?: string }): LedgerStore => {
  const { sdk, client, keys } = s3Client(cfg);
  const prefix = (name: string) => `${cfg.ledgerPrefix ?? 'id-vault-erasures/'}${install(name)}/`;
  return {
    where: (name) => `s3://${cfg.bucket}/${prefix(name)}`,
    async append(name, line) {
      // Time first (zero-padded milliseconds), so the bucket's order is the order of writing.
      const Key = `${prefix(name)}${String(Date.now()).padStart(15, '0')}-${randomBytes(6).toString('hex')}.json`;
      await client.send(new sdk.PutObjectCommand({ Bucket: cfg.bucket, Key, Body: Buffer.from(line, 'utf8'), ACL: 'private', ContentType: 'application/json' }));
    },
    async read(name) {
      const all = await keys(prefix(name));
      const out: Array<{ at: string; line: string }> = new Array(all.length);
      // A few GETs at a time: a start-up reads the whole ledger.
      let next = 0;
      const worker = async () => {
        while (next < all.length) {
          const i = next++;
          const res = await client.send(new sdk.GetObjectCommand({ Bucket: cfg.bucket, Key: all[i] }));
          out[i] = { at: `object ${all[i]}`, line: await res.Body.transformToString('utf8') };
        }
      };
      await Promise.all(Array.from({ length: Math.min(8, all.length) }, worker));
      return out;
    },
  };
};

export const createLedgerStore = (cfg: LedgerStoreConfig): LedgerStore => {
  if (cfg.store === 's3') {
    if (!cfg.s3?.bucket) throw new Error('id-vault: the S3 scan store needs ID_VAULT_S3_BUCKET for the erasure ledger too');
    return s3Ledger(cfg.s3);
  }
  return localLedger(cfg.dir);
};

/**
 * Backups in S3 (ID_VAULT_BACKUP_S3): `<prefix><file name>`, the file as written locally (ciphertext whole),
 * streamed up with its Content-Length and `ACL: private`. Names are checked by the caller (BACKUP_FILE).
 */
export interface BackupBucket {
  where(name: string): string;
  put(name: string, file: string): Promise<void>;
  /** Writes the object to `target` (a new file, 0600). */
  download(name: string, target: string): Promise<number>;
  /** Every object directly under the prefix: name, bytes. */
  list(): Promise<Array<{ name: string; bytes: number }>>;
  delete(name: string): Promise<void>;
}

export const createBackupBucket = (cfg: S3Config): BackupBucket => {
  const { sdk, client } = s3Client(cfg);
  const Key = (name: string) => `${cfg.prefix}${name}`;
  return {
    where: (name) => `s3://${cfg.bucket}/${Key(name)}`,
    async put(name, file) {
      const { size } = await fs.promises.stat(file);
      await client.send(
        new sdk.PutObjectCommand({ Bucket: cfg.bucket, Key: Key(name), Body: fs.createReadStream(file), ContentLength: size, ACL: 'private', ContentType: 'application/octet-stream' })
      );
    },
    async download(name, target) {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: cfg.bucket, Key: Key(name) }));
      let bytes = 0;
      const count = async function* (source: AsyncIterable<Buffer>) {
        for await (const c of source) {
          bytes += c.length;
          yield c;
        }
      };
      await pipeline(res.Body as Readable, count, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      return bytes;
    },
    async list() {
      const out: Array<{ name: string; bytes: number }> = [];
      let token: string | undefined;
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: cfg.prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          const name = String(o.Key).slice(cfg.prefix.length);
          if (!name.includes('/')) out.push({ name, bytes: Number(o.Size ?? 0) });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async delete(name) {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: cfg.bucket, Key: Key(name) }));
    },
  };
};
