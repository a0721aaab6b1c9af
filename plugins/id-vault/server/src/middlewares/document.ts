import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { fieldVisibility, looksMasked, mask, type Caller } from '../domain';
import { IdVaultQueryError } from '../errors';
import { getService, INTERNAL_UIDS } from '../utils/strapi';
import { currentCaller, requestState, type DecryptFailure } from '../utils/caller';
import type { EncryptedAttribute } from '../services/fields';

const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);
const READS = new Set(['findMany', 'findFirst', 'findOne', 'count']);
const WRITES = new Set(['create', 'update', 'delete', 'clone', 'publish', 'unpublish', 'discardDraft']);
const TEXT_TYPES = new Set(['string', 'text', 'email', 'uid', 'richtext']);
/** Strapi's own bookkeeping, set on every write: not a change anyone made. */
const BOOKKEEPING = new Set(['createdAt', 'updatedAt', 'publishedAt', 'createdBy', 'updatedBy']);

/**
 * The document-service middleware: everything between a caller and the stored ciphertext.
 * In: filters, sort and search on encrypted fields are rewritten to the blind index or refused; a masked
 * value sent back unchanged is not written over the real one; clone gets plaintext to re-encrypt.
 * Out: decrypt → decide (domain/access) → mask, on the entry and every populated relation.
 * Record: writes to types with encrypted fields, and values that failed to decrypt, become audit events.
 */
export const documentMiddleware = (strapi: Core.Strapi) => {
  const fields = () => getService(strapi, 'fields');
  const vault = () => getService(strapi, 'vault');
  const audit = () => getService(strapi, 'audit');
  const schemaOf = (uid: string): any => strapi.getModel(uid as any);

  // ---- in: queries ---------------------------------------------------------------------------------

  const condition = async (uid: string, attr: EncryptedAttribute, cond: unknown): Promise<any[]> => {
    if (typeof cond === 'string' || typeof cond === 'number') return [{ documentId: { $in: await vault().match(uid, attr, '$eq', cond) } }];
    if (Array.isArray(cond)) return [{ documentId: { $in: await vault().match(uid, attr, '$in', cond) } }];
    if (!isObject(cond)) throw new IdVaultQueryError(attr.name, `${attr.name}: unsupported filter`);
    const out: any[] = [];
    for (const [op, value] of Object.entries(cond)) {
      if (op === '$null' || op === '$notNull') out.push({ [attr.name]: { [op]: value } });
      else if (op === '$not') out.push({ $not: { $and: await condition(uid, attr, value) } });
      else out.push({ documentId: { $in: await vault().match(uid, attr, op, value) } });
    }
    return out;
  };

  const rewriteFilters = async (uid: string, node: any): Promise<any> => {
    if (Array.isArray(node)) return Promise.all(node.map((n) => rewriteFilters(uid, n)));
    if (!isObject(node)) return node;
    const schema = schemaOf(uid);
    const out: Record<string, any> = {};
    const extra: any[] = [];
    for (const [key, value] of Object.entries(node)) {
      const attr = fields().find(uid, key);
      const def = schema?.attributes?.[key];
      if (key === '$and' || key === '$or' || key === '$not') out[key] = await rewriteFilters(uid, value);
      else if (attr) extra.push(...(await condition(uid, attr, value)));
      else if (def?.type === 'relation' && def.target) out[key] = await rewriteFilters(def.target, value);
      else if (def?.type === 'component') out[key] = await rewriteFilters(def.component, value);
      else out[key] = value;
    }
    if (extra.length) out.$and = [...(Array.isArray(out.$and) ? out.$and : []), ...extra];
    return out;
  };

  const checkSort = (uid: string, sort: unknown): void => {
    if (!sort) return;
    if (Array.isArray(sort)) return sort.forEach((s) => checkSort(uid, s));
    const paths = typeof sort === 'string' ? sort.split(',').map((s) => s.split(':')[0].trim()) : isObject(sort) ? Object.keys(sort) : [];
    for (const path of paths) {
      let current = uid;
      for (const part of path.split('.')) {
        if (fields().find(current, part)) throw new IdVaultQueryError(part, `${part} is encrypted and cannot be sorted on`);
        const def = schemaOf(current)?.attributes?.[part];
        if (def?.type !== 'relation' || !def.target) break;
        current = def.target;
      }
      if (isObject(sort) && isObject((sort as any)[path])) {
        const def = schemaOf(uid)?.attributes?.[path];
        if (def?.target) checkSort(def.target, (sort as any)[path]);
      }
    }
  };

  const rewritePopulate = async (uid: string, populate: any): Promise<void> => {
    if (!isObject(populate)) return;
    for (const [key, value] of Object.entries(populate)) {
      const def = schemaOf(uid)?.attributes?.[key];
      const target = def?.type === 'relation' ? def.target : def?.type === 'component' ? def.component : null;
      if (!target || !isObject(value)) continue;
      if (value.filters) value.filters = await rewriteFilters(target, value.filters);
      checkSort(target, value.sort);
      await rewritePopulate(target, value.populate);
    }
  };

  /** Search box (_q): Strapi's own search skips encrypted columns; add exact matches through the index. */
  const rewriteSearch = async (uid: string, params: any): Promise<void> => {
    const q = params._q;
    const searchable = fields().of(uid).filter((a) => a.options.searchable !== 'none');
    if (typeof q !== 'string' || !q.trim() || !searchable.length) return;
    const ids = new Set<string>();
    for (const attr of searchable) for (const id of await vault().match(uid, attr, '$eq', q.trim())) ids.add(id);
    const schema = schemaOf(uid);
    const or: any[] = Object.entries<any>(schema.attributes)
      .filter(([name, a]) => TEXT_TYPES.has(a.type) && a.searchable !== false && !a.private && !fields().find(uid, name))
      .map(([name]) => ({ [name]: { $containsi: q } }));
    if (ids.size) or.push({ documentId: { $in: [...ids] } });
    delete params._q;
    const search = { $or: or };
    params.filters = params.filters ? { $and: [params.filters, search] } : search;
  };

  // ---- out ----------------------------------------------------------------------------------------

  const entriesOf = (action: string, result: any): unknown => {
    if (result && isObject(result) && Array.isArray(result.entries) && !READS.has(action)) return result.entries;
    return result;
  };

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

  // ---- record -------------------------------------------------------------------------------------

  /** Does a relation payload change anything? ({ connect: [], disconnect: [] } or { count } do not.) */
  const touchesRelation = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object') return v !== undefined;
    if (Array.isArray(v)) return true;
    return ['connect', 'disconnect', 'set'].some((k) => {
      const part = (v as any)[k];
      return Array.isArray(part) ? part.length > 0 : part !== undefined;
    });
  };

  const changedFields = (uid: string, data: any, before: Record<string, any> | null): string[] => {
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

  const subjectName = (uid: string) => schemaOf(uid)?.info?.singularName ?? uid;

  return async (ctx: any, next: () => Promise<any>) => {
    const { uid, action } = ctx;
    const params = (ctx.params ??= {});
    if (INTERNAL_UIDS.has(uid)) {
      // Keys, indexes and audit events are for the vault's own code only.
      if (currentCaller(strapi).kind !== 'system') throw new errors.ForbiddenError();
      return next();
    }
    const caller: Caller = currentCaller(strapi);
    const encrypted = fields().of(uid);

    if (params.filters) params.filters = await rewriteFilters(uid, params.filters);
    checkSort(uid, params.sort);
    await rewritePopulate(uid, params.populate);
    if (READS.has(action)) await rewriteSearch(uid, params);

    const audited = encrypted.length > 0 && WRITES.has(action);
    let before: Record<string, any> | null = null;
    if (audited && (action === 'update' || action === 'clone') && params.documentId) {
      before = await vault().currentOf(uid, params.documentId);
    }
    if (before && action === 'update' && isObject(params.data)) {
      // A form that shows a masked value and sends it back unchanged must not overwrite the real value.
      for (const attr of encrypted) {
        const sent = params.data[attr.name];
        const stored = before[attr.name];
        if (typeof sent === 'string' && looksMasked(sent) && typeof stored === 'string' && mask(stored, attr.options.mask) === sent) {
          if (fieldVisibility(caller, { uid, field: attr.name }) !== 'plain') delete params.data[attr.name];
        }
      }
    }
    if (before && action === 'clone') {
      // The copy gets its own document id and data key: hand over plaintext to encrypt afresh.
      params.data = { ...Object.fromEntries(encrypted.map((a) => [a.name, before![a.name]])), ...(params.data ?? {}) };
    }

    let result: any;
    try {
      result = await next();
    } catch (e) {
      if (audited) {
        await audit().record({
          action: `${subjectName(uid)}.${action}`,
          outcome: e instanceof errors.ValidationError ? 'rejected' : 'failure',
          subjectUid: uid,
          subjectId: params.documentId ?? null,
          fields: Object.keys(params.data ?? {}).filter((k) => schemaOf(uid)?.attributes?.[k]),
        });
      }
      throw e;
    }

    if (action !== 'count') {
      const failures: DecryptFailure[] = [];
      await vault().reveal(uid, entriesOf(action, result), caller, failures);
      await reportFailures(failures);
    }

    if (audited) {
      const documentId = result?.documentId ?? params.documentId ?? null;
      await audit().record({
        action: `${subjectName(uid)}.${action}`,
        outcome: 'success',
        subjectUid: uid,
        subjectId: documentId,
        fields: action === 'update' ? changedFields(uid, params.data, before) : action === 'create' ? changedFields(uid, params.data, null) : [],
      });
    }
    return result;
  };
};

/** Koa middleware: tells the caller, in `meta`, which fields could not be decrypted for this response. */
export const decryptFailuresMeta = () => async (ctx: any, next: () => Promise<void>) => {
  await next();
  const failures: DecryptFailure[] | undefined = ctx.state?.idVault?.decryptFailures;
  if (!failures?.length || !isObject(ctx.body)) return;
  ctx.body.meta = { ...(ctx.body.meta ?? {}), idVault: { decryptFailures: failures } };
};
