import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { completeness, requiredDocumentsSchema, DEFAULT_REQUIRED_DOCUMENTS, type RequiredDocuments } from '../domain';
import { asSystem } from '../utils/caller';
import { onceAcrossProcesses } from '../utils/jobs';
import { getService, PLUGIN_ID, UIDS, withKnex } from '../utils/strapi';

const RULES_KEY = 'required-documents';
/** Other processes see a change of the rules within this long (this process at once). */
const RULES_TTL_MS = 5000;
const BATCH = 500;
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v ?? null);

/**
 * Required documents per customer kind, and each customer's `documentsComplete` / `missingDocuments`,
 * kept current on every change of documents, scans, customer kind and rules (a stored attribute, so the
 * Content Manager can filter and sort by it). A document counts as present when it has at least one scan.
 */
const documents = ({ strapi }: { strapi: Core.Strapi }) => {
  const store = () => strapi.store({ type: 'plugin', name: PLUGIN_ID, key: RULES_KEY });
  let cached: { rules: RequiredDocuments; at: number } | null = null;

  const names = () => {
    const d: any = strapi.db.metadata.get(UIDS.identityDocument);
    const c: any = strapi.db.metadata.get(UIDS.customer);
    const s: any = strapi.db.metadata.get(UIDS.scan);
    const link = d.attributes.customer.joinTable;
    return {
      docs: d.tableName as string,
      docType: (d.attributes.type.columnName ?? 'type') as string,
      docDocumentId: 'document_id',
      link: link.name as string,
      linkDoc: link.joinColumn.name as string,
      linkCustomer: link.inverseJoinColumn.name as string,
      customers: c.tableName as string,
      kind: (c.attributes.kind.columnName ?? 'kind') as string,
      complete: (c.attributes.documentsComplete.columnName ?? 'documents_complete') as string,
      missing: (c.attributes.missingDocuments.columnName ?? 'missing_documents') as string,
      scans: s.tableName as string,
      scanDoc: (s.attributes.documentRef.columnName ?? 'document_ref') as string,
    };
  };

  const rules = async (): Promise<RequiredDocuments> => {
    if (cached && Date.now() - cached.at < RULES_TTL_MS) return cached.rules;
    const raw = await store().get({});
    const parsed = raw ? requiredDocumentsSchema.safeParse(raw) : null;
    if (parsed && !parsed.success) strapi.log.error('id-vault: the stored required-documents rules are invalid; using the defaults until they are saved again');
    cached = { rules: parsed?.success ? parsed.data : DEFAULT_REQUIRED_DOCUMENTS, at: Date.now() };
    return cached.rules;
  };

  const knex = (trx?: any) => trx ?? strapi.db.connection;

  /** Recomputes completeness of the given customers (ids), in `trx` when given. */
  const refresh = async (customerIds: Iterable<number>, trx?: any): Promise<void> => {
    const ids = [...new Set([...customerIds].filter((id) => Number.isInteger(id)))];
    if (!ids.length) return;
    const n = names();
    const r = await rules();
    for (let i = 0; i < ids.length; i += BATCH) {
      const chunk = ids.slice(i, i + BATCH);
      const customers = await knex(trx)(n.customers).whereIn('id', chunk).select('id', { kind: n.kind });
      const present = await knex(trx)(`${n.docs} as d`)
        .join(`${n.link} as l`, `l.${n.linkDoc}`, 'd.id')
        .whereIn(`l.${n.linkCustomer}`, chunk)
        .whereExists(knex(trx)(`${n.scans} as s`).whereRaw('?? = ??', [`s.${n.scanDoc}`, `d.${n.docDocumentId}`]).select(knex(trx).raw('1')))
        .distinct({ customer: `l.${n.linkCustomer}`, type: `d.${n.docType}` });
      const byCustomer = new Map<number, Set<string>>();
      for (const p of present) {
        const set = byCustomer.get(Number(p.customer)) ?? new Set<string>();
        set.add(p.type);
        byCustomer.set(Number(p.customer), set);
      }
      for (const c of customers) {
        const result = completeness(c.kind, r, byCustomer.get(Number(c.id)) ?? new Set());
        await knex(trx)(n.customers)
          .where('id', c.id)
          .update({ [n.complete]: result.complete, [n.missing]: JSON.stringify(result.missing) });
      }
    }
  };

  /** The customers (ids) the given identity documents (ids) belong to. */
  const customersOfDocuments = async (docIds: number[], trx?: any): Promise<number[]> => {
    if (!docIds.length) return [];
    const n = names();
    const rows = await knex(trx)(n.link).whereIn(n.linkDoc, docIds).select({ customer: n.linkCustomer });
    return rows.map((r: any) => Number(r.customer));
  };

  /** What a new customer of `kind` gets before it has any document. */
  const initial = async (kind: string): Promise<{ documentsComplete: boolean; missingDocuments: string[] }> => {
    const result = completeness(kind, await rules(), new Set());
    return { documentsComplete: result.complete, missingDocuments: result.missing };
  };

  return {
    rules,
    refresh,
    customersOfDocuments,

    /** The customer (id) of one identity document by documentId, or null. */
    async customerOfDocument(documentId: string, trx?: any): Promise<number | null> {
      const n = names();
      const row = await knex(trx)(`${n.docs} as d`).join(`${n.link} as l`, `l.${n.linkDoc}`, 'd.id').where(`d.${n.docDocumentId}`, documentId).first({ customer: `l.${n.linkCustomer}` });
      return row ? Number(row.customer) : null;
    },

    /**
     * The Documents panel of a customer's edit view: its documents (as the caller reaches them), their
     * scans' metadata when `withScans`, completeness and how much of the scan quota is used.
     */
    async panel(customerDocumentId: string, withScans: boolean) {
      // db.query in a request: the query layer adds the caller's row scope and hides hidden customers.
      const customer: any = await strapi.db.query(UIDS.customer).findOne({
        where: { documentId: customerDocumentId },
        select: ['id', 'documentId', 'kind', 'documentsComplete', 'missingDocuments'],
      });
      if (!customer) throw new errors.NotFoundError('customer not found');
      const docs: any[] = await strapi.db.query(UIDS.identityDocument).findMany({
        where: { customer: { id: customer.id } },
        select: ['id', 'documentId', 'type', 'issuedAt', 'expiresAt'],
        orderBy: { id: 'asc' },
      });
      const scans = await asSystem(() => getService(strapi, 'scans').ofDocuments(docs.map((d) => d.documentId)));
      const used = [...scans.values()].flat().reduce((n, m) => n + m.size, 0);
      return {
        customer: { documentId: customer.documentId, kind: customer.kind },
        documentsComplete: !!customer.documentsComplete,
        missingDocuments: json(customer.missingDocuments) ?? [],
        required: (await rules())[customer.kind as keyof RequiredDocuments] ?? [],
        quota: { used, limit: getService(strapi, 'scans').config().maxCustomerBytes },
        documents: docs.map((d) => ({
          documentId: d.documentId,
          type: d.type,
          issuedAt: d.issuedAt ?? null,
          expiresAt: d.expiresAt ?? null,
          scanCount: scans.get(d.documentId)?.length ?? 0,
          ...(withScans ? { scans: scans.get(d.documentId) ?? [] } : {}),
        })),
      };
    },

    /**
     * What needs attention, in the caller's scope (home-page widget): documents expiring within `days`
     * (expired ones included) and customers with missing documents.
     */
    async attention(days: number, limit = 20) {
      const until = new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);
      const soon = { expiresAt: { $notNull: true, $lte: until } };
      const expiring: any[] = await strapi.db.query(UIDS.identityDocument).findMany({
        where: soon,
        select: ['documentId', 'type', 'expiresAt'],
        populate: { customer: { select: ['documentId', 'name'] } },
        orderBy: { expiresAt: 'asc' },
        limit,
      });
      const where = { documentsComplete: false };
      const incomplete: any[] = await strapi.db.query(UIDS.customer).findMany({ where, select: ['documentId', 'name', 'kind', 'missingDocuments'], orderBy: { id: 'desc' }, limit });
      return {
        days,
        expiring: expiring.map((d) => ({ documentId: d.documentId, type: d.type, expiresAt: d.expiresAt, customer: d.customer ? { documentId: d.customer.documentId, name: d.customer.name } : null })),
        incomplete: incomplete.map((c) => ({ documentId: c.documentId, name: c.name, kind: c.kind, missingDocuments: json(c.missingDocuments) ?? [] })),
        expiringCount: await strapi.db.query(UIDS.identityDocument).count({ where: soon }),
        incompleteCount: await strapi.db.query(UIDS.customer).count({ where }),
      };
    },

    /**
     * The daily expiry job (Strapi cron, see bootstrap; once a day across processes): one
     * `document.expiring` audit event per identity document that expires within `days` (expired ones
     * included), naming the document, its type and the days left. Returns how many, or null when another
     * process ran today's job.
     */
    async expiryJob(days: number, today = new Date()): Promise<{ documents: number } | null> {
      const day = today.toISOString().slice(0, 10);
      return onceAcrossProcesses(strapi, `document-expiring:${day}`, async () => {
        const until = new Date(today.getTime() + days * 86400000).toISOString().slice(0, 10);
        let last = 0;
        let count = 0;
        for (;;) {
          const docs: any[] = await strapi.db.query(UIDS.identityDocument).findMany({
            where: { id: { $gt: last }, expiresAt: { $notNull: true, $lte: until } },
            select: ['id', 'documentId', 'type', 'expiresAt'],
            orderBy: { id: 'asc' },
            limit: BATCH,
          });
          if (!docs.length) return { documents: count };
          for (const d of docs) {
            const daysLeft = Math.round((Date.parse(d.expiresAt) - Date.parse(day)) / 86400000);
            await getService(strapi, 'audit').record({
              action: 'document.expiring',
              outcome: 'success',
              subjectUid: UIDS.identityDocument,
              subjectId: d.documentId,
              details: { type: d.type, daysLeft },
              caller: { kind: 'system' },
            });
          }
          count += docs.length;
          last = docs[docs.length - 1].id;
        }
      });
    },

    /** Validates and stores new rules, then recomputes every customer (in batches). */
    async saveRules(input: unknown): Promise<RequiredDocuments> {
      const parsed = requiredDocumentsSchema.safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
        throw new errors.ValidationError('invalid required-documents rules', { errors: issues });
      }
      await store().set({ value: parsed.data });
      cached = { rules: parsed.data, at: Date.now() };
      await this.refreshAll();
      await getService(strapi, 'audit').record({ action: 'required-documents.update', outcome: 'success', details: { kinds: Object.keys(parsed.data) } });
      return parsed.data;
    },

    /** Every customer, in id order and batches (after a change of the rules). */
    async refreshAll(): Promise<number> {
      const n = names();
      let last = 0;
      let total = 0;
      for (;;) {
        const ids = (await strapi.db.connection(n.customers).where('id', '>', last).orderBy('id').limit(BATCH).pluck('id')).map(Number);
        if (!ids.length) return total;
        await refresh(ids);
        total += ids.length;
        last = ids[ids.length - 1];
      }
    },

    /**
     * Database lifecycles that keep completeness current when documents come, go, change type or change
     * customer, and when a customer's kind or documents change (whoever writes: document service, Content
     * Manager, db.query). Before a write, the customers concerned are remembered; after it, they and the
     * documents' current customers are recomputed, in the writer's transaction.
     */
    lifecycles() {
      const docIdsOf = async (where: any): Promise<number[]> =>
        asSystem(async () => (await strapi.db.query(UIDS.identityDocument).findMany({ where, select: ['id'] })).map((d: any) => d.id));
      return {
        models: [UIDS.identityDocument, UIDS.customer],
        async beforeCreate(event: any) {
          if (event.model.uid !== UIDS.customer) return;
          if (event.params.data) Object.assign(event.params.data, await initial(event.params.data.kind ?? 'personal'));
        },
        async afterCreate(event: any) {
          if (event.model.uid === UIDS.identityDocument) await withKnex(strapi, async (trx) => refresh(await customersOfDocuments([event.result.id], trx), trx));
          else if (event.params.data?.documents !== undefined) await withKnex(strapi, (trx) => refresh([event.result.id], trx));
        },
        async beforeUpdate(event: any) {
          event.state.idvCustomers = await concerned(event, false);
        },
        async beforeUpdateMany(event: any) {
          event.state.idvCustomers = await concerned(event, true);
        },
        async beforeDelete(event: any) {
          event.state.idvCustomers = await concerned(event, false);
        },
        async beforeDeleteMany(event: any) {
          event.state.idvCustomers = await concerned(event, true);
        },
        async afterUpdate(event: any) {
          await after(event);
        },
        async afterUpdateMany(event: any) {
          await after(event);
        },
        async afterDelete(event: any) {
          await after(event);
        },
        async afterDeleteMany(event: any) {
          await after(event);
        },
      };

      /** Customers whose completeness the write may change, read before it (null: nothing to do). */
      async function concerned(event: any, many: boolean): Promise<{ customers: number[]; docs: number[] } | null> {
        const data = event.params.data;
        if (event.model.uid === UIDS.customer) {
          if (event.action.startsWith('delete') || (data?.kind === undefined && data?.documents === undefined)) return null;
          const ids = many ? await asSystem(async () => (await strapi.db.query(UIDS.customer).findMany({ where: event.params.where, select: ['id'] })).map((c: any) => c.id)) : [];
          const named = data?.documents === undefined ? [] : relationIds(data.documents);
          return { customers: [...ids, ...(await withKnex(strapi, (trx) => customersOfDocuments(named, trx)))], docs: [] };
        }
        const docs = await docIdsOf(event.params.where);
        return { customers: await withKnex(strapi, (trx) => customersOfDocuments(docs, trx)), docs };
      }

      async function after(event: any) {
        const before: { customers: number[]; docs: number[] } | null = event.state.idvCustomers;
        if (!before) return;
        await withKnex(strapi, async (trx) => {
          const now = await customersOfDocuments(before.docs, trx);
          const self = event.model.uid === UIDS.customer && event.result?.id ? [event.result.id] : [];
          await refresh([...before.customers, ...now, ...self], trx);
        });
      }
    },
  };
};

/** Every row id a relation payload names at the database layer (connect / disconnect / set / plain lists). */
const relationIds = (value: any): number[] => {
  const out: number[] = [];
  const walk = (v: any) => {
    if (typeof v === 'number') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.id === 'number') out.push(v.id);
      for (const k of ['connect', 'disconnect', 'set']) if (v[k]) walk(v[k]);
    }
  };
  walk(value);
  return out;
};

export type DocumentsService = ReturnType<typeof documents>;
export default documents;
