import type { Core } from '@strapi/strapi';
import { isPlainObject } from '../domain';
import { getService } from '../utils/strapi';
import { requestState, type DecryptFailure } from '../utils/caller';
import type { DocumentMiddleware } from './index';

const READS = new Set(['findMany', 'findFirst', 'findOne', 'count']);

/**
 * Out: decrypt → decide (domain/access) → mask, on the entry and every populated relation. A value that
 * does not decrypt becomes null, is listed in the response's `meta` and becomes an audit event.
 */
export const resultMasking = (strapi: Core.Strapi): DocumentMiddleware => {
  const audit = () => getService(strapi, 'audit');

  const entriesOf = (action: string, result: any): unknown =>
    result && isPlainObject(result) && Array.isArray(result.entries) && !READS.has(action) ? result.entries : result;

  const reportFailures = async (failures: DecryptFailure[]) => {
    if (!failures.length) return;
    requestState(strapi)?.decryptFailures.push(...failures);
    const bySubject = new Map<string, DecryptFailure[]>();
    for (const f of failures) bySubject.set(`${f.uid}#${f.documentId}`, [...(bySubject.get(`${f.uid}#${f.documentId}`) ?? []), f]);
    for (const list of bySubject.values()) {
      await audit().record({
        action: 'decrypt.failed',
        outcome: 'failure',
        subjectUid: list[0].uid,
        subjectId: list[0].documentId,
        fields: [...new Set(list.map((f) => f.field))],
      });
    }
  };

  return async (ctx, next) => {
    const result = await next();
    if (ctx.action !== 'count') {
      const failures: DecryptFailure[] = [];
      await getService(strapi, 'vault').reveal(ctx.uid, entriesOf(ctx.action, result), ctx.access, failures);
      await reportFailures(failures);
    }
    return result;
  };
};
