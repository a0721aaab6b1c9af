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
  return {
    kind: 'local',
    async put(name, sealed) {
      const target = file(name);
      await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      const temp = `${target}.${randomBytes(4).toString('hex')}.part`;
      try {
        await pipeline(Buffer.isBuffer(sealed) ? Readable.from([sealed]) : sealed, fs.createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
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

/** S3 through @aws-sdk/client-s3 (the upload provider's own dependency), in a private bucket or prefix. */
const s3Store = (cfg: NonNullable<ScanStoreConfig['s3']>): ScanStore => {
  // Loaded only when configured: the SDK is large.
  const { S3Client, PutObjectCommand, GetObjectCommand, DeleteObjectCommand, ListObjectsV2Command } = require('@aws-sdk/client-s3');
  const client = new S3Client({
    region: cfg.region,
    endpoint: cfg.endpoint,
    forcePathStyle: cfg.forcePathStyle ?? !!cfg.endpoint,
    ...(cfg.accessKeyId ? { credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } } : {}),
  });
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
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: cfg.prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) names.push(String(o.Key).slice(cfg.prefix.length));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return names.filter((n) => NAME.test(n));
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
