import type { Core } from '@strapi/strapi';
import { storageBoundary, appendOnly } from './lifecycles';
import { getService, ACTIONS, PLUGIN_ID } from './utils/strapi';

export default async ({ strapi }: { strapi: Core.Strapi }) => {
  getService(strapi, 'fields').refresh();
  strapi.db.lifecycles.subscribe(storageBoundary(strapi) as any);
  strapi.db.lifecycles.subscribe(appendOnly as any);

  await strapi
    .service('admin::permission')
    .actionProvider.registerMany([
      { section: 'plugins', pluginName: PLUGIN_ID, uid: ACTIONS.auditRead.split('.').slice(1).join('.'), displayName: 'Read the audit log' },
    ]);

  await getService(strapi, 'keys').indexRoot();
  await getService(strapi, 'audit').record({
    action: 'vault.start',
    outcome: 'success',
    caller: { kind: 'system' },
    details: { activeMasterKeyId: getService(strapi, 'keys').activeMasterKeyId() },
  });
};
