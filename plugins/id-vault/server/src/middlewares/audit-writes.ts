import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { SYSTEM_ACCESS, touchesRelation } from '../domain';
import { getService } from '../utils/strapi';
import { asDocumentWrite } from '../utils/caller';
import { holdingBookkeeping } from '../utils/sql';
import { NOT_SCALAR } from '../services/vault';
import type { DocumentContext, DocumentMiddleware } from './index';

const WRITES = new Set(['create', 'update', 'delete', 'clone', 'publish', 'unpublish', 'discardDraft']);
/** Strapi's own bookkeeping, set on every write: not a change anyone made. */
const BOOKKEEPING = new Set(['createdAt', 'updatedAt', 'publishedAt', 'createdBy', 'updatedBy']);

/**
 * Record: every write to a type with encrypted fields becomes an audit event — success with the names of
 * the fields that changed, `rejected` for invalid input, `failure` otherwise. Names, never values.
 */
export const auditWrites = (strapi: Core.Strapi): DocumentMiddleware => {
  const audit = () => getService(strapi, 'audit');
  const schemaOf = (uid: string): any => strapi.getModel(uid as any);
  const subjectName = (uid: string) => schemaOf(uid)?.info?.singularName ?? uid;

  const changedFields = (uid: string, data: any, before: Record<string, any> | null | undefined): string[] => {
    const attributes = schemaOf(uid)?.attributes ?? {};
    return Object.keys(data ?? {}).filter((k) => {
      const def = attributes[k];
      if (!def || BOOKKEEPING.has(k)) return false;
      if (def.type === 'relation') return touchesRelation(data[k]);
      if (!before || !(k in before)) return true;
      const a = before[k];
      const b = data[k];
      return !(a === b || (a != null && b != null && String(a) === String(b)));
    });
  };

  /**
   * An update's row before it, as far as the changed fields go: the write guards' decrypted read, else the
   * row Strapi read inside the write, the written encrypted fields decrypted (under the key the write used).
   */
  const rowBefore = async (ctx: DocumentContext): Promise<Record<string, any> | null | undefined> => {
    if (ctx.before !== undefined || !ctx.stored) return ctx.before;
    const stored = ctx.stored;
    const attributes = schemaOf(ctx.uid)?.attributes ?? {};
    const scalar = (k: string) => k in stored && !NOT_SCALAR.has(attributes[k]?.type);
    const row = Object.fromEntries([['documentId', stored.documentId], ...Object.keys(ctx.params.data ?? {}).filter(scalar).map((k) => [k, stored[k]])]);
    await getService(strapi, 'vault').reveal(ctx.uid, row, SYSTEM_ACCESS, []);
    return row;
  };

  return async (ctx, next) => {
    const { uid, action, params } = ctx;
    if (!WRITES.has(action) || !getService(strapi, 'fields').of(uid).length) return next();
    const event = { action: `${subjectName(uid)}.${action}`, subjectUid: uid };
    let missing = false;
    try {
      // The write and its event in one transaction: both commit, or neither. Its bookkeeping rows (data key,
      // blind-index rows, this event) go to the database together at its end (PostgreSQL: one statement).
      return await strapi.db.transaction(() =>
        holdingBookkeeping(strapi, async () => {
          const result = await asDocumentWrite(ctx, next);
          // Strapi answers an update of a document that is not there with null, having written nothing.
          if (action === 'update' && !result) {
            missing = true;
            throw new errors.NotFoundError('Not Found');
          }
          // Strapi's read of the row went unseen (a shape afterFindOne does not know): its checks run now, before the commit.
          if (ctx.onStored && ctx.stored === undefined) await ctx.onStored();
          await audit().record({
            ...event,
            outcome: 'success',
            subjectId: result?.documentId ?? params.documentId ?? null,
            fields: action === 'update' ? changedFields(uid, params.data, await rowBefore(ctx)) : action === 'create' ? changedFields(uid, params.data, null) : [],
          });
          return result;
        })
      );
    } catch (e) {
      // Not there (or not for this caller): nothing was tried on a record — as when the guards answer 404.
      if (missing) throw e;
      await audit().record({
        ...event,
        outcome: e instanceof errors.ValidationError ? 'rejected' : 'failure',
        subjectId: params.documentId ?? null,
        fields: Object.keys(params.data ?? {}).filter((k) => schemaOf(uid)?.attributes?.[k]),
      });
      throw e;
    }
  };
};
