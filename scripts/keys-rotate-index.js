'use strict';
/**
 * `npm run keys:rotate-index`: a new blind-index root (version N+1); every document's blind-index rows are
 * computed again under it, batch by batch (ID_VAULT_ROTATE_BATCH, default 500), while the app keeps serving:
 * during the window writers index under both roots and exact search matches either. Then the new root becomes
 * current, the old root's rows are deleted and the old root key is destroyed. Resumable: stop it (even with
 * kill -9) and run it again; it goes on from its checkpoint. Progress bar with ETA (printed line by line when
 * not on a terminal). One run at a time: a second one, while another runs (any process, any machine on
 * PostgreSQL), says so and exits 1.
 */
const cliProgress = require('cli-progress');
const { loadStrapi } = require('./lib');

(async () => {
  const app = await loadStrapi();
  const service = app.plugin('id-vault').service('index-rotation');
  const before = await service.state(true);
  console.log(
    before.next || before.phase
      ? `keys:rotate-index: resuming the rotation to index root version ${before.next ?? before.version} (${before.phase ?? 'reindex'}, ${before.done ?? 0} of ${before.total ?? 0} rows done).`
      : `keys:rotate-index: a new blind-index root (version ${before.version + 1}) replaces version ${before.version}; waiting a few seconds until every process indexes under both.`
  );
  const bar = new cliProgress.SingleBar(
    { format: 'keys:rotate-index [{bar}] {percentage}% | {value}/{total} rows | {phase} | ETA {eta_formatted}', noTTYOutput: true, notTTYSchedule: 2000, etaBuffer: 50 },
    cliProgress.Presets.legacy
  );
  bar.start(Math.max(before.total ?? 1, 1), before.done ?? 0, { phase: before.phase ?? 'reindex' });
  try {
    const result = await service.rotate((done, total, phase) => {
      bar.setTotal(Math.max(total, 1));
      bar.update(done, { phase });
    });
    bar.stop();
    console.log(`keys:rotate-index: ${result.documents} documents re-indexed (${result.tokens} index rows) under root version ${result.to}; ${result.fixedUp} caught up after the walk.`);
    console.log(`keys:rotate-index: root version ${result.from} retired (${result.retiredRows} index rows deleted, its key destroyed).`);
    if (result.failed) {
      console.error(`keys:rotate-index: ${result.failed} values did not decrypt and have no index under the new root; see the keys.rotate-index audit event.`);
      process.exitCode = 1;
    }
  } catch (e) {
    bar.stop();
    throw e;
  } finally {
    await app.destroy();
  }
  process.exit(process.exitCode ?? 0);
})().catch((e) => {
  // JobRunningError: another run holds the lock; nothing was done.
  if (e && e.job) console.error(`keys:rotate-index: ${e.message}; nothing was done.`);
  else console.error(`keys:rotate-index failed (run it again to go on): ${e.message}`);
  process.exit(1);
});
