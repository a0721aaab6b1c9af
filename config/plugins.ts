const MB = 1024 * 1024;

export default ({ env }) => {
  // One set of S3 settings for the Media Library (aws-s3 provider) and the vault's scan store.
  const s3 = {
    bucket: env('ID_VAULT_S3_BUCKET', ''),
    region: env('ID_VAULT_S3_REGION', 'us-east-1'),
    endpoint: env('ID_VAULT_S3_ENDPOINT', undefined),
    forcePathStyle: env.bool('ID_VAULT_S3_FORCE_PATH_STYLE', !!env('ID_VAULT_S3_ENDPOINT', '')),
    accessKeyId: env('ID_VAULT_S3_ACCESS_KEY_ID', undefined),
    secretAccessKey: env('ID_VAULT_S3_SECRET_ACCESS_KEY', undefined),
  };
  const useS3 = env('ID_VAULT_SCAN_STORE', 'local') === 's3';
  return {
    'users-permissions': { config: { jwtSecret: env('JWT_SECRET') } },
    // With S3, the ordinary Media Library goes there too — private: the provider defaults to public-read.
    ...(useS3
      ? {
          upload: {
            config: {
              provider: 'aws-s3',
              providerOptions: {
                s3Options: {
                  region: s3.region,
                  endpoint: s3.endpoint,
                  forcePathStyle: s3.forcePathStyle,
                  ...(s3.accessKeyId ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } } : {}),
                  params: { Bucket: s3.bucket, ACL: 'private', signedUrlExpires: 15 * 60 },
                },
              },
            },
          },
        }
      : {}),
    'id-vault': {
      enabled: true,
      resolve: './plugins/id-vault',
      config: {
        // Bits kept of each HMAC blind index when a field does not say (32..256, multiple of 8).
        defaultIndexBits: env.int('ID_VAULT_INDEX_BITS', 64),
        // Longest temporary access grant, in days (at most 30).
        grantMaxDays: env.int('ID_VAULT_GRANT_MAX_DAYS', 30),
        scans: {
          store: useS3 ? 's3' : 'local',
          dir: env('ID_VAULT_SCAN_DIR', null),
          s3: useS3 ? { ...s3, prefix: env('ID_VAULT_S3_SCAN_PREFIX', 'id-vault-scans/'), ledgerPrefix: env('ID_VAULT_S3_LEDGER_PREFIX', 'id-vault-erasures/') } : null,
          maxFileBytes: Math.round(env.float('ID_VAULT_SCAN_MAX_FILE_MB', 10) * MB),
          maxFiles: env.int('ID_VAULT_SCAN_MAX_FILES', 10),
          maxCustomerBytes: Math.round(env.float('ID_VAULT_SCAN_MAX_CUSTOMER_MB', 50) * MB),
          maxPixels: env.int('ID_VAULT_SCAN_MAX_PIXELS', 50_000_000),
          timeZone: env('ID_VAULT_TIME_ZONE', 'Asia/Shanghai'),
        },
        // ID_VAULT_BACKUP_S3: each backup also goes to the bucket above, under its own prefix (whatever the scan store).
        backups: {
          s3: env.bool('ID_VAULT_BACKUP_S3', false) ? { ...s3, prefix: env('ID_VAULT_S3_BACKUP_PREFIX', 'id-vault-backups/') } : null,
        },
        // Export caps: rows per export (checked with a count first), exports per user or token in 24 hours.
        exports: {
          maxRows: env.int('ID_VAULT_EXPORT_MAX_ROWS', 10000),
          perDay: env.int('ID_VAULT_EXPORTS_PER_DAY', 20),
          // A plain export leaves only encrypted to an export recipient (?recipient=); masked exports may be plain files.
          plainOnlyEncrypted: env.bool('ID_VAULT_EXPORT_PLAIN_ENCRYPTED_ONLY', true),
        },
      },
    },
  };
};
