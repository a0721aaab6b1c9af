'use strict';
/** `npm run audit:verify`: walks the audit chain and reports the first broken link (exit 1). */
const { loadStrapi } = require('./lib');

(async () => {
  const app = await loadStrapi();
  let code = 0;
  try {
    const result = await app.plugin('id-vault').service('audit').verify();
    if (result.ok) {
      console.log(`audit chain intact: ${result.count} events verified.`);
    } else {
      code = 1;
      console.error(`audit chain BROKEN at event seq ${result.brokenAt} (${result.reason}); ${result.count} events before it verified.`);
    }
  } finally {
    await app.destroy();
  }
  process.exit(code);
})().catch((e) => {
  console.error(`audit verification could not run: ${e.message}`);
  process.exit(2);
});
