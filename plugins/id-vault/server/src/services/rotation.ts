import type { Core } from '@strapi/strapi';
import { getService, UIDS } from '../utils/strapi';
import type { MasterKeyUsage } from './keys';

/** Passes over the table at most: a pass finds what writers still wrapping under an old key added behind it. */
const MAX_PASSES = 3;

export interface RotationResult {
  activeMasterKeyId: string;
  rewrapped: number;
  /** Data keys that did not unwrap (tampered rows): left as they were, and named by count only. */
  failed: number;
  /** Master key id the latest audit checkpoint was re-signed from, or null if it needed nothing. */
  checkpointResignedFrom: string | null;
  /** Erasure-ledger entries appended again under the active key (those an older key signed). */
  ledgerResigned: number;
  usage: MasterKeyUsage[];
}

/**
 * Master-key rotation (`npm run keys:rotate`): every data key not under the active master key is re-wrapped
 * under it, batch by batch (keys.rewrapBatch), while the app keeps serving and writing from other processes.
 * Resumable by construction: each batch commits on its own and a rerun picks up what is still under an old
 * key, so a kill -9 at any moment loses nothing. Then the latest audit checkpoint is re-signed under the
 * active key, so the retired key is needed neither by data keys nor by audit verification. Recorded:
 * `keys.rotate.started`, then `keys.rotate` (counts) or a failure.
 */
const rotation = ({ strapi }: { strapi: Core.Strapi }) => {
  const keys = () => getService(strapi, 'keys');
  const audit = () => getService(strapi, 'audit');
  const pendingCount = async () => (await keys().usage()).filter((u) => !u.active).reduce((n, u) => n + u.dataKeys, 0);

  const lastEvent = async (action: string) => {
    const m: any = strapi.db.metadata.get(UIDS.auditEvent);
    const col = (attr: string): string => m.attributes[attr]?.columnName ?? attr;
    const row = await strapi.db.connection(m.tableName).where(col('action'), action).orderBy('id', 'desc').first('id', col('occurredAt'), col('outcome'), col('details'));
    if (!row) return null;
    const details = typeof row[col('details')] === 'string' ? JSON.parse(row[col('details')]) : row[col('details')] ?? {};
    return { id: Number(row.id), at: row[col('occurredAt')] as string, outcome: row[col('outcome')] as string, details };
  };

  return {
    pendingCount,

    /**
     * What the Keys page shows: each master key with the data keys it wraps, the last rotation, and a
     * rotation in progress (started, not finished — possibly killed; it says so, a rerun finishes it) with
     * how far it got, counted live from the table, so a command in another process shows here too.
     */
    async status() {
      const usage = await keys().usage();
      const [started, finished] = await Promise.all([lastEvent('keys.rotate.started'), lastEvent('keys.rotate')]);
      const pending = usage.filter((u) => !u.active).reduce((n, u) => n + u.dataKeys, 0);
      const inProgress =
        started && (!finished || finished.id < started.id)
          ? { startedAt: started.at, total: Number(started.details.pending ?? 0), left: pending }
          : null;
      const last = finished ? { at: finished.at, outcome: finished.outcome, rewrapped: finished.details.rewrapped ?? 0, failed: finished.details.failed ?? 0, to: finished.details.to ?? null } : null;
      // The blind-index root: its version, an index rotation in progress (npm run keys:rotate-index), the last one.
      const index = await getService(strapi, 'index-rotation').status();
      const indexFinished = await lastEvent('keys.rotate-index');
      const lastIndexRotation = indexFinished ? { at: indexFinished.at, outcome: indexFinished.outcome, from: indexFinished.details.from ?? null, to: indexFinished.details.to ?? null } : null;
      return { activeMasterKeyId: keys().activeMasterKeyId(), masterKeys: usage, pending, lastRotation: last, inProgress, indexRoot: { ...index, lastRotation: lastIndexRotation } };
    },

    async rotate(progress: (done: number, total: number) => void = () => {}): Promise<RotationResult> {
      const active = keys().activeMasterKeyId();
      const system = { kind: 'system' } as const;
      let total = await pendingCount();
      await audit().record({ action: 'keys.rotate.started', outcome: 'success', caller: system, details: { to: active, pending: total } });
      let rewrapped = 0;
      let failed = 0;
      try {
        for (let pass = 0; pass < MAX_PASSES; pass += 1) {
          let afterId = 0;
          let progressed = 0;
          for (;;) {
            const batch = await keys().rewrapBatch(afterId);
            if (!batch.seen) break;
            afterId = batch.lastId;
            rewrapped += batch.rewrapped;
            progressed += batch.rewrapped;
            if (pass === 0) failed += batch.failed;
            progress(rewrapped + failed, Math.max(total, rewrapped + failed));
          }
          const left = (await pendingCount()) - failed;
          if (left <= 0 || !progressed) break;
          total = rewrapped + failed + left;
        }
        const checkpointResignedFrom = await audit().resignCheckpoint();
        const ledgerResigned = await getService(strapi, 'erasure').resignLedger();
        const usage = await keys().usage();
        await audit().record({ action: 'keys.rotate', outcome: failed ? 'failure' : 'success', caller: system, details: { to: active, rewrapped, failed, checkpointResignedFrom, ledgerResigned, usage } });
        return { activeMasterKeyId: active, rewrapped, failed, checkpointResignedFrom, ledgerResigned, usage };
      } catch (e) {
        await audit().record({ action: 'keys.rotate', outcome: 'failure', caller: system, details: { to: active, rewrapped, failed, error: (e as any).code ?? (e as Error).name } }).catch(() => {});
        throw e;
      } finally {
        // The events are written; with the database busy (SQLite, another process writing) their chaining
        // is left to the next round of any process rather than failing work that is done.
        await audit().flush().catch((e: any) => strapi.log.warn(`id-vault: the rotation events stay pending, chained later (${e?.code ?? e?.name})`));
      }
    },
  };
};

export type RotationService = ReturnType<typeof rotation>;
export default rotation;
