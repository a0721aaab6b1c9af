import { factories } from '@strapi/strapi';
import { UIDS, ACTIONS } from '../utils/strapi';

const POLICIES = ['plugin::id-vault.is-identified'];

const coreRoutes = (uid: string) => {
  const router: any = factories.createCoreRouter(uid as any, {
    config: {
      find: { policies: POLICIES },
      findOne: { policies: POLICIES },
      create: { policies: POLICIES },
      update: { policies: POLICIES },
      delete: { policies: POLICIES },
    },
  });
  return router.routes;
};

/** Admin routes: an authenticated admin holding every listed action (none listed: any admin). */
const admin = (method: string, path: string, handler: string, actions: string[] = []) => ({
  method,
  path,
  handler: `admin.${handler}`,
  config: {
    policies: [
      'admin::isAuthenticatedAdmin',
      ...(actions.length ? [{ name: 'admin::hasPermissions', config: { actions } }] : []),
    ],
  },
});

let routes: any[] | null = null;

export default {
  'content-api': {
    type: 'content-api',
    // Lazy, because the core router needs the content types, which exist only once Strapi has loaded the
    // plugin; built once, because Strapi writes each route's auth scope into these very objects.
    get routes() {
      const uids = [UIDS.customer, UIDS.identityDocument, UIDS.orgUnit, UIDS.tag];
      return (routes ??= [
        // Before the core routes: GET /customers/:id would take "export" for a document id.
        // Permission "export" of Customer (users-permissions roles, custom API tokens); the export right is the service's.
        { method: 'GET', path: '/customers/export', handler: 'customer.export', config: { policies: POLICIES } },
        ...uids.flatMap(coreRoutes),
        // Permission "reveal" of Customer in Users & Permissions roles and custom API tokens.
        { method: 'POST', path: '/customers/:documentId/reveal', handler: 'customer.reveal', config: { policies: POLICIES } },
        // Scans: permissions view / upload / download / delete of "Scan" (row scope from the document's customer).
        { method: 'GET', path: '/identity-documents/:documentId/scans', handler: 'scan.view', config: { policies: POLICIES } },
        { method: 'POST', path: '/identity-documents/:documentId/scans', handler: 'scan.upload', config: { policies: POLICIES } },
        { method: 'GET', path: '/scans/:id/preview', handler: 'scan.view', config: { policies: POLICIES } },
        { method: 'GET', path: '/scans/:id/thumbnail', handler: 'scan.view', config: { policies: POLICIES } },
        { method: 'GET', path: '/scans/:id/download', handler: 'scan.download', config: { policies: POLICIES } },
        { method: 'DELETE', path: '/scans/:id', handler: 'scan.delete', config: { policies: POLICIES } },
      ]);
    },
  },
  admin: {
    type: 'admin',
    routes: [
      admin('GET', '/access-policy', 'getAccessPolicy', [ACTIONS['settings.manage']]),
      admin('PUT', '/access-policy', 'putAccessPolicy', [ACTIONS['settings.manage']]),
      // Reveal: the reveal action or an active grant, decided in the service (which records the denial).
      admin('POST', '/customers/:documentId/reveal', 'reveal'),
      // Whether the admin may reveal this customer (the edit view's Reveal buttons): the action or a grant.
      admin('GET', '/customers/:documentId/reveal', 'revealRight'),
      // Erasure for good (crypto-shredding), with a reason; the customer as the admin reaches it.
      admin('POST', '/customers/:documentId/erase', 'eraseCustomer', [ACTIONS['customer.erase']]),
      // Listing: own requests for requesters, all for approvers (decided in the controller).
      admin('GET', '/grants', 'listGrants'),
      admin('POST', '/grants', 'requestGrant', [ACTIONS['grant.request']]),
      admin('POST', '/grants/:documentId/approve', 'approveGrant', [ACTIONS['grant.approve']]),
      admin('POST', '/grants/:documentId/reject', 'rejectGrant', [ACTIONS['grant.approve']]),
      // Revoke: approvers, or the requester withdrawing their own request (decided in the service).
      admin('POST', '/grants/:documentId/revoke', 'revokeGrant'),
      // Scans (row scope: the document's customer, from the admin's Content Manager conditions).
      admin('GET', '/identity-documents/:documentId/scans', 'listScans', [ACTIONS['scan.view']]),
      admin('POST', '/identity-documents/:documentId/scans', 'uploadScans', [ACTIONS['scan.upload']]),
      admin('GET', '/scans/:id/preview', 'previewScan', [ACTIONS['scan.view']]),
      admin('GET', '/scans/:id/thumbnail', 'thumbnailScan', [ACTIONS['scan.view']]),
      admin('GET', '/scans/:id/download', 'downloadScan', [ACTIONS['scan.download']]),
      admin('DELETE', '/scans/:id', 'deleteScan', [ACTIONS['scan.delete']]),
      // The Documents panel of a customer's edit view: documents, scans (with scan.view), what is missing.
      admin('GET', '/customers/:documentId/documents', 'customerDocuments'),
      // Home-page widget: documents expiring soon and customers with missing documents, in the admin's scope.
      admin('GET', '/documents/attention', 'documentsAttention'),
      // The Audit log page and the customer's "Who has seen this customer" panel: the whole log, audit.read.
      admin('GET', '/audit-log/events', 'auditEvents', [ACTIONS['audit.read']]),
      admin('GET', '/audit-log/export', 'auditExport', [ACTIONS['audit.read']]),
      admin('GET', '/audit-log/stats', 'auditStats', [ACTIONS['audit.read']]),
      admin('GET', '/audit-log/status', 'auditStatus', [ACTIONS['audit.read']]),
      admin('POST', '/audit-log/verify', 'auditVerify', [ACTIONS['audit.read']]),
      admin('GET', '/customers/:documentId/audit', 'customerAudit', [ACTIONS['audit.read']]),
      // Settings → ID Vault → Keys: master keys and what they wrap, rotations (run by npm run keys:rotate).
      admin('GET', '/keys', 'keysStatus', [ACTIONS['keys.manage']]),
      // Settings → ID Vault → Backups: the kept backups and the last runs, back up now, download (audited).
      admin('GET', '/backups', 'listBackups', [ACTIONS['backup.manage']]),
      admin('POST', '/backups', 'createBackup', [ACTIONS['backup.manage']]),
      admin('GET', '/backups/:file/download', 'downloadBackup', [ACTIONS['backup.manage']]),
      // Anomaly alerts: the open ones and their thresholds (audit.read); clearing one (anomaly.clear); the thresholds (settings.manage).
      admin('GET', '/anomalies', 'listAnomalies', [ACTIONS['audit.read']]),
      admin('POST', '/anomalies/:id/clear', 'clearAnomaly', [ACTIONS['anomaly.clear']]),
      admin('GET', '/anomaly-settings', 'getAnomalySettings', [ACTIONS['audit.read']]),
      admin('PUT', '/anomaly-settings', 'putAnomalySettings', [ACTIONS['settings.manage']]),
      // Retention: the rules (any admin reads them, settings.manage changes them or runs the scan now); the
      // candidates a rule found, approved (erased) or dismissed by an archive admin (customer.erase, row scope).
      admin('GET', '/retention/settings', 'getRetentionSettings'),
      admin('PUT', '/retention/settings', 'putRetentionSettings', [ACTIONS['settings.manage']]),
      admin('POST', '/retention/scan', 'retentionScan', [ACTIONS['settings.manage']]),
      admin('GET', '/retention/candidates', 'retentionCandidates', [ACTIONS['customer.erase']]),
      admin('POST', '/retention/candidates/:id/approve', 'approveRetentionCandidate', [ACTIONS['customer.erase']]),
      admin('POST', '/retention/candidates/:id/dismiss', 'dismissRetentionCandidate', [ACTIONS['customer.erase']]),
      admin('GET', '/required-documents', 'getRequiredDocuments'),
      admin('PUT', '/required-documents', 'putRequiredDocuments', [ACTIONS['settings.manage']]),
      // Export recipients (integrators' certificates). The list is any admin's: the Export button offers it, and it
      // holds certificate facts only (no customer data); adding and deleting one is a setting.
      admin('GET', '/export-recipients', 'listExportRecipients'),
      admin('POST', '/export-recipients', 'addExportRecipient', [ACTIONS['settings.manage']]),
      admin('DELETE', '/export-recipients/:documentId', 'deleteExportRecipient', [ACTIONS['settings.manage']]),
      // Export of the Content Manager list: export.masked / export.plain or an export grant, decided (and a refusal recorded) in the service.
      { method: 'GET', path: '/customers/export', handler: 'export.admin', config: { policies: ['admin::isAuthenticatedAdmin'] } },
    ],
  },
};
