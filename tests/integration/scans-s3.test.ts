/**
 * Identity-document scans on the S3 store, against s3rver on loopback (started here). s3rver enforces no
 * privacy, so the suite proves what is in the bucket is ciphertext; the Media Library's aws-s3 provider is
 * configured private beside it.
 */
import fs from 'fs';
import path from 'path';
import { randomBytes } from 'crypto';
import { ROOT } from '../helpers/strapi';
import { scanSuite } from './scans.shared';

const S3rver = require('s3rver');
const BUCKET = 'idv-test-scans';

scanSuite({
  kind: 's3',
  async before() {
    const dir = path.join(ROOT, '.tmp', 'test', `s3rver-${randomBytes(4).toString('hex')}`);
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
    const { port } = await server.run();
    Object.assign(process.env, {
      ID_VAULT_SCAN_STORE: 's3',
      ID_VAULT_S3_BUCKET: BUCKET,
      ID_VAULT_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      ID_VAULT_S3_REGION: 'us-east-1',
      ID_VAULT_S3_ACCESS_KEY_ID: 'S3RVER',
      ID_VAULT_S3_SECRET_ACCESS_KEY: 'S3RVER',
    });
    return async () => {
      for (const k of ['ID_VAULT_SCAN_STORE', 'ID_VAULT_S3_BUCKET', 'ID_VAULT_S3_ENDPOINT', 'ID_VAULT_S3_REGION', 'ID_VAULT_S3_ACCESS_KEY_ID', 'ID_VAULT_S3_SECRET_ACCESS_KEY']) delete process.env[k];
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  },
});
