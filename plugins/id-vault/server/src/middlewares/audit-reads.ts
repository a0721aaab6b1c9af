import type { Core } from '@strapi/strapi';
import { filterPaths, isPlainObject, sortPaths } from '../domain';
import { getService } from '../utils/strapi';
import { requestState } from '../utils/caller';
import { isProtected } from '../services/access';
import type { DocumentMiddleware } from './index';

/** What one request read of one type, gathered by the document middleware, recorded once after it. */
export interface ReadFacts {
  uid: string;
  kind: 'view' | 'list';
  documentIds: Set<string>;
  rows: number;
  filters: Set<string>;
  sort: Set<string>;
  search: boolean;
  encryptedFilter: boolean;
  /** Rows of protected types that came populated with the result, by attribute path. */
  populated: Record<string, number>;
}

const LISTS = new Set(['findMany']);
const VIEWS = new Set(['findOne', 'findFirst']);

/** Read auditing is on unless ID_VAULT_AUDIT_READS=false (for the benchmark's with/without comparison). */
export const readAuditEnabled = () => process.env.ID_VAULT_AUDIT_READS !== 'false';

/**
 * Record of reads: every findOne / findFirst (`<type>.view`, the Content Manager's edit view included)
 * and findMany (`<type>.list`, a list or a search) of customers, identity documents and any type with
 * encrypted fields. Gathered here per request — rows returned, filter and sort *field names*, whether the
 * search box or an encrypted field was searched, populated protected rows — and written once per request
 * and type after the response is ready (flushReadAudit), never with a value.
 */
export const auditReads = (strapi: Core.Strapi): DocumentMiddleware => {
  const fields = () => getService(strapi, 'fields');
  const audited = (uid: string) => isProtected(uid) || fields().of(uid).length > 0;

  /** Counts populated rows of protected types in `entries`, by relation path (one level and below). */
  const countPopulated = (uid: string, entries: any[], out: Record<string, number>, path = '', depth = 0) => {
    const attributes = (strapi.getModel(uid as any) as any)?.attributes ?? {};
    for (const [name, def] of Object.entries<any>(attributes)) {
      if (def.type !== 'relation' || !def.target || depth > 3) continue;
      const rows = entries.flatMap((e) => (Array.isArray(e?.[name]) ? e[name] : isPlainObject(e?.[name]) ? [e[name]] : []));
      if (!rows.length) continue;
      const key = path ? `${path}.${name}` : name;
      if (audited(def.target)) out[key] = (out[key] ?? 0) + rows.length;
      countPopulated(def.target, rows, out, key, depth + 1);
    }
  };

  return async (ctx, next) => {
    const kind = LISTS.has(ctx.action) ? 'list' : VIEWS.has(ctx.action) ? 'view' : null;
    const state = requestState(strapi);
    if (!kind || !state || !readAuditEnabled() || !audited(ctx.uid) || ctx.access.caller.kind === 'system') return next();
    const { filters, sort, _q } = ctx.params;
    const result = await next();
    const entries: any[] = Array.isArray(result) ? result : result ? [result] : [];
    if (kind === 'view' && !entries.length) return result;
    const key = `${ctx.uid}#${kind}`;
    const reads: Map<string, ReadFacts> = ((state as any).reads ??= new Map());
    const facts: ReadFacts =
      reads.get(key) ??
      reads.set(key, { uid: ctx.uid, kind, documentIds: new Set(), rows: 0, filters: new Set(), sort: new Set(), search: false, encryptedFilter: false, populated: {} }).get(key)!;
    facts.rows += entries.length;
    if (kind === 'view') for (const e of entries) if (e?.documentId) facts.documentIds.add(e.documentId);
    for (const p of filterPaths(filters)) {
      facts.filters.add(p.join('.'));
      if (p.length === 1 && fields().find(ctx.uid, p[0])) facts.encryptedFilter = true;
    }
    for (const p of sortPaths(sort)) facts.sort.add(p.join('.'));
    if (typeof _q === 'string' && _q.trim()) facts.search = true;
    countPopulated(ctx.uid, entries, facts.populated);
    return result;
  };
};

/**
 * A server middleware: after the request has been answered by the routes (its body ready, not yet sent),
 * the reads it gathered become audit events — awaited, so a response that carried rows never goes out
 * without its event.
 */
export const flushReadAudit = (strapi: Core.Strapi) => async (ctx: any, next: () => Promise<void>) => {
  await next();
  const reads: Map<string, ReadFacts> | undefined = ctx.state?.idVault?.reads;
  if (!reads?.size) return;
  const audit = getService(strapi, 'audit');
  for (const f of reads.values()) {
    const subject = (strapi.getModel(f.uid as any) as any)?.info?.singularName ?? f.uid;
    const populated = Object.keys(f.populated).length ? { populated: f.populated } : {};
    if (f.kind === 'view') {
      for (const documentId of f.documentIds) {
        await audit.record({ action: `${subject}.view`, outcome: 'success', subjectUid: f.uid, subjectId: documentId, details: { ...populated } });
      }
    } else {
      await audit.record({
        action: `${subject}.list`,
        outcome: 'success',
        subjectUid: f.uid,
        details: { count: f.rows, filters: [...f.filters], sort: [...f.sort], search: f.search, encryptedFilter: f.encryptedFilter, ...populated },
      });
    }
  }
};
