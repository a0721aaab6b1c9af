import type { IntlShape, MessageDescriptor } from 'react-intl';
import { t } from './utils';

/**
 * Identity documents and their scans as the admin routes answer them. The lists mirror the server's
 * domain (server/src/domain/documents.ts), which the admin bundle cannot import (it pulls in zod and
 * server-only code).
 */
export const DOCUMENT_TYPES = [
  'id-front',
  'id-back',
  'passport',
  'business-licence',
  'legal-rep-id-front',
  'legal-rep-id-back',
  'other',
] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];
export const CUSTOMER_KINDS = ['personal', 'enterprise'] as const;
export type CustomerKind = (typeof CUSTOMER_KINDS)[number];

export const TYPE_LABELS: Record<DocumentType, MessageDescriptor> = {
  'id-front': t('documents.type.id-front', 'ID card, front'),
  'id-back': t('documents.type.id-back', 'ID card, back'),
  passport: t('documents.type.passport', 'Passport'),
  'business-licence': t('documents.type.business-licence', 'Business licence'),
  'legal-rep-id-front': t('documents.type.legal-rep-id-front', 'Legal representative’s ID card, front'),
  'legal-rep-id-back': t('documents.type.legal-rep-id-back', 'Legal representative’s ID card, back'),
  other: t('documents.type.other', 'Other'),
};

export const KIND_LABELS: Record<CustomerKind, MessageDescriptor> = {
  personal: t('documents.kind.personal', 'Personal'),
  enterprise: t('documents.kind.enterprise', 'Enterprise'),
};

/** A document type's label; a type this bundle does not know yet (added on the server first) as it is. */
export const typeLabel = (formatMessage: IntlShape['formatMessage'], type: string) =>
  type in TYPE_LABELS ? formatMessage(TYPE_LABELS[type as DocumentType]) : type;

export type ScanKind = 'jpeg' | 'png' | 'webp' | 'pdf' | 'docx' | 'doc';

export interface ScanMeta {
  id: string;
  /** The identity document's documentId. */
  document: string;
  kind: ScanKind;
  mime: string;
  size: number;
  width: number | null;
  height: number | null;
  /** False for legacy Word (DOC) files, whose metadata the server cannot strip. */
  cleaned: boolean;
  uploadedAt: string;
}

/** Images have a thumbnail and an image preview; PDFs a PDF preview; Word files neither. */
export const isImage = (kind: ScanKind) => kind === 'jpeg' || kind === 'png' || kind === 'webp';
export const hasPreview = (kind: ScanKind) => kind !== 'doc' && kind !== 'docx';

/** GET /id-vault/customers/:documentId/documents */
export interface CustomerDocuments {
  customer: { documentId: string; kind: CustomerKind };
  documentsComplete: boolean;
  missingDocuments: string[];
  required: string[][];
  /** Bytes. */
  quota: { used: number; limit: number };
  documents: Array<{
    documentId: string;
    type: string;
    issuedAt: string | null;
    expiresAt: string | null;
    scanCount: number;
    /** Only for admins with scan.view. */
    scans?: ScanMeta[];
  }>;
}

/** GET /id-vault/documents/attention?days=N */
export interface Attention {
  days: number;
  expiring: Array<{ documentId: string; type: string; expiresAt: string; customer: { documentId: string; name: string } | null }>;
  incomplete: Array<{ documentId: string; name: string; kind: CustomerKind; missingDocuments: string[] }>;
  expiringCount: number;
  incompleteCount: number;
}

/** GET / PUT /id-vault/required-documents: per kind, alternatives that each suffice. */
export type RequiredDocuments = Record<CustomerKind, DocumentType[][]>;

/** A Content Manager edit view (a path inside the admin router). */
export const editViewPath = (uid: string, documentId: string) => `/content-manager/collection-types/${uid}/${documentId}`;

/** Date-only values (YYYY-MM-DD) are midnight UTC: formatted in UTC so no time zone shifts the day. */
export const DATE_ONLY = { dateStyle: 'medium', timeZone: 'UTC' } as const;

const MB = 1024 * 1024;

/** Bytes as kB or MB (with one decimal), in the user's locale. */
export const formatBytes = (formatNumber: IntlShape['formatNumber'], bytes: number) =>
  bytes >= MB
    ? formatNumber(bytes / MB, { style: 'unit', unit: 'megabyte', maximumFractionDigits: 1 })
    : formatNumber(Math.ceil(bytes / 1024), { style: 'unit', unit: 'kilobyte' });
