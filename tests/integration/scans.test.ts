/** Identity-document scans on the local store (the default): a private directory of sealed objects. */
import fs from 'fs';
import path from 'path';
import { randomBytes } from 'crypto';
import { ROOT } from '../helpers/strapi';
import { scanSuite } from './scans.shared';

scanSuite({
  kind: 'local',
  async before() {
    const dir = path.join(ROOT, '.tmp', 'test', `scans-${randomBytes(4).toString('hex')}`);
    process.env.ID_VAULT_SCAN_STORE = 'local';
    process.env.ID_VAULT_SCAN_DIR = dir;
    return async () => {
      delete process.env.ID_VAULT_SCAN_DIR;
      fs.rmSync(dir, { recursive: true, force: true });
    };
  },
});
