'use strict';
/**
 * Runs a command against PostgreSQL: checks the server answers, then runs it with DATABASE_CLIENT=postgres.
 * The test harness creates a fresh database per suite and drops it afterwards.
 */
const { spawnSync } = require('child_process');
const { Client } = require('pg');

const url = process.env.ID_VAULT_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

(async () => {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (e) {
    console.error(`PostgreSQL is not reachable at ${url.replace(/\/\/[^@]*@/, '//')}: ${e.message}`);
    process.exit(1);
  } finally {
    await client.end().catch(() => {});
  }
  const [cmd, ...args] = process.argv.slice(2);
  const res = spawnSync(cmd, args, {
    stdio: 'inherit',
    shell: process.platform === 'win32',
    env: { ...process.env, DATABASE_CLIENT: 'postgres', ID_VAULT_TEST_PG_URL: url },
  });
  process.exit(res.status ?? 1);
})();
