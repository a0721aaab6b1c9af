import type { Core } from '@strapi/strapi';
import { documentMiddleware, decryptFailuresMeta } from './middlewares';
import { responseGuard } from './http/responses';
import { skipScanUploads } from './middlewares/body';
import { flushReadAudit } from './middlewares/audit-reads';
import { auditAuth } from './http/auth-audit';
import { getService, ENCRYPTED_FIELD, PLUGIN_ID } from './utils/strapi';
import { mergeExtensionAttributes } from './content-types/extensions';

export default ({ strapi }: { strapi: Core.Strapi }) => {
  // Admin-added attributes on the plugin's own types sit beside the plugin's, never instead of them.
  mergeExtensionAttributes(strapi);

  // Refuse to start without a well-formed master key ring (the message says how to make one).
  getService(strapi, 'keys').init();

  strapi.customFields.register({
    name: 'encrypted',
    plugin: PLUGIN_ID,
    type: 'text',
    inputSize: { default: 6, isResizable: true },
  });

  // Strapi's own search (_q) would LIKE over ciphertext: take encrypted columns out of it; the
  // document middleware searches them through the blind index instead.
  for (const ct of Object.values(strapi.contentTypes)) {
    for (const attr of Object.values<any>(ct.attributes)) {
      if (attr.customField === ENCRYPTED_FIELD) attr.searchable = false;
    }
  }

  // Scan uploads are read in memory by the scan routes, never by formidable into the temp directory.
  skipScanUploads(strapi);

  strapi.documents.use(documentMiddleware(strapi));
  strapi.server.use(decryptFailuresMeta());
  strapi.server.use(responseGuard(strapi));
  // The record of reads (one event per request and type) and of logins / logouts.
  strapi.server.use(flushReadAudit(strapi));
  strapi.server.use(auditAuth(strapi));
};
