import { factories } from '@strapi/strapi';
import { getService, UIDS } from '../utils/strapi';
import admin from './admin';
import scan from './scan';

// Thin core controllers: everything sensitive happens in the document-service middleware and lifecycles.
export default {
  customer: factories.createCoreController(UIDS.customer, ({ strapi }) => ({
    /** POST /api/id-vault/customers/:documentId/reveal — the content-API reveal act. */
    async reveal(ctx: any) {
      const access = await getService(strapi, 'access').current();
      ctx.body = { data: await getService(strapi, 'grants').reveal(access, ctx.params.documentId, ctx.request.body) };
    },
  })),
  'identity-document': factories.createCoreController(UIDS.identityDocument),
  'org-unit': factories.createCoreController(UIDS.orgUnit),
  tag: factories.createCoreController(UIDS.tag),
  scan,
  admin,
};
