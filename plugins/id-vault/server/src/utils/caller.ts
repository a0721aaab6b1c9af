import { AsyncLocalStorage } from 'node:async_hooks';
import type { Core } from '@strapi/strapi';
import { SUPER_ADMIN_ROLE, type Access, type Caller } from '../domain';
import { ACTIONS } from './strapi';

/**
 * The explicit caller. Inside a request the caller comes from the request's authentication; code of this
 * plugin that must see everything (its own bookkeeping reads, jobs, CLI, streams that outlive a request)
 * runs inside `asSystem(...)` — on purpose, visibly. Outside both, the plugin's code has no caller and
 * fails (see access.current()); Strapi's own internals outside a request are the system.
 */
const marks = new AsyncLocalStorage<{ system: true } | { validating: Access }>();

/** Runs `fn` (and everything it awaits) as the system: no row scope, no masking, no field refusal. */
export const asSystem = <T>(fn: () => T): T => marks.run({ system: true }, fn);
export const isSystemMarked = (): boolean => (marks.getStore() as any)?.system === true;

/**
 * A document-service write in progress, as the database lifecycles underneath it see it. `stored`: the row
 * as Strapi read it inside the write's transaction before changing it (an update reads its row once, and the
 * vault's checks and audit use that read rather than one of their own); `onStored` runs on it then.
 */
export interface WriteInProgress {
  uid: string;
  action: string;
  params: Record<string, any>;
  stored?: Record<string, any>;
  onStored?: (row?: Record<string, any>) => Promise<void>;
}

const documentWrites = new AsyncLocalStorage<WriteInProgress>();

/** Runs a document-service write (`fn`): the db.query writes underneath it are that write's, audited as such. */
export const asDocumentWrite = <T>(write: WriteInProgress, fn: () => T): T => documentWrites.run(write, fn);
/** The document-service write the code running now is inside of, if any (see lifecycles/direct-writes.ts). */
export const documentWrite = (): WriteInProgress | undefined => documentWrites.getStore();
export const inDocumentWrite = (): boolean => documentWrites.getStore() !== undefined;

/** Runs `fn` with `access` visible to synchronous code Strapi calls (content-API validation, see hidden-fields.ts). */
export const withValidationAccess = <T>(access: Access, fn: () => T): T => marks.run({ validating: access }, fn);
export const validationAccess = (): Access | undefined => (marks.getStore() as any)?.validating;

/** The caller of the code running now: the system mark, else the request's caller, else null (no caller). */
export const callerOf = (strapi: Core.Strapi): Caller | null => {
  if (isSystemMarked()) return { kind: 'system' };
  if (!strapi.requestContext.get()) return null;
  return currentCaller(strapi);
};

/** Content-API token strategy names: `content-api-token` in 5.54 (`api-token` in older 5.x). */
export const TOKEN_STRATEGIES = new Set(['content-api-token', 'api-token']);

/**
 * Who is asking, from the request in progress (the system mark wins; no request: the system, for the audit
 * trail's actor of Strapi's own work). Anything unrecognised is treated as the public, which sees least.
 */
export const currentCaller = (strapi: Core.Strapi): Caller => {
  const ctx: any = strapi.requestContext.get();
  if (!ctx || isSystemMarked()) return { kind: 'system' };
  const auth = ctx.state?.auth;
  const strategy = auth?.strategy?.name;
  const user = ctx.state?.user;
  if ((strategy === 'admin' || strategy === 'admin-token') && user) {
    let roles: string[] = (user.roles ?? []).map((r: any) => r.code);
    // An admin token may hold less than its owner: never the owner's super-admin plaintext by role.
    if (strategy === 'admin-token') roles = roles.filter((r) => r !== SUPER_ADMIN_ROLE);
    return { kind: 'admin', id: user.id, roles, actions: vaultActions(ctx.state.userAbility) };
  }
  if (TOKEN_STRATEGIES.has(strategy) && auth.credentials) {
    const type = auth.credentials.type;
    const tokenType = type === 'full-access' || type === 'read-only' ? type : 'custom';
    return { kind: 'api-token', id: auth.credentials.id, tokenType };
  }
  if (strategy === 'users-permissions' && user) {
    return { kind: 'user', id: user.id, role: user.role?.type ?? null };
  }
  return { kind: 'public' };
};

/** The ID Vault admin actions an admin's ability holds (Settings → Roles → Plugins → ID Vault). */
const vaultActions = (ability: any): Set<string> =>
  new Set(
    Object.values(ACTIONS).filter((action) => {
      try {
        return !!ability?.can(action);
      } catch {
        return false;
      }
    })
  );

/** Request facts for the audit trail (no body, no query string: they may carry personal data). */
export const requestFacts = (strapi: Core.Strapi): { ip: string | null; userAgent: string | null } => {
  const ctx: any = strapi.requestContext.get();
  if (!ctx) return { ip: null, userAgent: null };
  return { ip: ctx.request?.ip ?? null, userAgent: ctx.request?.header?.['user-agent'] ?? null };
};

/** Per-request scratch space of the vault (decryption failures to report in `meta`, values computed once). */
export const requestState = (strapi: Core.Strapi): { decryptFailures: DecryptFailure[]; memo: Map<string, unknown> } | null => {
  const ctx: any = strapi.requestContext.get();
  if (!ctx) return null;
  ctx.state.idVault ??= { decryptFailures: [], memo: new Map() };
  return ctx.state.idVault;
};

/**
 * `compute()` once per request and key (the caller's access, org units, grants: a list and its count,
 * or the several permissions of one admin ability, share them); every time outside a request.
 */
export const oncePerRequest = <T>(strapi: Core.Strapi, key: string, compute: () => T): T => {
  const memo = requestState(strapi)?.memo;
  if (!memo) return compute();
  if (!memo.has(key)) memo.set(key, compute());
  return memo.get(key) as T;
};

export interface DecryptFailure {
  uid: string;
  documentId: string | null;
  field: string;
}
