import path from 'node:path';
import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { sealedStream, sealedLength, openObject, objectDigest, IdVaultCryptoError } from '../crypto';
import { and, contentDisposition, downloadName, suspensionMessage, type Access } from '../domain';
import { createScanStore, newObjectName, type ScanStore } from '../scans/store';
import { cleanScan, IntakeError } from '../scans/intake';
import { previewImage, watermarkPdf, watermarkText } from '../scans/watermark';
import { scanError } from '../scans/errors';
import { asSystem } from '../utils/caller';
import { getService, UIDS } from '../utils/strapi';
import { onceAcrossProcesses } from '../utils/jobs';
import type { ScanConfig } from '../config';

const MB = 1024 * 1024;
const IMAGE_KINDS = new Set(['jpeg', 'png', 'webp']);
/** Sizes of what is made on view: a preview and list thumbnails, both watermarked. */
export const PREVIEW_SIZE = 1600;
export const THUMBNAIL_SIZE = 320;

export interface ScanMeta {
  id: string;
  document: string;
  kind: string;
  mime: string;
  size: number;
  width: number | null;
  height: number | null;
  cleaned: boolean;
  uploadedAt: string;
}

interface Located {
  id: number;
  documentId: string;
  type: string;
  customer: { id: number; documentId: string; kind: string; name: string | null } | null;
}

/** What goes back to a viewer: bytes, type, and how the browser should take them. */
/** Where the orphan sweep remembers what it found, for its next run. */
const ORPHANS_KEY = 'scan-orphans';

export interface ScanResponse {
  body: Buffer;
  mime: string;
  disposition: string;
}

/**
 * Identity-document scans: intake (sniff, clean, seal, store, quota), metadata, watermarked previews and
 * thumbnails, downloads of the cleaned original, deletion — each through the caller's row scope: the
 * document's customer decides (hidden customers' scans are not found), and every act is audited.
 * Objects are sealed under the identity document's data key (erasing it makes its scans unreadable).
 */
const scans = ({ strapi }: { strapi: Core.Strapi }) => {
  let store: ScanStore | null = null;
  const config = (): ScanConfig => strapi.config.get('plugin::id-vault.scans') as ScanConfig;
  const getStore = (): ScanStore => {
    if (!store) {
      const cfg = config();
      store = createScanStore({ ...cfg, dir: cfg.dir ?? path.join(strapi.dirs.app.root, '.vault-data', 'scans') });
    }
    return store;
  };
  const audit = () => getService(strapi, 'audit');
  const access = () => getService(strapi, 'access');
  /** The AAD context of an object: it opens only as this document's object of this name. */
  const context = (documentRef: string, objectName: string) => `${UIDS.identityDocument}#${documentRef}/${objectName}`;

  /** The identity document by documentId as the caller reaches it (read or write scope), else 404. */
  const locate = async (a: Access, documentId: string, which: 'read' | 'write'): Promise<Located> => {
    if (typeof documentId !== 'string' || !documentId) throw new errors.NotFoundError('identity document not found');
    const filter = which === 'write' ? await access().rowFilter(UIDS.identityDocument, a, 'write') : null;
    // The query layer (lifecycles/row-guard.ts) adds the read scope and hides hidden customers' documents.
    const doc: any = await strapi.db.query(UIDS.identityDocument).findOne({
      where: and({ documentId }, filter),
      select: ['id', 'documentId', 'type'],
      populate: { customer: { select: ['id', 'documentId', 'kind', 'name'] } },
    });
    if (!doc) throw new errors.NotFoundError('identity document not found');
    return doc;
  };

  /** A scan row by its public id (documentId); the caller's reach is checked on its document next. */
  const scanRow = async (id: string): Promise<any> => {
    const row = typeof id === 'string' && id ? await strapi.db.query(UIDS.scan).findOne({ where: { documentId: id } }) : null;
    if (!row) throw new errors.NotFoundError('scan not found');
    return row;
  };

  /** Admins need the ID Vault action (route policies check it too); API callers' routes carry it as permission. */
  const requireAction = (a: Access, action: string) => {
    if (a.caller.kind === 'admin' && !a.can(`scan.${action}`)) throw new errors.ForbiddenError(`scan.${action} is needed`);
  };

  const meta = (row: any): ScanMeta => ({
    id: row.documentId,
    document: row.documentRef,
    kind: row.kind,
    mime: row.mime,
    size: Number(row.size),
    width: row.width ?? null,
    height: row.height ?? null,
    cleaned: !!row.cleaned,
    uploadedAt: new Date(row.createdAt).toISOString(),
  });

  /** Bytes held by the scans of a customer's documents (or of one document without a customer). */
  const usedBytes = async (doc: Located, trx: any): Promise<number> => {
    const s: any = strapi.db.metadata.get(UIDS.scan);
    // All of the customer's documents, whoever asks: the quota is the customer's, not the caller's view of it.
    const refs = doc.customer
      ? (await asSystem(() => strapi.db.query(UIDS.identityDocument).findMany({ where: { customer: { id: doc.customer!.id } }, select: ['documentId'] }))).map((d: any) => d.documentId)
      : [doc.documentId];
    const row = await trx(s.tableName).whereIn(s.attributes.documentRef.columnName ?? 'document_ref', refs).sum({ n: s.attributes.size.columnName ?? 'size' }).first();
    return Number(row?.n ?? 0);
  };

  /** Serialises quota checks of one customer across transactions and processes (SQLite has one writer). */
  const lockQuota = async (doc: Located, trx: any) => {
    if (strapi.db.dialect.client !== 'postgres') return;
    const uid = doc.customer ? UIDS.customer : UIDS.identityDocument;
    const table = (strapi.db.metadata.get(uid) as any).tableName;
    await trx(table).where('id', doc.customer?.id ?? doc.id).forUpdate().select('id');
  };

  const quotaError = (used: number, adding: number) => {
    const limit = config().maxCustomerBytes;
    const left = Math.max(0, limit - used);
    return scanError(
      413,
      'ScanQuotaExceeded',
      `the customer's documents may hold ${(limit / MB).toFixed(0)} MB of scans; ${(left / MB).toFixed(1)} MB are left and this upload needs ${(adding / MB).toFixed(1)} MB`,
      { limit, used, left, needed: adding }
    );
  };

  /** A refused upload, audited: the refusal's code, the detected type, the size — never content or names. */
  const rejected = (doc: Located, details: Record<string, unknown>) =>
    audit().record({ action: 'scan.rejected', outcome: 'rejected', subjectUid: UIDS.identityDocument, subjectId: doc.documentId, details });

  /** Reads, opens and checks one stored object; a changed, cut or missing object is an audited error. */
  const openScan = async (row: any, doc: Located, act: string): Promise<Buffer> => {
    const resolve = (keyId: string) => getService(strapi, 'keys').cached(keyId);
    try {
      const sealed = await getStore().get(row.objectName);
      await getService(strapi, 'keys').load([row.keyId]);
      const plain = await openObject(sealed, resolve, context(row.documentRef, row.objectName));
      const key = resolve(row.keyId);
      if (!key || objectDigest(key, plain) !== row.digest) throw new IdVaultCryptoError('AUTH_FAILED', 'digest mismatch');
      return plain;
    } catch (e) {
      const reason = e instanceof IdVaultCryptoError ? e.code : (e as any)?.code === 'ENOENT' || (e as any)?.name === 'NoSuchKey' ? 'MISSING' : 'UNREADABLE';
      await audit().record({
        action: 'scan.integrity-failed',
        outcome: 'failure',
        subjectUid: UIDS.identityDocument,
        subjectId: doc.documentId,
        details: { scan: row.documentId, act, reason },
      });
      strapi.log.error(`id-vault: scan ${row.documentId} failed its integrity check (${reason})`);
      throw scanError(500, 'ScanIntegrityError', 'the stored scan failed its integrity check (it was changed, cut short or is missing); the event is recorded', { reason });
    }
  };

  /** Who is looking, for the watermark: a name or e-mail of the admin or user, the token's name. */
  const viewerLabel = (): string => {
    const ctx: any = strapi.requestContext.get();
    const user = ctx?.state?.user;
    const auth = ctx?.state?.auth;
    if (user) return [user.firstname, user.lastname].filter(Boolean).join(' ') || user.username || user.email || `user ${user.id}`;
    if (auth?.credentials?.name) return `API token ${auth.credentials.name}`;
    return 'unknown viewer';
  };

  return {
    /** The scan store this process writes to (tests read it raw). */
    store: getStore,
    config,

    async list(documentId: string): Promise<ScanMeta[]> {
      const a = await access().current();
      requireAction(a, 'view');
      const doc = await locate(a, documentId, 'read');
      const rows = await strapi.db.query(UIDS.scan).findMany({ where: { documentRef: doc.documentId }, orderBy: { id: 'asc' } });
      return rows.map(meta);
    },

    /** Scans of several documents at once (the customer's Documents panel): documentRef → metadata. */
    async ofDocuments(documentIds: string[]): Promise<Map<string, ScanMeta[]>> {
      const rows = documentIds.length ? await strapi.db.query(UIDS.scan).findMany({ where: { documentRef: { $in: documentIds } }, orderBy: { id: 'asc' } }) : [];
      const out = new Map<string, ScanMeta[]>();
      for (const row of rows) out.set(row.documentRef, [...(out.get(row.documentRef) ?? []), meta(row)]);
      return out;
    },

    /**
     * Intake of one upload (one or more files), all or nothing: each file sniffed and cleaned in memory,
     * sealed and stored; then, in one transaction, the quota checked (the customer's row locked) and the
     * rows written with their audit events. Any refusal leaves no row and no object.
     */
    async upload(documentId: string, files: Buffer[]): Promise<ScanMeta[]> {
      const a = await access().current();
      requireAction(a, 'upload');
      const doc = await locate(a, documentId, 'write');
      const cfg = config();
      const cleaned = [];
      for (const bytes of files) {
        try {
          cleaned.push(await cleanScan(bytes, { maxPixels: cfg.maxPixels }));
        } catch (e) {
          if (!(e instanceof IntakeError)) throw e;
          await rejected(doc, { code: e.code, detected: e.detected, size: bytes.length });
          throw scanError(e.status, 'ScanRejected', e.message, { code: e.code, detected: e.detected });
        }
      }
      const adding = cleaned.reduce((n, c) => n + c.bytes.length, 0);
      // A first look without locks (refuses early); the check that counts runs again in the transaction below.
      const before = await usedBytes(doc, strapi.db.connection);
      if (before + adding > cfg.maxCustomerBytes) {
        await rejected(doc, { code: 'QUOTA', size: adding });
        throw quotaError(before, adding);
      }

      const dk = await getService(strapi, 'keys').dataKeyFor(UIDS.identityDocument, doc.documentId);
      const objects = cleaned.map((c) => ({ c, objectName: newObjectName(), storedSize: sealedLength(c.bytes.length, dk.id), digest: objectDigest(dk.key, c.bytes) }));
      const s = getStore();
      const stored: string[] = [];
      try {
        for (const o of objects) {
          // Sealed a segment at a time into the store: never a whole ciphertext beside the plaintext.
          await s.put(o.objectName, sealedStream(o.c.bytes, dk, context(doc.documentId, o.objectName)));
          stored.push(o.objectName);
        }
        const actor = a.caller;
        return await strapi.db.transaction(async ({ trx }: any) => {
          await lockQuota(doc, trx);
          const used = await usedBytes(doc, trx);
          if (used + adding > cfg.maxCustomerBytes) throw quotaError(used, adding);
          const out: ScanMeta[] = [];
          for (const o of objects) {
            const row = await strapi.db.query(UIDS.scan).create({
              data: {
                documentRef: doc.documentId,
                objectName: o.objectName,
                store: s.kind,
                keyId: dk.id,
                kind: o.c.kind,
                mime: o.c.mime,
                size: o.c.bytes.length,
                storedSize: o.storedSize,
                width: o.c.width ?? null,
                height: o.c.height ?? null,
                cleaned: o.c.cleaned,
                digest: o.digest,
                uploadedByType: actor.kind,
                uploadedById: 'id' in actor ? String(actor.id) : null,
              },
            });
            out.push(meta(row));
            await audit().record({
              action: 'scan.upload',
              outcome: 'success',
              subjectUid: UIDS.identityDocument,
              subjectId: doc.documentId,
              details: { scan: row.documentId, kind: row.kind, size: Number(row.size), cleaned: !!row.cleaned },
            });
          }
          if (doc.customer) await getService(strapi, 'documents').refresh([doc.customer.id], trx);
          return out;
        });
      } catch (e) {
        await Promise.all(stored.map((name) => s.delete(name).catch(() => strapi.log.warn(`id-vault: could not remove scan object after a failed upload; the orphan sweep will`))));
        if ((e as any)?.name === 'ScanQuotaExceeded') {
          await rejected(doc, { code: 'QUOTA', size: adding });
        }
        throw e;
      }
    },

    /** A watermarked preview (images ≤ 1600 px, PDFs stamped on every page) or list thumbnail. */
    async view(id: string, variant: 'preview' | 'thumbnail'): Promise<ScanResponse> {
      const a = await access().current();
      requireAction(a, 'view');
      const row = await scanRow(id);
      const doc = await locate(a, row.documentRef, 'read');
      const text = watermarkText(viewerLabel(), new Date(), config().timeZone);
      let body: Buffer;
      let mime: string;
      if (IMAGE_KINDS.has(row.kind)) {
        body = await previewImage(await openScan(row, doc, 'view'), { text, maxSize: variant === 'preview' ? PREVIEW_SIZE : THUMBNAIL_SIZE });
        mime = 'image/jpeg';
      } else if (row.kind === 'pdf' && variant === 'preview') {
        body = await watermarkPdf(await openScan(row, doc, 'view'), text);
        mime = 'application/pdf';
      } else {
        throw scanError(409, 'ScanNoPreview', variant === 'preview' ? 'this kind of scan has no preview; download it' : 'only images have thumbnails', { kind: row.kind });
      }
      await audit().record({ action: 'scan.view', outcome: 'success', subjectUid: UIDS.identityDocument, subjectId: doc.documentId, details: { scan: row.documentId, variant } });
      return { body, mime, disposition: 'inline' };
    },

    /** The cleaned original (no watermark), named by the guides' rule with the customer's name masked. */
    async download(id: string): Promise<ScanResponse> {
      const a = await access().current();
      requireAction(a, 'download');
      const row = await scanRow(id);
      const doc = await locate(a, row.documentRef, 'read');
      // The original leaves without a watermark, like an export: an open anomaly alert suspends it too.
      const suspended = await getService(strapi, 'anomalies').suspension(a.caller);
      if (suspended) {
        await audit().record({ action: 'scan.download', outcome: 'denied', subjectUid: UIDS.identityDocument, subjectId: doc.documentId, details: { scan: row.documentId, reason: 'suspended' } });
        throw new errors.PolicyError(suspensionMessage(suspended));
      }
      const body = await openScan(row, doc, 'download');
      await audit().record({ action: 'scan.download', outcome: 'success', subjectUid: UIDS.identityDocument, subjectId: doc.documentId, details: { scan: row.documentId } });
      const ext = { jpeg: 'jpg', png: 'png', webp: 'webp', pdf: 'pdf', docx: 'docx', doc: 'doc' }[row.kind as string] ?? 'bin';
      const name = downloadName({ kind: doc.customer?.kind ?? 'personal', name: doc.customer?.name ?? null, type: doc.type, date: new Date(row.createdAt), ext, timeZone: config().timeZone });
      return { body, mime: row.mime, disposition: contentDisposition('attachment', name) };
    },

    async remove(id: string): Promise<ScanMeta> {
      const a = await access().current();
      requireAction(a, 'delete');
      const row = await scanRow(id);
      const doc = await locate(a, row.documentRef, 'write');
      await strapi.db.transaction(async ({ trx }: any) => {
        await strapi.db.query(UIDS.scan).delete({ where: { id: row.id } });
        if (doc.customer) await getService(strapi, 'documents').refresh([doc.customer.id], trx);
        await audit().record({ action: 'scan.delete', outcome: 'success', subjectUid: UIDS.identityDocument, subjectId: doc.documentId, details: { scan: row.documentId, kind: row.kind } });
      });
      await getStore()
        .delete(row.objectName)
        .catch(() => strapi.log.warn('id-vault: a deleted scan object could not be removed from the store; the orphan sweep will'));
      return meta(row);
    },

    /**
     * The orphan sweep: objects in the store that no scan row names — an upload whose transaction rolled back
     * after its objects were written, a process killed between the two, a delete whose object removal failed.
     * Two-phase, so an upload in flight is never touched: a run deletes only the orphans the previous run
     * already found (and that are still orphans), and remembers the new ones for the next. Recorded as
     * `scan.orphans-swept` (counts only).
     */
    async sweepOrphans(): Promise<{ deleted: number; pending: number }> {
      const memory = strapi.store({ type: 'plugin', name: 'id-vault', key: ORPHANS_KEY });
      const seen = new Set<string>(((await memory.get({})) as { names?: string[] } | null)?.names ?? []);
      const names = await getStore().list();
      const t: any = strapi.db.metadata.get(UIDS.scan);
      const column = t.attributes.objectName.columnName ?? 'object_name';
      const known = new Set<string>();
      for (let i = 0; i < names.length; i += 500) {
        const rows = await strapi.db.connection(t.tableName).whereIn(column, names.slice(i, i + 500)).select({ name: column });
        for (const r of rows) known.add(r.name);
      }
      const orphans = names.filter((n) => !known.has(n));
      const due = orphans.filter((n) => seen.has(n));
      let deleted = 0;
      for (const name of due) {
        await getStore()
          .delete(name)
          .then(() => (deleted += 1))
          .catch(() => strapi.log.warn('id-vault: an orphaned scan object could not be removed; the next sweep tries again'));
      }
      const pending = orphans.filter((n) => !seen.has(n));
      await memory.set({ value: { names: [...pending, ...due.slice(deleted)], at: new Date().toISOString() } });
      await audit().record({ action: 'scan.orphans-swept', outcome: 'success', caller: { kind: 'system' }, details: { deleted, pending: pending.length, objects: names.length } });
      return { deleted, pending: pending.length };
    },

    /** The daily sweep, once a day across every process. */
    sweepJob(today = new Date()) {
      return onceAcrossProcesses(strapi, `scan-sweep:${today.toISOString().slice(0, 10)}`, () => this.sweepOrphans());
    },

    /**
     * Database lifecycles: the scans of an identity document go with it (rows in the same transaction,
     * objects once it has committed), whoever deletes it.
     */
    lifecycles() {
      const refsOf = async (where: any): Promise<string[]> =>
        asSystem(async () => (await strapi.db.query(UIDS.identityDocument).findMany({ where, select: ['documentId'] })).map((d: any) => d.documentId));
      const before = async (event: any) => {
        event.state.idvScanRefs = await refsOf(event.params.where);
      };
      const after = async (event: any) => {
        const refs: string[] = event.state.idvScanRefs ?? [];
        if (!refs.length) return;
        const left = new Set(await refsOf({ documentId: { $in: refs } }));
        const gone = refs.filter((r) => !left.has(r));
        const rows = gone.length ? await strapi.db.query(UIDS.scan).findMany({ where: { documentRef: { $in: gone } }, select: ['id', 'objectName'] }) : [];
        if (!rows.length) return;
        await strapi.db.query(UIDS.scan).deleteMany({ where: { id: { $in: rows.map((r: any) => r.id) } } });
        const removeObjects = () => Promise.all(rows.map((r: any) => getStore().delete(r.objectName).catch(() => undefined)));
        if (strapi.db.inTransaction()) await strapi.db.transaction(async ({ onCommit }: any) => onCommit(removeObjects));
        else await removeObjects();
      };
      return { models: [UIDS.identityDocument], beforeDelete: before, beforeDeleteMany: before, afterDelete: after, afterDeleteMany: after };
    },
  };
};

export type ScansService = ReturnType<typeof scans>;
export default scans;
