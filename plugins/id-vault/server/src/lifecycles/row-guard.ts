import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { and, GROUP_OPERATORS, isOperator, isPlainObject, populateObject, relationCondition, relationRefs, sortPaths, type Where, type Access } from '../domain';
import { IdVaultQueryError } from '../errors';
import { getService, INTERNAL_UIDS } from '../utils/strapi';
import { asSystem } from '../utils/caller';
import { isProtected } from '../services/access';

/** Operators a query may put on an encrypted column the caller sees plain (what the blind index leaves there). */
const NULL_CHECKS = new Set(['$null', '$notNull']);
const SORTING = Symbol('sorting');
const isKnexQuery = (v: any) => !!v && typeof v === 'object' && typeof v.toSQL === 'function' && typeof v.client === 'object';

/** Fail closed: a shape the layer cannot read is refused (the reason names the shape, never a value). */
const refused = (what: string) => new errors.ValidationError(`id-vault: a query it cannot check was refused (${what})`);

/**
 * The answer a field that does not exist gets (Strapi's own `throwInvalidKey`): a hidden field is not there
 * for the caller. `path`: the relations walked to reach it, like Strapi's.
 */
export const invalidKey = (key: string, path: string[] = []) =>
  new errors.ValidationError(path.length ? `Invalid key ${key} at ${path.join('.')}` : `Invalid key ${key}`, { key, path: path.length ? path.join('.') : null });

/**
 * The query layer: row scope, hidden customers and field visibility enforced where every ORM read and write
 * passes — database lifecycles of every model, so the document service, the Content Manager's relation
 * endpoints (`db.query().findPage` / `load`), populate, clone and any plugin's `strapi.db.query` are covered
 * alike. For a restricted caller of the request in progress:
 * - reads of a protected type get the caller's row filter ANDed into `where`; populated relations into one
 *   get it too (counts included);
 * - a filter that walks a relation into a protected type becomes `id IN (ids of this model related to a
 *   visible row matching the filter)` — a subquery, not a join, so negations around it see visible rows only;
 * - filters and sorts on encrypted columns the caller does not see plain are refused (hidden: the unknown-key
 *   answer), sorts across a relation into a protected type are refused, shapes it cannot read are refused;
 * - writes: updates and deletes of a protected type are limited to the write scope; the written row must be in
 *   it afterwards; every protected row a relation payload touches (connect, set, disconnect, and what `set`
 *   replaces) must be writable.
 * Masking stays at the output (publish and clone read rows with db.query and write them back).
 */
export const rowGuard = (strapi: Core.Strapi) => {
  const access = () => getService(strapi, 'access');
  const fields = () => getService(strapi, 'fields');
  const meta = (uid: string): any => strapi.db.metadata.get(uid);
  const relationNames = (uid: string) => () =>
    Object.entries<any>(meta(uid)?.attributes ?? {})
      .filter(([, a]) => a.type === 'relation')
      .map(([k]) => k);

  /** Does a relation into `target` need the subquery form: rows limited, or encrypted columns to probe? */
  const guarded = (target: string) => isProtected(target) || fields().of(target).length > 0;

  const checkEncrypted = (a: Access, uid: string, key: string, value: unknown) => {
    const visibility = a.visibility(uid, key);
    if (visibility === 'hidden') throw invalidKey(key);
    if (visibility === 'masked') throw new IdVaultQueryError(key, `${key} is masked for you: it cannot be filtered, searched or sorted on`);
    if (value === SORTING) throw new IdVaultQueryError(key, `${key} is encrypted and cannot be sorted on`);
    const ops = isPlainObject(value) ? Object.keys(value) : [];
    if (!ops.length || ops.some((op) => !NULL_CHECKS.has(op))) {
      throw new IdVaultQueryError(key, `${key} is encrypted: filter it through the API's filters (exact match), not on the stored column`);
    }
  };

  /** Ids of `uid` rows whose relation `key` reaches a row of its target matching `targetWhere` (knex subquery). */
  const sourceIds = (uid: string, key: string, targetWhere: Where | null) => {
    const attr = meta(uid).attributes[key];
    const knex = strapi.db.connection;
    const targetIds = strapi.db.queryBuilder(attr.target).select('id').where(targetWhere ?? {}).getKnexQuery();
    const jt = attr.joinTable;
    if (jt && !jt.on) return knex(jt.name).select(jt.joinColumn.name).whereIn(jt.inverseJoinColumn.name, targetIds);
    if (attr.joinColumn && !jt) {
      return knex(meta(uid).tableName).select('id').whereIn(attr.joinColumn.name, targetIds);
    }
    throw new IdVaultQueryError(key, `${key}: this relation cannot be filtered on`);
  };

  /** `where` of `uid`, with relation filters into guarded types compiled to scoped id subqueries. */
  const sealWhere = async (a: Access, uid: string, where: any): Promise<any> => {
    if (where === undefined || where === null) return where;
    if (Array.isArray(where)) return Promise.all(where.map((w) => sealWhere(a, uid, w)));
    if (!isPlainObject(where)) throw refused('a where that is not an object');
    const attributes = meta(uid)?.attributes ?? {};
    const out: Where = {};
    const extra: Where[] = [];
    for (const [key, value] of Object.entries(where)) {
      if (key === '$and' || key === '$or') {
        out[key] = Array.isArray(value) ? await Promise.all(value.map((w) => sealWhere(a, uid, w))) : await sealWhere(a, uid, value);
        continue;
      }
      if (key === '$not') {
        out[key] = await sealWhere(a, uid, value);
        continue;
      }
      const attr = attributes[key];
      if (!attr) {
        // Raw columns (`document_id`, `t1.id`): Strapi's own shapes; on a guarded type only its plain columns.
        if (isOperator(key) || key.includes('.')) throw new errors.ValidationError(`Invalid key ${key}`, { key });
        if (guarded(uid) && fields().of(uid).some((f) => (attributes[f.name]?.columnName ?? f.name) === key)) throw invalidKey(key);
        out[key] = value;
        continue;
      }
      if (fields().find(uid, key)) {
        checkEncrypted(a, uid, key, value);
        out[key] = value;
        continue;
      }
      if (attr.type === 'relation') {
        if (!attr.target) throw new IdVaultQueryError(key, `${key}: polymorphic relations cannot be filtered on`);
        if (!guarded(attr.target)) {
          out[key] = isPlainObject(value) ? await sealWhere(a, attr.target, value) : value;
          continue;
        }
        const { mode, where: sub } = relationCondition(value);
        const targetWhere = and(await sealWhere(a, attr.target, sub), await access().rowFilter(attr.target, a, 'read'));
        extra.push({ id: { [mode === 'some' ? '$in' : '$notIn']: sourceIds(uid, key, targetWhere) } });
        continue;
      }
      if (isPlainObject(value)) {
        for (const [op, v] of Object.entries(value)) {
          if (isKnexQuery(v) && op !== '$in' && op !== '$notIn') throw refused(`a subquery under ${op}`);
        }
      }
      out[key] = value;
    }
    return extra.length ? and(out, ...extra) : out;
  };

  /**
   * Filters given as a function (the document service's draft / published filter, applied to the query and
   * each populated relation): allowed when what it returns only compares plain columns of the model.
   */
  const plainColumnsOnly = (fn: (ctx: any) => any) => (ctx: any) => {
    const result = fn(ctx);
    const check = (uid: string, w: any): void => {
      if (w === null || w === undefined) return;
      if (Array.isArray(w)) return w.forEach((x) => check(uid, x));
      if (!isPlainObject(w)) throw refused('filters given as a function');
      for (const [key, value] of Object.entries(w)) {
        if (GROUP_OPERATORS.has(key)) check(uid, value);
        else if (meta(uid)?.attributes?.[key]?.type === 'relation' || fields().find(uid, key) || !meta(uid)?.attributes?.[key]) {
          throw refused('filters given as a function');
        }
      }
    };
    check(ctx?.meta?.uid ?? ctx?.uid, result);
    return result;
  };

  /** Sorting on an encrypted column, or across a relation into a protected type, is refused. */
  const checkOrder = (a: Access, uid: string, orderBy: unknown) => {
    for (const path of sortPaths(orderBy)) {
      let current = uid;
      for (const part of path) {
        if (fields().find(current, part)) {
          checkEncrypted(a, current, part, SORTING);
        }
        const attr = meta(current)?.attributes?.[part];
        if (attr?.type !== 'relation' || !attr.target) break;
        if (guarded(attr.target)) throw new IdVaultQueryError(part, `${part}: sorting across this relation is not allowed`);
        current = attr.target;
      }
    }
  };

  /** Populated relations: the target's row filter, sealed filters and sorts, all the way down. */
  const sealPopulate = async (a: Access, uid: string, populate: unknown): Promise<any> => {
    const object = populateObject(populate, relationNames(uid));
    if (!object) return populate;
    const out: Record<string, any> = {};
    for (const [key, raw] of Object.entries(object)) {
      const attr = meta(uid)?.attributes?.[key];
      if (raw === false || attr?.type !== 'relation' || !attr.target) {
        out[key] = raw;
        continue;
      }
      const value: Record<string, any> = isPlainObject(raw) ? { ...raw } : {};
      if (value.where !== undefined) value.where = await sealWhere(a, attr.target, value.where);
      if (value.filters !== undefined) {
        if (!isPlainObject(value.filters)) throw refused('populate filters that are not an object');
        value.filters = await sealWhere(a, attr.target, value.filters);
      }
      const scope = await access().rowFilter(attr.target, a, 'read');
      if (scope) value.where = and(value.where, scope);
      checkOrder(a, attr.target, value.orderBy);
      if (value.populate !== undefined) value.populate = await sealPopulate(a, attr.target, value.populate);
      out[key] = Object.keys(value).length ? value : raw;
    }
    return out;
  };

  const sealRead = async (event: any) => {
    const uid = event.model.uid;
    if (INTERNAL_UIDS.has(uid)) return;
    const a = await access().forLayer();
    if (!a) return;
    const p = event.params;
    await asSystem(async () => {
      if (typeof p.filters === 'function') p.filters = plainColumnsOnly(p.filters);
      else if (p.filters !== undefined && p.filters !== null) p.filters = await sealWhere(a, uid, p.filters);
      const where = await sealWhere(a, uid, p.where);
      p.where = and(where, await access().rowFilter(uid, a, 'read')) ?? where;
      checkOrder(a, uid, p.orderBy);
      if (p.populate !== undefined) p.populate = await sealPopulate(a, uid, p.populate);
    });
  };

  /** The ids of protected rows a write's relation payloads touch, per target type (current ones included where replaced). */
  const touchedRows = async (uid: string, data: any, rowWhere: any): Promise<Map<string, { ids: Set<number>; documentIds: Set<string> }>> => {
    const touched = new Map<string, { ids: Set<number>; documentIds: Set<string> }>();
    if (!isPlainObject(data)) return touched;
    let row: any;
    for (const [key, value] of Object.entries(data)) {
      const attr = meta(uid)?.attributes?.[key];
      if (attr?.type !== 'relation' || !attr.target || !isProtected(attr.target)) continue;
      const { refs, touched: changes, replaces, unknown } = relationRefs(value);
      if (!changes) continue;
      if (unknown) throw new errors.ValidationError(`${key}: a relation payload it cannot read was refused`);
      const entry = touched.get(attr.target) ?? { ids: new Set<number>(), documentIds: new Set<string>() };
      touched.set(attr.target, entry);
      for (const r of refs) 'id' in r ? entry.ids.add(r.id) : entry.documentIds.add(r.documentId);
      if (replaces && rowWhere) {
        row ??= await strapi.db.query(uid as any).findOne({ where: rowWhere, select: ['id'] });
        if (!row) continue;
        const current = await strapi.db.query(uid as any).load(row, key, { select: ['id'] });
        for (const c of [current].flat().filter(Boolean)) entry.ids.add(c.id);
      }
    }
    return touched;
  };

  const denied = async (uid: string, message: string) => {
    await getService(strapi, 'audit').record({ action: 'write.denied', outcome: 'denied', subjectUid: uid, details: { reason: message } });
    return new errors.PolicyError(message);
  };

  /** Every protected row a relation payload touches must be one the caller may write. */
  const checkRelations = async (a: Access, uid: string, data: any, rowWhere: any) => {
    for (const [target, { ids, documentIds }] of await touchedRows(uid, data, rowWhere)) {
      const refs = [...[...ids].map((id) => ({ id })), ...[...documentIds].map((documentId) => ({ documentId }))];
      if (!refs.length) continue;
      const filter = await access().rowFilter(target, a, 'write');
      if (!filter) continue;
      const hits = await strapi.db.query(target as any).findMany({ where: and({ $or: refs }, filter), select: ['id', 'documentId'] });
      const ok = refs.every((r) => hits.some((h: any) => ('id' in r ? h.id === r.id : h.documentId === r.documentId)));
      if (!ok) throw await denied(target, 'a relation you set touches a record you may not change');
    }
  };

  const sealWrite = async (event: any) => {
    const uid = event.model.uid;
    if (INTERNAL_UIDS.has(uid)) return;
    const a = await access().forLayer();
    if (!a) return;
    const p = event.params;
    const creating = event.action === 'beforeCreate' || event.action === 'beforeCreateMany';
    await asSystem(async () => {
      if (p.where !== undefined) p.where = await sealWhere(a, uid, p.where);
      // The row as the write named it, to find it again afterwards (checkWritten).
      event.state.idvRow = creating ? (p.data?.documentId ? { documentId: p.data.documentId } : null) : p.where;
      const filter = await access().rowFilter(uid, a, 'write');
      if (filter && !creating) p.where = and(p.where, filter);
      const items = Array.isArray(p.data) ? p.data : [p.data];
      for (const data of items) await checkRelations(a, uid, data, event.action === 'beforeUpdate' ? p.where : null);
    });
  };

  /**
   * A written protected row must lie inside the caller's write scope afterwards: nobody writes a row out of
   * their reach. The document service writes in a transaction, so a refused write leaves nothing behind.
   */
  const checkWritten = async (event: any) => {
    const uid = event.model.uid;
    if (!isProtected(uid)) return;
    const a = await access().forLayer();
    if (!a) return;
    await asSystem(async () => {
      const filter = await access().rowFilter(uid, a, 'write');
      if (!filter) return;
      const row = event.result?.id ? { id: event.result.id } : event.state.idvRow;
      const inside = row ? await strapi.db.query(uid as any).count({ where: and(row, filter) }) : 0;
      if (!inside) throw await denied(uid, 'this change would put the record outside the rows you may change');
    });
  };

  return {
    beforeFindMany: sealRead,
    beforeFindOne: sealRead,
    beforeCount: sealRead,
    beforeCreate: sealWrite,
    beforeCreateMany: sealWrite,
    beforeUpdate: sealWrite,
    beforeUpdateMany: sealWrite,
    beforeDelete: sealWrite,
    beforeDeleteMany: sealWrite,
    afterCreate: checkWritten,
    afterUpdate: checkWritten,
  };
};
