import type { Core } from '@strapi/strapi';
import { getService, PLUGIN_ID } from './utils/strapi';
import { CUSTOMER_PATH } from './services/access';
import { oncePerRequest } from './utils/caller';
import type { GrantAction } from './domain';

/** The org units the admin user belongs to, and (with `below`) every unit under them; once per request. */
const orgUnitsOf = (strapi: Core.Strapi, userId: number, below: boolean): Promise<number[]> =>
  oncePerRequest(strapi, `admin-units:${userId}:${below}`, () => getService(strapi, 'access').units({ members: { id: userId } }, below));

/** Which approved grants open which Content Manager action: any grant lets you see, only `edit` lets you change. */
const GRANTED_BY: Record<string, readonly GrantAction[]> = {
  'plugin::content-manager.explorer.read': ['reveal', 'export', 'edit'],
  'plugin::content-manager.explorer.update': ['edit'],
};

/**
 * Row-scope conditions for the Content Manager permissions of customers and identity documents
 * (Settings → Administration panel → Roles → a content type → conditions). On any other subject they
 * grant nothing: fail closed.
 */
export const registerConditions = async (strapi: Core.Strapi) => {
  const scoped =
    (build: (path: string, user: any) => Promise<object | boolean> | object | boolean) =>
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
    {
      // Evaluated on every request (admin abilities are built per request), so expiry and revocation hold at once.
      displayName: 'Customer is covered by my approved access request',
      name: 'customer-granted-to-me',
      plugin: PLUGIN_ID,
      category: 'ID Vault',
      handler: scoped(async (path, user) => {
        const actions = GRANTED_BY[user.permission?.action];
        if (!actions) return false;
        const { documentIds, units } = await getService(strapi, 'grants').coverage(user.id, actions);
        if (!documentIds.length && !units.length) return false;
        return { $or: [{ [`${path}documentId`]: { $in: documentIds } }, { [`${path}team.id`]: { $in: units } }] };
      }),
    },
  ]);
};
