import type { Core } from '@strapi/strapi';
import { asSystem } from './caller';
import { UIDS, stamps } from './strapi';

/**
 * Runs `fn` as the system at most once per `runKey` across every process on the database: the first to
 * insert the key into idv_job_runs (unique) runs it; the others skip. Returns fn's result, or null when
 * another process had it. A run that fails removes its key, so the next trigger tries again.
 */
export const onceAcrossProcesses = async <T>(strapi: Core.Strapi, runKey: string, fn: () => Promise<T>): Promise<T | null> => {
  const meta: any = strapi.db.metadata.get(UIDS.jobRun);
  const col = (a: string) => meta.attributes[a]?.columnName ?? a;
  const { document_id, created_at, updated_at } = stamps(strapi);
  const won = await strapi.db
    .connection(meta.tableName)
    .insert({ [col('runKey')]: runKey, document_id, created_at, updated_at })
    .onConflict(col('runKey'))
    .ignore()
    .returning('id');
  if (!won.length) return null;
  try {
    const result = await asSystem(fn);
    await strapi.db.connection(meta.tableName).where(col('runKey'), runKey).update({ [col('result')]: JSON.stringify(result ?? null) });
    return result;
  } catch (e) {
    await strapi.db.connection(meta.tableName).where(col('runKey'), runKey).delete();
    throw e;
  }
};
