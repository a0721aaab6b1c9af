import { validateValue, type ValidatorName } from './validators';
import { customerViolations } from './customer';

/**
 * Bulk import (`npm run import`), the pure part: which column is which attribute, and each row checked with
 * the rules the REST API applies (validators.ts for encrypted fields, customer.ts for the rules across
 * fields, the schema's types, enumerations, lengths and required attributes). Problems name the line and
 * the field, never the value — not even a column header the file's author typed, which might be a value of
 * a file without a header row: unknown columns are named by position.
 */

/** One attribute of the target type as the importer sees it. */
export interface ImportColumnSpec {
  name: string;
  /** Readable English label (FIELD_LABELS), accepted as a header too. */
  label?: string;
  type: 'string' | 'text' | 'email' | 'encrypted' | 'enumeration' | 'date' | 'datetime' | 'boolean' | 'integer' | 'number' | 'relation-one' | 'relation-many';
  required?: boolean;
  /** Filled when the cell is empty (Strapi's schema default). */
  default?: unknown;
  /** enumeration: stored values, and display names (any case) → stored value. */
  enum?: readonly string[];
  enumNames?: Record<string, string>;
  /** encrypted: the field's validator. */
  validate?: ValidatorName;
  maxLength?: number;
  minLength?: number;
  /** Unique across customers: a second row with the same value in the file is refused. */
  unique?: boolean;
}

export interface ImportProblem {
  /** Line of the file (CSV) or row number (XLSX); 1 is the header. 0: the file as a whole. */
  line: number;
  /** Attribute name, or `column N (X)` for an unknown column. */
  field: string;
  message: string;
}

export interface CheckedRow {
  line: number;
  /** Attributes to write (canonical forms); relations are left as references in `refs`. */
  data: Record<string, unknown>;
  /** Relation references as written in the file: a name or documentId (one), names (many). */
  refs: Record<string, string | string[]>;
  problems: ImportProblem[];
}

/** Spreadsheet letters of a 0-based column index: 0 → A, 26 → AA. */
export const columnLetters = (index: number): string => {
  let n = index + 1;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
};

/** How headers, display names and reference names are compared: trimmed, any case, runs of spaces as one. */
export const foldName = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');
const fold = foldName;

/**
 * Maps the header row to attributes, by attribute name or English label (any case). Unknown, empty or
 * repeated headers are file-level problems named by position; so is a required attribute without a column
 * (unless it has a default).
 */
export const mapColumns = (headers: readonly string[], specs: readonly ImportColumnSpec[]): { columns: Array<ImportColumnSpec | null>; problems: ImportProblem[] } => {
  const byName = new Map<string, ImportColumnSpec>();
  for (const s of specs) {
    byName.set(fold(s.name), s);
    if (s.label) byName.set(fold(s.label), s);
  }
  const problems: ImportProblem[] = [];
  const seen = new Set<string>();
  const columns = headers.map((h, i) => {
    const where = `column ${i + 1} (${columnLetters(i)})`;
    const text = typeof h === 'string' ? fold(h) : '';
    if (!text) return null; // an empty header over an empty column: ignored (checked per row below)
    const spec = byName.get(text);
    if (!spec) {
      problems.push({ line: 1, field: where, message: 'is not an attribute of the customer that an import can write (see README, "Bulk import")' });
      return null;
    }
    if (seen.has(spec.name)) {
      problems.push({ line: 1, field: where, message: `is a second column for ${spec.name}` });
      return null;
    }
    seen.add(spec.name);
    return spec;
  });
  for (const s of specs) {
    if (s.required && s.default === undefined && !seen.has(s.name)) problems.push({ line: 1, field: s.name, message: 'is required and has no column' });
  }
  return { columns, problems };
};

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const realDate = (s: string): boolean => {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
};
const TRUE = new Set(['true', 'yes', 'y', '1', '是']);
const FALSE = new Set(['false', 'no', 'n', '0', '否']);
/** Separators between the names of a many-relation cell (tags): `;` and the full-width `；`. */
const LIST = /[;；]/;

type Parsed = { ok: true; value: unknown } | { ok: false; message: string };
const bad = (message: string): Parsed => ({ ok: false, message });

/** One cell (already trimmed, not empty) as the attribute's stored form. Messages never hold the value. */
export const parseCell = (spec: ImportColumnSpec, raw: string): Parsed => {
  switch (spec.type) {
    case 'encrypted': {
      const checked = validateValue(spec.validate ?? 'none', raw);
      return checked.ok ? { ok: true, value: checked.value } : bad(checked.message);
    }
    case 'string':
    case 'text':
    case 'email': {
      const length = Array.from(raw).length;
      const max = spec.maxLength ?? (spec.type === 'text' ? undefined : 255);
      if (max !== undefined && length > max) return bad(`is longer than ${max} characters`);
      if (spec.minLength !== undefined && length < spec.minLength) return bad(`is shorter than ${spec.minLength} characters`);
      if (spec.type === 'email' && !validateValue('email', raw).ok) return bad('must be a valid e-mail address');
      return { ok: true, value: raw };
    }
    case 'enumeration': {
      const values = spec.enum ?? [];
      if (values.includes(raw)) return { ok: true, value: raw };
      const named = spec.enumNames?.[fold(raw)];
      if (named && values.includes(named)) return { ok: true, value: named };
      return bad(`must be one of: ${values.join(', ')} (or their display names)`);
    }
    case 'date':
      return realDate(raw) ? { ok: true, value: raw } : bad('must be a date written YYYY-MM-DD');
    case 'datetime': {
      const t = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw) ? Date.parse(raw.replace(' ', 'T')) : NaN;
      return Number.isFinite(t) ? { ok: true, value: new Date(t).toISOString() } : bad('must be a date and time in ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)');
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return { ok: true, value: true };
      if (FALSE.has(v)) return { ok: true, value: false };
      return bad('must be true or false');
    }
    case 'integer':
      return /^-?\d{1,15}$/.test(raw) ? { ok: true, value: Number(raw) } : bad('must be a whole number');
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw) && Number.isFinite(Number(raw)) ? { ok: true, value: Number(raw) } : bad('must be a number');
    case 'relation-one':
      return { ok: true, value: raw };
    case 'relation-many': {
      const names = raw.split(LIST).map((s) => s.trim()).filter(Boolean);
      return names.length ? { ok: true, value: [...new Set(names)] } : bad('names nothing');
    }
    default:
      return bad('cannot be imported'); // fail closed
  }
};

/**
 * Checks one row. `cells` are the row's raw cells in column order (strings; the readers turn numbers and
 * dates into text). `today` is for ID numbers' birth dates, as the API checks them.
 */
export const checkRow = (line: number, cells: readonly unknown[], columns: ReadonlyArray<ImportColumnSpec | null>, today = new Date()): CheckedRow => {
  const data: Record<string, unknown> = {};
  const refs: Record<string, string | string[]> = {};
  const problems: ImportProblem[] = [];
  const present = new Set<string>();
  columns.forEach((spec, i) => {
    const raw = cells[i] === undefined || cells[i] === null ? '' : String(cells[i]).trim();
    if (!spec) {
      if (raw !== '') problems.push({ line, field: `column ${i + 1} (${columnLetters(i)})`, message: 'holds a value under no known header' });
      return;
    }
    if (raw === '') return;
    const parsed = parseCell(spec, raw);
    if (!parsed.ok) {
      problems.push({ line, field: spec.name, message: parsed.message });
      return;
    }
    present.add(spec.name);
    if (spec.type === 'relation-one' || spec.type === 'relation-many') refs[spec.name] = parsed.value as string | string[];
    else data[spec.name] = parsed.value;
  });
  if (cells.length > columns.length && cells.slice(columns.length).some((c) => c !== undefined && c !== null && String(c).trim() !== '')) {
    problems.push({ line, field: `column ${columns.length + 1} (${columnLetters(columns.length)})`, message: 'holds a value beyond the header' });
  }
  const failed = new Set(problems.map((p) => p.field));
  for (const spec of columns) {
    if (!spec || present.has(spec.name) || failed.has(spec.name)) continue;
    if (spec.default !== undefined) data[spec.name] = spec.default;
    else if (spec.required) problems.push({ line, field: spec.name, message: 'is required' });
  }
  // The rules across fields (resident ID for idType resident-id, credit code), on what passed the cell checks.
  for (const v of customerViolations(data as any, new Set(Object.keys(data)), today)) {
    if (!failed.has(v.field)) problems.push({ line, field: v.field, message: v.message });
  }
  return { line, data, refs, problems };
};

/**
 * Values of `unique` attributes repeated in the file: every later occurrence is a problem that names the
 * line of the first (values compared case-insensitively, as credit codes are upper-cased).
 */
export const duplicateProblems = (rows: readonly CheckedRow[], specs: readonly ImportColumnSpec[]): ImportProblem[] => {
  const out: ImportProblem[] = [];
  for (const spec of specs.filter((s) => s.unique)) {
    const first = new Map<string, number>();
    for (const row of rows) {
      const v = row.data[spec.name];
      if (typeof v !== 'string' || v === '') continue;
      const key = v.toUpperCase();
      const at = first.get(key);
      if (at === undefined) first.set(key, row.line);
      else out.push({ line: row.line, field: spec.name, message: `repeats the value of line ${at} (must be unique)` });
    }
  }
  return out;
};

/** Problems as report lines: `line 7, idNumber: must be …`. Never a value. */
export const formatProblem = (p: ImportProblem): string => `${p.line ? `line ${p.line}` : 'file'}, ${p.field}: ${p.message}`;
