import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { touchesRelation } from '../domain';
import { getService } from '../utils/strapi';
import { asDocumentWrite } from '../utils/caller';
import { holdingBookkeeping } from '../utils/sql';
import type { DocumentMiddleware } from './index';

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

  return async (ctx, next) => {
    const { uid, action, params } = ctx;
    if (!WRITES.has(action) || !getService(strapi, 'fields').of(uid).length) return next();
    const event = { action: `${subjectName(uid)}.${action}`, subjectUid: uid };
    try {
      // The write and its event in one transaction: both commit, or neither. Its bookkeeping rows (data key,
      // blind-index rows, this event) go to the database together at its end (PostgreSQL: one statement).
      return await strapi.db.transaction(() =>
        holdingBookkeeping(strapi, async () => {
          const result = await asDocumentWrite(next);
          await audit().record({
            ...event,
            outcome: 'success',
            subjectId: result?.documentId ?? params.documentId ?? null,
            fields: action === 'update' ? changedFields(uid, params.data, ctx.before) : action === 'create' ? changedFields(uid, params.data, null) : [],
          });
          return result;
        })
      );
    } catch (e) {
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
