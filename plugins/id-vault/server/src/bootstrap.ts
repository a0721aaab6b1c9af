import type { Core } from '@strapi/strapi';
import { subscribeLifecycles } from './lifecycles';
import { installHiddenFields } from './hooks/hidden-fields';
import { installHomepageCounts } from './hooks/homepage-counts';
import { registerConditions } from './conditions';
import { getService, ACTION_LIST, PLUGIN_ID } from './utils/strapi';

export default async ({ strapi }: { strapi: Core.Strapi }) => {
  getService(strapi, 'fields').refresh();
  subscribeLifecycles(strapi);
  installHiddenFields(strapi);
  installHomepageCounts(strapi);

  await strapi
    .service('admin::permission')
    .actionProvider.registerMany(ACTION_LIST.map((a) => ({ section: 'plugins', pluginName: PLUGIN_ID, ...a })));
  await registerConditions(strapi);
  await getService(strapi, 'access').ensureScopeMirror();

  // Refuse to serve when stored data keys need a master key the ring lacks (it names the key ids).
  await getService(strapi, 'keys').checkRing();
  // The blind-index root in use (a fresh install creates version 1; an index rotation adds the next).
  await getService(strapi, 'index-rotation').ensureRoot();
  // Erased stays erased: whatever a restore brought back of an erased customer is erased again before serving.
  await getService(strapi, 'erasure').applyLedger();

  // Daily at 06:00 (server time): expiring identity documents into the audit trail. Strapi runs cron
  // tasks only with server.cron.enabled (config/server.ts: on, except in tests).
  const noticeDays = Number(process.env.ID_VAULT_EXPIRY_NOTICE_DAYS ?? 30);
  strapi.cron.add({
    idVaultDocumentExpiry: {
      task: () => getService(strapi, 'documents').expiryJob(noticeDays).catch((e) => strapi.log.error(`id-vault: expiry job failed: ${e.message}`)),
      options: { rule: process.env.ID_VAULT_EXPIRY_CRON ?? '0 6 * * *' },
    },
  });

  // Daily at 04:15: scan objects no row names are removed (two-phase: found one day, removed the next), once across processes.
  strapi.cron.add({
    idVaultScanSweep: {
      task: () => getService(strapi, 'scans').sweepJob().catch((e) => strapi.log.error(`id-vault: scan orphan sweep failed: ${e.message}`)),
      options: { rule: process.env.ID_VAULT_SCAN_SWEEP_CRON ?? '15 4 * * *' },
    },
  });

  // Daily at 03:30: audit events past the retention are pruned behind a checkpoint, once across processes.
  // Reading the retention first refuses to start below its minimum (365 days).
  const audit = getService(strapi, 'audit');
  audit.retentionDays();
  strapi.cron.add({
    idVaultAuditPrune: {
      task: () => audit.pruneJob().catch((e) => strapi.log.error(`id-vault: audit prune failed: ${e.message}`)),
      options: { rule: process.env.ID_VAULT_AUDIT_PRUNE_CRON ?? '30 3 * * *' },
    },
  });
  // Daily at 03:45: retention candidates listed (and auto-erase rules carried out), once across processes.
  strapi.cron.add({
    idVaultRetention: {
      task: () => getService(strapi, 'retention').job().catch((e) => strapi.log.error(`id-vault: retention job failed: ${e.message}`)),
      options: { rule: process.env.ID_VAULT_RETENTION_CRON ?? '45 3 * * *' },
    },
  });
  // Daily at 02:00: an encrypted backup of the database and the scan store, once across processes
  // (the newest ID_VAULT_BACKUP_KEEP are kept).
  strapi.cron.add({
    idVaultBackup: {
      task: () => getService(strapi, 'backup').job().catch((e) => strapi.log.error(`id-vault: scheduled backup failed (${e.code ?? e.name})`)),
      options: { rule: process.env.ID_VAULT_BACKUP_CRON ?? '0 2 * * *' },
    },
  });
  await getService(strapi, 'audit').record({
    action: 'vault.start',
    outcome: 'success',
    caller: { kind: 'system' },
    details: { activeMasterKeyId: getService(strapi, 'keys').activeMasterKeyId() },
  });
};
