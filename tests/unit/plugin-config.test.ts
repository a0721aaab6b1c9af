/** The plugin's config validator: the S3 store's erasure-ledger prefix must stay apart from the scans'. */
import config from '../../plugins/id-vault/server/src/config';

const s3 = (prefix: string, ledgerPrefix?: string) => ({
  defaultIndexBits: 64,
  grantMaxDays: 30,
  scans: { ...config.default.scans, store: 's3' as const, s3: { bucket: 'b', region: 'us-east-1', prefix, ...(ledgerPrefix === undefined ? {} : { ledgerPrefix }) } },
  exports: config.default.exports,
});

describe('the S3 erasure ledger prefix', () => {
  test('the defaults are apart', () => {
    expect(() => config.validator(s3('id-vault-scans/'))).not.toThrow();
    expect(() => config.validator(s3('scans/', 'ledger/'))).not.toThrow();
  });
  test.each([
    ['the same prefix', 'x/', 'x/'],
    ['the ledger under the scans', 'scans/', 'scans/ledger/'],
    ['the scans under the ledger', 'vault/scans/', 'vault/'],
    ['the scans in the whole bucket', '', 'id-vault-erasures/'],
  ])('%s is refused', (_what, prefix, ledgerPrefix) => {
    expect(() => config.validator(s3(prefix, ledgerPrefix))).toThrow(/ID_VAULT_S3_LEDGER_PREFIX/);
  });
});

describe('the S3 backup prefix (ID_VAULT_BACKUP_S3)', () => {
  const bucket = { bucket: 'b', region: 'us-east-1' };
  const withBackups = (backupPrefix: string, scans?: { prefix: string; ledgerPrefix?: string }) => ({
    defaultIndexBits: 64,
    grantMaxDays: 30,
    scans: scans ? { ...config.default.scans, store: 's3' as const, s3: { ...bucket, ...scans } } : config.default.scans,
    exports: config.default.exports,
    backups: { s3: { ...bucket, prefix: backupPrefix } },
  });
  test('the defaults are apart, with the scan store local or on S3', () => {
    expect(() => config.validator(withBackups('id-vault-backups/'))).not.toThrow();
    expect(() => config.validator(withBackups('id-vault-backups/', { prefix: 'id-vault-scans/' }))).not.toThrow();
    expect(() => config.validator(withBackups('b/', { prefix: 's/', ledgerPrefix: 'l/' }))).not.toThrow();
  });
  test.each([
    ['the scans\' prefix (local store: its default)', 'id-vault-scans/', undefined],
    ['under the scans', 's/backups/', { prefix: 's/', ledgerPrefix: 'l/' }],
    ['over the ledger', 'l', { prefix: 's/', ledgerPrefix: 'l/' }],
    ['the ledger\'s default', 'id-vault-erasures/x/', undefined],
    ['the whole bucket', '', undefined],
  ])('%s is refused', (_what, prefix, scans) => {
    expect(() => config.validator(withBackups(prefix, scans))).toThrow(/ID_VAULT_S3_BACKUP_PREFIX/);
  });
  test('a bucket is needed', () => {
    expect(() => config.validator({ ...withBackups('id-vault-backups/'), backups: { s3: { bucket: '', region: 'us-east-1', prefix: 'id-vault-backups/' } } })).toThrow(/ID_VAULT_S3_BUCKET/);
  });
});
