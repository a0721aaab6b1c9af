import { factories } from '@strapi/strapi';
import { getService, UIDS } from '../utils/strapi';
import admin from './admin';
import scan from './scan';
import exportController, { contentApiExport } from './export';

// Thin core controllers: everything sensitive happens in the document-service middleware and lifecycles.
export default {
  customer: factories.createCoreController(UIDS.customer, ({ strapi }) => ({
    /** POST /api/id-vault/customers/:documentId/reveal — the content-API reveal act. */
    async reveal(ctx: any) {
      const access = await getService(strapi, 'access').current();
      ctx.body = { data: await getService(strapi, 'grants').reveal(access, ctx.params.documentId, ctx.request.body) };
    },
    /** GET /api/id-vault/customers/export — the masked export (permission "export" of Customer; see controllers/export.ts). */
    async export(ctx: any) {
      await contentApiExport(strapi, this, ctx);
    },
  })),
  'identity-document': factories.createCoreController(UIDS.identityDocument),
  'org-unit': factories.createCoreController(UIDS.orgUnit),
  tag: factories.createCoreController(UIDS.tag),
  scan,
  admin,
  export: exportController,
};
