import type { Core } from '@strapi/strapi';
import { subscribeLifecycles } from './lifecycles';
import { installHiddenFields } from './hooks/hidden-fields';
import { installHomepageCounts } from './hooks/homepage-counts';
import { registerConditions } from './conditions';
import { getService, ACTION_LIST, PLUGIN_ID } from './utils/strapi';

export default async ({ strapi }: { strapi: Core.Strapi }) => {
  getService(strapi, 'fields').refresh();
  subscribeLifecycles(strapi);
  installHiddenFields(strapi);
  installHomepageCounts(strapi);

  await strapi
    .service('admin::permission')
    .actionProvider.registerMany(ACTION_LIST.map((a) => ({ section: 'plugins', pluginName: PLUGIN_ID, ...a })));
  await registerConditions(strapi);
  await getService(strapi, 'access').ensureScopeMirror();

  await getService(strapi, 'keys').indexRoot();
  await getService(strapi, 'audit').record({
    action: 'vault.start',
    outcome: 'success',
    caller: { kind: 'system' },
    details: { activeMasterKeyId: getService(strapi, 'keys').activeMasterKeyId() },
  });
};
