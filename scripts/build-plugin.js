'use strict';
/** Compiles the plugin's TypeScript server and fails loudly if the entry Strapi loads is missing. */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { ROOT, PLUGIN_DIST } = require('./lib');

fs.rmSync(PLUGIN_DIST, { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'plugins/id-vault/server/tsconfig.json')], { stdio: 'inherit' });
} catch {
  console.error('id-vault: the plugin server did not compile (see the errors above).');
  process.exit(1);
}
const entry = path.join(PLUGIN_DIST, 'index.js');
const mod = fs.existsSync(entry) && require(entry);
const plugin = mod && (mod.default || mod);
if (!plugin || typeof plugin.register !== 'function' || !plugin.contentTypes) {
  console.error(`id-vault: ${path.relative(ROOT, entry)} is missing or incomplete; Strapi would skip the plugin.`);
  process.exit(1);
}
console.log(`id-vault: plugin server built (${path.relative(ROOT, PLUGIN_DIST)}).`);
