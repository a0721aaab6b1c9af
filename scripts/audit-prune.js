'use strict';
/**
 * `npm run audit:prune`: prunes audit events older than ID_VAULT_AUDIT_RETENTION_DAYS now, as the daily job
 * does (behind a checkpoint that `npm run audit:verify` starts from), and prints how many, up to which seq.
 * Not once-a-day like the job: each batch holds the chain lock and starts from the latest checkpoint, so a
 * run beside the job or another run prunes nothing twice.
 */
const { loadStrapi } = require('./lib');

(async () => {
  const app = await loadStrapi();
  try {
    const audit = app.plugin('id-vault').service('audit');
    const days = audit.retentionDays();
    // The audit.pruned event (of a failure too) is chained before the process goes.
    const result = await audit.prune().finally(() => audit.flush());
    if (result.pruned) console.log(`audit pruned: ${result.pruned} events older than ${days} days, up to seq ${result.upToSeq} (checkpoint ${result.checkpointId}).`);
    else console.log(`audit pruned: nothing older than ${days} days.`);
  } finally {
    await app.destroy();
  }
  process.exit(0);
})().catch((e) => {
  console.error(`audit prune failed: ${e.message}`);
  process.exit(1);
});
