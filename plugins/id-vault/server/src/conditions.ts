import type { Core } from '@strapi/strapi';
import { getService, PLUGIN_ID } from './utils/strapi';
import { CUSTOMER_PATH } from './services/access';

/** The org units the admin user belongs to, and (with `below`) every unit under them. */
const orgUnitsOf = (strapi: Core.Strapi, userId: number, below: boolean): Promise<number[]> =>
  getService(strapi, 'access').units({ members: { id: userId } }, below);

/**
 * Row-scope conditions for the Content Manager permissions of customers and identity documents
 * (Settings → Administration panel → Roles → a content type → conditions). On any other subject they
 * grant nothing: fail closed.
 */
export const registerConditions = async (strapi: Core.Strapi) => {
  const scoped =
    (build: (path: string, user: any) => Promise<object> | object) =>
    async (user: any): Promise<object | boolean> => {
      const subject = user?.permission?.subject;
      if (!(subject in CUSTOMER_PATH)) return false;
      const path = CUSTOMER_PATH[subject];
      return build(path ? `${path}.` : '', user);
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
