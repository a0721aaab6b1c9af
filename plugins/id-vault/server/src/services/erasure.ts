import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { and, describeCaller, type Caller } from '../domain';
import { entriesToResign, ledgerLine, parseMasterKeys, readLedger as readLedgerEntries, type LedgerEntry, type MasterKeyRing } from '../crypto';
import { asSystem } from '../utils/caller';
import { scanError as httpError } from '../scans/errors';
import { createLedgerStore, type LedgerStore } from '../scans/store';
import { getService, PLUGIN_ID, stamps, UIDS, tableOf } from '../utils/strapi';

/** What an erased customer's name becomes (the column is required; the value says what happened, nothing else). */
export const ERASED_NAME = '[erased]';
/** Customer attributes an erasure keeps: what row scope and the list need, and what the vault derives. */
const KEPT = new Set(['kind', 'hidden', 'team', 'owner', 'apiOwner', 'documents', 'documentsComplete', 'missingDocuments']);
const INSTALL_KEY = 'install-id';
/** PostgreSQL advisory lock of the ledger replay: processes starting together replay one after another. */
const REPLAY_LOCK = 0x1d5a19;
const CHUNK = 500;

export interface ErasureResult {
  customerDocumentId: string;
  documents: number;
  scans: number;
  dataKeys: number;
}

const ref = (uid: string, documentId: string) => `${uid}#${documentId}`;
const chunks = <T>(xs: T[]): T[][] => Array.from({ length: Math.ceil(xs.length / CHUNK) }, (_, i) => xs.slice(i * CHUNK, (i + 1) * CHUNK));

/**
 * Erasure by crypto-shredding (`customer.erase`). One transaction destroys the data keys of the customer and
 * of its identity documents (whose scans are sealed under them), deletes the documents — their scans, scan
 * objects and blind-index rows go with them (lifecycles) — and the customer's own blind-index rows, and blanks
 * the customer's columns, encrypted and plain (destroying keys erases only what was encrypted): the row stays
 * as a husk (kind, org unit, owner: what row scope needs; name `[erased]`), beside a tombstone (who, when, why).
 *
 * Erased stays erased after a restore: before the database is touched, the erasure is appended to a ledger
 * outside the database and its backups (`ID_VAULT_LEDGER_DIR`, default `<app>/.vault-data/erasures`, one file
 * per installation id — an id kept in the database, so a restored backup names the same file), each line
 * MACed under a key derived from the master key ring. Every start-up reads the whole ledger (refusing to start
 * if a line does not verify) and erases again whatever a restore brought back, before serving.
 */
const erasure = ({ strapi }: { strapi: Core.Strapi }) => {
  let ring: MasterKeyRing | null = null;
  /** How many customers the last applyLedger() of this process erased again (a restore reports it). */
  let replayedLast = 0;
  /** How many identity documents it deleted again. */
  let replayedDocumentsLast = 0;
  const masterRing = () => (ring ??= parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS));
  const audit = () => getService(strapi, 'audit');
  const knex = () => strapi.db.connection;
  const table = (uid: string) => tableOf(strapi, uid);

  let ledgerStore: LedgerStore | null = null;
  /** The ledger beside the scan store: ID_VAULT_LEDGER_DIR (default `<app>/.vault-data/erasures`), or the S3 bucket. */
  const ledger = () =>
    (ledgerStore ??= createLedgerStore({
      ...(strapi.config.get('plugin::id-vault.scans') as any),
      dir: process.env.ID_VAULT_LEDGER_DIR || path.join(strapi.dirs.app.root, '.vault-data', 'erasures'),
    }));
  const installId = async (): Promise<string> => {
    const store = strapi.store({ type: 'plugin', name: PLUGIN_ID, key: INSTALL_KEY });
    let id = (await store.get({})) as string | null;
    if (!id) {
      id = randomBytes(12).toString('hex');
      await store.set({ value: id });
    }
    return id;
  };

  /** Appends one entry, durably (fsynced, or a completed PUT), before returning: an erasure the ledger does not hold never starts. */
  const appendLedger = async (entry: Omit<LedgerEntry, 'keyId' | 'mac'>) => ledger().append(await installId(), ledgerLine(masterRing(), entry));

  const readLedger = async (): Promise<LedgerEntry[]> => {
    const name = await installId();
    const read = readLedgerEntries(masterRing(), await ledger().read(name));
    if ('problem' in read) throw new Error(`id-vault: the erasure ledger ${ledger().where(name)} does not verify at ${read.at} (${read.problem}); refusing to start until it is restored from its own copy`);
    return read.entries;
  };

  /** The customer's identity documents (ids and documentIds), whatever their state. */
  const documentsOf = (customerDocumentId: string) =>
    asSystem(() => strapi.db.query(UIDS.identityDocument).findMany({ where: { customer: { documentId: customerDocumentId } }, select: ['id', 'documentId'] })) as Promise<
      Array<{ id: number; documentId: string }>
    >;

  /**
   * The database part, idempotent (a replay runs it again): keys destroyed, documents (so scans) deleted,
   * index rows dropped, columns blanked, tags unlinked, a tombstone written. `refs`: data-key refs recorded in
   * the ledger, destroyed too (a restore may bring back documents no longer linked).
   */
  const wipe = (customerDocumentId: string, refs: string[], tombstone: { byType: string; byId: string | null; reason: string | null; replayed: boolean }, event: { caller: Caller; details?: Record<string, unknown> }) =>
    asSystem(() =>
      strapi.db.transaction(async ({ trx }: any) => {
        // One erasure of a customer at a time: its row locked first (PostgreSQL; SQLite has one writer), then
        // the tombstone looked at again — of two erasures at once, the second answers 409 and writes nothing.
        const c0 = table(UIDS.customer);
        const locked = trx(c0.name).where(c0.col('documentId'), customerDocumentId).first('id');
        await (strapi.db.dialect.client === 'postgres' ? locked.forUpdate() : locked);
        const e0 = table(UIDS.erasure);
        if (!tombstone.replayed && (await trx(e0.name).where(e0.col('customerDocumentId'), customerDocumentId).first('id'))) {
          throw httpError(409, 'AlreadyErased', 'this customer is already erased');
        }
        const docs = await documentsOf(customerDocumentId);
        const allRefs = [...new Set([ref(UIDS.customer, customerDocumentId), ...docs.map((d) => ref(UIDS.identityDocument, d.documentId)), ...refs])];
        const keysTable = table(UIDS.dataKey);
        const keyIds: string[] = (await trx(keysTable.name).whereIn(keysTable.col('ref'), allRefs).select({ keyId: keysTable.col('keyId') })).map((r: any) => r.keyId);
        const scanTable = table(UIDS.scan);
        const scans = docs.length ? Number((await trx(scanTable.name).whereIn(scanTable.col('documentRef'), docs.map((d) => d.documentId)).count({ n: '*' }).first()).n) : 0;
        await trx(keysTable.name).whereIn(keysTable.col('ref'), allRefs).del();
        if (docs.length) await strapi.db.query(UIDS.identityDocument).deleteMany({ where: { id: { $in: docs.map((d) => d.id) } } });
        await getService(strapi, 'vault').dropIndex(UIDS.customer, [customerDocumentId]);
        // Every column of the customer but what row scope and the vault need: encrypted and plain alike.
        const c = table(UIDS.customer);
        const blank: Record<string, unknown> = {};
        for (const [name, def] of Object.entries(c.attributes)) {
          if (KEPT.has(name) || def.type === 'relation' || !def.columnName || ['id', 'documentId', 'createdAt', 'updatedAt', 'publishedAt', 'locale'].includes(name)) continue;
          blank[def.columnName] = name === 'name' ? ERASED_NAME : null;
        }
        blank[c.col('updatedAt')] = stamps(strapi).updated_at;
        const row = await trx(c.name).where(c.col('documentId'), customerDocumentId).first('id');
        if (row) {
          await trx(c.name).where('id', row.id).update(blank);
          // Tags (and any many-to-many an admin added): the links go, the tags stay.
          for (const [name, def] of Object.entries(c.attributes)) {
            if (def.type === 'relation' && def.relation === 'manyToMany' && def.joinTable && !KEPT.has(name)) {
              await trx(def.joinTable.name).where(def.joinTable.joinColumn.name, row.id).del();
            }
          }
        }
        const e = table(UIDS.erasure);
        const [inserted] = await trx(e.name)
          .insert({
            [e.col('customerDocumentId')]: customerDocumentId,
            [e.col('erasedAt')]: new Date().toISOString(),
            [e.col('erasedByType')]: tombstone.byType,
            [e.col('erasedById')]: tombstone.byId,
            [e.col('reason')]: tombstone.reason,
            [e.col('replayed')]: tombstone.replayed,
            ...stamps(strapi),
          })
          .returning('id');
        getService(strapi, 'keys').forget(keyIds);
        const result = { customerDocumentId, documents: docs.length, scans, dataKeys: keyIds.length };
        const tombstoneId = Number(inserted?.id ?? inserted);
        // The event commits with the erasure (never an erasure without the record of who did it).
        await audit().record({
          action: tombstone.replayed ? 'customer.erase.replayed' : 'customer.erase',
          outcome: 'success',
          subjectUid: UIDS.customer,
          subjectId: customerDocumentId,
          caller: event.caller,
          details: { ...result, ...event.details, tombstone: tombstoneId },
        });
        return { result, tombstoneId, refs: allRefs, found: !!row };
      })
    );

  /** Whether a ledger entry's customer needs erasing again: a key of its refs, its name, or its tombstone came back or went. */
  const stale = async (entries: LedgerEntry[]): Promise<Set<string>> => {
    const out = new Set<string>();
    const k = table(UIDS.dataKey);
    const c = table(UIDS.customer);
    const e = table(UIDS.erasure);
    for (const part of chunks(entries)) {
      const ids = part.map((x) => x.customerDocumentId);
      const refOwner = new Map(part.flatMap((x) => [ref(UIDS.customer, x.customerDocumentId), ...x.refs].map((r) => [r, x.customerDocumentId] as const)));
      for (const r of await knex()(k.name).whereIn(k.col('ref'), [...refOwner.keys()]).select({ ref: k.col('ref') })) out.add(refOwner.get(r.ref)!);
      for (const r of await knex()(c.name).whereIn(c.col('documentId'), ids).whereNot(c.col('name'), ERASED_NAME).select({ d: c.col('documentId') })) out.add(r.d);
      const marked = new Set((await knex()(e.name).whereIn(e.col('customerDocumentId'), ids).select({ d: e.col('customerDocumentId') })).map((r: any) => r.d));
      for (const id of ids) if (!marked.has(id)) out.add(id);
      // Documents linked to the customer after a restore (their keys are under refs the entry may not list).
      const rest = ids.filter((id) => !out.has(id));
      if (rest.length) {
        const linked = (await asSystem(() =>
          strapi.db.query(UIDS.identityDocument).findMany({ where: { customer: { documentId: { $in: rest } } }, select: ['id'], populate: { customer: { select: ['documentId'] } } })
        )) as Array<{ customer?: { documentId: string } | null }>;
        for (const d of linked) if (d.customer) out.add(d.customer.documentId);
      }
    }
    return out;
  };

  /** Of the identity documents deleted for good (ledger entries), those a restore brought back: the row, or a data key of it. */
  const documentsBack = async (entries: LedgerEntry[]): Promise<Set<string>> => {
    const out = new Set<string>();
    const k = table(UIDS.dataKey);
    const d = table(UIDS.identityDocument);
    for (const part of chunks(entries)) {
      const ids = part.map((x) => x.documentId!);
      for (const r of await knex()(d.name).whereIn(d.col('documentId'), ids).select({ d: d.col('documentId') })) out.add(r.d);
      const owner = new Map(ids.map((id) => [ref(UIDS.identityDocument, id), id]));
      for (const r of await knex()(k.name).whereIn(k.col('ref'), [...owner.keys()]).select({ ref: k.col('ref') })) out.add(owner.get(r.ref)!);
    }
    return out;
  };

  /** The database part of deleteDocument, idempotent (a replay runs it again): null when nothing of it was left. */
  const removeDocument = (documentId: string): Promise<{ documents: number; scans: number; dataKeys: number } | null> =>
    asSystem(() =>
      strapi.db.transaction(async ({ trx }: any) => {
        const doc = await strapi.db.query(UIDS.identityDocument).findOne({ where: { documentId }, select: ['id'] });
        const keysTable = table(UIDS.dataKey);
        const refs = [ref(UIDS.identityDocument, documentId)];
        const keyIds: string[] = (await trx(keysTable.name).whereIn(keysTable.col('ref'), refs).select({ keyId: keysTable.col('keyId') })).map((r: any) => r.keyId);
        if (!doc && !keyIds.length) return null;
        const scanTable = table(UIDS.scan);
        const scans = Number((await trx(scanTable.name).where(scanTable.col('documentRef'), documentId).count({ n: '*' }).first()).n);
        await trx(keysTable.name).whereIn(keysTable.col('ref'), refs).del();
        if (doc) await strapi.db.query(UIDS.identityDocument).delete({ where: { id: doc.id } });
        getService(strapi, 'keys').forget(keyIds);
        return { documents: doc ? 1 : 0, scans, dataKeys: keyIds.length };
      })
    ) as any;

  return {
    /**
     * Erases a customer the caller reaches (as a list would: row scope, hidden customers). `reason` is
     * required. Ledger first, then the database, then `customer.erase` (counts; the reason stays in the
     * tombstone). Throws 404 for a customer out of reach, 400 without a reason, 409 when it is already erased.
     */
    async erase(customerDocumentId: string, reason: unknown): Promise<ErasureResult> {
      const why = typeof reason === 'string' ? reason.trim() : '';
      if (!why || why.length > 500) throw new errors.ValidationError('a reason is required (at most 500 characters)');
      const access = await getService(strapi, 'access').current();
      const { caller } = access;
      const found = await strapi.documents(UIDS.customer as any).findOne({ documentId: customerDocumentId, fields: ['id'] } as any);
      if (!found) throw new errors.NotFoundError('customer not found');
      // Erasing is a write, and the last one: the customer must be in the caller's write scope too.
      const write = await getService(strapi, 'access').rowFilter(UIDS.customer, access, 'write');
      if (write && !(await asSystem(() => strapi.db.query(UIDS.customer).count({ where: and({ documentId: customerDocumentId }, write) })))) {
        await audit().record({ action: 'customer.erase', outcome: 'denied', subjectUid: UIDS.customer, subjectId: customerDocumentId, caller });
        throw new errors.PolicyError('this customer is outside the rows you may change');
      }
      const e = table(UIDS.erasure);
      if (await knex()(e.name).where(e.col('customerDocumentId'), customerDocumentId).first('id')) {
        throw httpError(409, 'AlreadyErased', 'this customer is already erased');
      }
      const docs = await documentsOf(customerDocumentId);
      const erasedAt = new Date().toISOString();
      await appendLedger({ customerDocumentId, erasedAt, refs: [ref(UIDS.customer, customerDocumentId), ...docs.map((d) => ref(UIDS.identityDocument, d.documentId))] });
      const { actorType, actorId } = describeCaller(caller);
      const done = await wipe(customerDocumentId, [], { byType: actorType, byId: actorId, reason: why, replayed: false }, { caller });
      return done.result;
    },

    /**
     * Deletes one identity document for good (a retention rule's expired document): first a line in the
     * erasure ledger (so a restore of an older backup deletes it again), then its data key destroyed (so its
     * scans' sealed bytes too), the document deleted — its scans, scan objects and blind-index rows go with it
     * (lifecycles) and its customer's completeness is recomputed — in one transaction, as the system. The
     * caller checks that the document is within reach first. Returns the counts, or null when it is gone.
     */
    async deleteDocument(documentId: string): Promise<{ documents: number; scans: number; dataKeys: number } | null> {
      const doc = (await asSystem(() => strapi.db.query(UIDS.identityDocument).findOne({ where: { documentId }, select: ['id'], populate: { customer: { select: ['documentId'] } } }))) as any;
      if (!doc) return null;
      await appendLedger({ customerDocumentId: doc.customer?.documentId ?? '', documentId, erasedAt: new Date().toISOString(), refs: [ref(UIDS.identityDocument, documentId)] });
      return removeDocument(documentId);
    },

    /**
     * After a master-key rotation: appends a copy, under the active key, of every entry signed by an older
     * one (append-only, like every write to the ledger), so the older key may leave the ring. Returns how many.
     */
    async resignLedger(): Promise<number> {
      const todo = entriesToResign(masterRing(), await readLedger());
      for (const e of todo) await appendLedger({ customerDocumentId: e.customerDocumentId, ...(e.documentId !== undefined ? { documentId: e.documentId } : {}), erasedAt: e.erasedAt, refs: e.refs });
      return todo.length;
    },

    /**
     * Start-up: reads the whole ledger (a line that does not verify refuses the start) and erases again every
     * customer a restore brought back, recording `customer.erase.replayed`. Returns how many were replayed.
     */
    /** How many customers the last ledger replay of this process erased again (the start-up's, after a restore). */
    lastReplayed(): number {
      return replayedLast;
    },
    /** How many identity documents it deleted again. */
    lastReplayedDocuments(): number {
      return replayedDocumentsLast;
    },

    async applyLedger(): Promise<number> {
      const all = await readLedger();
      // Identity documents deleted for good (retention): deleted again if a restore brought any of them back.
      const documents = all.filter((x) => x.documentId !== undefined);
      const entries = all.filter((x) => x.documentId === undefined);
      // A tombstone the ledger lacks means this is not the ledger the erasures were written to (a wrong
      // ID_VAULT_LEDGER_DIR or prefix, an unmounted volume, a lost file: every erasure is in the ledger before
      // its tombstone is written). Its replay could not be trusted to bring nothing back: refuse to start.
      const inLedger = new Set(entries.map((x) => x.customerDocumentId));
      const t = table(UIDS.erasure);
      const missing = (await knex()(t.name).distinct({ d: t.col('customerDocumentId') })).filter((r: any) => !inLedger.has(r.d));
      if (missing.length) {
        throw new Error(
          `id-vault: the database records ${missing.length} erasure(s) that the erasure ledger ${ledger().where(await installId())} does not hold (first: customer ${missing[0].d}); refusing to start — point ID_VAULT_LEDGER_DIR (or the S3 ledger prefix) at the ledger, or restore it from its own copy`
        );
      }
      replayedLast = 0;
      replayedDocumentsLast = 0;
      if (!all.length) return 0;
      const replayDocuments = async () => {
        // Looked up in batches: a start with nothing to replay costs two queries per chunk of entries.
        const back = await documentsBack(documents);
        let n = 0;
        for (const e of documents) {
          if (!back.has(e.documentId!)) continue;
          const done = await removeDocument(e.documentId!);
          if (!done) continue;
          n += 1;
          await audit().record({
            action: 'identity-document.delete.replayed',
            outcome: 'success',
            caller: { kind: 'system' },
            subjectUid: UIDS.identityDocument,
            subjectId: e.documentId!,
            details: { ...done, deletedAt: e.erasedAt },
          });
        }
        return n;
      };
      const replay = async () => {
        replayedDocumentsLast = await replayDocuments();
        const again = await stale(entries);
        const latest = new Map(entries.map((e) => [e.customerDocumentId, e]));
        const refsOf = new Map<string, string[]>();
        for (const e of entries) refsOf.set(e.customerDocumentId, [...(refsOf.get(e.customerDocumentId) ?? []), ...e.refs]);
        for (const id of again) {
          const entry = latest.get(id)!;
          await wipe(id, refsOf.get(id)!, { byType: 'system', byId: null, reason: 'erasure ledger replay', replayed: true }, { caller: { kind: 'system' }, details: { erasedAt: entry.erasedAt } });
        }
        return again.size;
      };
      // Several processes starting after a restore: one replays, the others then find nothing stale (no
      // second tombstone or event). The lock is held by a transaction of its own while the work runs on
      // other connections; SQLite has one writer (and several processes on one file are not supported).
      const replayed =
        strapi.db.dialect.client === 'postgres'
          ? await strapi.db.connection.transaction(async (trx: any) => {
              await trx.raw('select pg_advisory_xact_lock(?)', [REPLAY_LOCK]);
              return replay();
            })
          : await replay();
      replayedLast = replayed;
      if (replayed) strapi.log.warn(`id-vault: the erasure ledger erased ${replayed} customer(s) again that a restore had brought back`);
      if (replayedDocumentsLast) strapi.log.warn(`id-vault: the erasure ledger deleted ${replayedDocumentsLast} identity document(s) again that a restore had brought back`);
      return replayed;
    },
  };
};

export type ErasureService = ReturnType<typeof erasure>;
export default erasure;
