import type { Core } from '@strapi/strapi';
import { isPlainObject, populateObject, sortPaths, type Access } from '../domain';
import { IdVaultQueryError } from '../errors';
import { getService } from '../utils/strapi';
import { invalidKey } from '../lifecycles/row-guard';
import type { EncryptedAttribute } from '../services/fields';
import type { DocumentMiddleware } from './index';

const TEXT_TYPES = new Set(['string', 'text', 'email', 'uid', 'richtext']);
const NESTING = new Set(['relation', 'component', 'media', 'dynamiczone']);

/**
 * In: filters, sorts and the search box on encrypted fields become blind-index lookups or a 400 that says
 * why. No oracle: only a field the caller sees plain can be filtered, searched or sorted on; a hidden one
 * gets the unknown-field answer. (Row scope is the query layer's: lifecycles/row-guard.ts.)
 */
export const queryRewrite = (strapi: Core.Strapi): DocumentMiddleware => {
  const fields = () => getService(strapi, 'fields');
  const vault = () => getService(strapi, 'vault');
  const schemaOf = (uid: string): any => strapi.getModel(uid as any);

  const guard = (access: Access, uid: string, field: string, path: string[] = []): void => {
    const visibility = access.visibility(uid, field);
    if (visibility === 'hidden') throw invalidKey(field, path);
    if (visibility === 'masked') {
      throw new IdVaultQueryError(field, `${field} is masked for you: it cannot be filtered, searched or sorted on`);
    }
  };

  const condition = async (uid: string, attr: EncryptedAttribute, cond: unknown): Promise<any[]> => {
    if (typeof cond === 'string' || typeof cond === 'number') return [{ documentId: { $in: await vault().match(uid, attr, '$eq', cond) } }];
    if (Array.isArray(cond)) return [{ documentId: { $in: await vault().match(uid, attr, '$in', cond) } }];
    if (!isPlainObject(cond)) throw new IdVaultQueryError(attr.name, `${attr.name}: unsupported filter`);
    const out: any[] = [];
    for (const [op, value] of Object.entries(cond)) {
      if (op === '$null' || op === '$notNull') out.push({ [attr.name]: { [op]: value } });
      else if (op === '$not') out.push({ $not: { $and: await condition(uid, attr, value) } });
      else out.push({ documentId: { $in: await vault().match(uid, attr, op, value) } });
    }
    return out;
  };

  const rewriteFilters = async (access: Access, uid: string, node: any, path: string[] = []): Promise<any> => {
    if (Array.isArray(node)) return Promise.all(node.map((n) => rewriteFilters(access, uid, n, path)));
    if (!isPlainObject(node)) return node;
    const schema = schemaOf(uid);
    const out: Record<string, any> = {};
    const extra: any[] = [];
    for (const [key, value] of Object.entries(node)) {
      const attr = fields().find(uid, key);
      const def = schema?.attributes?.[key];
      if (key === '$and' || key === '$or' || key === '$not') out[key] = await rewriteFilters(access, uid, value, path);
      else if (attr) {
        guard(access, uid, key, path);
        extra.push(...(await condition(uid, attr, value)));
      } else if (def?.type === 'relation' && def.target) out[key] = await rewriteFilters(access, def.target, value, [...path, key]);
      else if (def?.type === 'component') out[key] = await rewriteFilters(access, def.component, value, [...path, key]);
      else out[key] = value;
    }
    if (extra.length) out.$and = [...(Array.isArray(out.$and) ? out.$and : []), ...extra];
    return out;
  };

  const checkSort = (access: Access, uid: string, sort: unknown): void => {
    for (const path of sortPaths(sort)) {
      let current = uid;
      for (const [i, part] of path.entries()) {
        if (fields().find(current, part)) {
          guard(access, current, part, path.slice(0, i));
          throw new IdVaultQueryError(part, `${part} is encrypted and cannot be sorted on`);
        }
        const def = schemaOf(current)?.attributes?.[part];
        if (def?.type !== 'relation' || !def.target) break;
        current = def.target;
      }
    }
  };

  const nestingNames = (uid: string) => () =>
    Object.entries<any>(schemaOf(uid)?.attributes ?? {})
      .filter(([, a]) => NESTING.has(a.type))
      .map(([k]) => k);

  /** Populated relations get the same treatment as a query of their own: filters rewritten, sorts checked. */
  const rewritePopulate = async (access: Access, uid: string, populate: any): Promise<any> => {
    const object = populateObject(populate, nestingNames(uid));
    if (!object) return populate;
    for (const [key, raw] of Object.entries(object)) {
      const def = schemaOf(uid)?.attributes?.[key];
      const target = def?.type === 'relation' ? def.target : def?.type === 'component' ? def.component : null;
      if (!target || !isPlainObject(raw)) continue;
      const value = { ...raw };
      if (value.filters) value.filters = await rewriteFilters(access, target, value.filters);
      checkSort(access, target, value.sort);
      if (value.populate !== undefined) value.populate = await rewritePopulate(access, target, value.populate);
      object[key] = value;
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
    const or: any[] = Object.entries<any>(schemaOf(uid).attributes)
      .filter(([name, a]) => TEXT_TYPES.has(a.type) && a.searchable !== false && !a.private && !fields().find(uid, name))
      .map(([name]) => ({ [name]: { $containsi: q } }));
    if (ids.size) or.push({ documentId: { $in: [...ids] } });
    delete params._q;
    const search = { $or: or };
    params.filters = params.filters ? { $and: [params.filters, search] } : search;
  };

  return async (ctx, next) => {
    const { uid, params, access } = ctx;
    if (params.filters) params.filters = await rewriteFilters(access, uid, params.filters);
    checkSort(access, uid, params.sort);
    if (params.populate !== undefined) params.populate = await rewritePopulate(access, uid, params.populate);
    if (ctx.action === 'findMany' || ctx.action === 'findFirst' || ctx.action === 'findOne' || ctx.action === 'count') {
      await rewriteSearch(access, uid, params);
    }
    return next();
  };
};
