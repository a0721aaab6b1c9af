import { pipeline, Readable, Transform } from 'node:stream';
import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { stringify } from 'csv-stringify';
import { and, describeCaller, suspensionMessage, DAY_MS, type Access, type Caller } from '../domain';
import {
  CONTENT_TYPES,
  EXPORT_ACTION,
  REFUSALS,
  exportColumns,
  exportFileName,
  exportMode,
  exportRecord,
  parseFormat,
  queryFacts,
  withTiebreaker,
  type ExportColumn,
  type ExportFormat,
  type ExportMode,
  type ExportValue,
} from '../domain/export';
import { isCiphertext } from '../crypto';
import { CMS_CONTENT_TYPE, CMS_FILE_SUFFIX, createEnvelopedStream } from '../crypto/cms';
import { RecipientRefusedError, type ExportRecipient } from './export-recipients';
import { getService, UIDS } from '../utils/strapi';
import { asSystem } from '../utils/caller';
import { clientWentAway, tally } from '../utils/streams';
import type { ExportConfig } from '../config';

/** Rows read, decrypted and written per round trip: memory stays at one page, whatever the export's size. */
const PAGE = 500;

export interface ExportQuery {
  filters?: unknown;
  sort?: unknown;
  _q?: unknown;
}

export interface ExportRequest {
  format: unknown;
  /** The list's query, already validated and sanitized as its list route does (content API, or Content Manager). */
  query: ExportQuery;
  /** Whether the caller may read a column at all (admins: their RBAC field permissions; `team`: the org units). */
  readable: (column: string) => boolean;
  /** `?recipient=`: the document id of an export recipient to encrypt the file to (CMS AuthEnvelopedData). */
  recipient?: unknown;
}

export interface ExportResponse {
  body: Readable;
  contentType: string;
  fileName: string;
}

type Outcome = 'success' | 'failure';

/** What one export will do, decided before anything is sent; `release` ends its hold on the daily cap. */
interface Plan {
  access: Access;
  format: ExportFormat;
  mode: ExportMode;
  grant: boolean;
  params: { filters: object | null; sort: unknown; _q?: unknown };
  columns: ExportColumn[];
  maxRows: number;
  /** Encrypted to this recipient, or a plain file. */
  recipient: ExportRecipient | null;
  release: () => void;
}

/**
 * The masked export of customers. Rows, hidden customers and field masking are exactly a list's: pages are
 * read through the document service as the caller (its middleware and the query layer apply row scope,
 * hidden customers and masking); the export right is applied on top. Streamed page by page; the audit
 * event (`customer.export`) is written as the stream ends, with the SHA-256 of what was sent.
 */
const exportsService = ({ strapi }: { strapi: Core.Strapi }) => {
  const audit = () => getService(strapi, 'audit');
  const customers = () => strapi.documents(UIDS.customer as any);
  const config = () => strapi.config.get('plugin::id-vault.exports') as ExportConfig;
  const timeZone = () => (strapi.config.get('plugin::id-vault.scans') as { timeZone: string }).timeZone;
  /** Runs `fn` in the request's context: Strapi types `run` as returning nothing, it returns what `fn` does. */
  const inRequest = <T>(ctx: any, fn: () => Promise<T>): Promise<T> => (strapi.requestContext as any).run(ctx, fn);

  /** Exports streaming in this process, per actor: their events are written at the end, the daily cap counts them now. */
  const running = new Map<string, number>();
  const actorKey = (c: Caller) => {
    const { actorType, actorId } = describeCaller(c);
    return `${actorType}:${actorId}`;
  };
  const hold = (key: string) => {
    running.set(key, (running.get(key) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (running.get(key) ?? 1) - 1;
      if (left > 0) running.set(key, left);
      else running.delete(key);
    };
  };

  /** Exports of this actor in the last 24 hours: its `customer.export` events that produced output, and those running here. */
  const exportsToday = async (caller: Caller): Promise<number> => {
    const { actorType, actorId } = describeCaller(caller);
    const since = new Date(Date.now() - DAY_MS).toISOString();
    const recorded = await asSystem(() =>
      strapi.db.query(UIDS.auditEvent as any).count({
        where: { action: EXPORT_ACTION, actorType, actorId, outcome: { $in: ['success', 'failure'] }, occurredAt: { $gt: since } },
      })
    );
    return recorded + (running.get(actorKey(caller)) ?? 0);
  };

  /** For an admin without an export right: the customers their export grants in force cover, or null when none does. */
  const grantRows = async (a: Access): Promise<object | null> => {
    if (a.caller.kind !== 'admin' || a.export !== 'none') return null;
    const { documentIds, units } = await getService(strapi, 'grants').coverage(Number(a.caller.id), ['export']);
    if (!documentIds.length && !units.length) return null;
    return { $or: [{ documentId: { $in: documentIds } }, { team: { id: { $in: units } } }] };
  };

  const refuse = async (format: ExportFormat, reason: string, message: string, details: Record<string, unknown> = {}, As: new (m: string) => Error = errors.PolicyError): Promise<never> => {
    await audit().record({ action: EXPORT_ACTION, outcome: 'denied', subjectUid: UIDS.customer, details: { format, reason, ...details } });
    throw new As(message);
  };

  /**
   * `?recipient=`: the recipient, checked now (unknown or no longer valid: a 400, recorded); none: null —
   * refused (403, recorded) for a plain export while `exports.plainOnlyEncrypted` is on.
   */
  const recipientFor = async (raw: unknown, format: ExportFormat, mode: ExportMode): Promise<ExportRecipient | null> => {
    if (raw === undefined || raw === '') {
      if (mode === 'plain' && config().plainOnlyEncrypted !== false) return refuse(format, 'plain-unencrypted', REFUSALS.plainUnencrypted);
      return null;
    }
    try {
      return await getService(strapi, 'export-recipients').forExport(typeof raw === 'string' ? raw : '', new Date());
    } catch (e) {
      if (!(e instanceof RecipientRefusedError)) throw e;
      const recipient = typeof raw === 'string' && /^[a-z0-9]{1,64}$/.test(raw) ? raw : null;
      return refuse(format, e.reason, e.message, { recipient }, errors.ValidationError);
    }
  };

  const columnsFor = (a: Access, mode: ExportMode, readable: (column: string) => boolean): ExportColumn[] => {
    const encrypted = getService(strapi, 'fields')
      .of(UIDS.customer)
      .map((f) => ({ name: f.name, mask: f.options.mask, visibility: a.visibility(UIDS.customer, f.name) }));
    return exportColumns(mode, encrypted).filter((c) => readable(c.key));
  };

  /** A last guard, like the response sweep of JSON bodies: ciphertext never leaves, even encrypted. */
  const scrub = (row: Record<string, ExportValue>) => {
    for (const [k, v] of Object.entries(row)) if (isCiphertext(v)) row[k] = null;
    return row;
  };

  const serializer = (format: ExportFormat, columns: ExportColumn[]): Transform =>
    format === 'csv'
      ? stringify({
          bom: true, // Excel reads the file as UTF-8 only with it
          header: true,
          columns: columns.map((c) => ({ key: c.key, header: c.key })),
          escape_formulas: true, // a cell starting with = + - @ is prefixed with ' so no spreadsheet runs it
          record_delimiter: 'windows',
          cast: { boolean: (v: boolean) => String(v) },
        })
      : new Transform({
          writableObjectMode: true,
          transform(row, _encoding, done) {
            done(null, `${JSON.stringify(row)}\n`);
          },
        });

  /** Format, export right, daily cap, row cap — each refusal a 4xx (recorded) before anything is sent. */
  const plan = async (req: ExportRequest): Promise<Plan> => {
    const format = parseFormat(req.format);
    if (!format) throw new errors.ValidationError(REFUSALS.format);
    const access = await getService(strapi, 'access').current();
    // An open anomaly alert of the caller suspends exports, whatever their right or grants.
    const open = await getService(strapi, 'anomalies').suspension(access.caller);
    if (open) return refuse(format, 'suspended', suspensionMessage(open));
    const covered = await grantRows(access);
    const mode = exportMode(access.export, covered !== null);
    if (!mode) return refuse(format, 'no-export-right', REFUSALS.noRight);
    const recipient = await recipientFor(req.recipient, format, mode);
    const { maxRows, perDay } = config();
    // Held before counting, so parallel requests of one actor see each other (at worst both are refused).
    const release = hold(actorKey(access.caller));
    try {
      if ((await exportsToday(access.caller)) > perDay) return await refuse(format, 'daily-cap', REFUSALS.perDay(perDay));
      const params = { filters: and(req.query.filters as object, covered), sort: withTiebreaker(req.query.sort), ...(req.query._q !== undefined ? { _q: req.query._q } : {}) };
      // Through the document middleware, as the list's own count: a filter, sort or search it refuses is a 400 here.
      const count = await customers().count({ ...params } as any);
      if (count > maxRows) return await refuse(format, 'row-cap', REFUSALS.rows(maxRows, count));
      return { access, format, mode, grant: covered !== null, params, columns: columnsFor(access, mode, req.readable), maxRows, recipient, release };
    } catch (e) {
      release();
      throw e;
    }
  };

  /**
   * The export as a stream: pages read as the caller, rows serialised, bytes hashed, the event written at the
   * end. Pages are read, and the event written, inside the request's context (`ctx`): the stream is read
   * after the handler has returned, outside it.
   */
  const open = (ctx: any, p: Plan, query: ExportQuery): Readable => {
    const facts = {
      format: p.format,
      mode: p.mode,
      grant: p.grant,
      plain: p.columns.filter((c) => c.encrypted === 'plain').map((c) => c.key),
      masked: p.columns.filter((c) => c.encrypted === 'masked').map((c) => c.key),
      ...queryFacts(query),
      encrypted: p.recipient !== null,
      ...(p.recipient ? { recipient: p.recipient.documentId, fingerprint: p.recipient.fingerprintSha256 } : {}),
    };
    let rows = 0;
    const record = (outcome: Outcome, details: Record<string, unknown>) =>
      inRequest(ctx, () =>
        audit().record({ action: EXPORT_ACTION, outcome, subjectUid: UIDS.customer, fields: p.columns.map((c) => c.key), caller: p.access.caller, details: { ...facts, rows, ...details } })
      ).finally(p.release);
    const fields = p.columns.map((c) => c.key).filter((k) => k !== 'documentId' && k !== 'team');
    const populate = p.columns.some((c) => c.key === 'team') ? { team: { fields: ['name'] } } : undefined;
    async function* pages() {
      for (let start = 0; start < p.maxRows; ) {
        const limit = Math.min(PAGE, p.maxRows - start);
        // A fresh params object each page: the document middleware rewrites the one it gets.
        const page: any[] = await inRequest(ctx, () => customers().findMany({ ...p.params, fields, populate, start, limit } as any));
        for (const entry of page) {
          rows += 1;
          yield scrub(exportRecord(entry, p.columns));
        }
        if (page.length < limit) return;
        start += page.length;
      }
    }
    const out = tally(
      (sha256) => record('success', { sha256 }),
      async (error) => {
        const aborted = clientWentAway(error);
        // The error's code only: a message could quote data.
        if (!aborted) strapi.log.error(`id-vault: an export stopped on an error (${(error as any).code ?? error!.name}); recorded as a failure`);
        await record('failure', { reason: aborted ? 'aborted' : 'error' }).catch(() => strapi.log.error('id-vault: the failure of an export could not be recorded'));
      }
    );
    // Errors, and a client that goes away, reach `out` (destroyed), whose abort hook records them. Encrypted,
    // the hash (and so the event's sha256) is of the file sent, the envelope.
    const stages = [Readable.from(pages()), serializer(p.format, p.columns), ...(p.recipient ? [createEnvelopedStream(p.recipient)] : []), out];
    pipeline(stages, () => {});
    return out;
  };

  return {
    /** Decides, then answers with the stream (`ctx`: the request's, see `open`). */
    async start(ctx: any, req: ExportRequest): Promise<ExportResponse> {
      const p = await plan(req);
      try {
        const fileName = exportFileName(new Date(), timeZone(), p.format);
        if (p.recipient) return { body: open(ctx, p, req.query), contentType: CMS_CONTENT_TYPE, fileName: `${fileName}${CMS_FILE_SUFFIX}` };
        return { body: open(ctx, p, req.query), contentType: CONTENT_TYPES[p.format], fileName };
      } catch (e) {
        p.release();
        throw e;
      }
    },
  };
};

export type ExportsService = ReturnType<typeof exportsService>;
export default exportsService;
