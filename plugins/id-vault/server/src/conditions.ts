import type { Core } from '@strapi/strapi';
import { PLUGIN_ID, UIDS } from './utils/strapi';

/** Where a subject keeps its customer: the customer itself, or an identity document's customer. */
const CUSTOMER_PATH: Record<string, string> = {
  [UIDS.customer]: '',
  [UIDS.identityDocument]: 'customer.',
};

/** The org units the admin user belongs to, and (with `below`) every unit under them. */
export const orgUnitsOf = async (strapi: Core.Strapi, userId: number, below: boolean): Promise<number[]> => {
  const units = strapi.db.query(UIDS.orgUnit);
  const own = await units.findMany({ where: { members: { id: userId } }, select: ['id'] });
  const found = new Set<number>(own.map((u: any) => u.id));
  let frontier = [...found];
  while (below && frontier.length) {
    const children = await units.findMany({ where: { parent: { id: { $in: frontier } } }, select: ['id'] });
    frontier = children.map((c: any) => c.id).filter((id: number) => !found.has(id));
    frontier.forEach((id) => found.add(id));
  }
  return [...found];
};

/**
 * Row-scope conditions for the Content Manager permissions of customers and identity documents
 * (Settings → Administration panel → Roles → a content type → conditions). On any other subject they
 * grant nothing: fail closed.
 */
export const registerConditions = async (strapi: Core.Strapi) => {
  const scoped =
    (build: (path: string, user: any) => Promise<object> | object) =>
    async (user: any): Promise<object | boolean> => {
      const path = CUSTOMER_PATH[user?.permission?.subject];
      return path === undefined ? false : build(path, user);
    };
  await strapi.service('admin::permission').conditionProvider.registerMany([
    {
      displayName: 'Customer is mine (owner)',
      name: 'customer-is-mine',
      plugin: PLUGIN_ID,
      category: 'ID Vault',
      handler: scoped((path, user) => ({ [`${path}owner.id`]: user.id })),
    },
    {
      displayName: 'Customer is in my org unit',
      name: 'customer-in-my-org-unit',
      plugin: PLUGIN_ID,
      category: 'ID Vault',
      handler: scoped(async (path, user) => ({ [`${path}team.id`]: { $in: await orgUnitsOf(strapi, user.id, false) } })),
    },
    {
      displayName: 'Customer is in my org unit or below',
      name: 'customer-in-my-org-unit-or-below',
      plugin: PLUGIN_ID,
      category: 'ID Vault',
      handler: scoped(async (path, user) => ({ [`${path}team.id`]: { $in: await orgUnitsOf(strapi, user.id, true) } })),
    },
  ]);
};
