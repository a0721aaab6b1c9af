export declare const PLUGIN_ID: 'id-vault';
export declare const ENCRYPTED_FIELD: 'plugin::id-vault.encrypted';
export declare const UIDS: {
  customer: 'plugin::id-vault.customer';
  identityDocument: 'plugin::id-vault.identity-document';
  orgUnit: 'plugin::id-vault.org-unit';
  tag: 'plugin::id-vault.tag';
  dataKey: 'plugin::id-vault.data-key';
  blindIndex: 'plugin::id-vault.blind-index';
  auditEvent: 'plugin::id-vault.audit-event';
  auditCheckpoint: 'plugin::id-vault.audit-checkpoint';
  accessGrant: 'plugin::id-vault.access-grant';
  scan: 'plugin::id-vault.scan';
  jobRun: 'plugin::id-vault.job-run';
  erasure: 'plugin::id-vault.erasure';
  exportRecipient: 'plugin::id-vault.export-recipient';
  anomaly: 'plugin::id-vault.anomaly';
  retentionCandidate: 'plugin::id-vault.retention-candidate';
  importRun: 'plugin::id-vault.import-run';
};
export declare const ACTION_LIST: ReadonlyArray<{ uid: string; displayName: string; subCategory: string }>;
/** Full action ids by short uid, e.g. ACTIONS['customer.reveal'] = 'plugin::id-vault.customer.reveal'. */
export declare const ACTIONS: Record<string, string>;
export declare const ARCHIVE_ADMIN_ROLE: 'id-vault-archive-admin';
export declare const CONDITIONS: {
  mine: 'plugin::id-vault.customer-is-mine';
  myUnit: 'plugin::id-vault.customer-in-my-org-unit';
  myUnitOrBelow: 'plugin::id-vault.customer-in-my-org-unit-or-below';
  granted: 'plugin::id-vault.customer-granted-to-me';
};
/** The longest temporary access the rules allow, in days; `ID_VAULT_GRANT_MAX_DAYS` may only lower it. */
export declare const GRANT_MAX_DAYS_LIMIT: 30;
/** Readable English labels of the plugin's fields in the Content Manager, by content-type uid and attribute. */
export declare const FIELD_LABELS: Record<string, Record<string, string>>;
