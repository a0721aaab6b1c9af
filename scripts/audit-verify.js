'use strict';
/**
 * `npm run audit:verify`: chains any events still pending (written, not yet linked — e.g. by a process that
 * died), then walks the whole chain and reports the first broken link (exit 1).
 */
const { loadStrapi } = require('./lib');

(async () => {
  const app = await loadStrapi();
  let code = 0;
  try {
    const audit = app.plugin('id-vault').service('audit');
    await audit.flush();
    const result = await audit.verify();
    const pending = result.pending ? ` ${result.pending} event(s) written since are not chained yet.` : '';
    if (result.ok) {
      console.log(`audit chain intact: ${result.count} events verified.${pending}`);
    } else {
      code = 1;
      console.error(`audit chain BROKEN at event seq ${result.brokenAt} (${result.reason}); ${result.count} events before it verified.${pending}`);
    }
  } finally {
    await app.destroy();
  }
  process.exit(code);
})().catch((e) => {
  console.error(`audit verification could not run: ${e.message}`);
  process.exit(2);
});
