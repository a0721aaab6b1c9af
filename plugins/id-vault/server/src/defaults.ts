import type { Core } from '@strapi/strapi';
import { fieldKey, type AccessPolicy, type SubjectPolicy } from './domain';
import { getService, ACTIONS, ARCHIVE_ADMIN_ROLE, CONDITIONS, FIELD_LABELS, PLUGIN_ID, UIDS } from './utils/strapi';

/**
 * The classic archive set-up, created once on the first run (admins edit or delete them afterwards):
 * the same three roles for the admin panel and for the content API, with their field matrix.
 */
const C = UIDS.customer;
const D = UIDS.identityDocument;
const masked = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, 'masked' as const]));
const plain = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, 'plain' as const]));
const ALL_FIELDS = [fieldKey(C, 'idNumber'), fieldKey(C, 'phone'), fieldKey(C, 'email'), fieldKey(C, 'address'), fieldKey(D, 'documentNumber')];

interface DefaultRole {
  admin: { code: string; name: string; description: string };
  api: { type: string; name: string; description: string };
  policy: SubjectPolicy;
  /** Content Manager: actions per content type, with an optional row-scope condition per action. */
  cm: Record<string, Record<'read' | 'create' | 'update' | 'delete', string[] | null | undefined>>;
  vaultActions: string[];
  /** Content-API route permissions (users-permissions): controller → actions. */
  routes: Record<string, string[]>;
}

const READ_ONLY_REFERENCE = { 'org-unit': ['find', 'findOne'], tag: ['find', 'findOne'] };

export const DEFAULT_ROLES: DefaultRole[] = [
  {
    admin: { code: ARCHIVE_ADMIN_ROLE, name: 'Archive admin', description: 'ID Vault: everything, and the second approval of temporary access.' },
    api: { type: 'archive_admin', name: 'Archive admin', description: 'ID Vault: all customers, plaintext, export.' },
    policy: { fields: plain(...ALL_FIELDS), read: 'all', write: 'all', viewHidden: true, export: 'plain' },
    cm: Object.fromEntries([C, D, UIDS.orgUnit, UIDS.tag].map((uid) => [uid, { read: [], create: [], update: [], delete: [] }])),
    vaultActions: Object.keys(ACTIONS),
    routes: {
      customer: ['find', 'findOne', 'create', 'update', 'delete', 'reveal', 'export'],
      'identity-document': ['find', 'findOne', 'create', 'update', 'delete'],
      'org-unit': ['find', 'findOne', 'create', 'update', 'delete'],
      tag: ['find', 'findOne', 'create', 'update', 'delete'],
      scan: ['view', 'upload', 'download', 'delete'],
    },
  },
  {
    admin: { code: 'id-vault-sales-rep', name: 'Sales rep', description: 'ID Vault: own org unit; view and edit; no delete, no export; ID number and phone masked.' },
    api: { type: 'sales_rep', name: 'Sales rep', description: 'ID Vault: own org unit; view and edit; no delete, no export.' },
    policy: { fields: { ...plain(...ALL_FIELDS), ...masked(fieldKey(C, 'idNumber'), fieldKey(C, 'phone'), fieldKey(D, 'documentNumber')) }, read: 'unit', write: 'unit', export: 'none' },
    cm: {
      [C]: { read: [CONDITIONS.myUnit, CONDITIONS.granted], create: [CONDITIONS.myUnit], update: [CONDITIONS.myUnit, CONDITIONS.granted], delete: null },
      [D]: { read: [CONDITIONS.myUnit, CONDITIONS.granted], create: [CONDITIONS.myUnit], update: [CONDITIONS.myUnit, CONDITIONS.granted], delete: null },
      [UIDS.orgUnit]: { read: [], create: null, update: null, delete: null },
      [UIDS.tag]: { read: [], create: null, update: null, delete: null },
    },
    vaultActions: ['grant.request', 'scan.upload', 'scan.view'],
    routes: { customer: ['find', 'findOne', 'create', 'update'], 'identity-document': ['find', 'findOne', 'create', 'update'], scan: ['view', 'upload'], ...READ_ONLY_REFERENCE },
  },
  {
    admin: { code: 'id-vault-customer-service-lead', name: 'Customer-service lead', description: 'ID Vault: view all; edit own org unit; masked export only.' },
    api: { type: 'customer_service_lead', name: 'Customer-service lead', description: 'ID Vault: view all; edit own org unit; masked export only.' },
    policy: { fields: masked(...ALL_FIELDS), read: 'all', write: 'unit', export: 'masked' },
    cm: {
      [C]: { read: [], create: null, update: [CONDITIONS.myUnit, CONDITIONS.granted], delete: null },
      [D]: { read: [], create: null, update: [CONDITIONS.myUnit, CONDITIONS.granted], delete: null },
      [UIDS.orgUnit]: { read: [], create: null, update: null, delete: null },
      [UIDS.tag]: { read: [], create: null, update: null, delete: null },
    },
    vaultActions: ['export.masked', 'grant.request', 'scan.view'],
    routes: { customer: ['find', 'findOne', 'update', 'export'], 'identity-document': ['find', 'findOne', 'update'], scan: ['view'], ...READ_ONLY_REFERENCE },
  },
];

const STORE_KEY = 'default-roles';
const LAYOUT_KEY = 'content-manager-layout-v1';

/**
 * The Content Manager's customer views, once (admins may change them afterwards): the list shows whether
 * the documents are complete; the edit view leaves completeness to the Documents panel (the vault keeps it
 * current, nobody edits it).
 */
const ensureContentManagerLayout = async (strapi: Core.Strapi) => {
  const store = strapi.store({ type: 'plugin', name: PLUGIN_ID, key: LAYOUT_KEY });
  if (await store.get({})) return;
  const service = strapi.plugin('content-manager').service('content-types');
  const model = strapi.getModel(C as any);
  const config: any = await service.findConfiguration(model);
  const { uid: _uid, ...current } = config;
  if (!current.layouts.list.includes('documentsComplete')) current.layouts.list = [...current.layouts.list.slice(0, 3), 'documentsComplete'];
  // The Documents side panel shows completeness; as form fields they would look editable.
  const kept = new Set(['documentsComplete', 'missingDocuments']);
  current.layouts.edit = current.layouts.edit.map((row: any[]) => row.filter((f) => !kept.has(f.name))).filter((row: any[]) => row.length);
  for (const field of kept) current.metadatas[field] = { ...current.metadatas[field], edit: { ...current.metadatas[field]?.edit, editable: false, visible: false } };
  await service.updateConfiguration(model, current);
  await store.set({ value: { at: new Date().toISOString() } });
};

const LABELS_KEY = 'content-manager-labels-v1';

/**
 * Readable labels for the plugin's fields in the Content Manager (edit view and list), once per install,
 * through the views' configuration — so admins may change them in "Configure the view". A label an admin
 * already changed (anything but Strapi's default, the attribute name) is left alone.
 */
const ensureContentManagerLabels = async (strapi: Core.Strapi) => {
  const store = strapi.store({ type: 'plugin', name: PLUGIN_ID, key: LABELS_KEY });
  if (await store.get({})) return;
  const service = strapi.plugin('content-manager').service('content-types');
  for (const [uid, labels] of Object.entries(FIELD_LABELS)) {
    const model = strapi.getModel(uid as any);
    if (!model) continue;
    const { uid: _uid, ...config }: any = await service.findConfiguration(model);
    for (const [field, label] of Object.entries(labels)) {
      const meta = config.metadatas?.[field];
      if (!meta) continue;
      for (const view of ['edit', 'list'] as const) {
        if (meta[view] && (!meta[view].label || meta[view].label === field)) meta[view] = { ...meta[view], label };
      }
    }
    await service.updateConfiguration(model, config);
  }
  await store.set({ value: { at: new Date().toISOString() } });
};

/** Vault actions added after a default role's first run, given to that role once by `ensureLaterActions`. */
// Not `customer.erase`: an irreversible right is never given by an upgrade; an admin ticks it.
const LATER_ACTIONS: Array<{ action: string; role: string }> = [
  { action: 'anomaly.clear', role: ARCHIVE_ADMIN_ROLE },
  { action: 'backup.manage', role: ARCHIVE_ADMIN_ROLE },
];
const LATER_KEY = 'default-roles-later-actions';

/**
 * Roles created by an earlier version lack the actions added since: each is given once (a store flag per
 * action) to the default role that has it on a first run, so an admin who removes it later keeps it removed.
 */
const ensureLaterActions = async (strapi: Core.Strapi) => {
  const store = strapi.store({ type: 'plugin', name: PLUGIN_ID, key: LATER_KEY });
  const done: string[] = ((await store.get({})) as string[] | null) ?? [];
  const todo = LATER_ACTIONS.filter((a) => !done.includes(a.action));
  if (!todo.length) return;
  for (const { action, role: code } of todo) {
    const role = await strapi.db.query('admin::role').findOne({ where: { code } });
    if (!role || (await strapi.db.query('admin::permission').findOne({ where: { action: ACTIONS[action], role: role.id } }))) continue;
    await strapi.service('admin::permission').createMany([{ action: ACTIONS[action], subject: null, properties: {}, conditions: [], role: role.id }]);
  }
  await store.set({ value: [...done, ...todo.map((a) => a.action)] });
};

/** Creates the default roles and their field matrix on the first run only (a store flag remembers it). */
export const ensureDefaultRoles = async (strapi: Core.Strapi) => {
  await ensureContentManagerLayout(strapi);
  await ensureContentManagerLabels(strapi);
  const store = strapi.store({ type: 'plugin', name: PLUGIN_ID, key: STORE_KEY });
  if (await store.get({})) return ensureLaterActions(strapi);
  const roleService = strapi.service('admin::role');
  // Strapi makes Super Admin, Editor and Author (with its own conditions) only when no role exists, in the
  // admin's bootstrap, which runs after this plugin's: so this runs from the application's bootstrap.
  if (!(await strapi.db.query('admin::role').findOne({ where: { code: 'strapi-super-admin' } }))) {
    throw new Error('id-vault: default roles must be created after the admin panel bootstrapped (call from the app bootstrap)');
  }
  const policy: AccessPolicy = await getService(strapi, 'access').policy();
  for (const role of DEFAULT_ROLES) {
    if (!(await strapi.db.query('admin::role').findOne({ where: { code: role.admin.code } }))) {
      const created = await roleService.create(role.admin);
      const permissions = [
        ...Object.entries(role.cm).flatMap(([uid, verbs]) => {
          const attributes = Object.keys((strapi.getModel(uid as any) as any).attributes);
          return Object.entries(verbs)
            .filter(([, conditions]) => Array.isArray(conditions))
            .map(([verb, conditions]) => ({
              action: `plugin::content-manager.explorer.${verb}`,
              subject: uid,
              properties: verb === 'delete' ? {} : { fields: attributes },
              conditions,
            }));
        }),
        ...role.vaultActions.map((a) => ({ action: ACTIONS[a], subject: null, properties: {}, conditions: [] })),
      ];
      await roleService.assignPermissions(created.id, permissions);
    }
    policy.subjects[`admin-role:${role.admin.code}`] ??= { fields: role.policy.fields };
    const upRoles = strapi.db.query('plugin::users-permissions.role');
    if (!(await upRoles.findOne({ where: { type: role.api.type } }))) {
      const created = await upRoles.create({ data: role.api });
      for (const [controller, actions] of Object.entries(role.routes)) {
        for (const action of actions) {
          await strapi.db
            .query('plugin::users-permissions.permission')
            .create({ data: { action: `plugin::${PLUGIN_ID}.${controller}.${action}`, role: created.id } });
        }
      }
    }
    policy.subjects[`up-role:${role.api.type}`] ??= role.policy;
  }
  await getService(strapi, 'access').save(policy);
  await store.set({ value: { createdAt: new Date().toISOString(), roles: DEFAULT_ROLES.map((r) => r.admin.name) } });
  await ensureLaterActions(strapi);
};
