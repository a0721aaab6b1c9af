import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import {
  and,
  SYSTEM_ACCESS as SYSTEM,
  accessPolicySchema,
  resolveAccess,
  fieldKey,
  EMPTY_POLICY,
  type Access,
  type AccessPolicy,
  type RowScope,
} from '../domain';
import { asSystem, callerOf, isSystemMarked, oncePerRequest } from '../utils/caller';
import { FIELD_LABELS, getService, PLUGIN_ID, UIDS } from '../utils/strapi';
import { ensureDefaultRoles } from '../defaults';
import { ensureScopeMirror, SCOPE_COLUMN } from '../utils/scope-mirror';

/** Types whose rows belong to a customer: the customer itself, or a document's customer. */
export const CUSTOMER_PATH: Record<string, string | null> = { [UIDS.customer]: null, [UIDS.identityDocument]: 'customer' };
/** Protected types: rows limited by row scope and hidden customers, on every path. */
export const isProtected = (uid: string): boolean => uid in CUSTOMER_PATH;
/** The Content Manager action whose RBAC conditions give an admin's row scope. */
const CM_ACTION = { read: 'plugin::content-manager.explorer.read', write: 'plugin::content-manager.explorer.update' } as const;
const POLICY_KEY = 'access-policy';
const PUBLIC = resolveAccess({ kind: 'public' });
/** A filter no row matches (ids are never null). */
const NOTHING = { id: { $null: true } };

/**
 * Who may see what, as stored in the database (Settings → ID Vault → Field access): read once per
 * request, so a change takes effect on the next request in every process, without a restart.
 */
const access = ({ strapi }: { strapi: Core.Strapi }) => {
  const store = () => strapi.store({ type: 'plugin', name: PLUGIN_ID, key: POLICY_KEY });

  const policy = async (): Promise<AccessPolicy> => {
    const raw = await store().get({});
    if (raw === null || raw === undefined) return EMPTY_POLICY;
    const parsed = accessPolicySchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    // Fail closed: a damaged policy grants nothing beyond the defaults (masked, own rows).
    strapi.log.error('id-vault: the stored field-access policy is invalid; using defaults until it is saved again');
    return EMPTY_POLICY;
  };

  /** Ids of the org units matching `where`, and with `below` every unit under them (walks `parent`). */
  const units = async (where: object, below: boolean): Promise<number[]> => {
    const q = strapi.db.query(UIDS.orgUnit);
    const found = new Set<number>((await q.findMany({ where, select: ['id'] })).map((u: any) => u.id));
    let frontier = [...found];
    while (below && frontier.length) {
      const children = await q.findMany({ where: { parent: { id: { $in: frontier } } }, select: ['id'] });
      frontier = children.map((c: any) => c.id).filter((id: number) => !found.has(id));
      frontier.forEach((id) => found.add(id));
    }
    return [...found];
  };

  /** Org units of a users-permissions user (`apiMembers`), with `below` every unit under them; once per request. */
  const unitsOfUser = (userId: string | number, below: boolean) =>
    oncePerRequest(strapi, `api-units:${userId}:${below}`, () => units({ apiMembers: { id: userId } }, below));

  /**
   * An admin's rows of `uid` as the database filter of their Content Manager permission (RBAC conditions
   * included), or NOTHING without that permission. Evaluated from the request's ability, once per request.
   */
  const adminFilter = (uid: string, which: 'read' | 'write'): Promise<object | null> =>
    oncePerRequest(strapi, `admin-scope:${uid}:${which}`, async () => {
      const ability = (strapi.requestContext.get() as any)?.state?.userAbility;
      if (!ability || !ability.can(CM_ACTION[which], uid)) return NOTHING;
      const checker = strapi.plugin('content-manager').service('permission-checker').create({ userAbility: ability, model: uid });
      const query = await checker.sanitizedQuery[which === 'read' ? 'read' : 'update']({});
      const where = (strapi.get('query-params') as any).transform(uid, { filters: query.filters }).where;
      return where && Object.keys(where).length ? where : null;
    });

  /** The customer-level filter of a row scope, or null when it restricts nothing. */
  const scopeFilter = async (a: Access, scope: RowScope | 'none'): Promise<object | null> => {
    if (scope === 'all') return null;
    if (scope === 'none' || a.caller.kind !== 'user') return NOTHING;
    if (scope === 'own') return { apiOwner: { id: a.caller.id } };
    // The team mirrored onto the row (utils/scope-mirror.ts): a range of one index for pages and counts alike.
    return { [SCOPE_COLUMN]: { $in: await unitsOfUser(a.caller.id, scope === 'subtree') } };
  };

  /**
   * "Not hidden". On PostgreSQL as `id NOT IN (ids of hidden customers)`: the few hidden ids come from the
   * (hidden, id) index and a scan never reads the `hidden` column, which sits behind the ciphertext columns
   * (`hidden = false` made it decode every row up to that column: 1.7× on a relation filter). On SQLite as
   * `hidden = false`, which the (hidden, id) index answers for pages and counts alike (NOT IN there made a
   * masked caller's page 1.66× at 500,000 customers).
   */
  const notHidden = () => {
    if (strapi.db.dialect.client !== 'postgres') return { hidden: false };
    const meta: any = strapi.db.metadata.get(UIDS.customer);
    const hiddenIds = strapi.db.connection(meta.tableName).select('id').where(meta.attributes.hidden.columnName ?? 'hidden', true);
    return { id: { $notIn: hiddenIds } };
  };

  return {
    policy,
    units,
    unitsOfUser,
    /** Runs `fn` as the system, on purpose (scripts, jobs, tests): see utils/caller.ts. */
    asSystem,

    /**
     * The access of the code running now: the request's caller (once per request), or the system inside
     * `asSystem`. No caller at all is an error, never plaintext: code outside a request says `asSystem`.
     */
    current(): Promise<Access> {
      const caller = callerOf(strapi);
      if (!caller) return Promise.reject(new Error('id-vault: no caller — code that runs outside a request must run inside asSystem()'));
      if (caller.kind === 'system') return Promise.resolve(SYSTEM);
      // Until authentication has run (its own look-ups of users and tokens), and on routes without it, the
      // request's caller is the public: the least access. Not remembered, so the authenticated caller is.
      if (!(strapi.requestContext.get() as any)?.state?.auth) return Promise.resolve(PUBLIC);
      // Resolving reads the policy and org units: as the system, so those reads do not ask for the access.
      return oncePerRequest(strapi, 'access', () => asSystem(async () => resolveAccess(caller, await policy())));
    },

    /**
     * The access the query layer enforces for the query running now, or null when it enforces nothing:
     * the system mark, Strapi's own work outside a request, and callers who see everything.
     */
    async forLayer(): Promise<Access | null> {
      if (isSystemMarked() || !strapi.requestContext.get()) return null;
      const a = await this.current();
      return a.unrestricted ? null : a;
    },

    /**
     * The filter that limits `uid` to the rows this access reaches (`read` or `write`), hidden customers
     * included, or null for no limit. Applies to customers and to types that belong to a customer.
     * Admins' row scope is their Content Manager permission's (RBAC conditions); API callers' the policy's.
     */
    rowFilter(uid: string, a: Access, which: 'read' | 'write'): Promise<object | null> {
      if (!isProtected(uid) || a.unrestricted) return Promise.resolve(null);
      return oncePerRequest(strapi, `row-filter:${uid}:${which}`, () =>
        asSystem(async () => {
          const hidden = a.viewHidden ? null : notHidden();
          const path = CUSTOMER_PATH[uid];
          if (a.caller.kind === 'admin') {
            return and(await adminFilter(uid, which), path && hidden ? { [path]: hidden } : hidden);
          }
          const customer = and(await scopeFilter(a, a[which]), hidden);
          if (!customer || !path) return customer;
          // A document without a customer belongs to nobody's scope but the unlimited one's.
          return { [path]: customer };
        })
      );
    },

    /** The org unit mirrored onto each customer row, which unit and subtree scopes read (utils/scope-mirror.ts). */
    ensureScopeMirror: () => ensureScopeMirror(strapi),

    /** The default roles, once, on the first run: call from the application's bootstrap (see defaults.ts). */
    ensureDefaultRoles: () => ensureDefaultRoles(strapi),

    /** What the settings page shows: every subject the matrix can name, and every encrypted field. */
    async describe() {
      const adminRoles = await strapi.db.query('admin::role').findMany({ select: ['code', 'name'], orderBy: { id: 'asc' } });
      const upRoles = await strapi.db.query('plugin::users-permissions.role').findMany({ select: ['type', 'name'], orderBy: { id: 'asc' } });
      const tokens = await strapi.db.query('admin::api-token').findMany({ select: ['id', 'name', 'type'], orderBy: { id: 'asc' } });
      const fieldsService = getService(strapi, 'fields');
      return {
        policy: await policy(),
        subjects: [
          ...adminRoles.map((r: any) => ({
            key: `admin-role:${r.code}`,
            kind: 'admin-role',
            name: r.name,
            ...(r.code === 'strapi-super-admin' ? { fixed: 'plain' } : {}),
          })),
          ...upRoles.map((r: any) => ({ key: `up-role:${r.type}`, kind: 'up-role', name: r.name })),
          ...tokens.map((t: any) => ({
            key: `api-token:${t.id}`,
            kind: 'api-token',
            name: t.name,
            ...(t.type === 'full-access' ? { fixed: 'plain' } : {}),
          })),
        ],
        fields: fieldsService.uids().flatMap((uid) =>
          fieldsService.of(uid).map((f) => ({
            key: fieldKey(uid, f.name),
            uid,
            field: f.name,
            contentType: (strapi.getModel(uid as any) as any)?.info?.displayName ?? uid,
            label: FIELD_LABELS[uid]?.[f.name] ?? f.name,
          }))
        ),
      };
    },

    /** Validates and stores a new policy; the audit trail names what changed (subjects and fields, no values). */
    async save(input: unknown) {
      const parsed = accessPolicySchema.safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
        throw new errors.ValidationError('invalid field-access policy', { errors: issues });
      }
      const known = await this.describe();
      const subjects = new Set(known.subjects.map((s) => s.key));
      const fields = new Set(known.fields.map((f) => f.key));
      for (const [key, entry] of Object.entries(parsed.data.subjects)) {
        if (!subjects.has(key)) throw new errors.ValidationError(`unknown role or token: ${key}`);
        for (const f of Object.keys(entry.fields ?? {})) {
          if (!fields.has(f)) throw new errors.ValidationError(`unknown encrypted field: ${f}`);
        }
      }
      const before = known.policy;
      await store().set({ value: parsed.data });
      const changed = [...new Set([...Object.keys(before.subjects), ...Object.keys(parsed.data.subjects)])].filter(
        (k) => JSON.stringify(before.subjects[k] ?? null) !== JSON.stringify(parsed.data.subjects[k] ?? null)
      );
      await getService(strapi, 'audit').record({ action: 'access-policy.update', outcome: 'success', details: { subjects: changed } });
      return this.describe();
    },
  };
};

export type AccessService = ReturnType<typeof access>;
export default access;
