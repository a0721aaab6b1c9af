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
