import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import {
  anomalyKindOf,
  anomalySettingsSchema,
  clearAnomalySchema,
  describeCaller,
  DEFAULT_ANOMALY_SETTINGS,
  WATCHED_ACTORS,
  type AnomalyKind,
  type AnomalySettings,
  type Caller,
} from '../domain';
import { getService, PLUGIN_ID, UIDS } from '../utils/strapi';
import { scanError as httpError } from '../scans/errors';

const SETTINGS_KEY = 'anomaly-settings';
/** Other processes see a change of the settings within this long (this process at once). */
const SETTINGS_TTL_MS = 5000;
// Any fixed 64-bit number (not the chain's): one detection at a time across processes, so an alert is raised once.
const DETECT_LOCK = 0x1d5a18;
const MINUTE_MS = 60_000;

/** The facts of a chained event detection looks at. */
export interface ChainedFact {
  actorType: string;
  actorId: string | null;
  action: string;
  outcome: string;
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as any).toISOString());

/** An anomaly row as the routes answer it. */
const present = (a: any) => ({
  id: a.id,
  actorType: a.actorType,
  actorId: a.actorId,
  kind: a.kind as AnomalyKind,
  count: a.count,
  threshold: a.threshold,
  windowMinutes: a.windowMinutes,
  detectedAt: iso(a.detectedAt)!,
  clearedAt: iso(a.clearedAt),
  clearedBy: a.clearedBy ?? null,
  clearReason: a.clearReason ?? null,
});

/**
 * Anomaly alerts. Detection runs in the process that chained a batch of audit events, right after the batch
 * committed (services/audit.ts), for the actors with counted events in it: one indexed count per actor and
 * kind over the window, so the read path pays nothing. Over a threshold with no open alert of that kind →
 * an anomaly row and `anomaly.detected`. While an actor has an open alert (and suspension is on), their
 * reveals and exports are refused (`suspended`) until an archive admin clears it (`anomaly.cleared`).
 */
const anomalies = ({ strapi }: { strapi: Core.Strapi }) => {
  const q = () => strapi.db.query(UIDS.anomaly as any);
  const audit = () => getService(strapi, 'audit');
  const store = () => strapi.store({ type: 'plugin', name: PLUGIN_ID, key: SETTINGS_KEY });
  let cached: { settings: AnomalySettings; at: number } | null = null;

  const settings = async (): Promise<AnomalySettings> => {
    if (cached && Date.now() - cached.at < SETTINGS_TTL_MS) return cached.settings;
    const raw = await store().get({});
    const parsed = raw === null || raw === undefined ? null : anomalySettingsSchema.safeParse(raw);
    // Fail closed: damaged settings are the defaults (suspension on), not "no alerts".
    if (parsed && !parsed.success) strapi.log.error('id-vault: the stored anomaly settings are invalid; using the defaults until they are saved again');
    cached = { settings: parsed?.success ? parsed.data : DEFAULT_ANOMALY_SETTINGS, at: Date.now() };
    return cached.settings;
  };

  const events = () => {
    const m: any = strapi.db.metadata.get(UIDS.auditEvent);
    return { table: m.tableName as string, col: (attr: string): string => m.attributes[attr]?.columnName ?? attr };
  };

  /**
   * The actor's count of `kind` since `since` (ISO), from the (actor_type, actor_id, action, occurred_at)
   * index. Views: customer.view events plus the rows customer.list events returned.
   */
  const countOf = async (knex: any, actorType: string, actorId: string, kind: AnomalyKind, since: string): Promise<number> => {
    const { table, col } = events();
    const of = (action: string) => knex(table).where(col('actorType'), actorType).where(col('actorId'), actorId).where(col('action'), action).where(col('occurredAt'), '>', since);
    const n = async (query: any) => Number((await query.first())?.n ?? 0);
    if (kind === 'reveals') return n(of('customer.reveal').where(col('outcome'), 'success').count({ n: '*' }));
    if (kind === 'exports') return n(of('customer.export').whereIn(col('outcome'), ['success', 'failure']).count({ n: '*' }));
    const listed =
      strapi.db.dialect.client === 'postgres'
        ? knex.raw(`coalesce(sum((??->>'count')::int), 0) as n`, [col('details')])
        : knex.raw(`coalesce(sum(json_extract(??, '$.count')), 0) as n`, [col('details')]);
    return (
      (await n(of('customer.view').where(col('outcome'), 'success').count({ n: '*' }))) +
      (await n(of('customer.list').where(col('outcome'), 'success').select(listed)))
    );
  };

  /** When the actor's last alert of `kind` was cleared: clearing starts the count afresh (else it would trip again at once). */
  const lastCleared = async (actorType: string, actorId: string, kind: AnomalyKind): Promise<string | null> => {
    const row = await q().findOne({ where: { actorType, actorId, kind, clearedAt: { $notNull: true } }, orderBy: { clearedAt: 'desc' }, select: ['clearedAt'] });
    return iso(row?.clearedAt);
  };

  /** Alerts for one actor and kind, under the detection lock (in the transaction `trx`). */
  const detectOne = async (trx: any, s: AnomalySettings, actorType: string, actorId: string, kind: AnomalyKind) => {
    if (await q().findOne({ where: { actorType, actorId, kind, clearedAt: null }, select: ['id'] })) return;
    const windowStart = new Date(Date.now() - s.windowMinutes * MINUTE_MS).toISOString();
    const cleared = await lastCleared(actorType, actorId, kind);
    const since = cleared && cleared > windowStart ? cleared : windowStart;
    const count = await countOf(trx, actorType, actorId, kind, since);
    if (count <= s[kind]) return;
    const created = await q().create({ data: { actorType, actorId, kind, count, threshold: s[kind], windowMinutes: s.windowMinutes, detectedAt: new Date() } });
    await audit().record({
      action: 'anomaly.detected',
      outcome: 'success',
      caller: { kind: 'system' },
      subjectUid: UIDS.anomaly,
      subjectId: String(created.id),
      details: { kind, count, threshold: s[kind], windowMinutes: s.windowMinutes, actorType, actorId, suspended: s.suspend },
    });
  };

  return {
    settings,

    /** Validates and stores new settings; the audit trail names what changed and to what (numbers and a switch, never personal data). */
    async saveSettings(input: unknown): Promise<AnomalySettings> {
      const parsed = anomalySettingsSchema.safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
        throw new errors.ValidationError('invalid anomaly settings', { errors: issues });
      }
      // An account under an open alert may not change what detects and suspends it (it could switch its
      // own suspension off): another archive admin clears the alert first.
      const caller = (await getService(strapi, 'access').current()).caller;
      const { actorType, actorId } = describeCaller(caller);
      if (actorId && (await q().findOne({ where: { actorType, actorId, clearedAt: null }, select: ['id'] }))) {
        await audit().record({ action: 'anomaly-settings.update', outcome: 'denied', details: { reason: 'own-alert-open' } });
        throw new errors.PolicyError('an account with an open anomaly alert cannot change the anomaly settings; another archive admin must clear the alert first');
      }
      const before = await settings();
      await strapi.db.transaction(async () => {
        await store().set({ value: parsed.data });
        const changed = Object.keys(parsed.data).filter((k) => (before as any)[k] !== (parsed.data as any)[k]);
        await audit().record({ action: 'anomaly-settings.update', outcome: 'success', details: { changed, ...parsed.data } });
      });
      cached = { settings: parsed.data, at: Date.now() };
      return parsed.data;
    },

    /**
     * Looks at the events of a chained batch: every actor with counted events is counted over the window,
     * per kind. Called by the chainer after each batch commits (so once per event across processes); runs
     * outside any request (the alert is the system's), one process at a time (advisory lock on PostgreSQL;
     * SQLite has one writer).
     */
    async detect(facts: ChainedFact[]): Promise<void> {
      const todo = new Map<string, { actorType: string; actorId: string; kind: AnomalyKind }>();
      for (const f of facts) {
        const kind = anomalyKindOf(f.action, f.outcome);
        if (!kind || !WATCHED_ACTORS.has(f.actorType) || !f.actorId) continue;
        todo.set(`${f.actorType}:${f.actorId}:${kind}`, { actorType: f.actorType, actorId: f.actorId, kind });
      }
      if (!todo.size) return;
      const s = await settings();
      await (strapi.requestContext as any).run(undefined, () =>
        strapi.db.transaction(async ({ trx }: any) => {
          if (strapi.db.dialect.client === 'postgres') await trx.raw('select pg_advisory_xact_lock(?)', [DETECT_LOCK]);
          for (const t of todo.values()) await detectOne(trx, s, t.actorType, t.actorId, t.kind);
        })
      );
    },

    /** The caller's open alert that suspends their reveal and export, or null (suspension off, none open, or not a watched actor). */
    async suspension(caller: Caller) {
      const { actorType, actorId } = describeCaller(caller);
      if (!WATCHED_ACTORS.has(actorType) || !actorId || !(await settings()).suspend) return null;
      const open = await q().findOne({ where: { actorType, actorId, clearedAt: null }, orderBy: { id: 'asc' } });
      return open ? present(open) : null;
    },

    /** Open alerts, oldest first, with the actors' display names. */
    async list() {
      const rows = (await q().findMany({ where: { clearedAt: null }, orderBy: { id: 'asc' } })).map(present);
      return { anomalies: rows, actors: await getService(strapi, 'audit-log').actorNames(rows), settings: await settings() };
    },

    /** Clears an open alert (an admin holding `anomaly.clear`, not about themselves), with a reason; audited. */
    async clear(user: { id: number }, id: string, body: unknown) {
      const parsed = clearAnomalySchema.safeParse(body);
      if (!parsed.success) {
        throw new errors.ValidationError(parsed.error.issues.map((i) => i.message).join('; '), {
          errors: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
        });
      }
      const row = Number.isInteger(Number(id)) ? await q().findOne({ where: { id: Number(id) } }) : null;
      if (!row) throw new errors.NotFoundError('no such anomaly alert');
      const facts = { kind: row.kind, actorType: row.actorType, actorId: row.actorId };
      if (row.actorType === 'admin' && row.actorId === String(user.id)) {
        await audit().record({ action: 'anomaly.cleared', outcome: 'denied', subjectUid: UIDS.anomaly, subjectId: String(row.id), details: { ...facts, reason: 'own-alert' } });
        throw new errors.PolicyError('an alert about yourself must be cleared by another archive admin');
      }
      const already = () => httpError(409, 'AlreadyCleared', 'this alert was cleared already');
      if (row.clearedAt) throw already();
      // Only while still open, in one conditional UPDATE (db.query().update looks the row up first and then
      // updates by id alone): of two admins clearing at once, one clears it; the event commits with it.
      return strapi.db.transaction(async () => {
        const { count } = await q().updateMany({ where: { id: row.id, clearedAt: null }, data: { clearedAt: new Date(), clearedBy: user.id, clearReason: parsed.data.reason } });
        if (count !== 1) throw already();
        await audit().record({ action: 'anomaly.cleared', outcome: 'success', subjectUid: UIDS.anomaly, subjectId: String(row.id), details: { ...facts, reason: parsed.data.reason } });
        return present(await q().findOne({ where: { id: row.id } }));
      });
    },
  };
};

export type AnomaliesService = ReturnType<typeof anomalies>;
export default anomalies;
