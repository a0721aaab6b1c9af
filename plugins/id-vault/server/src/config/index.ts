import { GRANT_MAX_DAYS_LIMIT } from '../../../shared';

export interface ScanConfig {
  /** Where sealed scan objects live: `local` (default) or `s3`. */
  store: 'local' | 's3';
  /** Local store directory; null: `<app>/.vault-data/scans` (outside public/ and what `strapi develop` watches). */
  dir: string | null;
  /** S3 store: a private bucket or prefix, the same settings as the Media Library's aws-s3 provider. */
  /** `ledgerPrefix`: where the erasure ledger's entries go in the same bucket (never under `prefix`). */
  s3: { bucket: string; prefix: string; ledgerPrefix?: string; region: string; endpoint?: string; forcePathStyle?: boolean; accessKeyId?: string; secretAccessKey?: string } | null;
  /** Largest file, in bytes (the guides: 10 MB). */
  maxFileBytes: number;
  /** Most files in one upload request. */
  maxFiles: number;
  /** All scans of one customer's documents together, in bytes (the guides: 50 MB). */
  maxCustomerBytes: number;
  /** Largest image, in pixels (decompression bombs are refused before decoding). */
  maxPixels: number;
  /** Time zone of watermarks and download file names (IANA name). */
  timeZone: string;
}

export interface ExportConfig {
  /** Most rows one export may have (ID_VAULT_EXPORT_MAX_ROWS): checked with a count before anything is sent. */
  maxRows: number;
  /** Most exports per user or token in 24 hours (ID_VAULT_EXPORTS_PER_DAY), counted from the audit trail. */
  perDay: number;
  /**
   * A plain export (`export.plain` mode) only ever leaves encrypted to an export recipient
   * (ID_VAULT_EXPORT_PLAIN_ENCRYPTED_ONLY, default true). Masked exports may still be plain files.
   */
  plainOnlyEncrypted: boolean;
}

export interface BackupConfig {
  /**
   * ID_VAULT_BACKUP_S3: every backup is also put in the bucket of the ID_VAULT_S3_* settings under `prefix`
   * (ID_VAULT_S3_BACKUP_PREFIX; never overlapping the scans' or the erasure ledger's prefix). null: local only.
   */
  s3: { bucket: string; prefix: string; region: string; endpoint?: string; forcePathStyle?: boolean; accessKeyId?: string; secretAccessKey?: string } | null;
}

export interface IdVaultConfig {
  /** Bits kept of each HMAC blind index when a field does not choose its own (32, 64, 128 or 256). */
  defaultIndexBits: number;
  /** Longest temporary access a request may ask for, in days (1 to GRANT_MAX_DAYS_LIMIT). */
  grantMaxDays: number;
  scans: ScanConfig;
  exports: ExportConfig;
  backups: BackupConfig;
}

const BITS = [32, 64, 128, 256];
const MB = 1024 * 1024;

export const DEFAULT_SCAN_CONFIG: ScanConfig = {
  store: 'local',
  dir: null,
  s3: null,
  maxFileBytes: 10 * MB,
  maxFiles: 10,
  maxCustomerBytes: 50 * MB,
  maxPixels: 50_000_000,
  timeZone: 'Asia/Shanghai',
};

export const DEFAULT_EXPORT_CONFIG: ExportConfig = { maxRows: 10_000, perDay: 20, plainOnlyEncrypted: true };
export const DEFAULT_BACKUP_CONFIG: BackupConfig = { s3: null };

const overlap = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);

const positive = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

export default {
  default: { defaultIndexBits: 64, grantMaxDays: GRANT_MAX_DAYS_LIMIT, scans: DEFAULT_SCAN_CONFIG, exports: DEFAULT_EXPORT_CONFIG, backups: DEFAULT_BACKUP_CONFIG } satisfies IdVaultConfig,
  validator(config: Partial<IdVaultConfig>) {
    if (!BITS.includes(Number(config.defaultIndexBits))) {
      throw new Error(`id-vault: defaultIndexBits must be one of ${BITS.join(', ')}`);
    }
    const days = Number(config.grantMaxDays);
    if (!Number.isInteger(days) || days < 1 || days > GRANT_MAX_DAYS_LIMIT) {
      throw new Error(`id-vault: grantMaxDays must be a whole number of days from 1 to ${GRANT_MAX_DAYS_LIMIT}`);
    }
    const scans = { ...DEFAULT_SCAN_CONFIG, ...(config.scans ?? {}) };
    if (scans.store !== 'local' && scans.store !== 's3') throw new Error('id-vault: scans.store (ID_VAULT_SCAN_STORE) must be local or s3');
    if (scans.store === 's3' && !scans.s3?.bucket) throw new Error('id-vault: the s3 scan store needs a bucket (ID_VAULT_S3_BUCKET)');
    const ledgerPrefix = scans.s3?.ledgerPrefix ?? 'id-vault-erasures/';
    if (scans.store === 's3' && overlap(ledgerPrefix, scans.s3!.prefix)) {
      throw new Error('id-vault: the erasure ledger\'s S3 prefix (ID_VAULT_S3_LEDGER_PREFIX) must not overlap the scans\' (ID_VAULT_S3_SCAN_PREFIX)');
    }
    const backups = { ...DEFAULT_BACKUP_CONFIG, ...(config.backups ?? {}) };
    if (backups.s3) {
      if (!backups.s3.bucket) throw new Error('id-vault: ID_VAULT_BACKUP_S3 needs a bucket (ID_VAULT_S3_BUCKET)');
      const prefix = backups.s3.prefix;
      if (!prefix) throw new Error('id-vault: the backups\' S3 prefix (ID_VAULT_S3_BACKUP_PREFIX) must not be empty');
      // The scans' and the ledger's prefixes as configured, or their defaults when the scan store is local.
      if (overlap(prefix, scans.s3?.prefix ?? 'id-vault-scans/') || overlap(prefix, ledgerPrefix)) {
        throw new Error('id-vault: the backups\' S3 prefix (ID_VAULT_S3_BACKUP_PREFIX) must not overlap the scans\' (ID_VAULT_S3_SCAN_PREFIX) nor the erasure ledger\'s (ID_VAULT_S3_LEDGER_PREFIX)');
      }
    }
    for (const k of ['maxFileBytes', 'maxFiles', 'maxCustomerBytes', 'maxPixels'] as const) {
      if (!positive(scans[k])) throw new Error(`id-vault: scans.${k} must be a positive whole number`);
    }
    const exportCaps = { ...DEFAULT_EXPORT_CONFIG, ...(config.exports ?? {}) };
    if (!positive(exportCaps.maxRows)) throw new Error('id-vault: exports.maxRows (ID_VAULT_EXPORT_MAX_ROWS) must be a positive whole number');
    if (!positive(exportCaps.perDay)) throw new Error('id-vault: exports.perDay (ID_VAULT_EXPORTS_PER_DAY) must be a positive whole number');
    if (typeof exportCaps.plainOnlyEncrypted !== 'boolean') throw new Error('id-vault: exports.plainOnlyEncrypted (ID_VAULT_EXPORT_PLAIN_ENCRYPTED_ONLY) must be true or false');
    try {
      new Intl.DateTimeFormat('en', { timeZone: scans.timeZone });
    } catch {
      throw new Error('id-vault: scans.timeZone (ID_VAULT_TIME_ZONE) must be an IANA time zone, e.g. Asia/Shanghai');
    }
  },
};
