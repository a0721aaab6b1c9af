import { z } from 'zod';
import { MASK_CHAR } from './masking';

/** The kinds of identity document (identity-document.type) and of customer (customer.kind). */
export const DOCUMENT_TYPES = ['id-front', 'id-back', 'passport', 'business-licence', 'legal-rep-id-front', 'legal-rep-id-back', 'other'] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];
export const CUSTOMER_KINDS = ['personal', 'enterprise'] as const;
export type CustomerKind = (typeof CUSTOMER_KINDS)[number];

/**
 * Required documents per customer kind (Settings → ID Vault → Required documents): a list of
 * alternatives, each a set of document types that together suffice. An empty list requires nothing.
 */
const alternative = z.array(z.enum(DOCUMENT_TYPES)).min(1, 'an alternative names at least one document type').max(DOCUMENT_TYPES.length);
export const requiredDocumentsSchema = z
  .object({ personal: z.array(alternative).max(10), enterprise: z.array(alternative).max(10) })
  .strict();
export type RequiredDocuments = z.infer<typeof requiredDocumentsSchema>;

/** The guides': a person needs ID card front and back, or a passport; a company its business licence and its legal representative's ID, both sides. */
export const DEFAULT_REQUIRED_DOCUMENTS: RequiredDocuments = {
  personal: [['id-front', 'id-back'], ['passport']],
  enterprise: [['business-licence', 'legal-rep-id-front', 'legal-rep-id-back']],
};

export interface Completeness {
  complete: boolean;
  /** What is missing from the alternative closest to complete: most of it present, the first on a tie. */
  missing: DocumentType[];
}

/**
 * Whether a customer of `kind` has what the rules require, given the types of its documents that have at
 * least one scan (a document counts as present only with a scan). With nothing present, the first
 * alternative is what is missing (the guides list the ID card before the passport).
 */
export const completeness = (kind: string, rules: RequiredDocuments, present: ReadonlySet<string>): Completeness => {
  const alternatives = (rules[kind as CustomerKind] ?? []).map((alt) => [...new Set(alt)]);
  if (!alternatives.length) return { complete: true, missing: [] };
  let best = { missing: alternatives[0].filter((t) => !present.has(t)), have: -1 };
  for (const alt of alternatives) {
    const missing = alt.filter((t) => !present.has(t));
    const have = alt.length - missing.length;
    if (!missing.length) return { complete: true, missing: [] };
    if (have > best.have) best = { missing, have };
  }
  return { complete: false, missing: best.missing };
};

const KIND_LABEL: Record<string, string> = { personal: '个人', enterprise: '企业' };
const TYPE_LABEL: Record<string, string> = {
  'id-front': '身份证正面',
  'id-back': '身份证反面',
  passport: '护照',
  'business-licence': '营业执照',
  'legal-rep-id-front': '法人身份证正面',
  'legal-rep-id-back': '法人身份证反面',
  other: '其他',
};

/**
 * Characters no file name should carry (path separators, controls, quotes, what Windows refuses) — but
 * the mask star, which the guides' own example uses (browsers on Windows replace it on saving).
 */
const UNSAFE = /[\u0000-\u001f\u007f"/:<>?\\|]/gu;

/**
 * The guides' file name for a downloaded scan: "customer kind–customer short name–content–date", e.g.
 * `个人-张*-身份证正面-20261123.jpg`. The name is always masked to its first character and one star: a file
 * name travels (download folders, mail attachments) further than the panel.
 */
export const downloadName = (p: { kind: string; name: string | null; type: string; date: Date; ext: string; timeZone?: string }): string => {
  const first = Array.from((p.name ?? '').replace(UNSAFE, '').trim())[0];
  const name = first ? `${first}${MASK_CHAR}` : MASK_CHAR;
  // en-CA formats as YYYY-MM-DD.
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: p.timeZone ?? 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(p.date).replace(/-/g, '');
  return `${KIND_LABEL[p.kind] ?? p.kind}-${name}-${TYPE_LABEL[p.type] ?? p.type}-${day}.${p.ext}`.replace(UNSAFE, '_');
};

/** A Content-Disposition value that carries a UTF-8 file name (RFC 6266 / 5987) with an ASCII fallback. */
export const contentDisposition = (type: 'inline' | 'attachment', fileName: string): string => {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/[%;]/g, '_');
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
};
