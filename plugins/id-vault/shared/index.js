'use strict';
/** Constants shared by the server and the admin panel. Plain JS so both sides import it without a build step. */
const PLUGIN_ID = 'id-vault';
const ENCRYPTED_FIELD = `plugin::${PLUGIN_ID}.encrypted`;
const UIDS = {
  customer: 'plugin::id-vault.customer',
  identityDocument: 'plugin::id-vault.identity-document',
  orgUnit: 'plugin::id-vault.org-unit',
  tag: 'plugin::id-vault.tag',
  dataKey: 'plugin::id-vault.data-key',
  blindIndex: 'plugin::id-vault.blind-index',
  auditEvent: 'plugin::id-vault.audit-event',
};
/** Admin RBAC actions (registered in bootstrap). The role-policy issue adds the rest. */
const ACTIONS = {
  auditRead: `plugin::${PLUGIN_ID}.audit.read`,
};
module.exports = { PLUGIN_ID, ENCRYPTED_FIELD, UIDS, ACTIONS };
