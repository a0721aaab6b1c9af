import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import type { Access } from '../domain';
import { getService, INTERNAL_UIDS } from '../utils/strapi';
import { callerOf, type WriteInProgress } from '../utils/caller';
import { queryRewrite } from './query-rewrite';
import { writeGuards } from './write-guards';
import { auditWrites } from './audit-writes';
import { resultMasking } from './result-masking';
import { auditReads } from './audit-reads';

export { decryptFailuresMeta } from './decrypt-failures-meta';

/**
 * What the document middlewares share: Strapi's context, the caller's access, the row before a write —
 * `before` decrypted where the write guards needed it up front, else `stored` as Strapi read it (WriteInProgress).
 */
export interface DocumentContext extends WriteInProgress {
  access: Access;
  before?: Record<string, any> | null;
}
export type DocumentMiddleware = (ctx: DocumentContext, next: () => Promise<any>) => Promise<any>;

/**
 * The document-service middleware, composed of one job each, outermost first: audit of reads (it sees the
 * query as asked), query rewrite (blind index, no oracle), write guards, audit of writes, result masking. The caller is resolved once per request;
 * code of this plugin outside a request must run as the system (asSystem) — a missing caller fails.
 */
export const documentMiddleware = (strapi: Core.Strapi) => {
  const chain: DocumentMiddleware[] = [auditReads(strapi), queryRewrite(strapi), writeGuards(strapi), auditWrites(strapi), resultMasking(strapi)];
  return async (ctx: any, next: () => Promise<any>) => {
    ctx.params ??= {};
    if (INTERNAL_UIDS.has(ctx.uid)) {
      // Keys, indexes, audit events and grants are for the vault's own code only.
      if (callerOf(strapi)?.kind !== 'system') throw new errors.ForbiddenError();
      return next();
    }
    ctx.access = await getService(strapi, 'access').current();
    const run = (i: number): Promise<any> => (i === chain.length ? next() : chain[i](ctx, () => run(i + 1)));
    return run(0);
  };
};
