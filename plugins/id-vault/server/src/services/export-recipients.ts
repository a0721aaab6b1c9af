import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { z } from 'zod';
import { parseRecipientCertificate, RecipientCertificateError, type RecipientCertificate } from '../crypto/cms';
import { asSystem } from '../utils/caller';
import { getService, newDocumentId, UIDS } from '../utils/strapi';

/** One recipient as the admin panel lists it (the certificate itself stays on the server). */
export interface ExportRecipientView {
  documentId: string;
  name: string;
  subject: string;
  fingerprint: string;
  notBefore: string;
  notAfter: string;
  keyBits: number;
  /** Expired now, or not valid yet: kept for the record, but no export is encrypted to it. */
  valid: boolean;
}

/** A recipient an export may be encrypted to now. */
export type ExportRecipient = RecipientCertificate & { documentId: string; name: string };

/** Why an export's `recipient` is refused (recorded as the denied export's reason). */
export type RecipientRefusal = 'unknown-recipient' | 'recipient-not-valid';

export class RecipientRefusedError extends Error {
  constructor(readonly reason: RecipientRefusal) {
    super(reason === 'unknown-recipient' ? 'unknown export recipient' : 'the export recipient\'s certificate is not valid now (expired or not yet valid)');
  }
}

const uploadSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    // A certificate is a few KiB; a chain or anything larger is refused by the parser anyway.
    certificate: z.string().min(1).max(64 * 1024),
  })
  .strict();

const ACTION = { create: 'export-recipient.create', delete: 'export-recipient.delete' } as const;

/**
 * Export recipients (Settings → ID Vault → Export recipients): integrators' certificates that exports are
 * encrypted to. Certificates are checked at upload and again at each export (they expire).
 */
const exportRecipientsService = ({ strapi }: { strapi: Core.Strapi }) => {
  const rows = () => strapi.db.query(UIDS.exportRecipient as any);
  const audit = () => getService(strapi, 'audit');
  const iso = (v: unknown) => new Date(v as string).toISOString();

  const view = (row: any, now = Date.now()): ExportRecipientView => ({
    documentId: row.documentId,
    name: row.name,
    subject: row.subject,
    fingerprint: row.fingerprint,
    notBefore: iso(row.notBefore),
    notAfter: iso(row.notAfter),
    keyBits: row.keyBits,
    valid: new Date(row.notBefore).getTime() <= now && now <= new Date(row.notAfter).getTime(),
  });

  return {
    async list(): Promise<ExportRecipientView[]> {
      const found = await asSystem(() => rows().findMany({ orderBy: [{ name: 'asc' }, { id: 'asc' }] }));
      return found.map((r: any) => view(r));
    },

    /** Checks the certificate (refusals are 400s naming the reason) and keeps it; audited with its fingerprint. */
    async add(input: unknown): Promise<ExportRecipientView> {
      const parsed = uploadSchema.safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
        throw new errors.ValidationError('an export recipient needs a name and a PEM certificate', { errors: issues });
      }
      let cert: RecipientCertificate;
      try {
        cert = parseRecipientCertificate(parsed.data.certificate, new Date());
      } catch (e) {
        if (!(e instanceof RecipientCertificateError)) throw e;
        await audit().record({ action: ACTION.create, outcome: 'rejected', subjectUid: UIDS.exportRecipient, details: { reason: e.reason } });
        throw new errors.ValidationError(`certificate refused: ${e.message}`, { errors: [{ path: ['certificate'], message: e.message, reason: e.reason }] });
      }
      const fingerprint = cert.fingerprintSha256;
      const duplicate = () => new errors.ValidationError('this certificate is already an export recipient', { errors: [{ path: ['certificate'], message: 'duplicate fingerprint', reason: 'duplicate' }] });
      if (await asSystem(() => rows().findOne({ where: { fingerprint } }))) {
        await audit().record({ action: ACTION.create, outcome: 'rejected', subjectUid: UIDS.exportRecipient, details: { reason: 'duplicate', fingerprint } });
        throw duplicate();
      }
      const documentId = newDocumentId();
      // The row and its event commit together; of two uploads of one certificate at once, the unique index
      // on the fingerprint refuses the second, which gets the same 400 as above.
      const row = await strapi.db.transaction(async () => {
        const created = await asSystem(() =>
          rows().create({
            data: { documentId, name: parsed.data.name, certificate: cert.pem, subject: cert.subject, fingerprint, notBefore: cert.notBefore, notAfter: cert.notAfter, keyBits: cert.keyBits },
          })
        );
        await audit().record({ action: ACTION.create, outcome: 'success', subjectUid: UIDS.exportRecipient, subjectId: documentId, fields: ['name', 'certificate'], details: { fingerprint, keyBits: cert.keyBits, notAfter: cert.notAfter.toISOString() } });
        return created;
      }).catch((e: any) => {
        if (e?.code === '23505' || /UNIQUE constraint failed/.test(String(e?.message))) throw duplicate();
        throw e;
      });
      return view(row);
    },

    async remove(documentId: string): Promise<void> {
      const row = typeof documentId === 'string' ? await asSystem(() => rows().findOne({ where: { documentId } })) : null;
      if (!row) throw new errors.NotFoundError('export recipient not found');
      await strapi.db.transaction(async () => {
        await asSystem(() => rows().delete({ where: { id: row.id } }));
        await audit().record({ action: ACTION.delete, outcome: 'success', subjectUid: UIDS.exportRecipient, subjectId: documentId, details: { fingerprint: row.fingerprint } });
      });
    },

    /** The recipient an export names, checked again now; throws RecipientRefusedError. */
    async forExport(documentId: string, now: Date): Promise<ExportRecipient> {
      const row = /^[a-z0-9]{1,64}$/.test(documentId) ? await asSystem(() => rows().findOne({ where: { documentId } })) : null;
      if (!row) throw new RecipientRefusedError('unknown-recipient');
      try {
        return { ...parseRecipientCertificate(row.certificate, now), documentId, name: row.name };
      } catch (e) {
        if (e instanceof RecipientCertificateError) throw new RecipientRefusedError('recipient-not-valid');
        throw e;
      }
    },
  };
};

export type ExportRecipientsService = ReturnType<typeof exportRecipientsService>;
export default exportRecipientsService;
