/**
 * Erasure with the S3 scan store (s3rver on loopback, started here): the ledger is one object per entry in
 * the same bucket, under its own prefix, and no ledger directory is written on local disk.
 */
import fs from 'fs';
import path from 'path';
import { randomBytes } from 'crypto';
import { S3Client, ListObjectsV2Command, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ROOT } from '../helpers/strapi';
import { erasureSuite } from './erasure.shared';

const S3rver = require('s3rver');
const BUCKET = 'idv-test-erasures';
const PREFIX = 'id-vault-erasures/';
const ENV = ['ID_VAULT_SCAN_STORE', 'ID_VAULT_S3_BUCKET', 'ID_VAULT_S3_ENDPOINT', 'ID_VAULT_S3_REGION', 'ID_VAULT_S3_ACCESS_KEY_ID', 'ID_VAULT_S3_SECRET_ACCESS_KEY', 'ID_VAULT_LEDGER_DIR'];
const localDir = path.join(ROOT, '.tmp', 'test', `ledger-unused-${randomBytes(4).toString('hex')}`);
let client: S3Client;

const keys = async () => ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX }))).Contents ?? []).map((o) => String(o.Key));
const body = async (Key: string) => (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body!.transformToString('utf8');
const put = (Key: string, text: string) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: text }));

erasureSuite({
  kind: 's3',
  async before() {
    const dir = path.join(ROOT, '.tmp', 'test', `s3rver-${randomBytes(4).toString('hex')}`);
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
    const { port } = await server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    Object.assign(process.env, {
      ID_VAULT_SCAN_STORE: 's3',
      ID_VAULT_S3_BUCKET: BUCKET,
      ID_VAULT_S3_ENDPOINT: endpoint,
      ID_VAULT_S3_REGION: 'us-east-1',
      ID_VAULT_S3_ACCESS_KEY_ID: 'S3RVER',
      ID_VAULT_S3_SECRET_ACCESS_KEY: 'S3RVER',
      // Set, to show it is not used with the S3 store.
      ID_VAULT_LEDGER_DIR: localDir,
    });
    client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    return async () => {
      expect(fs.existsSync(localDir)).toBe(false);
      for (const k of ENV) delete process.env[k];
      client.destroy();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  },
  async text() {
    const all = await keys();
    expect(all.every((k) => /^id-vault-erasures\/[0-9a-f]{24}\/\d{15}-[0-9a-f]{12}\.json$/.test(k))).toBe(true);
    return (await Promise.all(all.map(body))).join('\n');
  },
  async tamper(change) {
    const [key] = await keys();
    const original = await body(key);
    await put(key, change(original));
    return async () => {
      await put(key, original);
    };
  },
  elsewhere() {
    process.env.ID_VAULT_S3_LEDGER_PREFIX = 'elsewhere-erasures/';
    return () => {
      delete process.env.ID_VAULT_S3_LEDGER_PREFIX;
    };
  },
  firstEntry: /object id-vault-erasures\/[0-9a-f]{24}\/\S+\.json/,
});
