import { createHash } from 'node:crypto';
import os from 'node:os';
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

/** Another run of an exclusive job holds its lock (`exclusively`). */
export class JobRunningError extends Error {
  constructor(readonly job: string, readonly holder: string) {
    super(`another ${job} is running (${holder}); wait for it to finish`);
  }
}

/**
 * Runs `fn` while holding the lock of `job` across every process on the database; throws JobRunningError at
 * once when another run holds it. PostgreSQL: a session advisory lock on a connection of its own, held for
 * the run (a killed process's connection closes, and its lock goes with it). SQLite (one machine): a row of
 * idv_job_runs (`lock:<job>`) naming the holder's host and pid, claimed with one conditional statement; a
 * row whose process is gone (kill -9) is taken over, so a killed run never blocks the next.
 */
export const exclusively = async <T>(strapi: Core.Strapi, job: string, fn: () => Promise<T>): Promise<T> => {
  if (strapi.db.dialect.client === 'postgres') {
    const key = createHash('sha256').update(`id-vault:${job}`).digest().readBigInt64BE(0).toString();
    const pool = (strapi.db.connection as any).client;
    const conn = await pool.acquireConnection();
    try {
      const got = (await conn.query('select pg_try_advisory_lock($1::bigint) as ok', [key])).rows[0].ok;
      if (!got) throw new JobRunningError(job, 'it holds its PostgreSQL advisory lock');
      try {
        return await fn();
      } finally {
        await conn.query('select pg_advisory_unlock($1::bigint)', [key]).catch(() => {});
      }
    } finally {
      await pool.releaseConnection(conn);
    }
  }
  const meta: any = strapi.db.metadata.get(UIDS.jobRun);
  const col = (a: string) => meta.attributes[a]?.columnName ?? a;
  const knex = strapi.db.connection;
  const runKey = `lock:${job}`;
  const me = JSON.stringify({ host: os.hostname(), pid: process.pid, since: new Date().toISOString() });
  const alive = (holder: any) => {
    if (holder?.host !== os.hostname()) return true; // another machine's process: not ours to judge
    try {
      process.kill(holder.pid, 0);
      return true;
    } catch (e: any) {
      return e.code !== 'ESRCH';
    }
  };
  const { document_id, created_at, updated_at } = stamps(strapi);
  const inserted = await knex(meta.tableName).insert({ [col('runKey')]: runKey, [col('result')]: me, document_id, created_at, updated_at }).onConflict(col('runKey')).ignore().returning('id');
  if (!inserted.length) {
    const row = await knex(meta.tableName).where(col('runKey'), runKey).first(col('result'));
    const previous = row?.[col('result')] ?? null;
    let holder: any = null;
    try {
      holder = JSON.parse(previous);
    } catch {
      holder = null;
    }
    if (holder && alive(holder)) throw new JobRunningError(job, `pid ${holder.pid} on ${holder.host}, since ${holder.since}`);
    // The holder is gone: take the row over, unless another process just did.
    const claim = knex(meta.tableName).where(col('runKey'), runKey);
    const took = await (previous === null ? claim.whereNull(col('result')) : claim.andWhere(col('result'), previous)).update({ [col('result')]: me });
    if (!took) throw new JobRunningError(job, 'another process took it over just now');
  }
  try {
    return await fn();
  } finally {
    await knex(meta.tableName).where(col('runKey'), runKey).andWhere(col('result'), me).delete().catch(() => {});
  }
};
