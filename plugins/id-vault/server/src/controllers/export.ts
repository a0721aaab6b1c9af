import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { ALWAYS_READABLE } from '../domain/export';
import { getService, UIDS } from '../utils/strapi';
import type { ExportQuery, ExportRequest } from '../services/exports';

const CM_READ = 'plugin::content-manager.explorer.read';

/** The list parameters an export takes (pagination is the export's own; `fields` and `populate` are its columns). */
const listQuery = (q: any): ExportQuery => ({
  ...(q?.filters !== undefined ? { filters: q.filters } : {}),
  ...(q?.sort !== undefined ? { sort: q.sort } : {}),
  ...(q?._q !== undefined ? { _q: q._q } : {}),
});

/** Starts the export and answers with its stream: a download, never cached, never sniffed into another type. */
const send = async (strapi: Core.Strapi, ctx: any, req: ExportRequest) => {
  const r = await getService(strapi, 'exports').start(ctx, req);
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Content-Disposition', `attachment; filename="${r.fileName}"`);
  ctx.set('Content-Type', r.contentType);
  ctx.body = r.body;
};

/** Whether a content-API caller may list `uid` (what Strapi's sanitizer asks before it lets a relation be populated). */
const mayFind = async (strapi: Core.Strapi, auth: unknown, uid: string): Promise<boolean> => {
  try {
    await (strapi as any).auth.verify(auth, { scope: `${uid}.find` });
    return true;
  } catch {
    return false;
  }
};

/**
 * GET /api/id-vault/customers/export — handler `customer.export`, so the permission is "export" of Customer
 * (`plugin::id-vault.customer.export`) in Users & Permissions roles and custom API tokens. The query is
 * validated and sanitized by the customer controller exactly as its `find` does (hidden fields included).
 */
export const contentApiExport = async (strapi: Core.Strapi, controller: any, ctx: any) => {
  await controller.validateQuery(ctx);
  const query = await controller.sanitizeQuery(ctx);
  // The team's name comes from org units: a column only for a caller who may list them.
  const teamReadable = await mayFind(strapi, ctx.state.auth, UIDS.orgUnit);
  await send(strapi, ctx, { format: ctx.query.format, recipient: ctx.query.recipient, query: listQuery(query), readable: (c) => c !== 'team' || teamReadable });
};

/** The admin route (`export.admin`); the export right is checked by the service, which records a refusal. */
export default ({ strapi }: { strapi: Core.Strapi }) => ({
  /**
   * GET /id-vault/customers/export — the Content Manager list's own query (`filters`, `sort`, `_q`, as its
   * list view sends them), sanitized with the admin's read permission as the list is. Columns: the
   * attributes that permission lets the admin read.
   */
  async admin(ctx: any) {
    const ability = ctx.state.userAbility;
    const checker = strapi.plugin('content-manager').service('permission-checker').create({ userAbility: ability, model: UIDS.customer });
    if (checker.cannot.read()) throw new errors.PolicyError('exporting customers needs the Content Manager permission to read customers');
    const query = await checker.sanitizedQuery.read(listQuery(ctx.query));
    const readable = (c: string) => ALWAYS_READABLE.has(c) || (checker.can.read(null, c) && (c !== 'team' || ability.can(CM_READ, UIDS.orgUnit, 'name')));
    await send(strapi, ctx, { format: ctx.query.format, recipient: ctx.query.recipient, query: listQuery(query), readable });
  },
});
