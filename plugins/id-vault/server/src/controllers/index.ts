import { factories } from '@strapi/strapi';
import { UIDS } from '../utils/strapi';
import { BENCH } from '../content-types';

// Thin core controllers: everything sensitive happens in the document-service middleware and lifecycles.
export default {
  customer: factories.createCoreController(UIDS.customer),
  'identity-document': factories.createCoreController(UIDS.identityDocument),
  'org-unit': factories.createCoreController(UIDS.orgUnit),
  tag: factories.createCoreController(UIDS.tag),
  ...(BENCH ? { 'bench-twin': factories.createCoreController('plugin::id-vault.bench-twin' as any) } : {}),
};
