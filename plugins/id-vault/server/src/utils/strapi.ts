import type { Core } from '@strapi/strapi';
import { UIDS, ENCRYPTED_FIELD, PLUGIN_ID, ACTIONS, ACTION_LIST, CONDITIONS, ARCHIVE_ADMIN_ROLE } from '../../../shared';
import type { KeysService } from '../services/keys';
import type { FieldsService } from '../services/fields';
import type { VaultService } from '../services/vault';
import type { AuditService } from '../services/audit';
import type { AccessService } from '../services/access';
import type { GrantsService } from '../services/grants';

export { UIDS, ENCRYPTED_FIELD, PLUGIN_ID, ACTIONS, ACTION_LIST, CONDITIONS, ARCHIVE_ADMIN_ROLE };

interface Services {
  keys: KeysService;
  fields: FieldsService;
  vault: VaultService;
  audit: AuditService;
  access: AccessService;
  grants: GrantsService;
}

/** The one typed way to reach a service of this plugin. */
export const getService = <K extends keyof Services>(strapi: Core.Strapi, name: K): Services[K] =>
  strapi.plugin(PLUGIN_ID).service(name) as Services[K];

/** Internal types never reachable by any API and skipped by every hook. */
export const INTERNAL_UIDS = new Set<string>([UIDS.dataKey, UIDS.blindIndex, UIDS.auditEvent, UIDS.accessGrant]);
