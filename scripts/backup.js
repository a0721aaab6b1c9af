'use strict';
/**
 * `npm run backup`: one encrypted backup of every table and the scan store into ID_VAULT_BACKUP_DIR (default
 * .vault-data/backups), under a key derived from the active master key; written under a temporary name and
 * renamed when whole, so a killed run leaves no file under a final name. Keeps the newest
 * ID_VAULT_BACKUP_KEEP (default 30). With ID_VAULT_BACKUP_S3=true the file is also put in the S3 bucket
 * (ID_VAULT_S3_BACKUP_PREFIX), pruned there to the same count; a failed upload exits 1, the local file kept.
 * Progress bar (a line every 2 s when not on a terminal).
 */
const cliProgress = require('cli-progress');
const { loadStrapi } = require('./lib');

(async () => {
  const app = await loadStrapi();
  const backup = app.plugin('id-vault').service('backup');
  const bar = new cliProgress.SingleBar(
    { format: 'backup [{bar}] {percentage}% | {value}/{total} rows and scans | ETA {eta_formatted}', noTTYOutput: true, notTTYSchedule: 2000, etaBuffer: 50 },
    cliProgress.Presets.legacy
  );
  bar.start(1, 0);
  try {
    const result = await backup.create({
      trigger: 'cli',
      onProgress: (done, total) => {
        bar.setTotal(Math.max(total, 1));
        bar.update(done);
      },
    });
    bar.stop();
    console.log(
      `backup: ${result.file} written in ${backup.dir()} (${result.bytes} bytes, sha-256 ${result.sha256}): ${result.tables} tables, ${result.rows} rows, ${result.scans} scan objects${result.missingScans ? ` (${result.missingScans} named by a row but gone from the store)` : ''}; it needs master key ${result.masterKeyId} to restore.${result.s3 === 'uploaded' ? ' Uploaded to S3.' : ''}`
    );
  } catch (e) {
    bar.stop();
    throw e;
  } finally {
    await app.destroy();
  }
  process.exit(0);
})().catch((e) => {
  // BackupS3Error: the local file is whole and kept; only its S3 copy failed.
  console.error(e && e.result ? `backup failed: ${e.message}; the local file is kept.` : `backup failed (no backup was written): ${e.message}`);
  process.exit(1);
});
