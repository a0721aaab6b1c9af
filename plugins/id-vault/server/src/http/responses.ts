import type { Core } from '@strapi/strapi';
import { isCiphertext } from '../crypto';
import { getService } from '../utils/strapi';
import { isProtected } from '../services/access';
import { requestState, type DecryptFailure } from '../utils/caller';
import { readAuditEnabled } from '../middlewares/audit-reads';

/** The Content Manager's relation endpoints: `/relations/:model/:targetField` (the picker's offer) and `/relations/:model/:id/:targetField` (an entry's own). */
const RELATIONS = /^\/content-manager\/relations\/([^/]+)\/(?:([^/]+)\/)?([^/]+)\/?$/;

/** Replaces every ciphertext string left in a response body with null; returns how many it found. */
const sweep = (value: any, depth = 0): number => {
  if (!value || typeof value !== 'object' || depth > 64) return 0;
  let found = 0;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v === 'string' && isCiphertext(v)) {
      value[key] = null;
      found++;
    } else if (v && typeof v === 'object') found += sweep(v, depth + 1);
  }
  return found;
};

/**
 * A read of the relation endpoints (they list rows with db.query, out of the document middleware's sight):
 * one `<type>.list` event, like a list's — the rows shown, which relation, the picker's offer
 * (`relation-picker`, and whether its search box was used, never what was typed) or an entry's own
 * related rows (`relations`).
 */
const recordRelations = async (strapi: Core.Strapi, ctx: any, target: string, relation: string, picker: boolean, count: number) => {
  if (!(isProtected(target) || getService(strapi, 'fields').of(target).length > 0) || !readAuditEnabled()) return;
  const subject = (strapi.getModel(target as any) as any)?.info?.singularName ?? target;
  const details = picker ? { count, via: 'relation-picker', relation, search: typeof ctx.query?._q === 'string' && ctx.query._q.trim() !== '' } : { count, via: 'relations', relation };
  await getService(strapi, 'audit').record({ action: `${subject}.list`, outcome: 'success', subjectUid: target, details });
};

/**
 * The output side of the side roads. The Content Manager's relation endpoints read rows with db.query, not
 * the document service: their results are decrypted and masked here for the caller, like any other output.
 * Then, for every response, whatever ciphertext is still in the body (a route nobody reviewed that selects an
 * encrypted column) becomes null and is logged by route — never sent, even encrypted.
 */
export const responseGuard = (strapi: Core.Strapi) => async (ctx: any, next: () => Promise<void>) => {
  await next();
  const body = ctx.body;
  if (!body || typeof body !== 'object' || Buffer.isBuffer(body) || typeof body.pipe === 'function') return;
  const relations = RELATIONS.exec(ctx.path);
  if (relations && Array.isArray(body.results) && ctx.status === 200) {
    const [, model, entry, field] = relations;
    const target = (strapi.getModel(model as any) as any)?.attributes?.[field]?.target;
    if (target) {
      const failures: DecryptFailure[] = [];
      await getService(strapi, 'vault').reveal(target, body.results, await getService(strapi, 'access').current(), failures);
      requestState(strapi)?.decryptFailures.push(...failures);
      await recordRelations(strapi, ctx, target, `${model}.${field}`, entry === undefined, body.results.length);
    }
  }
  const left = sweep(body);
  if (left) strapi.log.warn(`id-vault: ${left} ciphertext value(s) removed from the response of ${ctx.method} ${ctx._matchedRoute ?? ctx.path}`);
};
