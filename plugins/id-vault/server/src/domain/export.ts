import { mask, type MaskRule } from './masking';
import { filterPaths, sortPaths } from './query-shapes';
import type { ExportRight, FieldVisibility } from './access';

/** The masked export of customers: formats, columns, how the export right applies, file name, refusals. Pure. */

export const EXPORT_ACTION = 'customer.export';
export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** How an export writes the encrypted fields: all masked, or plain where the caller sees plain. */
export type ExportMode = Exclude<ExportRight, 'none'>;

export const CONTENT_TYPES: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson; charset=utf-8' };

/** Columns before the encrypted fields, and after them (`team` is the org unit's name). */
export const LEADING_COLUMNS = ['documentId', 'kind', 'name'] as const;
export const TRAILING_COLUMNS = ['idType', 'idExpiresAt', 'creditCode', 'legalRepresentative', 'industry', 'team', 'documentsComplete', 'createdAt', 'updatedAt'] as const;
/** Shown to whoever may read a customer at all: Strapi's own bookkeeping, not attributes a role's field list names. */
export const ALWAYS_READABLE = new Set(['documentId', 'createdAt', 'updatedAt']);

export interface ExportColumn {
  key: string;
  /** For an encrypted field: how it is exported. */
  encrypted?: 'plain' | 'masked';
  /** An encrypted field the caller sees plain but may export masked only: masked on the way out. */
  remask?: MaskRule;
}

/** `?format=`: csv unless asked otherwise; null for anything else. */
export const parseFormat = (raw: unknown): ExportFormat | null => {
  if (raw === undefined || raw === '') return 'csv';
  return EXPORT_FORMATS.find((f) => f === raw) ?? null;
};

/**
 * The export mode a caller has: their export right; without one, an approved export grant lets its holder
 * export the customers it covers, masked (a grant widens rows, never fields). Null: no export at all.
 */
export const exportMode = (right: ExportRight, coveredByGrant: boolean): ExportMode | null =>
  right !== 'none' ? right : coveredByGrant ? 'masked' : null;

/**
 * One encrypted field in an export, from what the caller sees in lists: hidden stays absent (null); masked
 * stays masked; plain stays plain only with the plain export right, else it is masked by the field's rule.
 */
export const encryptedOutput = (mode: ExportMode, visibility: FieldVisibility): 'plain' | 'masked' | null =>
  visibility === 'hidden' ? null : mode === 'plain' ? visibility : 'masked';

/**
 * The columns an export may have, in order: documentId, kind, name, the encrypted fields that are not
 * hidden (those seen plain and exported masked marked `remask`), then the plain attributes. Which of them
 * the caller may read at all (RBAC field permissions) is decided by whoever calls.
 */
export const exportColumns = (mode: ExportMode, encrypted: Array<{ name: string; mask: MaskRule; visibility: FieldVisibility }>): ExportColumn[] => [
  ...LEADING_COLUMNS.map((key) => ({ key })),
  ...encrypted.flatMap((f): ExportColumn[] => {
    const output = encryptedOutput(mode, f.visibility);
    if (!output) return [];
    return [output === 'masked' && f.visibility === 'plain' ? { key: f.name, encrypted: output, remask: f.mask } : { key: f.name, encrypted: output }];
  }),
  ...TRAILING_COLUMNS.map((key) => ({ key })),
];

export type ExportValue = string | number | boolean | null;

const scalar = (v: unknown): ExportValue => {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return null; // no column holds an object; never serialise one by accident
};

/** One customer (as the document service returned it to the caller) as a row of `columns`. */
export const exportRecord = (entry: Record<string, any>, columns: ExportColumn[]): Record<string, ExportValue> =>
  Object.fromEntries(
    columns.map(({ key, remask }) => {
      const value = scalar(key === 'team' ? entry.team?.name : entry[key]);
      return [key, remask && typeof value === 'string' ? mask(value, remask) : value];
    })
  );

/**
 * The caller's sort plus `id` last: paging by offset needs a total order, or rows with equal sort values
 * could repeat or go missing between pages.
 */
export const withTiebreaker = (sort: unknown): Array<string | Record<string, unknown>> => {
  const list: Array<string | Record<string, unknown>> = [];
  const add = (s: unknown) => {
    if (Array.isArray(s)) s.forEach(add);
    else if (typeof s === 'string') list.push(...s.split(',').map((p) => p.trim()).filter(Boolean));
    else if (s && typeof s === 'object') list.push(s as Record<string, unknown>);
  };
  add(sort);
  return sortPaths(list).some((p) => p.length === 1 && p[0] === 'id') ? list : [...list, 'id:asc'];
};

/** `customers-YYYYMMDD-HHmm.<format>`, the minute in `timeZone`. */
export const exportFileName = (at: Date, timeZone: string, format: ExportFormat, base = 'customers'): string => {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${base}-${p.year}${p.month}${p.day}-${p.hour}${p.minute}.${format}`;
};

/** What an export's audit event says of the query: field names and whether the search box was used, never values. */
export const queryFacts = (query: { filters?: unknown; sort?: unknown; _q?: unknown }) => ({
  filters: [...new Set(filterPaths(query.filters).map((p) => p.join('.')))],
  sort: [...new Set(sortPaths(query.sort).map((p) => p.join('.')))],
  search: typeof query._q === 'string' && query._q.trim() !== '',
});

/** The refusals, in words (403s): what is missing or which cap was reached. */
export const REFUSALS = {
  format: 'format must be csv or jsonl',
  noRight: 'exporting customers needs an export right (masked or plain) or an approved export grant; you have none',
  perDay: (cap: number) => `export cap reached: at most ${cap} exports in 24 hours per user or token (ID_VAULT_EXPORTS_PER_DAY)`,
  plainUnencrypted:
    'a plain export is only sent encrypted to an export recipient: add ?recipient=<id> (Settings → ID Vault → Export recipients), or export masked (ID_VAULT_EXPORT_PLAIN_ENCRYPTED_ONLY)',
  rows: (cap: number, count: number) =>
    `export cap exceeded: ${count} customers match, at most ${cap} rows may be exported at once (ID_VAULT_EXPORT_MAX_ROWS); narrow the filters`,
};
