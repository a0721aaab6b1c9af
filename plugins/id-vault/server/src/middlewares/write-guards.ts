import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { and, isPlainObject, looksMasked, mask } from '../domain';
import { IdVaultValidationError } from '../errors';
import { getService, UIDS } from '../utils/strapi';
import { asSystem } from '../utils/caller';
import { invalidKey } from '../lifecycles/row-guard';
import { isProtected } from '../services/access';
import { ERASED_NAME } from '../services/erasure';
import { scanError as httpError } from '../scans/errors';
import type { DocumentContext, DocumentMiddleware } from './index';

/**
 * Writes, before they reach the database: the row a write names must be one the caller may change (404
 * when it cannot even read it, 403 when it can read but not change it — both audited); a hidden field
 * cannot be written (the unknown-field answer); an encrypted field takes a string or null, and a wrong type
 * is refused without echoing the value; a masked value sent back unchanged does not overwrite the real
 * one; hiding needs its permission; clone hands the source's plaintext over to be encrypted afresh.
 * Relation payloads and the written row's place in the scope are the query layer's (lifecycles/row-guard.ts).
 */
const WRITES = new Set(['create', 'update', 'delete', 'clone', 'publish', 'unpublish', 'discardDraft']);

export const writeGuards = (strapi: Core.Strapi): DocumentMiddleware => {
  const fields = () => getService(strapi, 'fields');
  const audit = () => getService(strapi, 'audit');
  const accessService = () => getService(strapi, 'access');
  const subjectName = (uid: string) => (strapi.getModel(uid as any) as any)?.info?.singularName ?? uid;

  /**
   * Whether a write needs its row, decrypted, before it starts: a clone copies it; an update only when it
   * sends `hidden` (did it change?) or a masked-looking value of a field masked for the caller (sent back
   * unchanged?). Any other update uses the row Strapi reads inside its transaction (`stored`): one read.
   */
  const needsBefore = ({ uid, action, params, access }: DocumentContext): boolean => {
    if (!params.documentId || !fields().of(uid).length) return false;
    if (action === 'clone') return true;
    if (action !== 'update' || !isPlainObject(params.data)) return false;
    const data = params.data;
    return (
      (uid === UIDS.customer && typeof data.hidden === 'boolean') ||
      fields()
        .of(uid)
        .some((a) => typeof data[a.name] === 'string' && looksMasked(data[a.name]) && access.visibility(uid, a.name) === 'masked')
    );
  };

  /** The stored row before a write, decrypted (see needsBefore). */
  const readBefore = async (ctx: DocumentContext) => {
    if (ctx.before === undefined && needsBefore(ctx)) {
      ctx.before = await getService(strapi, 'vault').currentOf(ctx.uid, ctx.params.documentId);
    }
  };

  /** An update's existence is Strapi's read inside the write (none: 404 from audit-writes), not one of ours. */
  const existenceInside = ({ uid, action }: DocumentContext) => action === 'update' && fields().of(uid).length > 0;

  /**
   * Erased stays erased: a husk takes no new values (the next start's ledger replay would wipe them again,
   * silently). Only a husk is named so, so only then is the tombstone looked up — and whenever the row's
   * name is not known (`row` lacks it: a read narrowed by `fields`, or none seen).
   */
  const refuseHusk = (documentId: string) => async (row?: Record<string, any>) => {
    if (row && 'name' in row && row.name !== ERASED_NAME) return;
    const tombstone = await asSystem(() => strapi.db.query(UIDS.erasure as any).findOne({ where: { customerDocumentId: documentId }, select: ['id'] }));
    if (tombstone) throw httpError(409, 'Erased', 'this customer was erased for good and takes no new values');
  };

  const checkRow = async (ctx: DocumentContext) => {
    const { uid, action, params, access } = ctx;
    const deny = async (message: string) => {
      await audit().record({ action: `${subjectName(uid)}.${action}`, outcome: 'denied', subjectUid: uid, subjectId: params.documentId ?? null });
      throw new errors.PolicyError(message);
    };
    if (params.documentId && action !== 'create') {
      const service = accessService();
      const [read, write] = [await service.rowFilter(uid, access, 'read'), await service.rowFilter(uid, access, 'write')];
      // Nothing limits the caller: whether the row exists is all there is to check, by the row read for
      // `before` where one is needed, else inside an update.
      const unlimited = !read && !write;
      if (unlimited) await readBefore(ctx);
      if (unlimited && (ctx.before !== undefined || existenceInside(ctx))) {
        if (ctx.before === null) throw new errors.NotFoundError('Not Found');
      } else {
        const readable = and({ documentId: params.documentId }, read);
        await asSystem(async () => {
          if (!(await strapi.db.query(uid as any).count({ where: readable }))) throw new errors.NotFoundError('Not Found');
          if (write && !(await strapi.db.query(uid as any).count({ where: and(readable, write) }))) {
            await deny('this customer is outside the rows you may change');
          }
        });
      }
    }
    const { caller } = access;
    if (uid === UIDS.customer && caller.kind === 'user' && access.write === 'own' && isPlainObject(params.data)) {
      if (action === 'create') params.data.apiOwner = caller.id;
      else if (action === 'update' && params.data.apiOwner !== undefined) await deny('a customer you own cannot be handed over');
    }
  };

  return async (ctx, next) => {
    const { uid, action, params, access } = ctx;
    if (!WRITES.has(action)) return next();
    const encrypted = fields().of(uid);
    // Rows the caller may not touch are refused before anything of them is read and decrypted.
    if (isProtected(uid)) await checkRow(ctx);
    await readBefore(ctx);
    const before = ctx.before;
    if (uid === UIDS.customer && params.documentId) {
      if (action === 'clone' && before) await refuseHusk(params.documentId)(before);
      // An update's row is checked when Strapi reads it, inside the write's transaction.
      if (action === 'update') ctx.onStored = refuseHusk(params.documentId);
    }
    if (isPlainObject(params.data)) {
      for (const attr of encrypted) {
        const sent = params.data[attr.name];
        if (sent === undefined) continue;
        const visibility = access.visibility(uid, attr.name);
        // A field the caller cannot see does not exist for it: the answer an unknown field gets.
        if (visibility === 'hidden') throw invalidKey(attr.name);
        if (sent !== null && typeof sent !== 'string') throw new IdVaultValidationError(attr.name, 'must be a string');
        // A form that shows a masked value and sends it back unchanged must not overwrite the real value.
        const stored = before?.[attr.name];
        if (action === 'update' && visibility === 'masked' && typeof sent === 'string' && looksMasked(sent) && typeof stored === 'string' && mask(stored, attr.options.mask) === sent) {
          delete params.data[attr.name];
        }
      }
    }
    if (uid === UIDS.customer && (action === 'create' || action === 'update') && isPlainObject(params.data) && typeof params.data.creditCode === 'string' && params.data.creditCode) {
      // The credit code is unique across all customers, seen or not (README: it confirms a registered company
      // exists). Strapi's own unique check runs as the caller, i.e. within the caller's rows.
      const clash = await asSystem(() =>
        strapi.db.query(uid as any).count({ where: { creditCode: params.data.creditCode, ...(params.documentId ? { documentId: { $ne: params.documentId } } : {}) } })
      );
      if (clash) throw new errors.ValidationError('This attribute must be unique', { errors: [{ path: ['creditCode'], message: 'This attribute must be unique', name: 'ValidationError' }] });
    }
    const hiding = uid === UIDS.customer && isPlainObject(params.data) && typeof params.data.hidden === 'boolean' && params.data.hidden !== Boolean(before?.hidden ?? false);
    if (hiding && !access.can('customer.hide')) {
      await audit().record({ action: params.data.hidden ? 'customer.hide' : 'customer.unhide', outcome: 'denied', subjectUid: uid, subjectId: params.documentId ?? null });
      throw new errors.PolicyError('hiding or unhiding a customer needs the "Hide and unhide customers" permission');
    }
    if (before && action === 'clone') {
      // The copy gets its own document id and data key: hand over plaintext to encrypt afresh.
      params.data = { ...Object.fromEntries(encrypted.map((a) => [a.name, before[a.name]])), ...(params.data ?? {}) };
    }
    const result = await next();
    if (hiding) {
      const documentId = result?.documentId ?? params.documentId ?? null;
      await audit().record({ action: params.data.hidden ? 'customer.hide' : 'customer.unhide', outcome: 'success', subjectUid: uid, subjectId: documentId });
    }
    return result;
  };
};
