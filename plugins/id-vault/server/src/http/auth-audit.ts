import type { Core } from '@strapi/strapi';
import type { Caller } from '../domain';
import { getService } from '../utils/strapi';

/** The routes that log people in and out, and the action each records (outcome from the status). */
const AUTH_ROUTES: Record<string, string> = {
  'POST /admin/login': 'admin.login',
  'POST /admin/logout': 'admin.logout',
  'POST /api/auth/local': 'user.login',
};

/**
 * Logins and logouts into the audit trail: admin panel login (success / failure) and logout,
 * users-permissions login (success / failure). The actor of a success is the user who logged in (by id);
 * a failure has no actor — the e-mail typed is never recorded (it may not even be an account), only the
 * time, IP, user agent and the status answered (401, 400, 429 for the rate limit).
 */
export const auditAuth = (strapi: Core.Strapi) => async (ctx: any, next: () => Promise<void>) => {
  const action = AUTH_ROUTES[`${ctx.method} ${ctx.path}`];
  if (!action) return next();
  let failed: unknown = null;
  try {
    await next();
  } catch (e) {
    failed = e;
  }
  const status = failed ? (failed as any)?.status ?? 500 : ctx.status;
  const ok = status >= 200 && status < 300;
  const user = action === 'user.login' ? ctx.body?.user : action === 'admin.login' ? ctx.body?.data?.user : ctx.state?.user;
  const caller: Caller =
    ok && user?.id !== undefined ? (action === 'user.login' ? { kind: 'user', id: user.id, role: null } : { kind: 'admin', id: user.id, roles: [] }) : { kind: 'public' };
  await getService(strapi, 'audit')
    .record({ action, outcome: ok ? 'success' : 'rejected', caller, details: ok ? null : { status } })
    .catch((e) => strapi.log.error(`id-vault: could not record ${action}: ${(e as Error).message}`));
  if (failed) throw failed;
};
