import type { Core } from '@strapi/strapi';
import { getService } from '../utils/strapi';
import { inDocumentWrite } from '../utils/caller';

const ACTIONS: Record<string, string> = {
  afterCreate: 'create',
  afterCreateMany: 'create',
  afterUpdate: 'update',
  afterUpdateMany: 'update',
  afterDelete: 'delete',
  afterDeleteMany: 'delete',
};

/** Strapi's own bookkeeping, set on every write: not a change anyone made. */
const BOOKKEEPING = new Set(['createdAt', 'updatedAt', 'publishedAt', 'createdBy', 'updatedBy', 'documentId']);

/**
 * Record of writes that bypass the document service: a `strapi.db.query(...)` create, update or delete of a
 * type with encrypted fields (another plugin, a script, a migration) becomes an event of the `system` actor
 * with `via: 'db.query'`, the field names it wrote and how many rows it touched — in the write's transaction
 * when it has one. Writes through the document service are recorded by its middleware (middlewares/audit-writes.ts),
 * which marks them, so nothing is recorded twice.
 */
export const directWrites = (strapi: Core.Strapi) => {
  const audited = (uid: string) => getService(strapi, 'fields').of(uid).length > 0;
  const subjectName = (uid: string) => (strapi.getModel(uid as any) as any)?.info?.singularName ?? uid;

  const record = async (event: any) => {
    const uid = event.model.uid;
    if (inDocumentWrite() || !audited(uid)) return;
    const many = event.action.endsWith('Many');
    const data = Array.isArray(event.params?.data) ? event.params.data[0] : event.params?.data;
    const attributes = event.model.attributes ?? {};
    const rows = many ? Number(event.result?.count ?? 0) : event.result ? 1 : 0;
    await getService(strapi, 'audit').record({
      action: `${subjectName(uid)}.${ACTIONS[event.action]}`,
      outcome: 'success',
      subjectUid: uid,
      subjectId: many ? null : event.result?.documentId ?? null,
      fields: Object.keys(data ?? {}).filter((k) => attributes[k] && !BOOKKEEPING.has(k)),
      caller: { kind: 'system' },
      details: { via: 'db.query', rows },
    });
  };

  return Object.fromEntries(Object.keys(ACTIONS).map((name) => [name, record]));
};
