import type { Core } from '@strapi/strapi';
import { storageBoundary } from './storage-boundary';
import { appendOnly } from './append-only';
import { rowGuard } from './row-guard';

/**
 * The database lifecycles, in order: the query layer first (it narrows `where` before anything reads the
 * row), then the storage boundary (encrypt, index), then the audit trail's append-only guard.
 */
export const subscribeLifecycles = (strapi: Core.Strapi) => {
  strapi.db.lifecycles.subscribe(rowGuard(strapi) as any);
  strapi.db.lifecycles.subscribe(storageBoundary(strapi) as any);
  strapi.db.lifecycles.subscribe(appendOnly as any);
};
