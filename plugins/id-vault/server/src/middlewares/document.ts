import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { looksMasked, mask, type Access } from '../domain';
import { IdVaultQueryError } from '../errors';
import { getService, INTERNAL_UIDS, UIDS } from '../utils/strapi';
import { currentCaller, requestState, type DecryptFailure } from '../utils/caller';
import { CUSTOMER_PATH } from '../services/access';
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
  const accessService = () => getService(strapi, 'access');
  const schemaOf = (uid: string): any => strapi.getModel(uid as any);

  // ---- in: queries ---------------------------------------------------------------------------------

  /**
   * No oracle: only a field the caller sees plain can be filtered, searched or sorted on. A hidden field
   * gets the very answer an unknown field gets; a masked one a 400 that says why.
   */
  const guard = (access: Access, uid: string, field: string): void => {
    const visibility = access.visibility(uid, field);
    if (visibility === 'hidden') throw new errors.ValidationError(`Invalid key ${field}`, { key: field });
    if (visibility === 'masked') {
      throw new IdVaultQueryError(field, `${field} is masked for you: it cannot be filtered, searched or sorted on`);
    }
  };

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

  const rewriteFilters = async (access: Access, uid: string, node: any): Promise<any> => {
    if (Array.isArray(node)) return Promise.all(node.map((n) => rewriteFilters(access, uid, n)));
    if (!isObject(node)) return node;
    const schema = schemaOf(uid);
    const out: Record<string, any> = {};
    const extra: any[] = [];
    for (const [key, value] of Object.entries(node)) {
      const attr = fields().find(uid, key);
      const def = schema?.attributes?.[key];
      if (key === '$and' || key === '$or' || key === '$not') out[key] = await rewriteFilters(access, uid, value);
      else if (attr) {
        guard(access, uid, key);
        extra.push(...(await condition(uid, attr, value)));
      } else if (def?.type === 'relation' && def.target) out[key] = await rewriteFilters(access, def.target, value);
      else if (def?.type === 'component') out[key] = await rewriteFilters(access, def.component, value);
      else out[key] = value;
    }
    if (extra.length) out.$and = [...(Array.isArray(out.$and) ? out.$and : []), ...extra];
    return out;
  };

  const checkSort = (access: Access, uid: string, sort: unknown): void => {
    if (!sort) return;
    if (Array.isArray(sort)) return sort.forEach((s) => checkSort(access, uid, s));
    const paths = typeof sort === 'string' ? sort.split(',').map((s) => s.split(':')[0].trim()) : isObject(sort) ? Object.keys(sort) : [];
    for (const path of paths) {
      let current = uid;
      for (const part of path.split('.')) {
        if (fields().find(current, part)) {
          guard(access, current, part);
          throw new IdVaultQueryError(part, `${part} is encrypted and cannot be sorted on`);
        }
        const def = schemaOf(current)?.attributes?.[part];
        if (def?.type !== 'relation' || !def.target) break;
        current = def.target;
      }
      if (isObject(sort) && isObject((sort as any)[path])) {
        const def = schemaOf(uid)?.attributes?.[path];
        if (def?.target) checkSort(access, def.target, (sort as any)[path]);
      }
    }
  };

  /** A populate parameter in object form: `'*'`, `'a,b.c'`, `['a', 'b.c']` and `{ a: true }` alike. */
  const populateObject = (uid: string, populate: any): Record<string, any> | null => {
    if (populate === '*' || populate === true) {
      const attributes = schemaOf(uid)?.attributes ?? {};
      return Object.fromEntries(
        Object.keys(attributes)
          .filter((k) => ['relation', 'component', 'media', 'dynamiczone'].includes(attributes[k].type))
          .map((k) => [k, true])
      );
    }
    const paths = typeof populate === 'string' ? populate.split(',') : Array.isArray(populate) ? populate : null;
    if (paths) {
      const out: Record<string, any> = {};
      for (const path of paths.map((p) => String(p).trim()).filter(Boolean)) {
        if (path === '*') Object.assign(out, populateObject(uid, '*'));
        const [head, ...rest] = path.split('.');
        if (head === '*') continue;
        if (!rest.length) out[head] ??= true;
        else {
          const node = (out[head] = isObject(out[head]) ? out[head] : {});
          node.populate = [...(Array.isArray(node.populate) ? node.populate : []), rest.join('.')];
        }
      }
      return out;
    }
    return isObject(populate) ? populate : null;
  };

  /**
   * Populated relations get the same treatment as a query of their own: filters rewritten, sorts
   * checked, and rows the caller may not reach (row scope, hidden customers) filtered out.
   */
  const rewritePopulate = async (access: Access, uid: string, populate: any): Promise<any> => {
    const object = populateObject(uid, populate);
    if (!object) return populate;
    for (const [key, raw] of Object.entries(object)) {
      const def = schemaOf(uid)?.attributes?.[key];
      const target = def?.type === 'relation' ? def.target : def?.type === 'component' ? def.component : null;
      if (!target || raw === false) continue;
      const value: Record<string, any> = isObject(raw) ? raw : {};
      if (value.filters) value.filters = await rewriteFilters(access, target, value.filters);
      const scope = await accessService().rowFilter(target, access, 'read');
      if (scope) value.filters = accessService().and(value.filters, scope);
      checkSort(access, target, value.sort);
      if (value.populate !== undefined) value.populate = await rewritePopulate(access, target, value.populate);
      if (isObject(raw) || Object.keys(value).length) object[key] = value;
    }
    return object;
  };

  /** Search box (_q): Strapi's own search skips encrypted columns; add exact matches through the index. */
  const rewriteSearch = async (access: Access, uid: string, params: any): Promise<void> => {
    const q = params._q;
    // Only fields the caller sees plain are searched (no oracle through the search box).
    const searchable = fields()
      .of(uid)
      .filter((a) => a.options.searchable !== 'none' && access.visibility(uid, a.name) === 'plain');
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

  // ---- row scope of writes -------------------------------------------------------------------------

  /** The rows a relation payload points at: `x`, `[x]`, `{ connect | set: [x] }`, with x an id, a document id or `{ id | documentId }`. */
  const relationRefs = (value: unknown): { refs: Array<{ id: number } | { documentId: string }>; touched: boolean } => {
    const refs: Array<{ id: number } | { documentId: string }> = [];
    const add = (v: any) => {
      if (typeof v === 'number') refs.push({ id: v });
      else if (typeof v === 'string') refs.push({ documentId: v });
      else if (isObject(v) && v.documentId) refs.push({ documentId: String(v.documentId) });
      else if (isObject(v) && v.id !== undefined) refs.push({ id: Number(v.id) });
    };
    const list = (v: unknown) => (Array.isArray(v) ? v.forEach(add) : v !== undefined && add(v));
    if (value === undefined) return { refs, touched: false };
    if (isObject(value) && ['connect', 'set', 'disconnect'].some((k) => k in value)) {
      list(value.connect);
      list(value.set);
      return { refs, touched: touchesRelation(value) };
    }
    list(value);
    return { refs, touched: true };
  };

  /** Do all rows a relation payload points at fall within `filter`? (At least one row is needed.) */
  const allWithin = async (target: string, refs: Array<{ id: number } | { documentId: string }>, filter: object | null) => {
    if (!refs.length) return false;
    const hits = await strapi.db.query(target as any).findMany({ where: accessService().and({ $or: refs }, filter), select: ['id', 'documentId'] });
    return refs.every((r) => hits.some((h: any) => ('id' in r ? h.id === r.id : h.documentId === r.documentId)));
  };

  /**
   * A write must stay inside the caller's row scope: the row it changes (404 when the caller cannot even
   * read it, 403 when it can read but not write it) and the customer or org unit the row will belong to.
   */
  const checkWrite = async (access: Access, uid: string, action: string, params: any): Promise<void> => {
    const service = accessService();
    const deny = async (message: string) => {
      await audit().record({ action: `${subjectName(uid)}.${action}`, outcome: 'denied', subjectUid: uid, subjectId: params.documentId ?? null });
      throw new errors.PolicyError(message);
    };
    const writeFilter = await service.rowFilter(uid, access, 'write');
    if (params.documentId && action !== 'create') {
      const readable = service.and({ documentId: params.documentId }, await service.rowFilter(uid, access, 'read'));
      if (!(await strapi.db.query(uid as any).count({ where: readable }))) throw new errors.NotFoundError('Not Found');
      if (writeFilter && !(await strapi.db.query(uid as any).count({ where: service.and(readable, writeFilter) }))) {
        await deny('this customer is outside the rows you may change');
      }
    }
    if (!isObject(params.data) || (action !== 'create' && action !== 'update')) return;
    const { caller } = access;
    if (uid === UIDS.customer && caller.kind === 'user') {
      if (access.write === 'own') {
        if (action === 'create') params.data.apiOwner = caller.id;
        else if (params.data.apiOwner !== undefined) await deny('a customer you own cannot be handed over');
      }
      const team = relationRefs(params.data.team);
      if ((access.write === 'unit' || access.write === 'subtree') && (action === 'create' || team.touched)) {
        const units = await service.unitsOfUser(caller.id, access.write === 'subtree');
        if (!(await allWithin(UIDS.orgUnit, team.refs, { id: { $in: units } }))) await deny('team must be one of your org units');
      }
    }
    if (uid === UIDS.identityDocument) {
      const customer = relationRefs(params.data.customer);
      const customerFilter = await service.rowFilter(UIDS.customer, access, 'write');
      if (customerFilter && (action === 'create' || customer.touched) && !(await allWithin(UIDS.customer, customer.refs, customerFilter))) {
        await deny('customer must be one you may change');
      }
    }
  };

  return async (ctx: any, next: () => Promise<any>) => {
    const { uid, action } = ctx;
    const params = (ctx.params ??= {});
    if (INTERNAL_UIDS.has(uid)) {
      // Keys, indexes and audit events are for the vault's own code only.
      if (currentCaller(strapi).kind !== 'system') throw new errors.ForbiddenError();
      return next();
    }
    const access = await accessService().current();
    const encrypted = fields().of(uid);

    if (params.filters) params.filters = await rewriteFilters(access, uid, params.filters);
    checkSort(access, uid, params.sort);
    if (params.populate !== undefined) params.populate = await rewritePopulate(access, uid, params.populate);
    if (READS.has(action)) {
      await rewriteSearch(access, uid, params);
      const scope = await accessService().rowFilter(uid, access, 'read');
      if (scope) params.filters = accessService().and(params.filters, scope);
    }

    const audited = encrypted.length > 0 && WRITES.has(action);
    let before: Record<string, any> | null = null;
    if (uid in CUSTOMER_PATH && WRITES.has(action)) await checkWrite(access, uid, action, params);
    if (audited && (action === 'update' || action === 'clone') && params.documentId) {
      before = await vault().currentOf(uid, params.documentId);
    }
    if (isObject(params.data)) {
      for (const attr of encrypted) {
        const sent = params.data[attr.name];
        if (sent === undefined) continue;
        const visibility = access.visibility(uid, attr.name);
        // A field the caller cannot see does not exist for it: the answer an unknown field gets.
        if (visibility === 'hidden') throw new errors.ValidationError(`Invalid key ${attr.name}`, { key: attr.name });
        // A form that shows a masked value and sends it back unchanged must not overwrite the real value.
        const stored = before?.[attr.name];
        if (action === 'update' && visibility === 'masked' && typeof sent === 'string' && looksMasked(sent) && typeof stored === 'string' && mask(stored, attr.options.mask) === sent) {
          delete params.data[attr.name];
        }
      }
    }
    const hiding = uid === UIDS.customer && isObject(params.data) && typeof params.data.hidden === 'boolean' && params.data.hidden !== Boolean(before?.hidden ?? false);
    if (hiding && !access.can('customer.hide')) {
      await audit().record({ action: params.data.hidden ? 'customer.hide' : 'customer.unhide', outcome: 'denied', subjectUid: uid, subjectId: params.documentId ?? null });
      throw new errors.PolicyError('hiding or unhiding a customer needs the "Hide and unhide customers" permission');
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
      await vault().reveal(uid, entriesOf(action, result), access, failures);
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
    if (hiding) {
      const documentId = result?.documentId ?? params.documentId ?? null;
      await audit().record({ action: params.data.hidden ? 'customer.hide' : 'customer.unhide', outcome: 'success', subjectUid: uid, subjectId: documentId });
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
