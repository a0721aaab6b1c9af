export type FieldVisibility = 'plain' | 'masked' | 'hidden';

export type Caller =
  | { kind: 'system' }
  | { kind: 'public' }
  | { kind: 'admin'; id: string | number; roles: string[] /* role codes */ }
  | { kind: 'user'; id: string | number; role: string | null /* users-permissions role type */ }
  | { kind: 'api-token'; id: string | number; tokenType: 'full-access' | 'read-only' | 'custom' };

export const SUPER_ADMIN_ROLE = 'strapi-super-admin';

export const isSuperAdmin = (c: Caller): boolean =>
  c?.kind === 'admin' && Array.isArray(c.roles) && c.roles.includes(SUPER_ADMIN_ROLE);

/**
 * The one place that decides what a caller sees of an encrypted field. Today: the system, super admins
 * and full-access API tokens see plaintext, everyone else a mask. Unknown callers see nothing.
 */
export const fieldVisibility = (caller: Caller, _subject: { uid: string; field: string }): FieldVisibility => {
  switch (caller?.kind) {
    case 'system':
      return 'plain';
    case 'admin':
      return isSuperAdmin(caller) ? 'plain' : 'masked';
    case 'api-token':
      return caller.tokenType === 'full-access' ? 'plain' : 'masked';
    case 'user':
    case 'public':
      return 'masked';
    default:
      return 'hidden'; // fail closed
  }
};

/** Who did it, for the audit trail. */
export const describeCaller = (c: Caller): { actorType: string; actorId: string | null } => ({
  actorType: String(c?.kind ?? 'unknown'),
  actorId: c && 'id' in c && c.id !== undefined && c.id !== null ? String(c.id) : null,
});
