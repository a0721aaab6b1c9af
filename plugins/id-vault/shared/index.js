'use strict';
/** Constants shared by the server and the admin panel. Plain JS so both sides import it without a build step. */
const PLUGIN_ID = 'id-vault';
const ENCRYPTED_FIELD = `plugin::${PLUGIN_ID}.encrypted`;
const UIDS = {
  customer: 'plugin::id-vault.customer',
  identityDocument: 'plugin::id-vault.identity-document',
  orgUnit: 'plugin::id-vault.org-unit',
  tag: 'plugin::id-vault.tag',
  dataKey: 'plugin::id-vault.data-key',
  blindIndex: 'plugin::id-vault.blind-index',
  auditEvent: 'plugin::id-vault.audit-event',
  auditCheckpoint: 'plugin::id-vault.audit-checkpoint',
  accessGrant: 'plugin::id-vault.access-grant',
  scan: 'plugin::id-vault.scan',
  jobRun: 'plugin::id-vault.job-run',
  erasure: 'plugin::id-vault.erasure',
  exportRecipient: 'plugin::id-vault.export-recipient',
  anomaly: 'plugin::id-vault.anomaly',
  retentionCandidate: 'plugin::id-vault.retention-candidate',
  importRun: 'plugin::id-vault.import-run',
};
/**
 * Admin RBAC actions, declared once as data: registered in bootstrap (Settings → Administration panel →
 * Roles → Plugins → ID Vault) and used by route policies and the admin panel alike.
 */
const ACTION_LIST = [
  { uid: 'customer.reveal', displayName: 'Reveal encrypted fields (plaintext)', subCategory: 'Customers' },
  { uid: 'customer.view-hidden', displayName: 'See hidden customers', subCategory: 'Customers' },
  { uid: 'customer.hide', displayName: 'Hide and unhide customers', subCategory: 'Customers' },
  { uid: 'customer.erase', displayName: 'Erase customers for good (crypto-shredding)', subCategory: 'Customers' },
  { uid: 'export.masked', displayName: 'Export masked', subCategory: 'Exports' },
  { uid: 'export.plain', displayName: 'Export plaintext', subCategory: 'Exports' },
  { uid: 'audit.read', displayName: 'Read the audit log', subCategory: 'Audit' },
  { uid: 'anomaly.clear', displayName: 'Clear anomaly alerts (lifts the suspension of reveal and export)', subCategory: 'Audit' },
  { uid: 'scan.view', displayName: 'View scans (watermarked preview)', subCategory: 'Scans' },
  { uid: 'scan.upload', displayName: 'Upload scans', subCategory: 'Scans' },
  { uid: 'scan.download', displayName: 'Download cleaned originals', subCategory: 'Scans' },
  { uid: 'scan.delete', displayName: 'Delete scans', subCategory: 'Scans' },
  { uid: 'grant.request', displayName: 'Request temporary access', subCategory: 'Temporary access' },
  { uid: 'grant.approve', displayName: 'Approve temporary access', subCategory: 'Temporary access' },
  { uid: 'settings.manage', displayName: 'Manage ID Vault settings (field access, required documents, export recipients)', subCategory: 'Settings' },
  { uid: 'keys.manage', displayName: 'Manage keys', subCategory: 'Settings' },
  { uid: 'backup.manage', displayName: 'Manage backups (list, back up now, download)', subCategory: 'Settings' },
];
const ACTIONS = Object.fromEntries(ACTION_LIST.map((a) => [a.uid, `plugin::${PLUGIN_ID}.${a.uid}`]));

/** The longest temporary access the rules allow, in days; `ID_VAULT_GRANT_MAX_DAYS` may only lower it. */
const GRANT_MAX_DAYS_LIMIT = 30;

/** The admin role whose holders are archive admins (second approver of temporary access). */
const ARCHIVE_ADMIN_ROLE = 'id-vault-archive-admin';

/** RBAC conditions for row scope on the Content Manager permissions of customers and documents. */
const CONDITIONS = {
  mine: `plugin::${PLUGIN_ID}.customer-is-mine`,
  myUnit: `plugin::${PLUGIN_ID}.customer-in-my-org-unit`,
  myUnitOrBelow: `plugin::${PLUGIN_ID}.customer-in-my-org-unit-or-below`,
  granted: `plugin::${PLUGIN_ID}.customer-granted-to-me`,
};

/**
 * Readable English labels of the plugin's fields in the Content Manager (edit view and list columns), set
 * once per install through "Configure the view" (admins may change them there); zh-Hans labels come from
 * the admin translations (content-manager.content-types.<uid>.<field>), which take precedence in Chinese.
 */
const FIELD_LABELS = {
  [UIDS.customer]: {
    kind: 'Kind', name: 'Name', idType: 'ID type', idNumber: 'ID number', idExpiresAt: 'ID expires on', phone: 'Phone', email: 'E-mail',
    address: 'Address', creditCode: 'Unified social credit code', legalRepresentative: 'Legal representative', industry: 'Industry',
    tags: 'Tags', notes: 'Notes', owner: 'Owner', apiOwner: 'Owner (API user)', team: 'Org unit', hidden: 'Hidden',
    consentAt: 'Consent given at', consentScope: 'Consent scope', documents: 'Identity documents', documentsComplete: 'Documents complete',
    missingDocuments: 'Missing documents',
  },
  [UIDS.identityDocument]: { customer: 'Customer', type: 'Document type', documentNumber: 'Document number', issuedAt: 'Issued on', expiresAt: 'Expires on', notes: 'Notes' },
  [UIDS.orgUnit]: { name: 'Name', parent: 'Parent unit', children: 'Units below', customers: 'Customers', members: 'Members', heads: 'Heads', apiMembers: 'Members (API users)' },
  [UIDS.tag]: { name: 'Name', colour: 'Colour', customers: 'Customers' },
};

module.exports = { PLUGIN_ID, ENCRYPTED_FIELD, UIDS, ACTION_LIST, ACTIONS, CONDITIONS, ARCHIVE_ADMIN_ROLE, GRANT_MAX_DAYS_LIMIT, FIELD_LABELS };
