/**
 * Pure helpers for the shapes Strapi's queries and writes take (filters / where, populate, sort / orderBy,
 * relation payloads). No Strapi here: the query layer and the document middleware use them with the schema.
 */

export type Where = Record<string, any>;

export const isPlainObject = (v: unknown): v is Record<string, any> =>
  !!v && typeof v === 'object' && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** `$and` of the non-empty parts, or null when nothing restricts. */
export const and = (...parts: Array<object | null | undefined>): Where | null => {
  const list = parts.filter((p): p is Where => !!p && Object.keys(p).length > 0);
  return list.length === 0 ? null : list.length === 1 ? list[0] : { $and: list };
};

export const isOperator = (key: string): boolean => key.startsWith('$');
export const GROUP_OPERATORS = new Set(['$and', '$or', '$not']);

/**
 * What a filter on a relation asks, in Strapi's own reading of it (database `processRelationWhere`):
 * a scalar or array is the related row's id; one operator other than a group applies to the related id;
 * anything else is a filter on the related rows. `$null` / `$notNull` on the relation itself ask whether
 * any related row exists. Returned as "some related row matches `where`" or "no related row matches".
 */
export const relationCondition = (value: unknown): { mode: 'some' | 'none'; where: Where } => {
  if (!isPlainObject(value)) return { mode: 'some', where: { id: value } };
  const keys = Object.keys(value);
  const ops = keys.filter(isOperator);
  if (ops.length === 1 && keys.length === 1 && !GROUP_OPERATORS.has(ops[0])) {
    const op = ops[0];
    const v = value[op];
    if (op === '$null' || op === '$notNull') {
      const exists = (op === '$notNull') === (v === true || v === 'true');
      return { mode: exists ? 'some' : 'none', where: {} };
    }
    return { mode: 'some', where: { id: { [op]: v } } };
  }
  return { mode: 'some', where: value };
};

export type RelationRef = { id: number } | { documentId: string };

/**
 * The rows a relation payload names: `x`, `[x]`, `{ connect | set | disconnect: [x] }`, with x an id, a
 * document id or `{ id | documentId }`. `replaces`: the payload replaces the current relations (a plain
 * value or `set`), so every row related now is touched too. `unknown`: entries it could not read.
 */
export const relationRefs = (value: unknown): { refs: RelationRef[]; touched: boolean; replaces: boolean; unknown: number } => {
  const refs: RelationRef[] = [];
  let unknown = 0;
  const add = (v: any) => {
    if (typeof v === 'number' && Number.isFinite(v)) refs.push({ id: v });
    else if (typeof v === 'string' && /^\d+$/.test(v)) refs.push({ id: Number(v) });
    else if (typeof v === 'string' && v) refs.push({ documentId: v });
    else if (isPlainObject(v) && typeof v.documentId === 'string') refs.push({ documentId: v.documentId });
    else if (isPlainObject(v) && v.id !== undefined && Number.isFinite(Number(v.id))) refs.push({ id: Number(v.id) });
    else unknown++;
  };
  const list = (v: unknown) => (Array.isArray(v) ? v.forEach(add) : v !== undefined && v !== null && add(v));
  if (value === undefined) return { refs, touched: false, replaces: false, unknown };
  if (isPlainObject(value) && ['connect', 'set', 'disconnect'].some((k) => k in value)) {
    list(value.connect);
    list(value.set);
    list(value.disconnect);
    return { refs, touched: touchesRelation(value), replaces: value.set !== undefined, unknown };
  }
  // An object naming no row (`{}`, the Content Manager's `{ count }`) changes nothing.
  if (isPlainObject(value) && value.id === undefined && value.documentId === undefined) return { refs, touched: false, replaces: false, unknown };
  list(value);
  return { refs, touched: true, replaces: true, unknown };
};

/** Does a relation payload change anything? (`{ connect: [], disconnect: [] }` or `{ count }` do not; `set: []` clears.) */
export const touchesRelation = (v: unknown): boolean => {
  if (v === null || typeof v !== 'object') return v !== undefined;
  if (Array.isArray(v)) return true;
  if ((v as any).set !== undefined) return true;
  return ['connect', 'disconnect'].some((k) => {
    const part = (v as any)[k];
    return Array.isArray(part) ? part.length > 0 : part !== undefined;
  });
};

/**
 * A populate parameter in object form: `true` / `'*'` (every name in `all`), `'a,b.c'`, `['a', 'b.c']`
 * and `{ a: true }` alike. Returns null for `false`, null and undefined.
 */
export const populateObject = (populate: unknown, all: () => string[]): Record<string, any> | null => {
  if (populate === false || populate === null || populate === undefined) return null;
  if (populate === '*' || populate === true) return Object.fromEntries(all().map((k) => [k, true]));
  const paths = typeof populate === 'string' ? populate.split(',') : Array.isArray(populate) ? populate : null;
  if (paths) {
    const out: Record<string, any> = {};
    for (const path of paths.map((p) => String(p).trim()).filter(Boolean)) {
      const [head, ...rest] = path.split('.');
      if (head === '*') {
        for (const k of all()) out[k] ??= true;
        continue;
      }
      if (!rest.length) out[head] ??= true;
      else {
        const node = (out[head] = isPlainObject(out[head]) ? out[head] : {});
        node.populate = [...(Array.isArray(node.populate) ? node.populate : []), rest.join('.')];
      }
    }
    return out;
  }
  return isPlainObject(populate) ? populate : null;
};

/**
 * The attribute paths a sort names, each as its list of parts: `'a:asc,b.c'`, `['a', { b: 'desc' }]`,
 * `{ a: 'asc', rel: { c: 'asc' } }` (nested objects walk relations).
 */
export const sortPaths = (sort: unknown): string[][] => {
  if (sort === undefined || sort === null || sort === '') return [];
  if (Array.isArray(sort)) return sort.flatMap(sortPaths);
  if (typeof sort === 'string') {
    return sort
      .split(',')
      .map((s) => s.split(':')[0].trim())
      .filter(Boolean)
      .map((p) => p.split('.'));
  }
  if (isPlainObject(sort)) {
    return Object.entries(sort).flatMap(([k, v]) => (isPlainObject(v) || Array.isArray(v) ? sortPaths(v).map((p) => [k, ...p]) : [[k]]));
  }
  return [];
};

/**
 * The attribute paths a `filters` tree names (operators skipped, `$and`/`$or`/`$not` walked), e.g.
 * `{ team: { name: { $eq: 'x' } }, $or: [{ phone: 'y' }] }` → [['team', 'name'], ['phone']]. Names only:
 * what the audit trail records of a search.
 */
export const filterPaths = (filters: unknown, prefix: string[] = []): string[][] => {
  if (Array.isArray(filters)) return filters.flatMap((f) => filterPaths(f, prefix));
  if (!isPlainObject(filters)) return prefix.length ? [prefix] : [];
  const out: string[][] = [];
  let leaf = true;
  for (const [key, value] of Object.entries(filters)) {
    if (key === '$and' || key === '$or' || key === '$not') {
      leaf = false;
      out.push(...filterPaths(value, prefix));
    } else if (!key.startsWith('$')) {
      leaf = false;
      out.push(...filterPaths(value, [...prefix, key]));
    }
  }
  if (leaf && prefix.length) out.push(prefix);
  return out;
};
