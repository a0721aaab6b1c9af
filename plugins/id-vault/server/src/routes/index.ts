import { factories } from '@strapi/strapi';
import { UIDS } from '../utils/strapi';
import { BENCH } from '../content-types';

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

let routes: any[] | null = null;

export default {
  'content-api': {
    type: 'content-api',
    // Lazy, because the core router needs the content types, which exist only once Strapi has loaded the
    // plugin; built once, because Strapi writes each route's auth scope into these very objects.
    get routes() {
      const uids: string[] = [UIDS.customer, UIDS.identityDocument, UIDS.orgUnit, UIDS.tag];
      if (BENCH) uids.push('plugin::id-vault.bench-twin');
      return (routes ??= uids.flatMap(coreRoutes));
    },
  },
};
