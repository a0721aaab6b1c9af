/**
 * Start-up: a missing or malformed master key is refused with a message that says how to create one;
 * a good start is recorded in the audit trail with the active key id; `npm run keys:generate` prints an
 * entry that works; the favicon is served.
 */
import path from 'path';
import { spawnSync } from 'child_process';
import { bootStrapi, newMasterKeyEntry, ROOT } from '../helpers/strapi';

const saved = process.env.ID_VAULT_MASTER_KEYS;
afterEach(() => {
  process.env.ID_VAULT_MASTER_KEYS = saved;
});

test.each([
  ['missing', ''],
  ['malformed', 'k1:not-base64-and-too-short'],
  ['wrong-length', `k1:${Buffer.alloc(16).toString('base64')}`],
])('a %s master key is refused with a message that says how to create one', async (_label, value) => {
  process.env.ID_VAULT_MASTER_KEYS = value;
  await expect(bootStrapi()).rejects.toThrow(/ID_VAULT_MASTER_KEYS.*npm run keys:generate/s);
});

test('keys:generate prints an entry that starts the vault, and start-up is audited with its key id', async () => {
  const out = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'keys-generate.js'), 'k2027rotation'], { encoding: 'utf8' });
  expect(out.status).toBe(0);
  const entry = out.stdout.trim();
  expect(entry).toMatch(/^k2027rotation:[A-Za-z0-9+/]{43}=$/);
  process.env.ID_VAULT_MASTER_KEYS = `${entry},${newMasterKeyEntry('older')}`;
  const app = await bootStrapi();
  try {
    await app.strapi.plugin('id-vault').service('audit').flush();
    const [start] = await app.strapi.db.query('plugin::id-vault.audit-event').findMany({ where: { action: 'vault.start' } });
    expect(start).toMatchObject({ actorType: 'system', outcome: 'success', details: { activeMasterKeyId: 'k2027rotation' } });
    expect(JSON.stringify(start)).not.toContain(entry.split(':')[1]);
  } finally {
    await app.close();
  }
});

test('the favicon is served (a missing file made every page load answer 500)', async () => {
  process.env.ID_VAULT_MASTER_KEYS = newMasterKeyEntry();
  const app = await bootStrapi();
  try {
    const res = await app.http().get('/favicon.ico');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^image\//);
  } finally {
    await app.close();
  }
});
