/**
 * Request/response shapes of the plugin's own routes, shared by the server and the admin panel.
 * Admin routes live under `/id-vault/...` (admin JWT); content-API routes under `/api/id-vault/...`.
 */

export type FieldVisibility = 'plain' | 'masked' | 'hidden';
/** Row scope of a content-API caller: own customers, those of its org units, those and the units below, all. */
export type RowScope = 'own' | 'unit' | 'subtree' | 'all';
export type ExportRight = 'none' | 'masked' | 'plain';

/** `admin-role:<role code>`, `up-role:<users-permissions role type>`, `api-token:<token id>`. */
export type SubjectKey = string;
/** `<content-type uid>#<attribute>` e.g. `plugin::id-vault.customer#idNumber`. */
export type FieldKey = string;

export interface SubjectPolicy {
  /** Per field; a field without an entry is masked. */
  fields?: Record<FieldKey, FieldVisibility>;
  /** Content-API callers only (admin roles use RBAC conditions). Default: `own` for roles, `all` for tokens. */
  read?: RowScope;
  write?: RowScope;
  /** Sees customers marked hidden (admin roles: the `customer.view-hidden` action instead). Default false. */
  viewHidden?: boolean;
  /** Export right (admin roles: the `export.*` actions instead). Default `none`. */
  export?: ExportRight;
}

export interface AccessPolicy {
  subjects: Record<SubjectKey, SubjectPolicy>;
}

/** GET /id-vault/access-policy and the answer of PUT (needs `settings.manage`). PUT body: `{ policy: AccessPolicy }`. */
export interface AccessPolicyResponse {
  data: {
    policy: AccessPolicy;
    subjects: Array<{
      key: SubjectKey;
      kind: 'admin-role' | 'up-role' | 'api-token';
      name: string;
      /** Set when the matrix does not apply: super admins and full-access tokens always see plaintext. */
      fixed?: 'plain';
    }>;
    /** `label`: the field's readable English label (admin-added fields: their name). */
    fields: Array<{ key: FieldKey; uid: string; field: string; contentType: string; label: string }>;
  };
}

export type GrantAction = 'reveal' | 'export' | 'edit';
export type GrantStatus = 'pending' | 'active' | 'expired' | 'rejected' | 'revoked';

export interface Grant {
  documentId: string;
  status: GrantStatus;
  requester: { id: number; name: string };
  /** Either customers (document ids) or one org unit (document id). */
  customers: Array<{ documentId: string; name: string }>;
  orgUnit: { documentId: string; name: string } | null;
  actions: GrantAction[];
  reason: string;
  days: number;
  headApprover: { id: number; name: string } | null;
  archiveApprover: { id: number; name: string } | null;
  createdAt: string;
  approvedAt: string | null;
  expiresAt: string | null;
  decidedBy: { id: number; name: string } | null; // who rejected or revoked
  /** Pending, and no org unit of the requester's chain (their units and those above) has a head: nobody can give the head approval. */
  noHead: boolean;
}

/**
 * GET  /id-vault/grants                      → { data: Grant[], meta: { maxDays, noHead } }   (own requests; all with `grant.approve`;
 *                                               maxDays: the longest grant this server allows; noHead: the caller's own
 *                                               unit chain has no head, so their requests could not be approved)
 * POST /id-vault/grants                      → { data: Grant }     body: GrantRequest (needs `grant.request`)
 * POST /id-vault/grants/:documentId/approve  → { data: Grant }     (needs `grant.approve`; not one's own)
 * POST /id-vault/grants/:documentId/reject   → { data: Grant }     (needs `grant.approve`)
 * POST /id-vault/grants/:documentId/revoke   → { data: Grant }     (`grant.approve`, or the requester)
 */
export interface GrantRequest {
  customers?: string[];
  orgUnit?: string;
  actions: GrantAction[];
  reason: string;
  days: number;
}

/**
 * POST /id-vault/customers/:documentId/reveal (admin) and POST /api/id-vault/customers/:documentId/reveal
 * (content API). Plaintext of the asked fields the caller may reveal; 400 without a reason; 404 when the
 * customer is not visible to the caller.
 */
export interface RevealRequest {
  fields: string[];
  reason: string;
}
export interface RevealResponse {
  data: { documentId: string; values: Record<string, string | null> };
}

/** GET /id-vault/backups `running[]`, POST /id-vault/backups (202): a backup being written. Who asked and how far it is: only for the answering process's own. */
export interface RunningBackup {
  /** The file it will be, `idv-backup-<UTC time>-<random>.idvb`. */
  file: string;
  startedAt: string;
  pid: number;
  trigger: string | null;
  /** Rows and scan objects written of `total` (null: not counted yet, or another process's backup). */
  done: number | null;
  total: number | null;
}
