import type { Core } from '@strapi/strapi';

// The application adds nothing of its own: everything lives in the id-vault plugin (plugins/id-vault).
export default {
  register() {},
  /**
   * Runs after every plugin's bootstrap, the admin panel's included (which makes Strapi's own roles
   * and conditions): only then can the vault's default roles be created beside them.
   */
  async bootstrap({ strapi }: { strapi: Core.Strapi }) {
    await strapi.plugin('id-vault').service('access').ensureDefaultRoles();
  },
};
