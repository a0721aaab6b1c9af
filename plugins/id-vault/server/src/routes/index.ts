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
        ...uids.flatMap(coreRoutes),
        // Permission "reveal" of Customer in Users & Permissions roles and custom API tokens.
        { method: 'POST', path: '/customers/:documentId/reveal', handler: 'customer.reveal', config: { policies: POLICIES } },
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
      // Listing: own requests for requesters, all for approvers (decided in the controller).
      admin('GET', '/grants', 'listGrants'),
      admin('POST', '/grants', 'requestGrant', [ACTIONS['grant.request']]),
      admin('POST', '/grants/:documentId/approve', 'approveGrant', [ACTIONS['grant.approve']]),
      admin('POST', '/grants/:documentId/reject', 'rejectGrant', [ACTIONS['grant.approve']]),
      // Revoke: approvers, or the requester withdrawing their own request (decided in the service).
      admin('POST', '/grants/:documentId/revoke', 'revokeGrant'),
    ],
  },
};
