import type { Core } from '@strapi/strapi';
import { randomInt } from 'node:crypto';
import { customerViolations } from '../domain/customer';
import { IdVaultValidationError } from '../errors';
import { getService, UIDS } from '../utils/strapi';
import { asSystem } from '../utils/caller';
import type { FieldTokens } from '../services/vault';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Same shape as Strapi's own document ids (24 lower-case letters and digits, starting with a letter). */
const newDocumentId = () =>
  ALPHABET[randomInt(26)] + Array.from({ length: 23 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

/**
 * The storage boundary as database lifecycles: whatever path writes a row (REST, Content Manager,
 * document service, strapi.db.query, publish, clone), encrypted attributes reach the database as
 * ciphertext only, with their blind indexes beside them. Runs after Strapi's validation, inside the
 * write's transaction.
 */
export const storageBoundary = (strapi: Core.Strapi) => {
  const vault = () => getService(strapi, 'vault');
  const encrypted = (uid: string) => getService(strapi, 'fields').of(uid);
  const touches = (uid: string, data: any) => !!data && encrypted(uid).some((a) => data[a.name] !== undefined);

  const checkRecord = async (uid: string, data: any, plain: Record<string, string | null>, where?: any) => {
    if (uid !== UIDS.customer) return;
    const written = new Set(Object.keys(data));
    let current: any = {};
    if (where && written.has('idNumber') && !written.has('idType')) {
      current = (await asSystem(() => strapi.db.query(uid).findOne({ where, select: ['idType'] }))) ?? {};
    }
    const next = { idType: data.idType ?? current.idType, idNumber: plain.idNumber, creditCode: data.creditCode };
    const [violation] = customerViolations(next, written);
    if (violation) throw new IdVaultValidationError(violation.field, violation.message);
  };

  const protect = async (uid: string, data: any, documentId: string, where?: any): Promise<FieldTokens> => {
    const { tokens, plain } = await vault().protect(uid, data, documentId);
    await checkRecord(uid, data, plain, where);
    return tokens;
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
      event.state.idvTokens = await protect(uid, data, data.documentId);
    },
    async afterCreate(event: any) {
      if (event.state.idvTokens) await vault().writeIndex(event.model.uid, event.params.data.documentId, event.state.idvTokens);
    },

    async beforeCreateMany(event: any) {
      const uid = event.model.uid;
      if (!encrypted(uid).length) return;
      event.state.idvItems = [];
      for (const data of event.params.data) {
        data.documentId ??= newDocumentId();
        event.state.idvItems.push({ documentId: data.documentId, tokens: await protect(uid, data, data.documentId) });
      }
    },
    async afterCreateMany(event: any) {
      for (const item of event.state.idvItems ?? []) await vault().writeIndex(event.model.uid, item.documentId, item.tokens);
    },

    async beforeUpdate(event: any) {
      const uid = event.model.uid;
      const data = event.params.data;
      if (!touches(uid, data)) {
        if (uid === UIDS.customer) await checkRecord(uid, data, {}, event.params.where);
        return;
      }
      const row = await asSystem(() => strapi.db.query(uid).findOne({ where: event.params.where, select: ['documentId'] }));
      if (!row) return;
      event.state.idvDocumentId = row.documentId;
      event.state.idvTokens = await protect(uid, data, row.documentId, event.params.where);
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
