import { factories } from '@strapi/strapi';
import keys from './keys';
import fields from './fields';
import vault from './vault';
import audit from './audit';
import access from './access';
import grants from './grants';
import scans from './scans';
import documents from './documents';
import exportsService from './exports';
import auditLog from './audit-log';
import rotation from './rotation';
import erasure from './erasure';
import exportRecipients from './export-recipients';
import anomalies from './anomalies';
import retention from './retention';
import indexRotation from './index-rotation';
import importService from './import';
import backup from './backup';
import { UIDS } from '../utils/strapi';

export default {
  keys,
  fields,
  vault,
  audit,
  access,
  grants,
  scans,
  documents,
  exports: exportsService,
  'audit-log': auditLog,
  rotation,
  erasure,
  'export-recipients': exportRecipients,
  anomalies,
  retention,
  'index-rotation': indexRotation,
  import: importService,
  backup,
  // Core services behind the core REST controllers.
  customer: factories.createCoreService(UIDS.customer),
  'identity-document': factories.createCoreService(UIDS.identityDocument),
  'org-unit': factories.createCoreService(UIDS.orgUnit),
  tag: factories.createCoreService(UIDS.tag),
};
