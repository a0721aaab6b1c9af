/** Erasure with the local scan store: the ledger is a file per installation in ID_VAULT_LEDGER_DIR. */
import fs from 'fs';
import path from 'path';
import { randomBytes } from 'crypto';
import { ROOT } from '../helpers/strapi';
import { erasureSuite } from './erasure.shared';

const dir = path.join(ROOT, '.tmp', 'test', `ledger-${randomBytes(4).toString('hex')}`);
const file = () => path.join(dir, fs.readdirSync(dir)[0]);

erasureSuite({
  kind: 'local',
  async before() {
    const saved = process.env.ID_VAULT_LEDGER_DIR;
    process.env.ID_VAULT_LEDGER_DIR = dir;
    return async () => {
      fs.rmSync(dir, { recursive: true, force: true });
      if (saved === undefined) delete process.env.ID_VAULT_LEDGER_DIR;
      else process.env.ID_VAULT_LEDGER_DIR = saved;
    };
  },
  text: async () => fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join(''),
  async tamper(change) {
    const original = fs.readFileSync(file(), 'utf8');
    fs.writeFileSync(file(), change(original));
    return async () => fs.writeFileSync(file(), original);
  },
  elsewhere() {
    const empty = path.join(ROOT, '.tmp', 'test', `ledger-empty-${randomBytes(4).toString('hex')}`);
    process.env.ID_VAULT_LEDGER_DIR = empty;
    return () => {
      process.env.ID_VAULT_LEDGER_DIR = dir;
      fs.rmSync(empty, { recursive: true, force: true });
    };
  },
  firstEntry: /line 1/,
});
