import type { Core } from '@strapi/strapi';
import { customerViolations } from '../domain/customer';
import { IdVaultValidationError } from '../errors';
import { getService, newDocumentId, UIDS } from '../utils/strapi';
import { asSystem, documentWrite, requestState } from '../utils/caller';
import type { FieldTokens } from '../services/vault';

/**
 * The storage boundary as database lifecycles: whatever path writes a row (REST, Content Manager,
 * document service, strapi.db.query, publish, clone), encrypted attributes reach the database as
 * ciphertext only, with their blind indexes beside them. Runs after Strapi's validation, inside the
 * write's transaction.
 */
/** The row id of a write's `where` when it names one row by id alone (Strapi's own updates), else undefined. */
const rowIdOf = (where: any): unknown => (where && Object.keys(where).length === 1 ? where.id : undefined);

export const storageBoundary = (strapi: Core.Strapi) => {
  const vault = () => getService(strapi, 'vault');
  const encrypted = (uid: string) => getService(strapi, 'fields').of(uid);
  const touches = (uid: string, data: any) => !!data && encrypted(uid).some((a) => data[a.name] !== undefined);

  const checkRecord = async (uid: string, data: any, plain: Record<string, string | null>, where?: any) => {
    if (uid !== UIDS.customer) return;
    const written = new Set(Object.keys(data));
    let current: any = {};
    if (where && written.has('idNumber') && !written.has('idType')) {
      const stored = documentWrite()?.stored;
      current =
        stored && 'idType' in stored && rowIdOf(where) === stored.id
          ? stored
          : ((await asSystem(() => strapi.db.query(uid).findOne({ where, select: ['idType'] }))) ?? {});
    }
    const next = { idType: data.idType ?? current.idType, idNumber: plain.idNumber, creditCode: data.creditCode };
    const [violation] = customerViolations(next, written);
    if (violation) throw new IdVaultValidationError(violation.field, violation.message);
  };

  const protect = async (uid: string, data: any, documentId: string, where?: any): Promise<{ tokens: FieldTokens; newKey: boolean }> => {
    const { tokens, plain, newKey } = await vault().protect(uid, data, documentId, !where);
    await checkRecord(uid, data, plain, where);
    return { tokens, newKey };
  };

  /** Row id → documentId of rows this request has read (Strapi reads a row before it updates it by id). */
  const knownDocumentId = (uid: string, where: any): string | undefined => {
    const id = rowIdOf(where);
    return typeof id === 'number' || typeof id === 'string' ? (requestState(strapi)?.memo.get(`document-id:${uid}:${id}`) as string | undefined) : undefined;
  };

  /** Drops the index of documents that have no row left (a draft-and-publish document has two). */
  const dropIfGone = async (uid: string, docIds: string[]) => {
    if (!docIds.length) return;
    const left = await asSystem(() => strapi.db.query(uid).findMany({ where: { documentId: { $in: docIds } }, select: ['documentId'] }));
    const remaining = new Set(left.map((r: any) => r.documentId));
    await vault().dropIndex(uid, docIds.filter((d) => !remaining.has(d)));
  };

  return {
    async beforeCreate(event: any) {
      const uid = event.model.uid;
      const data = event.params.data;
      if (!encrypted(uid).length) return;
      data.documentId ??= newDocumentId();
      event.state.idvProtected = await protect(uid, data, data.documentId);
    },
    async afterCreate(event: any) {
      const p = event.state.idvProtected;
      if (p) await vault().writeIndex(event.model.uid, event.params.data.documentId, p.tokens, p.newKey);
    },

    async afterFindOne(event: any) {
      const row = event.result;
      const uid = event.model.uid;
      if (row?.id === undefined || typeof row.documentId !== 'string' || !encrypted(uid).length) return;
      requestState(strapi)?.memo.set(`document-id:${uid}:${row.id}`, row.documentId);
      // The first read of the document an update names, inside that update: the row before it (Strapi's own).
      const write = documentWrite();
      if (write && write.stored === undefined && write.action === 'update' && write.uid === uid && write.params.documentId === row.documentId) {
        write.stored = row;
        await write.onStored?.(row);
      }
    },

    async beforeCreateMany(event: any) {
      const uid = event.model.uid;
      if (!encrypted(uid).length) return;
      event.state.idvItems = [];
      for (const data of event.params.data) {
        data.documentId ??= newDocumentId();
        event.state.idvItems.push({ documentId: data.documentId, ...(await protect(uid, data, data.documentId)) });
      }
    },
    async afterCreateMany(event: any) {
      for (const item of event.state.idvItems ?? []) await vault().writeIndex(event.model.uid, item.documentId, item.tokens, item.newKey);
    },

    async beforeUpdate(event: any) {
      const uid = event.model.uid;
      const data = event.params.data;
      if (!touches(uid, data)) {
        if (uid === UIDS.customer) await checkRecord(uid, data, {}, event.params.where);
        return;
      }
      const documentId =
        knownDocumentId(uid, event.params.where) ??
        (await asSystem(() => strapi.db.query(uid).findOne({ where: event.params.where, select: ['documentId'] })))?.documentId;
      if (!documentId) return;
      event.state.idvDocumentId = documentId;
      event.state.idvTokens = (await protect(uid, data, documentId, event.params.where)).tokens;
    },
    async afterUpdate(event: any) {
      if (event.state.idvTokens) await vault().writeIndex(event.model.uid, event.state.idvDocumentId, event.state.idvTokens);
    },

    beforeUpdateMany(event: any) {
      const uid = event.model.uid;
      // One value cannot be encrypted for many records at once (each has its own key and AAD): fail closed.
      if (touches(uid, event.params.data)) {
        throw new Error(`id-vault: updateMany cannot write encrypted fields of ${uid}; update each document instead`);
      }
    },

    async beforeDelete(event: any) {
      const uid = event.model.uid;
      if (!encrypted(uid).length) return;
      const row = await asSystem(() => strapi.db.query(uid).findOne({ where: event.params.where, select: ['documentId'] }));
      event.state.idvDocIds = row ? [row.documentId] : [];
    },
    async afterDelete(event: any) {
      if (event.state.idvDocIds) await dropIfGone(event.model.uid, event.state.idvDocIds);
    },
    async beforeDeleteMany(event: any) {
      const uid = event.model.uid;
      if (!encrypted(uid).length) return;
      const rows = await asSystem(() => strapi.db.query(uid).findMany({ where: event.params.where, select: ['documentId'] }));
      event.state.idvDocIds = [...new Set(rows.map((r: any) => r.documentId as string))];
    },
    async afterDeleteMany(event: any) {
      if (event.state.idvDocIds) await dropIfGone(event.model.uid, event.state.idvDocIds);
    },
  };
};
