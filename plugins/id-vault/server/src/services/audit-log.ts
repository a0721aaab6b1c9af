import { pipeline, Readable } from 'node:stream';
import type { Core } from '@strapi/strapi';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { errors } from '@strapi/utils';
import { asSystem } from '../utils/caller';
import { clientWentAway, tally } from '../utils/streams';
import { getService, PLUGIN_ID, UIDS } from '../utils/strapi';

const STATUS_KEY = 'audit-verify-status';
const DAY = 86400000;
/** How much later than its own time an event may be inserted (and so get its id): see timeBounds. */
const SKEW_MS = 5 * 60_000;
/** Events read per round trip of the CSV export. */
const EXPORT_PAGE = 1000;
const EXPORT_COLUMNS = ['id', 'seq', 'occurredAt', 'actorType', 'actorId', 'actor', 'action', 'subjectUid', 'subjectId', 'fields', 'outcome', 'ip', 'userAgent', 'details'];

/** The Audit log page's query: filters and a keyset cursor (the id of the last event of the page before). */
export const auditQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: z.coerce.number().int().positive().optional(),
    from: z.string().datetime({ offset: true }).optional(),
    to: z.string().datetime({ offset: true }).optional(),
    actorType: z.enum(['admin', 'user', 'api-token', 'public', 'system']).optional(),
    actorId: z.string().max(64).optional(),
    /** An action, or a prefix ending in a dot (`scan.`). */
    action: z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, 'an action name, or a prefix like scan.').optional(),
    outcome: z.enum(['success', 'rejected', 'denied', 'failure']).optional(),
    /** A documentId (customer, identity document, grant …). */
    subject: z.string().regex(/^[a-z0-9]{1,64}$/).optional(),
    ip: z.string().max(64).optional(),
  })
  .strict();
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export const parseAuditQuery = (input: unknown): AuditQuery => {
  const parsed = auditQuerySchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new errors.ValidationError('invalid audit log query', { errors: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) });
  }
  return parsed.data;
};

/**
 * The read side of the audit trail, for holders of `audit.read` (the whole log: not row-scoped): pages of
 * events newest first by keyset (no total count, so a page costs the same at a million events), the
 * counts behind the charts, a customer's own trail, and the status of the last chain verification, which
 * runs as a background job rather than in a request. Every read of the log is itself an event.
 */
const auditLog = ({ strapi }: { strapi: Core.Strapi }) => {
  const meta = () => strapi.db.metadata.get(UIDS.auditEvent) as any;
  const col = (attr: string): string => meta().attributes[attr]?.columnName ?? attr;
  const knex = () => strapi.db.connection;
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v ?? null);

  const toEvent = (r: any) => ({
    id: Number(r.id),
    seq: r[col('seq')] === null || r[col('seq')] === undefined ? null : Number(r[col('seq')]),
    occurredAt: r[col('occurredAt')],
    actorType: r[col('actorType')],
    actorId: r[col('actorId')] ?? null,
    action: r[col('action')],
    subjectUid: r[col('subjectUid')] ?? null,
    subjectId: r[col('subjectId')] ?? null,
    fields: json(r[col('fields')]) ?? [],
    outcome: r[col('outcome')],
    ip: r[col('ip')] ?? null,
    userAgent: r[col('userAgent')] ?? null,
    details: json(r[col('details')]),
  });

  /** Display names of the actors on a page (admin users, users-permissions users, API tokens). */
  const actorNames = async (events: Array<{ actorType: string; actorId: string | null }>) => {
    const ids = (type: string) => [...new Set(events.filter((e) => e.actorType === type && e.actorId).map((e) => Number(e.actorId)))];
    const names: Record<string, string> = {};
    const [admins, users, tokens] = await Promise.all([
      ids('admin').length ? strapi.db.query('admin::user').findMany({ where: { id: { $in: ids('admin') } }, select: ['id', 'firstname', 'lastname', 'email'] }) : [],
      ids('user').length ? strapi.db.query('plugin::users-permissions.user').findMany({ where: { id: { $in: ids('user') } }, select: ['id', 'username'] }) : [],
      ids('api-token').length ? strapi.db.query('admin::api-token').findMany({ where: { id: { $in: ids('api-token') } }, select: ['id', 'name'] }) : [],
    ]);
    for (const a of admins as any[]) names[`admin:${a.id}`] = [a.firstname, a.lastname].filter(Boolean).join(' ') || a.email;
    for (const u of users as any[]) names[`user:${u.id}`] = u.username;
    for (const t of tokens as any[]) names[`api-token:${t.id}`] = t.name;
    return names;
  };

  /**
   * Id bounds of a time range, found through the time index in two index look-ups: pages walk the id index
   * newest first, and a range far back would otherwise filter its way through every newer event (630 ms at
   * a million events). Ids follow time but not strictly (an event gets its id when inserted, just after its
   * time is taken), so each bound is taken SKEW_MS beyond the range: an event is assumed inserted within
   * that long of its own time. The time filter itself stays; the bounds only narrow the walk.
   */
  const timeBounds = async (q: AuditQuery): Promise<{ above?: number; below?: number }> => {
    const t = meta().tableName;
    const at = col('occurredAt');
    const [before, after] = await Promise.all([
      q.from ? knex()(t).where(at, '<', new Date(Date.parse(q.from) - SKEW_MS).toISOString()).orderBy(at, 'desc').first('id') : null,
      q.to ? knex()(t).where(at, '>=', new Date(Date.parse(q.to) + SKEW_MS).toISOString()).orderBy(at, 'asc').first('id') : null,
    ]);
    return { ...(before ? { above: Number(before.id) } : {}), ...(after ? { below: Number(after.id) } : {}) };
  };

  const filtered = (q: AuditQuery, bounds: { above?: number; below?: number } = {}) => {
    const b = knex()(meta().tableName);
    if (q.before) b.where('id', '<', q.before);
    if (bounds.above !== undefined) b.where('id', '>', bounds.above);
    if (bounds.below !== undefined) b.where('id', '<', bounds.below);
    if (q.from) b.where(col('occurredAt'), '>=', new Date(q.from).toISOString());
    if (q.to) b.where(col('occurredAt'), '<', new Date(q.to).toISOString());
    if (q.actorType) b.where(col('actorType'), q.actorType);
    if (q.actorId) b.where(col('actorId'), q.actorId);
    if (q.action?.endsWith('.')) b.where(col('action'), 'like', `${q.action.replace(/[%_]/g, '')}%`);
    else if (q.action) b.where(col('action'), q.action);
    if (q.outcome) b.where(col('outcome'), q.outcome);
    if (q.subject) b.where(col('subjectId'), q.subject);
    if (q.ip) b.where(col('ip'), q.ip);
    return b;
  };

  const audit = () => getService(strapi, 'audit');
  const filterNames = (q: AuditQuery) => Object.keys(q).filter((k) => !['limit', 'before'].includes(k));
  /** Runs `fn` in the request's context: Strapi types `run` as returning nothing, it returns what `fn` does. */
  const inRequest = <T>(ctx: any, fn: () => Promise<T>): Promise<T> => (strapi.requestContext as any).run(ctx, fn);

  return {
    actorNames,

    /** One page, newest first; `next` is the cursor of the following page (null at the end). */
    async page(q: AuditQuery) {
      const rows = await filtered(q, await timeBounds(q)).orderBy('id', 'desc').limit(q.limit + 1);
      const events = rows.slice(0, q.limit).map(toEvent);
      await audit().record({ action: 'audit.read', outcome: 'success', details: { filters: filterNames(q), rows: events.length } });
      return { events, next: rows.length > q.limit ? events[events.length - 1].id : null, actors: await actorNames(events) };
    },

    /**
     * The filtered events as CSV (UTF-8 with a BOM, formulas escaped), newest first, streamed in keyset
     * pages: the events that existed when it started, however many. One `audit.export` event at the end
     * with the row count, the filter names and the SHA-256 of the file (`failure` if it stopped part-way).
     * `ctx`: the request's, in whose context pages are read and the event written after the handler returned.
     */
    async exportCsv(ctx: any, q: AuditQuery): Promise<Readable> {
      const bounds = await timeBounds(q);
      const newest = await filtered({ ...q, before: undefined }, bounds).max({ m: 'id' }).first();
      let before = q.before ?? Number(newest?.m ?? 0) + 1;
      let rows = 0;
      async function* events() {
        while (before > 1) {
          const page = (await filtered({ ...q, before }, bounds).orderBy('id', 'desc').limit(EXPORT_PAGE)).map(toEvent);
          const names = await actorNames(page);
          for (const e of page) {
            rows += 1;
            yield { ...e, actor: e.actorId ? names[`${e.actorType}:${e.actorId}`] ?? null : null, fields: e.fields.join(' '), details: e.details ? JSON.stringify(e.details) : null };
          }
          if (page.length < EXPORT_PAGE) return;
          before = page[page.length - 1].id;
        }
      }
      const record = (outcome: 'success' | 'failure', details: Record<string, unknown>) =>
        inRequest(ctx, () => audit().record({ action: 'audit.export', outcome, details: { format: 'csv', filters: filterNames(q), rows, ...details } }));
      const out = tally(
        (sha256) => record('success', { sha256 }),
        async (error) => {
          if (!clientWentAway(error)) strapi.log.error(`id-vault: an audit log export stopped on an error (${(error as any).code ?? error!.name}); recorded as a failure`);
          await record('failure', { reason: clientWentAway(error) ? 'aborted' : 'error' }).catch(() => strapi.log.error('id-vault: the failure of an audit log export could not be recorded'));
        }
      );
      const csv = stringify({ bom: true, header: true, columns: EXPORT_COLUMNS.map((key) => ({ key, header: key })), escape_formulas: true, record_delimiter: 'windows' });
      pipeline(Readable.from(events()), csv, out, () => {});
      return out;
    },

    /** Events per day by action, and the top actors by views and reveals, over the last `days` days. */
    async stats(days: number) {
      const from = new Date(Date.now() - days * DAY).toISOString().slice(0, 10);
      const t = meta().tableName;
      const day = knex().raw('substr(??, 1, 10)', [col('occurredAt')]);
      const perDay = await knex()(t).where(col('occurredAt'), '>=', from).select({ day, action: col('action') }).count({ n: '*' }).groupByRaw('1, 2').orderByRaw('1');
      const top = await knex()(t)
        .where(col('occurredAt'), '>=', from)
        .whereIn(col('action'), ['customer.view', 'identity-document.view', 'customer.reveal', 'scan.view', 'scan.download'])
        .whereNotNull(col('actorId'))
        .select({ actorType: col('actorType'), actorId: col('actorId'), action: col('action') })
        .count({ n: '*' })
        .groupBy(col('actorType'), col('actorId'), col('action'));
      const byActor = new Map<string, { actorType: string; actorId: string; views: number; reveals: number }>();
      for (const r of top as any[]) {
        const key = `${r.actorType}:${r.actorId}`;
        const a = byActor.get(key) ?? { actorType: r.actorType, actorId: r.actorId, views: 0, reveals: 0 };
        if (r.action === 'customer.reveal') a.reveals += Number(r.n);
        else a.views += Number(r.n);
        byActor.set(key, a);
      }
      const actors = [...byActor.values()].sort((a, b) => b.views + b.reveals - (a.views + a.reveals)).slice(0, 10);
      await audit().record({ action: 'audit.read', outcome: 'success', details: { stats: days } });
      return {
        days,
        perDay: (perDay as any[]).map((r) => ({ day: r.day, action: r.action, count: Number(r.n) })),
        topActors: actors,
        actors: await actorNames(actors),
      };
    },

    /** A customer's own trail (Who has seen this customer): views, reveals, exports, its documents' scans. */
    async ofCustomer(documentId: string, limit = 20) {
      const docs = await asSystem(async () =>
        (await strapi.db.query(UIDS.identityDocument).findMany({ where: { customer: { documentId } }, select: ['documentId'] })).map((d: any) => d.documentId)
      );
      const rows = await knex()(meta().tableName)
        .where((w: any) => w.where(col('subjectId'), documentId).orWhereIn(col('subjectId'), docs.length ? docs : ['']))
        .whereIn(col('action'), ['customer.view', 'customer.reveal', 'customer.export', 'identity-document.view', 'scan.view', 'scan.download'])
        .orderBy('id', 'desc')
        .limit(limit);
      const events = rows.map(toEvent);
      await audit().record({ action: 'audit.read', outcome: 'success', subjectUid: UIDS.customer, subjectId: documentId, details: { trail: events.length } });
      return { events, actors: await actorNames(events) };
    },

    /** The last verification's result (shared by every process through the plugin store). */
    async status() {
      return (await strapi.store({ type: 'plugin', name: PLUGIN_ID, key: STATUS_KEY }).get({})) ?? { state: 'never' };
    },

    /**
     * Starts a verification of the whole chain in the background (one at a time per process); the status
     * says `running` until it is done, then what it verified up to when.
     */
    async startVerify() {
      const store = strapi.store({ type: 'plugin', name: PLUGIN_ID, key: STATUS_KEY });
      const current: any = await store.get({});
      if (current?.state === 'running' && Date.now() - Date.parse(current.startedAt) < 10 * 60000) return current;
      const started = { state: 'running', startedAt: new Date().toISOString() };
      await store.set({ value: started });
      void asSystem(async () => {
        try {
          await audit().flush();
          const r: any = await audit().verify();
          await store.set({ value: { state: 'done', startedAt: started.startedAt, finishedAt: new Date().toISOString(), ok: r.ok, count: r.count, brokenAt: r.brokenAt ?? null, reason: r.reason ?? null, pending: r.pending ?? 0 } });
          await audit().record({ action: 'audit.verify', outcome: r.ok ? 'success' : 'failure', caller: { kind: 'system' }, details: { count: r.count, brokenAt: r.brokenAt ?? null } });
        } catch (e) {
          await store.set({ value: { state: 'failed', startedAt: started.startedAt, finishedAt: new Date().toISOString(), error: (e as Error).message } });
        }
      });
      return started;
    },
  };
};

export type AuditLogService = ReturnType<typeof auditLog>;
export default auditLog;
