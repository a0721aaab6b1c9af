import type { Core } from '@strapi/strapi';
import { decryptField, parseCiphertext } from '../crypto';
import { asSystem } from '../utils/caller';
import { exclusively } from '../utils/jobs';
import { getService, PLUGIN_ID, stamps, UIDS, tableOf } from '../utils/strapi';

const STATE_KEY = 'index-root-state';
/** Every process reads the index state at most this long ago. */
const STATE_TTL_MS = 5000;
/** How long a change of the state waits before the next step relies on every process having seen it. */
const GRACE_MS = STATE_TTL_MS + 2000;
/** Documents re-indexed per transaction (ID_VAULT_ROTATE_BATCH, default 500, like keys:rotate). */
const batchSize = () => Math.max(1, Math.floor(Number(process.env.ID_VAULT_ROTATE_BATCH)) || 500);
/** A pause after each batch of the walk (ID_VAULT_ROTATE_PAUSE_MS, default 0): leaves a busy database to the app. */
const batchPause = () => Math.max(0, Math.floor(Number(process.env.ID_VAULT_ROTATE_PAUSE_MS)) || 0);
const FIXUP_PASSES = 3;

/**
 * Which blind-index root is in use, shared by every process (plugin store). `next` is set while an index
 * rotation runs: writers index under both roots, searches look under both. `phase` says how far the rotation
 * got (`reindex`: documents re-indexed under `next` up to `checkpoint`; `retire`: `next` is current, the old
 * root's rows and key are being removed), so a rerun goes on where a killed one stopped.
 */
export interface IndexState {
  version: number;
  next: number | null;
  phase?: 'reindex' | 'retire';
  /** When the phase began (ISO): the next step waits until every process has seen it. */
  since?: string;
  startedAt?: string;
  /** Last row id re-indexed per content type, and how many rows of how many. */
  checkpoint?: Record<string, number>;
  done?: number;
  total?: number;
  /** The version being retired (phase `retire`). */
  retiring?: number;
}

export interface IndexRotationResult {
  from: number;
  to: number;
  documents: number;
  tokens: number;
  /** Values that did not decrypt (left without tokens under the new root), by count only. */
  failed: number;
  /** Documents the check after the walk found still without tokens under the new root and re-indexed. */
  fixedUp: number;
  retiredRows: number;
}

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

/**
 * Blind-index root rotation (`npm run keys:rotate-index`): a new root (version N+1), every document's
 * blind-index rows computed again under it — batched, checkpointed, resumable after kill -9 — while exact search
 * keeps working (writers index under both roots, searches match either); then the new root becomes current,
 * the old root's rows are deleted and the old root key destroyed. Recorded: `keys.rotate-index.started`, then
 * `keys.rotate-index` with the counts.
 */
const indexRotation = ({ strapi }: { strapi: Core.Strapi }) => {
  const store = () => strapi.store({ type: 'plugin', name: PLUGIN_ID, key: STATE_KEY });
  const keys = () => getService(strapi, 'keys');
  const vault = () => getService(strapi, 'vault');
  const audit = () => getService(strapi, 'audit');
  const table = (uid: string) => tableOf(strapi, uid);
  let cached: { state: IndexState; at: number } | null = null;

  const readState = async (fresh = false): Promise<IndexState> => {
    if (!fresh && cached && Date.now() - cached.at < STATE_TTL_MS) return cached.state;
    const raw: any = await store().get({});
    const state: IndexState = raw && Number.isInteger(raw.version) ? raw : { version: 1, next: null };
    cached = { state, at: Date.now() };
    return state;
  };
  const saveState = async (state: IndexState) => {
    await store().set({ value: state });
    cached = { state, at: Date.now() };
  };

  /** The content types with searchable encrypted fields, and those fields. */
  const indexed = () =>
    getService(strapi, 'fields')
      .uids()
      .map((uid) => ({ uid, attrs: getService(strapi, 'fields').of(uid).filter((a) => a.options.searchable !== 'none') }))
      .filter((x) => x.attrs.length);

  /**
   * A transaction that writes: on SQLite it takes the write lock with its first statement (a write that
   * matches nothing), so it waits for other processes' writers (busy timeout) instead of failing when its
   * read snapshot would have to become a write ("database is locked"); tried again a few times if it still is.
   */
  const writeTransaction = async <T>(fn: (trx: any) => Promise<T>): Promise<T> => {
    const sqlite = strapi.db.dialect.client !== 'postgres';
    for (let attempt = 1; ; attempt += 1) {
      try {
        return (await strapi.db.transaction(async ({ trx }: any) => {
          if (sqlite) await trx(table(UIDS.blindIndex).name).where('id', 0).del();
          return fn(trx);
        })) as T;
      } catch (e) {
        if (!sqlite || attempt >= 5 || !/database is locked|SQLITE_BUSY/.test(String((e as Error)?.message))) throw e;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  };

  /** Rows of version `v` (rows without a version are version 1). */
  const ofVersion = (q: any, v: number) => {
    const b = table(UIDS.blindIndex);
    return v === 1 ? q.where((w: any) => w.whereNull(b.col('rootVersion')).orWhere(b.col('rootVersion'), 1)) : q.where(b.col('rootVersion'), v);
  };

  /**
   * Computes the rows of `docIds` under root `version` again from their stored values (decrypted as the
   * system), in the transaction `trx`: rows of that version for these documents are replaced. On PostgreSQL
   * the documents' rows are locked first, so a write in another process lands before or after, never between.
   */
  const reindexDocs = async (trx: any, uid: string, attrs: ReturnType<typeof indexed>[number]['attrs'], docIds: string[], version: number) => {
    const t = table(uid);
    const b = table(UIDS.blindIndex);
    let q = trx(t.name).whereIn('document_id', docIds).select(['document_id', ...attrs.map((a) => `${t.col(a.name)} as ${a.name}`)]);
    if (strapi.db.dialect.client === 'postgres') q = q.forUpdate();
    const rows: any[] = await q;
    const keyIds = new Set<string>();
    for (const r of rows) for (const a of attrs) if (r[a.name]) keyIds.add(parseCiphertext(r[a.name])?.keyId ?? '');
    await keys().load([...keyIds].filter(Boolean));
    const tokens = new Map<string, { subject: string; field: string; token: string; docId: string }>();
    let failed = 0;
    for (const r of rows) {
      for (const a of attrs) {
        const stored = r[a.name];
        if (stored === null || stored === undefined || stored === '') continue;
        let plain: string;
        try {
          plain = decryptField(stored, (id) => keys().cached(id), { uid, documentId: r.document_id, field: a.name });
        } catch {
          failed += 1;
          continue;
        }
        for (const token of await vault().tokensFor(uid, a, plain, version)) tokens.set(`${r.document_id}\u0000${a.name}\u0000${token}`, { subject: uid, field: a.name, token, docId: r.document_id });
      }
    }
    await ofVersion(trx(b.name).where(b.col('subject'), uid).whereIn(b.col('docId'), docIds), version).del();
    const insert = [...tokens.values()].map((x) => {
      const { document_id, created_at, updated_at } = stamps(strapi);
      return { [b.col('subject')]: x.subject, [b.col('field')]: x.field, [b.col('token')]: x.token, [b.col('docId')]: x.docId, [b.col('rootVersion')]: version, document_id, created_at, updated_at };
    });
    if (insert.length) await trx.batchInsert(b.name, insert, 200);
    return { documents: new Set(rows.map((r) => r.document_id)).size, tokens: insert.length, failed };
  };

  /** Documents of `uid` with rows under `from` that lack rows under `to` for the same field (written by a process that had not seen the rotation yet). */
  const behind = async (uid: string, from: number, to: number): Promise<string[]> => {
    const b = table(UIDS.blindIndex);
    const knex = strapi.db.connection;
    const rows = await ofVersion(knex(`${b.name} as o`).where(`o.${b.col('subject')}`, uid), from)
      .whereNotExists(
        knex(`${b.name} as n`)
          .whereRaw('?? = ??', [`n.${b.col('subject')}`, `o.${b.col('subject')}`])
          .whereRaw('?? = ??', [`n.${b.col('docId')}`, `o.${b.col('docId')}`])
          .whereRaw('?? = ??', [`n.${b.col('field')}`, `o.${b.col('field')}`])
          .where(`n.${b.col('rootVersion')}`, to)
          .select(knex.raw('1'))
      )
      .distinct({ docId: `o.${b.col('docId')}` });
    return rows.map((r: any) => r.docId);
  };

  return {
    state: readState,

    /** The index root versions writers and searches use now: [current] or, during a rotation, [current, next]. */
    async activeVersions(): Promise<number[]> {
      const s = await readState();
      return s.next ? [s.version, s.next] : [s.version];
    },

    /** Start-up: the current root exists (a fresh install creates version 1). */
    async ensureRoot(): Promise<void> {
      const s = await readState(true);
      await keys().indexRootAt(s.version, s.version === 1);
      if (s.next) await keys().indexRootAt(s.next);
    },

    /** What the Keys page shows of the index root. */
    async status() {
      const s = await readState(true);
      return {
        version: s.version,
        inProgress: s.next || s.phase ? { from: s.retiring ?? s.version, to: s.next ?? s.version, phase: s.phase ?? 'reindex', startedAt: s.startedAt ?? null, done: s.done ?? 0, total: s.total ?? 0 } : null,
      };
    },

    /** Runs (or resumes) an index rotation to the end; one at a time across processes (JobRunningError). */
    async rotate(progress: (done: number, total: number, phase: string) => void = () => {}): Promise<IndexRotationResult> {
      return exclusively(strapi, 'keys:rotate-index', () => asSystem(async () => {
        const system = { kind: 'system' } as const;
        let s = await readState(true);
        const from = s.retiring ?? s.version;
        let result: IndexRotationResult = { from, to: s.next ?? s.version, documents: 0, tokens: 0, failed: 0, fixedUp: 0, retiredRows: 0 };
        try {
          if (!s.next && !s.phase) {
            // A new root, then the window: every process indexes under both before the walk relies on it.
            const next = s.version + 1;
            await keys().indexRootAt(next, true);
            let total = 0;
            for (const { uid } of indexed()) total += Number((await strapi.db.connection(table(uid).name).count({ n: '*' }).first())?.n ?? 0);
            s = { version: s.version, next, phase: 'reindex', since: new Date().toISOString(), startedAt: new Date().toISOString(), checkpoint: {}, done: 0, total };
            await saveState(s);
            result = { ...result, to: next };
            await audit().record({ action: 'keys.rotate-index.started', outcome: 'success', caller: system, details: { from: s.version, to: next, documents: total } });
          } else {
            await audit().record({ action: 'keys.rotate-index.started', outcome: 'success', caller: system, details: { from, to: result.to, resumed: s.phase ?? 'reindex', done: s.done ?? 0 } });
          }
          if (s.phase === 'reindex') {
            await sleepUntil(Date.parse(s.since!) + GRACE_MS);
            const next = s.next!;
            for (const { uid, attrs } of indexed()) {
              const t = table(uid);
              for (;;) {
                const after = s.checkpoint?.[uid] ?? 0;
                const batch = await writeTransaction(async (trx) => {
                  const rows: any[] = await trx(t.name).where('id', '>', after).orderBy('id').limit(batchSize()).select({ id: 'id', documentId: 'document_id' });
                  if (!rows.length) return null;
                  const done = await reindexDocs(trx, uid, attrs, [...new Set(rows.map((r) => r.documentId as string))], next);
                  return { ...done, seen: rows.length, lastId: Number(rows[rows.length - 1].id) };
                });
                if (!batch) break;
                result.documents += batch.documents;
                result.tokens += batch.tokens;
                result.failed += batch.failed;
                // After the commit: a kill between the two re-does this batch, which is idempotent.
                s = { ...s, checkpoint: { ...s.checkpoint, [uid]: batch.lastId }, done: (s.done ?? 0) + batch.seen };
                await saveState(s);
                progress(s.done ?? 0, Math.max(s.total ?? 0, s.done ?? 0), 'reindex');
                const pause = batchPause();
                if (pause) await sleepUntil(Date.now() + pause);
              }
            }
            // Whatever a process indexed under the old root alone before it saw the window.
            for (let pass = 0; pass < FIXUP_PASSES; pass += 1) {
              let fixed = 0;
              for (const { uid, attrs } of indexed()) {
                const docIds = await behind(uid, s.version, next);
                for (let i = 0; i < docIds.length; i += batchSize()) {
                  const part = docIds.slice(i, i + batchSize());
                  await writeTransaction((trx) => reindexDocs(trx, uid, attrs, part, next));
                  fixed += part.length;
                }
              }
              result.fixedUp += fixed;
              if (!fixed) break;
            }
            // The new root becomes current; the old one is still searched by processes that have not seen it yet.
            s = { version: next, next: null, phase: 'retire', since: new Date().toISOString(), startedAt: s.startedAt, retiring: s.version, done: s.done, total: s.total };
            await saveState(s);
          }
          if (s.phase === 'retire') {
            await sleepUntil(Date.parse(s.since!) + GRACE_MS);
            const old = s.retiring!;
            const b = table(UIDS.blindIndex);
            const knex = strapi.db.connection;
            for (;;) {
              const ids = (await ofVersion(knex(b.name), old).limit(5000).pluck('id')) as number[];
              if (!ids.length) break;
              await writeTransaction((trx) => trx(b.name).whereIn('id', ids).del());
              result.retiredRows += ids.length;
              progress(s.done ?? 0, Math.max(s.total ?? 0, s.done ?? 0), 'retire');
            }
            await keys().retireIndexRoot(old);
            // The fields' HMAC keys of the old root go with it from this process's memory.
            vault().forgetIndexKeys(old);
            result = { ...result, from: old, to: s.version };
            s = { version: s.version, next: null };
            await saveState(s);
          }
          await audit().record({ action: 'keys.rotate-index', outcome: result.failed ? 'failure' : 'success', caller: system, details: { ...result } });
          return result;
        } catch (e) {
          await audit().record({ action: 'keys.rotate-index', outcome: 'failure', caller: system, details: { ...result, error: (e as any).code ?? (e as Error).name } }).catch(() => {});
          throw e;
        } finally {
          // The events are written; with the database busy (SQLite, another process writing) their chaining
          // is left to the next round of any process rather than failing work that is done.
          await audit().flush().catch((e: any) => strapi.log.warn(`id-vault: the index rotation events stay pending, chained later (${e?.code ?? e?.name})`));
        }
      }));
    },
  };
};

export type IndexRotationService = ReturnType<typeof indexRotation>;
export default indexRotation;
