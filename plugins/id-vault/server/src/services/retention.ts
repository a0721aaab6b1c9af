import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import {
  approveCandidateSchema,
  autoEraseReason,
  candidateKey,
  dismissCandidateSchema,
  expiredBefore,
  maskedName,
  retentionSettingsSchema,
  staleBefore,
  DEFAULT_RETENTION_SETTINGS,
  type RetentionRule,
  type RetentionSettings,
} from '../domain';
import { asSystem } from '../utils/caller';
import { onceAcrossProcesses } from '../utils/jobs';
import { scanError as httpError } from '../scans/errors';
import { getService, newDocumentId, PLUGIN_ID, UIDS, tableOf } from '../utils/strapi';

const SETTINGS_KEY = 'retention-settings';
/** Other processes see a change of the rules within this long (this process at once). */
const SETTINGS_TTL_MS = 5000;
const BATCH = 500;
const PAGE_MAX = 200;

export interface RetentionScanResult {
  /** Candidates each rule found (new or already listed), and how many of them were new. */
  found: Record<RetentionRule, number>;
  listed: number;
  /** Erased or deleted by a rule with auto-erase, and those that failed (left pending). */
  autoErased: number;
  autoFailed: number;
}

const SUBJECT: Record<RetentionRule, string> = { 'customer-stale': UIDS.customer, 'document-expired': UIDS.identityDocument };
const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as any).toISOString());
const issuesOf = (e: { issues: Array<{ path: PropertyKey[]; message: string }> }) => e.issues.map((i) => ({ path: i.path.map(String), message: i.message }));

/**
 * Retention (issue 10): rules in the plugin store (Settings → ID Vault → Retention, `settings.manage`); a daily
 * job (once across processes) lists the records a rule finds due as candidates; an archive admin
 * (`customer.erase`) approves — the customer is erased as services/erasure.ts erases, the expired identity
 * document deleted with its scans and key — or dismisses. A rule with auto-erase does the approval itself, as
 * the system. Reviewers see only candidates whose record is in their read scope. Audited at every step, with
 * counts and ids, never values.
 */
const retention = ({ strapi }: { strapi: Core.Strapi }) => {
  const store = () => strapi.store({ type: 'plugin', name: PLUGIN_ID, key: SETTINGS_KEY });
  const audit = () => getService(strapi, 'audit');
  const erasure = () => getService(strapi, 'erasure');
  const knex = () => strapi.db.connection;
  const table = (uid: string) => tableOf(strapi, uid);
  let cached: { settings: RetentionSettings; at: number } | null = null;

  const settings = async (): Promise<RetentionSettings> => {
    if (cached && Date.now() - cached.at < SETTINGS_TTL_MS) return cached.settings;
    const raw = await store().get({});
    const parsed = raw === null || raw === undefined ? null : retentionSettingsSchema.safeParse(raw);
    // Fail closed: damaged rules are the defaults (every rule off), never an erasure nobody asked for.
    if (parsed && !parsed.success) strapi.log.error('id-vault: the stored retention rules are invalid; using the defaults (all off) until they are saved again');
    cached = { settings: parsed?.success ? parsed.data : DEFAULT_RETENTION_SETTINGS, at: Date.now() };
    return cached.settings;
  };

  /** Customers (documentIds) of `ids` that have a tombstone. */
  const erasedAmong = async (ids: string[]): Promise<Set<string>> => {
    if (!ids.length) return new Set();
    const e = table(UIDS.erasure);
    return new Set((await knex()(e.name).whereIn(e.col('customerDocumentId'), ids).select({ d: e.col('customerDocumentId') })).map((r: any) => r.d));
  };

  /** Inserts candidates not listed yet (a unique key per rule, record and version); returns how many were new. */
  const insertCandidates = async (rows: Array<{ rule: RetentionRule; subjectDocumentId: string; customerDocumentId: string | null; version: string | number }>): Promise<number> => {
    if (!rows.length) return 0;
    const t = table(UIDS.retentionCandidate);
    const now = strapi.db.dialect.client === 'postgres' ? new Date() : Date.now();
    const inserted = await knex()(t.name)
      .insert(
        rows.map((r) => ({
          [t.col('candidateKey')]: candidateKey(r.rule, r.subjectDocumentId, r.version),
          [t.col('rule')]: r.rule,
          [t.col('subjectUid')]: SUBJECT[r.rule],
          [t.col('subjectDocumentId')]: r.subjectDocumentId,
          [t.col('customerDocumentId')]: r.customerDocumentId,
          [t.col('foundAt')]: now,
          [t.col('status')]: 'pending',
          document_id: newDocumentId(),
          created_at: now,
          updated_at: now,
        }))
      )
      .onConflict(t.col('candidateKey'))
      .ignore()
      .returning('id');
    return inserted.length;
  };

  /** Customers not updated since the cut-off, not erased: listed, in id order and batches. */
  const findStaleCustomers = async (cutoff: Date): Promise<{ found: number; listed: number }> => {
    const c = table(UIDS.customer);
    let last = 0;
    let found = 0;
    let listed = 0;
    for (;;) {
      const rows = await knex()(c.name)
        .where('id', '>', last)
        .where(c.col('updatedAt'), '<', cutoff)
        .orderBy('id')
        .limit(BATCH)
        .select({ id: 'id', documentId: 'document_id', updatedAt: c.col('updatedAt') });
      if (!rows.length) return { found, listed };
      last = rows[rows.length - 1].id;
      const erased = await erasedAmong(rows.map((r: any) => r.documentId));
      const due = rows.filter((r: any) => !erased.has(r.documentId));
      found += due.length;
      listed += await insertCandidates(due.map((r: any) => ({ rule: 'customer-stale', subjectDocumentId: r.documentId, customerDocumentId: r.documentId, version: new Date(r.updatedAt).getTime() })));
    }
  };

  /** Identity documents whose expiry date is before the cut-off day: listed with their customer. */
  const findExpiredDocuments = async (cutoffDay: string): Promise<{ found: number; listed: number }> => {
    let last = 0;
    let found = 0;
    let listed = 0;
    for (;;) {
      const docs: any[] = await strapi.db.query(UIDS.identityDocument).findMany({
        where: { id: { $gt: last }, expiresAt: { $notNull: true, $lt: cutoffDay } },
        select: ['id', 'documentId', 'expiresAt'],
        populate: { customer: { select: ['documentId'] } },
        orderBy: { id: 'asc' },
        limit: BATCH,
      });
      if (!docs.length) return { found, listed };
      last = docs[docs.length - 1].id;
      found += docs.length;
      listed += await insertCandidates(
        docs.map((d) => ({ rule: 'document-expired', subjectDocumentId: d.documentId, customerDocumentId: d.customer?.documentId ?? null, version: String(d.expiresAt).slice(0, 10) }))
      );
    }
  };

  /** Claims a pending candidate for a decision (of two deciders at once, one wins); false when it is no longer pending. */
  const claim = async (id: number, status: 'approved' | 'dismissed' | 'auto-erased', decidedBy: number | null, reason: string | null): Promise<boolean> => {
    const t = table(UIDS.retentionCandidate);
    const n = await knex()(t.name)
      .where('id', id)
      .where(t.col('status'), 'pending')
      .update({ [t.col('status')]: status, [t.col('decidedAt')]: strapi.db.dialect.client === 'postgres' ? new Date() : Date.now(), [t.col('decidedBy')]: decidedBy, [t.col('reason')]: reason });
    return Number(n) === 1;
  };
  const unclaim = async (id: number) => {
    const t = table(UIDS.retentionCandidate);
    await knex()(t.name).where('id', id).update({ [t.col('status')]: 'pending', [t.col('decidedAt')]: null, [t.col('decidedBy')]: null, [t.col('reason')]: null });
  };

  /** Carries out an approved candidate: the customer erased (erasure.ts, as the caller), or the document deleted. */
  const carryOut = async (row: ReturnType<typeof present>, reason: string) => {
    if (row.rule === 'customer-stale') return erasure().erase(row.subjectDocumentId, reason);
    const done = await erasure().deleteDocument(row.subjectDocumentId);
    if (!done) throw new errors.NotFoundError('identity document not found');
    return done;
  };

  /** Whether the candidate's record is gone: its customer erased since, or its document deleted. */
  const gone = async (c: ReturnType<typeof present>): Promise<boolean> => {
    if (c.customerDocumentId && (await erasedAmong([c.customerDocumentId])).has(c.customerDocumentId)) return true;
    if (c.rule === 'customer-stale') return false;
    return !(await strapi.db.query(UIDS.identityDocument).findOne({ where: { documentId: c.subjectDocumentId }, select: ['id'] }));
  };

  /** Pending candidates of auto-erase rules, carried out as the system. */
  const autoErase = async (s: RetentionSettings): Promise<{ done: number; failed: number }> => {
    const rules = (['customer-stale', 'document-expired'] as const).filter((r) => (r === 'customer-stale' ? s.customers : s.documents).enabled && (r === 'customer-stale' ? s.customers : s.documents).autoErase);
    let done = 0;
    let failed = 0;
    const t = table(UIDS.retentionCandidate);
    for (const rule of rules) {
      let last = 0;
      for (;;) {
        const rows = await knex()(t.name).where(t.col('rule'), rule).where(t.col('status'), 'pending').where('id', '>', last).orderBy('id').limit(BATCH).select('*');
        if (!rows.length) break;
        last = rows[rows.length - 1].id;
        for (const row of rows) {
          const candidate = present(row);
          // Erased or deleted some other way since it was listed: nothing to do (it no longer shows in lists either).
          if (await gone(candidate)) continue;
          if (!(await claim(candidate.id, 'auto-erased', null, autoEraseReason(rule, s)))) continue;
          try {
            const result = await carryOut(candidate, autoEraseReason(rule, s));
            done += 1;
            await audit().record({ action: 'retention.auto-erase', outcome: 'success', caller: { kind: 'system' }, subjectUid: candidate.subjectUid, subjectId: candidate.subjectDocumentId, details: { candidate: candidate.id, rule, ...result } });
          } catch (e: any) {
            failed += 1;
            await unclaim(candidate.id);
            await audit().record({ action: 'retention.auto-erase', outcome: 'failure', caller: { kind: 'system' }, subjectUid: candidate.subjectUid, subjectId: candidate.subjectDocumentId, details: { candidate: candidate.id, rule, error: e?.name ?? 'Error' } });
          }
        }
      }
    }
    return { done, failed };
  };

  const present = (r: any) => {
    const t = table(UIDS.retentionCandidate);
    return {
      id: Number(r.id),
      rule: r[t.col('rule')] as RetentionRule,
      subjectUid: r[t.col('subjectUid')] as string,
      subjectDocumentId: r[t.col('subjectDocumentId')] as string,
      customerDocumentId: (r[t.col('customerDocumentId')] ?? null) as string | null,
      foundAt: iso(r[t.col('foundAt')])!,
      status: r[t.col('status')] as string,
    };
  };

  /**
   * Of `rows`, those whose record the caller reaches (the query layer applies the request's row scope and
   * hidden customers to these reads), with what the list shows: a masked name, the document's type and dates.
   */
  const visible = async (rows: ReturnType<typeof present>[]) => {
    const ids = (rule: RetentionRule) => rows.filter((r) => r.rule === rule).map((r) => r.subjectDocumentId);
    const customerIds = ids('customer-stale');
    const docIds = ids('document-expired');
    const customers: any[] = customerIds.length
      ? await strapi.db.query(UIDS.customer).findMany({ where: { documentId: { $in: customerIds } }, select: ['documentId', 'name', 'kind', 'updatedAt'] })
      : [];
    const docs: any[] = docIds.length
      ? await strapi.db.query(UIDS.identityDocument).findMany({
          where: { documentId: { $in: docIds } },
          select: ['documentId', 'type', 'expiresAt'],
          populate: { customer: { select: ['documentId', 'name', 'kind'] } },
        })
      : [];
    const erased = await erasedAmong([...customerIds, ...docs.map((d) => d.customer?.documentId).filter(Boolean)]);
    const byCustomer = new Map(customers.filter((c) => !erased.has(c.documentId)).map((c) => [c.documentId, c]));
    const byDoc = new Map(docs.filter((d) => !d.customer || !erased.has(d.customer.documentId)).map((d) => [d.documentId, d]));
    return rows.flatMap<any>((r) => {
      if (r.rule === 'customer-stale') {
        const c = byCustomer.get(r.subjectDocumentId);
        return c ? [{ ...r, customer: { documentId: c.documentId, name: maskedName(c.name), kind: c.kind }, updatedAt: iso(c.updatedAt) }] : [];
      }
      const d = byDoc.get(r.subjectDocumentId);
      if (!d) return [];
      const customer = d.customer ? { documentId: d.customer.documentId, name: maskedName(d.customer.name), kind: d.customer.kind } : null;
      return [{ ...r, customer, document: { documentId: d.documentId, type: d.type, expiresAt: d.expiresAt ?? null } }];
    });
  };

  /** A pending candidate the caller reaches, or 404 (out of reach looks like absent), 409 when decided already. */
  const reachable = async (id: string) => {
    const t = table(UIDS.retentionCandidate);
    const row = Number.isInteger(Number(id)) ? await knex()(t.name).where('id', Number(id)).first('*') : null;
    if (!row) throw new errors.NotFoundError('no such retention candidate');
    const candidate = present(row);
    if (!(await visible([candidate])).length) throw new errors.NotFoundError('no such retention candidate');
    if (candidate.status !== 'pending') throw httpError(409, 'AlreadyDecided', `this candidate is ${candidate.status} already`);
    return candidate;
  };

  const validation = (what: string, error: any) => new errors.ValidationError(`invalid ${what}: ${error.issues.map((i: any) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`, { errors: issuesOf(error) });

  return {
    settings,

    /** Validates and stores the rules; the audit trail names what changed (switches and numbers, no personal data). */
    async saveSettings(input: unknown): Promise<RetentionSettings> {
      const parsed = retentionSettingsSchema.safeParse(input);
      if (!parsed.success) throw validation('retention rules', parsed.error);
      const before = await settings();
      await store().set({ value: parsed.data });
      cached = { settings: parsed.data, at: Date.now() };
      const changed = (['customers', 'documents'] as const).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(parsed.data[k]));
      await audit().record({ action: 'retention-settings.update', outcome: 'success', details: { changed, ...parsed.data } });
      return parsed.data;
    },

    /**
     * Lists the candidates of every enabled rule (idempotent: a record already listed in its current version is
     * not listed again), then carries out those of auto-erase rules. Runs as the system. `retention.scan` holds
     * the counts.
     */
    async scan(now = new Date()): Promise<RetentionScanResult> {
      return asSystem(async () => {
        const s = await settings();
        const stale = s.customers.enabled ? await findStaleCustomers(staleBefore(now, s.customers.years)) : { found: 0, listed: 0 };
        const expired = s.documents.enabled ? await findExpiredDocuments(expiredBefore(now, s.documents.days)) : { found: 0, listed: 0 };
        const auto = await autoErase(s);
        const result: RetentionScanResult = {
          found: { 'customer-stale': stale.found, 'document-expired': expired.found },
          listed: stale.listed + expired.listed,
          autoErased: auto.done,
          autoFailed: auto.failed,
        };
        await audit().record({ action: 'retention.scan', outcome: auto.failed ? 'failure' : 'success', caller: { kind: 'system' }, details: { ...result, rules: s } });
        return result;
      });
    },

    /** The daily job (Strapi cron, see bootstrap): today's scan, once across processes; null when another process ran it. */
    job(today = new Date()) {
      return onceAcrossProcesses(strapi, `retention:${today.toISOString().slice(0, 10)}`, () => this.scan(today));
    },

    /**
     * Candidates of `status` (pending or dismissed) the caller reaches, oldest first, from after the candidate
     * id `after`; `next` is the cursor of the next page (null at the end).
     */
    async list(query: { status?: unknown; after?: unknown; limit?: unknown }) {
      const status = query.status ?? 'pending';
      if (status !== 'pending' && status !== 'dismissed') throw new errors.ValidationError('status must be pending or dismissed');
      const after = query.after === undefined ? 0 : Number(query.after);
      const limit = query.limit === undefined ? 50 : Number(query.limit);
      if (!Number.isInteger(after) || after < 0) throw new errors.ValidationError('after must be a candidate id');
      if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) throw new errors.ValidationError(`limit must be a whole number from 1 to ${PAGE_MAX}`);
      const t = table(UIDS.retentionCandidate);
      const out: any[] = [];
      let last = after;
      let end = false;
      while (out.length < limit && !end) {
        const rows = await knex()(t.name).where(t.col('status'), status).where('id', '>', last).orderBy('id').limit(BATCH).select('*');
        const shown = new Map((await visible(rows.map(present))).map((r) => [r.id, r]));
        for (const row of rows) {
          if (out.length === limit) break;
          last = Number(row.id);
          const v = shown.get(last);
          if (v) out.push(v);
        }
        end = rows.length < BATCH && (!rows.length || last === Number(rows[rows.length - 1].id));
      }
      return { candidates: out, next: end ? null : last, settings: await settings() };
    },

    /** Approves a pending candidate the caller reaches, with a reason: erased (customer) or deleted (document), recorded. */
    async approve(user: { id: number }, id: string, body: unknown) {
      const parsed = approveCandidateSchema.safeParse(body ?? {});
      if (!parsed.success) throw validation('approval', parsed.error);
      const candidate = await reachable(id);
      if (!(await claim(candidate.id, 'approved', user.id, parsed.data.reason))) throw httpError(409, 'AlreadyDecided', 'this candidate was decided already');
      let result;
      try {
        result = await carryOut(candidate, parsed.data.reason);
      } catch (e) {
        await unclaim(candidate.id);
        await audit().record({ action: 'retention.approve', outcome: 'failure', subjectUid: candidate.subjectUid, subjectId: candidate.subjectDocumentId, details: { candidate: candidate.id, rule: candidate.rule, error: (e as Error)?.name ?? 'Error' } });
        throw e;
      }
      await audit().record({ action: 'retention.approve', outcome: 'success', subjectUid: candidate.subjectUid, subjectId: candidate.subjectDocumentId, details: { candidate: candidate.id, rule: candidate.rule, ...result } });
      return { ...candidate, status: 'approved', result };
    },

    /** Dismisses a pending candidate the caller reaches (the record stays; listed again only once it changed and is due again). */
    async dismiss(user: { id: number }, id: string, body: unknown) {
      const parsed = dismissCandidateSchema.safeParse(body ?? {});
      if (!parsed.success) throw validation('dismissal', parsed.error);
      const candidate = await reachable(id);
      if (!(await claim(candidate.id, 'dismissed', user.id, parsed.data.reason ?? null))) throw httpError(409, 'AlreadyDecided', 'this candidate was decided already');
      await audit().record({ action: 'retention.dismiss', outcome: 'success', subjectUid: candidate.subjectUid, subjectId: candidate.subjectDocumentId, details: { candidate: candidate.id, rule: candidate.rule } });
      return { ...candidate, status: 'dismissed' };
    },
  };
};

export type RetentionService = ReturnType<typeof retention>;
export default retention;
