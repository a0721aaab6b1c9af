'use strict';
/**
 * `npm run import -- customers.csv|customers.xlsx [--skip-invalid] [--report report.json]`: bulk import of
 * customers through the storage boundary (see the README, "Bulk import"). Every row is checked first; rejected
 * rows are listed by line and field with the reason, never a value (and, with --report, written to a JSON file
 * that holds no value either). By default nothing is written if any row is rejected; --skip-invalid imports
 * the others. Resumable: stop it (even kill -9) and run it again with the same file; it goes on after the last
 * batch that committed and never writes a row twice. Progress bar (printed line by line when not on a terminal).
 */
const fs = require('fs');
const path = require('path');
const cliProgress = require('cli-progress');
const { loadStrapi } = require('./lib');

const USAGE = 'usage: npm run import -- <customers.csv|customers.xlsx> [--skip-invalid] [--report <file.json>]';
/** Rejected rows printed on the terminal (all of them go to --report). */
const SHOWN = 50;

const parseArgs = (argv) => {
  const out = { file: null, skipInvalid: false, report: null };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--skip-invalid') out.skipInvalid = true;
    else if (a === '--report') out.report = argv[++i] ?? null;
    else if (a.startsWith('--report=')) out.report = a.slice('--report='.length);
    else if (!a.startsWith('--') && !out.file) out.file = a;
    else throw new Error(`unknown argument (${USAGE})`);
  }
  if (!out.file) throw new Error(USAGE);
  if (out.report === '') throw new Error(USAGE);
  return out;
};

(async () => {
  const args = parseArgs(process.argv.slice(2));
  const file = path.resolve(args.file);
  if (!fs.existsSync(file)) throw new Error('the file does not exist');
  const app = await loadStrapi();
  const { formatProblem } = require(path.join(__dirname, '..', 'plugins', 'id-vault', 'dist', 'server', 'domain'));
  const bar = new cliProgress.SingleBar(
    { format: 'import [{bar}] {percentage}% | {value}/{total} customers | ETA {eta_formatted}', noTTYOutput: true, notTTYSchedule: 1000, etaBuffer: 50 },
    cliProgress.Presets.legacy
  );
  let started = false;
  try {
    const result = await app.plugin('id-vault').service('import').run(file, {
      skipInvalid: args.skipInvalid,
      onValidated: ({ rows, valid, rejected, alreadyDone }) => {
        console.log(`import: ${rows} rows checked: ${valid} valid, ${rejected} rejected${rejected ? ' (skipped: --skip-invalid)' : ''}.`);
        if (alreadyDone) console.log(`import: resuming — ${alreadyDone} of them were imported by an earlier run of this file.`);
        bar.start(Math.max(valid, 1), alreadyDone);
        started = true;
      },
      onProgress: (done, total) => {
        bar.setTotal(Math.max(total, 1));
        bar.update(done);
      },
    });
    if (started) bar.stop();
    if (args.report) {
      const report = { fileSha256: result.fileSha256, format: result.format, outcome: result.outcome, rows: result.rows, valid: result.valid, rejected: result.rejected, problems: result.problems };
      fs.writeFileSync(path.resolve(args.report), `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
    }
    if (result.problems.length) {
      const lines = result.problems.slice(0, SHOWN).map((p) => `  ${formatProblem(p)}`);
      if (result.problems.length > SHOWN) lines.push(`  … and ${result.problems.length - SHOWN} more${args.report ? ' (all in the report)' : ' (--report <file.json> lists them all)'}`);
      console.error(`import: rejected:\n${lines.join('\n')}`);
    }
    if (result.outcome === 'already-imported') {
      console.log(`import: this file (sha-256 ${result.fileSha256}) was imported already: ${result.importedBefore} customers. Nothing to do.`);
    } else if (result.outcome === 'rejected') {
      console.error(`import: nothing imported — ${result.rejected} of ${result.rows} rows rejected. Fix them, or run again with --skip-invalid to import the ${result.valid} others.`);
      process.exitCode = 2;
    } else {
      console.log(`import: done — ${result.imported} customers imported by this run${result.importedBefore ? `, ${result.importedBefore} by an earlier one` : ''}; ${result.rejected} row(s) rejected; file sha-256 ${result.fileSha256}.`);
    }
  } catch (e) {
    if (started) bar.stop();
    throw e;
  } finally {
    await app.destroy();
  }
  process.exit(process.exitCode ?? 0);
})().catch((e) => {
  // Messages of this path name lines and fields, never values.
  console.error(`import failed (run it again to go on): ${e.message}`);
  process.exit(1);
});
