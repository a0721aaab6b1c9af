import type { Core } from '@strapi/strapi';
import { getService } from '../utils/strapi';
import { isProtected } from '../services/access';

/**
 * The admin homepage's document counts are raw SQL over each table (no lifecycle sees them), so they would
 * count hidden and out-of-scope customers. For a restricted caller each protected type's raw count is
 * replaced by the count of the rows the caller reaches (the query layer counts those).
 */
export const installHomepageCounts = (strapi: Core.Strapi) => {
  const homepage: any = strapi.plugin('content-manager').service('homepage');
  if (!homepage?.getCountDocuments) return;
  const original = homepage.getCountDocuments.bind(homepage);
  homepage.getCountDocuments = async () => {
    const counts = await original();
    const access = await getService(strapi, 'access').forLayer();
    if (!access) return counts;
    const ability = (strapi.requestContext.get() as any)?.state?.userAbility;
    for (const uid of Object.keys(strapi.contentTypes).filter(isProtected)) {
      if (!ability?.can('plugin::content-manager.explorer.read', uid)) continue;
      const table = (strapi.contentType(uid as any) as any).collectionName;
      const raw = await strapi.db.connection(table).countDistinct('document_id as count').first();
      const reached = await strapi.db.query(uid as any).count({});
      counts.published += reached - (Number((raw as any)?.count) || 0);
    }
    return counts;
  };
};
