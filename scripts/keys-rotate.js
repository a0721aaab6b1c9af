'use strict';
/**
 * `npm run keys:rotate`: re-wraps every data key (records' and the blind-index root) under the active master
 * key — the first entry of ID_VAULT_MASTER_KEYS — while the app keeps serving. Resumable: stop it (even with
 * kill -9) and run it again; it goes on with what is still under an old key. Progress bar with ETA (printed
 * line by line when not on a terminal). At the end it says how many keys each master key still wraps, so
 * you know when an old entry may leave the ring (see the README: first check no kept backup needs it).
 */
const cliProgress = require('cli-progress');
const { loadStrapi } = require('./lib');

(async () => {
  const app = await loadStrapi();
  const rotation = app.plugin('id-vault').service('rotation');
  const active = app.plugin('id-vault').service('keys').activeMasterKeyId();
  const pending = await rotation.pendingCount();
  console.log(`keys:rotate: ${pending} data keys to re-wrap under the active master key ${active}.`);
  const bar = new cliProgress.SingleBar(
    { format: 'keys:rotate [{bar}] {percentage}% | {value}/{total} data keys | ETA {eta_formatted}', noTTYOutput: true, notTTYSchedule: 2000, etaBuffer: 50 },
    cliProgress.Presets.legacy
  );
  bar.start(Math.max(pending, 1), 0);
  try {
    const result = await rotation.rotate((done, total) => {
      bar.setTotal(Math.max(total, 1));
      bar.update(done);
    });
    bar.update(Math.max(result.rewrapped + result.failed, pending ? 0 : 1));
    bar.stop();
    console.log(`keys:rotate: ${result.rewrapped} data keys re-wrapped under ${result.activeMasterKeyId}.`);
    if (result.checkpointResignedFrom) console.log(`keys:rotate: the latest audit checkpoint was re-signed (it was under ${result.checkpointResignedFrom}).`);
    if (result.ledgerResigned) console.log(`keys:rotate: ${result.ledgerResigned} erasure-ledger entries re-signed under ${result.activeMasterKeyId}.`);
    const kept = await app.plugin('id-vault').service('backup').list();
    for (const u of result.usage.filter((x) => !x.active)) {
      const need = kept.filter((b) => (b.needsMasterKeys ?? [b.masterKeyId]).includes(u.masterKeyId)).length;
      const backups = `${need} kept backup(s) need it`;
      console.log(`keys:rotate: master key ${u.masterKeyId} now wraps ${u.dataKeys} data keys in the database; ${backups}${u.dataKeys || need ? '' : ' — it may leave ID_VAULT_MASTER_KEYS'}.`);
    }
    if (result.failed) {
      console.error(`keys:rotate: ${result.failed} data keys did not unwrap (altered in the database?) and were left as they were; see the keys.rotate audit event.`);
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
  console.error(`keys:rotate failed (run it again to go on): ${e.message}`);
  process.exit(1);
});
