import { z } from 'zod';

export type FieldVisibility = 'plain' | 'masked' | 'hidden';
/** Row scope of a content-API caller: own customers, its org units', those and the units below, all. */
export type RowScope = 'own' | 'unit' | 'subtree' | 'all';
export type ExportRight = 'none' | 'masked' | 'plain';

export type Caller =
  | { kind: 'system' }
  | { kind: 'public' }
  /** `actions`: the ID Vault admin actions (plugin::id-vault.…) the user's roles hold. */
  | { kind: 'admin'; id: string | number; roles: string[] /* role codes */; actions?: ReadonlySet<string> }
  | { kind: 'user'; id: string | number; role: string | null /* users-permissions role type */ }
  | { kind: 'api-token'; id: string | number; tokenType: 'full-access' | 'read-only' | 'custom' };

export const SUPER_ADMIN_ROLE = 'strapi-super-admin';

export const isSuperAdmin = (c: Caller): boolean =>
  c?.kind === 'admin' && Array.isArray(c.roles) && c.roles.includes(SUPER_ADMIN_ROLE);

// ---- the stored policy (Settings → ID Vault → Field access) ----------------------------------------

const visibilitySchema = z.enum(['plain', 'masked', 'hidden']);
const scopeSchema = z.enum(['own', 'unit', 'subtree', 'all']);

export const subjectPolicySchema = z
  .object({
    fields: z.record(z.string().regex(/^[\w:.-]+#\w+$/, 'a field key is <content-type uid>#<attribute>'), visibilitySchema).optional(),
    read: scopeSchema.optional(),
    write: scopeSchema.optional(),
    viewHidden: z.boolean().optional(),
    export: z.enum(['none', 'masked', 'plain']).optional(),
  })
  .strict();

export const accessPolicySchema = z
  .object({ subjects: z.record(z.string().regex(/^(admin-role|up-role|api-token):[\w.-]+$/, 'unknown subject kind'), subjectPolicySchema) })
  .strict();

export type SubjectPolicy = z.infer<typeof subjectPolicySchema>;
export type AccessPolicy = z.infer<typeof accessPolicySchema>;

export const EMPTY_POLICY: AccessPolicy = { subjects: {} };
export const fieldKey = (uid: string, field: string) => `${uid}#${field}`;

/** The policy entries that apply to a caller (a user with several admin roles gets all of theirs). */
export const subjectKeys = (c: Caller): string[] => {
  switch (c?.kind) {
    case 'admin':
      return (c.roles ?? []).map((r) => `admin-role:${r}`);
    case 'user':
      return c.role ? [`up-role:${c.role}`] : [];
    case 'api-token':
      return [`api-token:${c.id}`];
    default:
      return [];
  }
};

const VISIBILITY_RANK: Record<FieldVisibility, number> = { hidden: 0, masked: 1, plain: 2 };
const SCOPE_RANK: Record<RowScope | 'none', number> = { none: 0, own: 1, unit: 2, subtree: 3, all: 4 };
const EXPORT_RANK: Record<ExportRight, number> = { none: 0, masked: 1, plain: 2 };
const most = <T extends string>(rank: Record<T, number>, values: T[], fallback: T): T =>
  values.length ? values.reduce((a, b) => (rank[b] > rank[a] ? b : a)) : fallback;

/** Callers for whom the matrix does not apply: they see and reach everything. */
const unrestricted = (c: Caller) => c?.kind === 'system' || isSuperAdmin(c) || (c?.kind === 'api-token' && c.tokenType === 'full-access');

/**
 * What one caller may do with the vault's data, decided once per request from the stored policy.
 * Permissions add up (like Strapi's RBAC): with several roles, the most open setting of each wins.
 */
export interface Access {
  caller: Caller;
  /** Sees and reaches everything (system, super admins, full-access tokens): nothing to enforce. */
  unrestricted: boolean;
  /** Plain, masked or hidden, per content type and encrypted attribute. Default masked; unknown caller hidden. */
  visibility(uid: string, field: string): FieldVisibility;
  /** Which rows a content-API caller reaches, reading and writing. Admin callers: `all` here; their RBAC conditions give the rows. */
  read: RowScope | 'none';
  write: RowScope | 'none';
  viewHidden: boolean;
  export: ExportRight;
  /** Holds an ID Vault admin action (`customer.reveal`, …); the system and super admins hold them all. */
  can(action: string): boolean;
}

export const resolveAccess = (caller: Caller, policy: AccessPolicy = EMPTY_POLICY): Access => {
  if (unrestricted(caller)) {
    return { caller, unrestricted: true, visibility: () => 'plain', read: 'all', write: 'all', viewHidden: true, export: 'plain', can: () => true };
  }
  // A role or token without an entry counts with the defaults.
  const entries: SubjectPolicy[] = subjectKeys(caller).map((k) => policy.subjects[k] ?? {});
  const kind = caller?.kind;
  const known = kind === 'admin' || kind === 'user' || kind === 'api-token';
  const actions = kind === 'admin' ? caller.actions ?? new Set<string>() : new Set<string>();
  const has = (action: string) => actions.has(action) || actions.has(`plugin::id-vault.${action}`);
  // Admin callers are scoped by RBAC conditions in the Content Manager; content-API callers by the policy.
  const scopeDefault: RowScope | 'none' = !known ? 'none' : kind === 'user' ? 'own' : 'all';
  const scope = (which: 'read' | 'write') =>
    kind === 'admin' ? 'all' : most(SCOPE_RANK, entries.map((e) => e[which]).filter((s): s is RowScope => !!s), scopeDefault);
  return {
    caller,
    unrestricted: false,
    visibility(uid, field) {
      if (!known) return 'hidden'; // fail closed
      const key = fieldKey(uid, field);
      return most(VISIBILITY_RANK, entries.map((e) => e.fields?.[key] ?? 'masked'), 'masked');
    },
    read: scope('read'),
    write: scope('write'),
    viewHidden: kind === 'admin' ? has('customer.view-hidden') : entries.some((e) => e.viewHidden === true),
    export:
      kind === 'admin'
        ? has('export.plain') ? 'plain' : has('export.masked') ? 'masked' : 'none'
        : most(EXPORT_RANK, entries.map((e) => e.export ?? 'none'), 'none'),
    can: has,
  };
};

/** The system's access: everything, plain. */
export const SYSTEM_ACCESS: Access = resolveAccess({ kind: 'system' });

/** Who did it, for the audit trail. */
export const describeCaller = (c: Caller): { actorType: string; actorId: string | null } => ({
  actorType: String(c?.kind ?? 'unknown'),
  actorId: c && 'id' in c && c.id !== undefined && c.id !== null ? String(c.id) : null,
});
