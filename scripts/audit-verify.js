'use strict';
/**
 * `npm run audit:verify`: chains any events still pending (written, not yet linked — e.g. by a process that
 * died), then walks the chain — from the latest checkpoint when events were pruned, its MAC checked first —
 * and reports the first broken link (exit 1).
 */
const { loadStrapi } = require('./lib');

/** Why a link is broken, in words, after the reason's code. */
const explain = (result) => {
  switch (result.reason) {
    case 'checkpoint-key-unknown':
      return `its master key ${result.from.keyId} is not in ID_VAULT_MASTER_KEYS: keep a retired key in the ring until a prune after the rotation has written a checkpoint under the new one`;
    case 'checkpoint-mac-mismatch':
      return 'the checkpoint row was changed (or forged)';
    case 'hash-mismatch':
      return 'the event was changed';
    case 'prev-mismatch':
      return 'it does not link to the event (or checkpoint) before it: something before it was changed, removed or forged';
    default:
      if (result.count) return 'events before it are missing';
      return result.from
        ? `the chain should go on at seq ${result.from.seq + 1} after the checkpoint: events are missing, or left behind by a prune`
        : 'events before it are missing, and no checkpoint accounts for them';
  }
};

(async () => {
  const app = await loadStrapi();
  let code = 0;
  try {
    const audit = app.plugin('id-vault').service('audit');
    await audit.flush();
    const result = await audit.verify();
    const pending = result.pending ? ` ${result.pending} event(s) written since are not chained yet.` : '';
    const from = result.from ? ` (from checkpoint after seq ${result.from.seq}, ${result.from.prunedCount} pruned)` : '';
    if (result.ok) {
      console.log(`audit chain intact: ${result.count} events verified${from}.${pending}`);
    } else {
      code = 1;
      const where = result.reason.startsWith('checkpoint-') ? `checkpoint after seq ${result.brokenAt}` : `event seq ${result.brokenAt}`;
      console.error(`audit chain BROKEN at ${where} (${result.reason}): ${explain(result)}; ${result.count} events before it verified${from}.${pending}`);
    }
  } finally {
    await app.destroy();
  }
  process.exit(code);
})().catch((e) => {
  console.error(`audit verification could not run: ${e.message}`);
  process.exit(2);
});
