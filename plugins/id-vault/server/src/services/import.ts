import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import {
  checkRow,
  duplicateProblems,
  foldName,
  mapColumns,
  type CheckedRow,
  type ImportColumnSpec,
  type ImportProblem,
} from '../domain';
import { asSystem } from '../utils/caller';
import { FIELD_LABELS, getService, stamps, UIDS, tableOf } from '../utils/strapi';

/** Rows written per transaction (each batch commits with its progress mark). */
const DEFAULT_BATCH = 100;
const CHUNK = 500;
const SYSTEM = { kind: 'system' } as const;

export type ImportFormat = 'csv' | 'xlsx';

export interface ImportOptions {
  /** Import the valid rows even if some are rejected (default: stop, write nothing). */
  skipInvalid?: boolean;
  batchSize?: number;
  /** After each committed batch: valid rows imported so far (this run and earlier ones) of all valid rows. */
  onProgress?: (done: number, total: number) => void;
  /** Once validation is done, before the first write. */
  onValidated?: (summary: { rows: number; valid: number; rejected: number; alreadyDone: number }) => void;
}

export interface ImportResult {
  outcome: 'completed' | 'rejected' | 'already-imported';
  fileSha256: string;
  format: ImportFormat;
  /** Data rows in the file (the header and empty lines not counted). */
  rows: number;
  valid: number;
  rejected: number;
  /** Customers this run created, and those earlier (killed) runs of the same file had created. */
  imported: number;
  importedBefore: number;
  /** Line after which this run went on (0: from the start). */
  resumedAfterLine: number;
  /** Rejected rows by line and field, and why: never a value. */
  problems: ImportProblem[];
}

/** A failure while writing: names the line (and field, when known), never a value. */
export class ImportWriteError extends Error {
  constructor(message: string, public line: number | null) {
    super(message);
    this.name = 'ImportWriteError';
  }
}

interface Table {
  header: unknown[];
  rows: Array<{ line: number; cells: unknown[] }>;
}

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

const isEmptyRow = (cells: unknown[]) => cells.every((c) => c === undefined || c === null || String(c).trim() === '');

/** CSV with a header row: UTF-8 (a BOM is fine), comma separated, RFC 4180 quoting. Line numbers are the file's. */
const readCsv = (buf: Buffer): Table => {
  const { parse } = require('csv-parse/sync');
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(buf, { bom: true, relax_column_count: true, skip_empty_lines: true, info: true });
  } catch (e: any) {
    // csv-parse's messages may quote the cell it stumbled on: keep its code and line only.
    throw new Error(`id-vault import: the CSV does not parse (${e?.code ?? 'error'}${e?.lines ? ` at line ${e.lines}` : ''})`);
  }
  if (!records.length) return { header: [], rows: [] };
  const [first, ...rest] = records;
  return { header: first.record, rows: rest.filter((r) => !isEmptyRow(r.record)).map((r) => ({ line: r.info.lines, cells: r.record })) };
};

const pad2 = (n: number) => String(n).padStart(2, '0');
/** An XLSX cell as text: dates as YYYY-MM-DD (or ISO date-time when they carry a time), formulas by their result. */
const xlsxText = (v: any): unknown => {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) {
    const midnight = v.getUTCHours() === 0 && v.getUTCMinutes() === 0 && v.getUTCSeconds() === 0 && v.getUTCMilliseconds() === 0;
    return midnight ? `${v.getUTCFullYear()}-${pad2(v.getUTCMonth() + 1)}-${pad2(v.getUTCDate())}` : v.toISOString();
  }
  if (typeof v === 'object') {
    if (Array.isArray(v.richText)) return v.richText.map((t: any) => t.text ?? '').join('');
    if ('result' in v) return xlsxText(v.result);
    if ('text' in v) return xlsxText(v.text);
    if ('error' in v) return '';
    return '';
  }
  return String(v);
};

/** The first worksheet of an XLSX workbook; header in row 1. Line numbers are the sheet's row numbers. */
const readXlsx = async (buf: Buffer): Promise<Table> => {
  const ExcelJS = require('exceljs');
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(buf);
  } catch {
    throw new Error('id-vault import: the file is not a readable XLSX workbook');
  }
  const sheet = workbook.worksheets[0];
  if (!sheet) return { header: [], rows: [] };
  let header: unknown[] | null = null;
  const rows: Table['rows'] = [];
  sheet.eachRow({ includeEmpty: false }, (row: any, rowNumber: number) => {
    const values: unknown[] = Array.isArray(row.values) ? row.values.slice(1) : [];
    const cells = Array.from({ length: values.length }, (_, i) => xlsxText(values[i]));
    if (header === null) header = cells;
    else if (!isEmptyRow(cells)) rows.push({ line: rowNumber, cells });
  });
  return { header: header ?? [], rows };
};

export const formatOf = (file: string): ImportFormat | null => {
  const ext = path.extname(file).toLowerCase();
  return ext === '.csv' ? 'csv' : ext === '.xlsx' ? 'xlsx' : null;
};

/** Display names of enumeration values (the admin's enums.json, en and zh-Hans), folded → stored value. */
const enumDisplayNames = (): Record<string, string> => {
  try {
    const names = require(path.join(__dirname, '..', '..', '..', 'admin', 'src', 'translations', 'enums.json'));
    const out: Record<string, string> = {};
    for (const locale of Object.values<Record<string, string>>(names)) {
      for (const [value, label] of Object.entries(locale)) out[foldName(label)] ??= value;
    }
    return out;
  } catch {
    return {};
  }
};

/**
 * Bulk import of customers (`npm run import -- file.csv|file.xlsx`). Reads the whole file, checks every row
 * with the API's rules (domain/import.ts) and the references (org unit by name or documentId, tags by name,
 * credit codes not yet taken), and reports rejected rows by line and field — never a value. Then writes
 * through the storage boundary: `strapi.documents(customer).create` as the system caller, so encryption,
 * blind index, scope mirror, document completeness and the per-customer audit events all apply.
 *
 * Resumable and never twice: the run is keyed by the file's SHA-256 (idv_import_runs). Rows are written in
 * file order, a batch per transaction, and the same transaction moves the run's mark (last line done) —
 * with a conditional update, so a second process importing the same file at the same time fails instead of
 * writing a row twice. A kill -9 rolls back the batch in progress with its mark; the rerun skips every line
 * up to the mark. A finished file is not imported again. One audit event per run: import.completed or
 * import.failed (counts and the file's SHA-256).
 */
const importService = ({ strapi }: { strapi: Core.Strapi }) => {
  const audit = () => getService(strapi, 'audit');
  const runs = () => tableOf(strapi, UIDS.importRun);

  /** The customer's attributes an import can write, from the schema (attributes admins added included). */
  const columnSpecs = (): ImportColumnSpec[] => {
    const model: any = strapi.getModel(UIDS.customer);
    const labels = FIELD_LABELS[UIDS.customer] ?? {};
    const enumNames = enumDisplayNames();
    const fields = getService(strapi, 'fields');
    const specs: ImportColumnSpec[] = [];
    for (const [name, a] of Object.entries<any>(model.attributes)) {
      if (a.writable === false || a.private === true) continue;
      const base = { name, label: labels[name], required: a.required === true, default: a.default, maxLength: a.maxLength, minLength: a.minLength, unique: a.unique === true };
      const encrypted = fields.find(UIDS.customer, name);
      if (encrypted) specs.push({ ...base, type: 'encrypted', validate: encrypted.options.validate, default: undefined });
      else if (a.type === 'string' || a.type === 'text' || a.type === 'email') specs.push({ ...base, type: a.type });
      else if (a.type === 'enumeration') specs.push({ ...base, type: 'enumeration', enum: a.enum, enumNames });
      else if (a.type === 'date' || a.type === 'datetime' || a.type === 'boolean') specs.push({ ...base, type: a.type });
      else if (a.type === 'integer' || a.type === 'biginteger') specs.push({ ...base, type: 'integer' });
      else if (a.type === 'float' || a.type === 'decimal') specs.push({ ...base, type: 'number' });
      else if (a.type === 'relation' && a.target === UIDS.orgUnit && a.relation === 'manyToOne') specs.push({ ...base, type: 'relation-one', default: undefined });
      else if (a.type === 'relation' && a.target === UIDS.tag && a.relation === 'manyToMany') specs.push({ ...base, type: 'relation-many', default: undefined });
      // Anything else (owners, identity documents, JSON, media, components) is not for an import.
    }
    return specs;
  };

  /**
   * References → documentIds: a one-relation (org unit) by documentId or its one name, a many-relation (tags)
   * by names. Unknown or ambiguous ones are problems that do not repeat the reference.
   */
  const resolveRefs = async (rows: CheckedRow[], specs: ImportColumnSpec[]) => {
    const [units, tags] = await Promise.all([
      strapi.db.query(UIDS.orgUnit).findMany({ select: ['documentId', 'name'] }),
      strapi.db.query(UIDS.tag).findMany({ select: ['documentId', 'name'] }),
    ]);
    const byName = (list: any[]) => {
      const m = new Map<string, string[]>();
      for (const x of list) if (typeof x.name === 'string') m.set(foldName(x.name), [...(m.get(foldName(x.name)) ?? []), x.documentId]);
      return m;
    };
    const unitIds = new Set(units.map((u: any) => u.documentId));
    const unitNames = byName(units);
    const tagNames = byName(tags);
    const ones = specs.filter((s) => s.type === 'relation-one').map((s) => s.name);
    const manys = specs.filter((s) => s.type === 'relation-many').map((s) => s.name);
    for (const row of rows) {
      for (const field of ones) {
        const ref = row.refs[field];
        if (typeof ref !== 'string') continue;
        const named = unitNames.get(foldName(ref)) ?? [];
        if (unitIds.has(ref)) row.data[field] = ref;
        else if (named.length === 1) row.data[field] = named[0];
        else row.problems.push({ line: row.line, field, message: named.length ? 'names more than one org unit: use its documentId' : 'names no org unit (by name or documentId)' });
      }
      for (const field of manys) {
        const names = row.refs[field];
        if (!Array.isArray(names)) continue;
        const found = names.map((n) => tagNames.get(foldName(n)) ?? []);
        if (found.some((f) => f.length > 1)) row.problems.push({ line: row.line, field, message: 'names a tag that several tags are called' });
        else if (found.some((f) => !f.length)) row.problems.push({ line: row.line, field, message: 'names a tag that does not exist' });
        else row.data[field] = found.map((f) => f[0]);
      }
    }
  };

  /** Unique attributes already taken by a stored customer (the API refuses those too). */
  const takenProblems = async (rows: CheckedRow[], specs: ImportColumnSpec[]): Promise<ImportProblem[]> => {
    const out: ImportProblem[] = [];
    for (const spec of specs.filter((s) => s.unique && s.type !== 'encrypted')) {
      const withValue = rows.filter((r) => typeof r.data[spec.name] === 'string');
      for (let i = 0; i < withValue.length; i += CHUNK) {
        const chunk = withValue.slice(i, i + CHUNK);
        const values = [...new Set(chunk.map((r) => r.data[spec.name] as string))];
        const found = await strapi.db.query(UIDS.customer).findMany({ where: { [spec.name]: { $in: values } }, select: [spec.name] });
        const taken = new Set(found.map((f: any) => f[spec.name]));
        for (const r of chunk) if (taken.has(r.data[spec.name])) out.push({ line: r.line, field: spec.name, message: 'is already taken by a stored customer (must be unique)' });
      }
    }
    return out;
  };

  const readRun = async (sha: string) => {
    const t = runs();
    const row = await strapi.db.connection(t.name).where(t.col('fileDigest'), sha).first();
    if (!row) return null;
    return { status: row[t.col('status')] as string, doneThroughLine: Number(row[t.col('doneThroughLine')]), imported: Number(row[t.col('imported')]), finishedAt: row[t.col('finishedAt')] };
  };

  const ensureRun = async (sha: string) => {
    const t = runs();
    const { document_id, created_at, updated_at } = stamps(strapi);
    await strapi.db
      .connection(t.name)
      .insert({ [t.col('fileDigest')]: sha, [t.col('status')]: 'running', [t.col('doneThroughLine')]: 0, [t.col('imported')]: 0, document_id, created_at, updated_at })
      .onConflict(t.col('fileDigest'))
      .ignore();
  };

  /** Moves the mark from `from` to `to` in the transaction in progress; fails if another process moved it. */
  const advance = async (trx: any, sha: string, from: number, to: number, count: number) => {
    const t = runs();
    const changed = await trx(t.name)
      .where({ [t.col('fileDigest')]: sha, [t.col('doneThroughLine')]: from, [t.col('status')]: 'running' })
      .update({ [t.col('doneThroughLine')]: to, [t.col('imported')]: trx.raw('?? + ?', [t.col('imported'), count]), updated_at: stamps(strapi).updated_at });
    if (Number(changed) !== 1) throw new ImportWriteError('another import of this file is running (or finished) in another process: run it again once that one is done', null);
  };

  /** What a failed row says: the line, the field names of a validation error, the error's kind — no value. */
  const describeRowError = (e: any, line: number): ImportWriteError => {
    if (e instanceof ImportWriteError) return e;
    const paths = e instanceof errors.ValidationError ? ((e as any).details?.errors ?? []).map((x: any) => (Array.isArray(x.path) ? x.path.join('.') : String(x.path))).filter(Boolean) : [];
    return new ImportWriteError(`line ${line} was refused when written${paths.length ? ` (${paths.join(', ')})` : ''}: ${e?.name ?? 'Error'}`, line);
  };
  /** A failure of a batch as a whole (the database, the mark): its kind and where the import stood. */
  const describeBatchError = (e: any, mark: number): ImportWriteError =>
    e instanceof ImportWriteError ? e : new ImportWriteError(`the batch after line ${mark} was not written (${e?.code ?? e?.name ?? 'Error'}); nothing of it was kept`, null);

  const record = (outcome: 'success' | 'rejected' | 'failure', action: 'import.completed' | 'import.failed', details: Record<string, unknown>) =>
    audit().record({ action, outcome, subjectUid: UIDS.customer, caller: SYSTEM, details });

  return {
    columnSpecs,

    /** Reads and checks a file without writing anything (also what `run` does first). */
    async check(file: string) {
      const format = formatOf(file);
      if (!format) throw new Error('id-vault import: the file must end in .csv or .xlsx');
      const buf = await fs.promises.readFile(file);
      const fileSha256 = sha256(buf);
      const table = format === 'csv' ? readCsv(buf) : await readXlsx(buf);
      const specs = columnSpecs();
      const { columns, problems: headerProblems } = mapColumns(table.header.map((h) => (h === null || h === undefined ? '' : String(h))), specs);
      if (!table.header.length) headerProblems.push({ line: 0, field: 'file', message: 'has no header row' });
      return { format, fileSha256, table, specs, columns, headerProblems };
    },

    async run(file: string, opts: ImportOptions = {}): Promise<ImportResult> {
      return asSystem(async () => {
        const batchSize = Math.max(1, opts.batchSize ?? (Number(process.env.ID_VAULT_IMPORT_BATCH) || DEFAULT_BATCH));
        const { format, fileSha256, table, specs, columns, headerProblems } = await this.check(file);
        const base = { fileSha256, format, rows: table.rows.length };
        const previous = await readRun(fileSha256);
        if (previous?.status === 'completed') {
          return { ...base, outcome: 'already-imported', valid: previous.imported, rejected: 0, imported: 0, importedBefore: previous.imported, resumedAfterLine: previous.doneThroughLine, problems: [] };
        }
        const doneThrough = previous?.doneThroughLine ?? 0;
        const importedBefore = previous?.imported ?? 0;

        // 1. Check every row before anything is written.
        let problems: ImportProblem[] = [...headerProblems];
        let checked: CheckedRow[] = [];
        if (!headerProblems.length) {
          const today = new Date();
          checked = table.rows.map((r) => checkRow(r.line, r.cells, columns, today));
          await resolveRefs(checked, specs);
          const extra = [...duplicateProblems(checked, specs), ...(await takenProblems(checked.filter((r) => r.line > doneThrough && !r.problems.length), specs))];
          const byLine = new Map(checked.map((r) => [r.line, r]));
          for (const p of extra) byLine.get(p.line)?.problems.push(p);
          problems = checked.flatMap((r) => r.problems).sort((a, b) => a.line - b.line);
        }
        const rejectedLines = new Set(problems.map((p) => p.line));
        const valid = checked.filter((r) => !r.problems.length);
        const counts = { rows: table.rows.length, valid: valid.length, rejected: checked.length ? rejectedLines.size : 0 };
        const result = (outcome: ImportResult['outcome'], imported: number): ImportResult => ({ ...base, ...counts, outcome, imported, importedBefore, resumedAfterLine: doneThrough, problems });
        if (headerProblems.length || (problems.length && !opts.skipInvalid)) {
          await record('rejected', 'import.failed', { fileSha256, format, ...counts, reason: headerProblems.length ? 'header' : 'rejected-rows', problems: problems.length });
          await audit().flush();
          return result('rejected', 0);
        }

        // 2. Write what is left, a batch per transaction with the run's mark.
        const todo = valid.filter((r) => r.line > doneThrough);
        const alreadyDone = valid.length - todo.length;
        opts.onValidated?.({ ...counts, alreadyDone });
        await ensureRun(fileSha256);
        let mark = doneThrough;
        let imported = 0;
        const docs = strapi.documents(UIDS.customer as any);
        try {
          for (let i = 0; i < todo.length; i += batchSize) {
            const batch = todo.slice(i, i + batchSize);
            // The mark moves to the last line of the batch — or, for the last batch, of the file: rejected lines after it are done too.
            const to = i + batchSize >= todo.length ? Math.max(batch[batch.length - 1].line, table.rows[table.rows.length - 1]?.line ?? 0) : batch[batch.length - 1].line;
            await strapi.db.transaction(async ({ trx }: any) => {
              await advance(trx, fileSha256, mark, to, batch.length);
              for (const row of batch) {
                try {
                  await docs.create({ data: { ...row.data } as any });
                } catch (e) {
                  throw describeRowError(e, row.line);
                }
              }
            });
            mark = to;
            imported += batch.length;
            opts.onProgress?.(alreadyDone + imported, valid.length);
            // Let timers run between batches (SQLite's driver is synchronous): the progress bar, the audit chainer.
            await new Promise((resolve) => setImmediate(resolve));
          }
          await strapi.db.transaction(async ({ trx }: any) => {
            const t = runs();
            await trx(t.name).where(t.col('fileDigest'), fileSha256).update({ [t.col('status')]: 'completed', [t.col('finishedAt')]: stamps(strapi).updated_at, updated_at: stamps(strapi).updated_at });
            await record('success', 'import.completed', { fileSha256, format, ...counts, imported, importedBefore, resumedAfterLine: doneThrough, skipInvalid: !!opts.skipInvalid });
          });
        } catch (e) {
          const line = e instanceof ImportWriteError ? e.line : null;
          await record('failure', 'import.failed', { fileSha256, format, ...counts, imported, importedBefore, reason: 'write', line, error: (e as any)?.name ?? 'Error' }).catch(() => {});
          throw describeBatchError(e, mark);
        } finally {
          await audit().flush();
        }
        return result('completed', imported);
      });
    },
  };
};

export type ImportService = ReturnType<typeof importService>;
export default importService;
