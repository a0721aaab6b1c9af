import type { Core } from '@strapi/strapi';
import { storageBoundary } from './storage-boundary';
import { appendOnly } from './append-only';
import { rowGuard } from './row-guard';
import { directWrites } from './direct-writes';
import { getService } from '../utils/strapi';

/**
 * The database lifecycles, in order: the query layer first (it narrows `where` before anything reads the
 * row), then the storage boundary (encrypt, index), then the audit trail's append-only guard, the record of writes
 * that bypass the document service, then the bookkeeping of scans and document completeness.
 */
export const subscribeLifecycles = (strapi: Core.Strapi) => {
  strapi.db.lifecycles.subscribe(rowGuard(strapi) as any);
  strapi.db.lifecycles.subscribe(storageBoundary(strapi) as any);
  strapi.db.lifecycles.subscribe(appendOnly as any);
  strapi.db.lifecycles.subscribe(directWrites(strapi) as any);
  // Scans go with their document; completeness follows documents, scans and customer kinds.
  strapi.db.lifecycles.subscribe(getService(strapi, 'scans').lifecycles() as any);
  strapi.db.lifecycles.subscribe(getService(strapi, 'documents').lifecycles() as any);
};
