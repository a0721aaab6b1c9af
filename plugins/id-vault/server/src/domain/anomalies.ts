import { z } from 'zod';
import { reasonSchema } from './grants';

/** Anomaly alerts over the audit trail: what is counted, the thresholds, and what a suspended caller is told. Pure. */

export const ANOMALY_KINDS = ['views', 'reveals', 'exports'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** Actors counted "per user": admin users, users-permissions users and API tokens (never the system or the public). */
export const WATCHED_ACTORS = new Set(['admin', 'user', 'api-token']);

/**
 * Which kind an audit event counts towards, if any:
 * - views: customers seen — each `customer.view` (one customer opened) and each row a `customer.list`
 *   returned (its `details.count`; a list page of 10 counts 10);
 * - reveals: successful `customer.reveal`;
 * - exports: `customer.export` that produced output (success, or failure part-way), as the daily cap counts them.
 * Refusals count towards nothing: a suspended caller retrying does not deepen its own alert.
 */
export const anomalyKindOf = (action: string, outcome: string): AnomalyKind | null => {
  if ((action === 'customer.view' || action === 'customer.list') && outcome === 'success') return 'views';
  if (action === 'customer.reveal' && outcome === 'success') return 'reveals';
  if (action === 'customer.export' && (outcome === 'success' || outcome === 'failure')) return 'exports';
  return null;
};

const threshold = z.number().int().min(1).max(1_000_000);
export const anomalySettingsSchema = z
  .object({
    /** An alert when an actor's count in the window is *more than* its threshold. */
    views: threshold,
    reveals: threshold,
    exports: threshold,
    windowMinutes: z.number().int().min(1).max(1440),
    /** Suspend the actor's reveal and export while an alert of theirs is open. */
    suspend: z.boolean(),
  })
  .strict();
export type AnomalySettings = z.infer<typeof anomalySettingsSchema>;

export const DEFAULT_ANOMALY_SETTINGS: AnomalySettings = { views: 100, reveals: 10, exports: 3, windowMinutes: 10, suspend: true };

export const clearAnomalySchema = z.object({ reason: reasonSchema }).strict();

const KIND_WORDS: Record<AnomalyKind, string> = { views: 'customer views', reveals: 'reveals', exports: 'exports' };

/** What a suspended caller's refused reveal or export says (no values: counts, times and the way out). */
export const suspensionMessage = (a: { kind: AnomalyKind; count: number; threshold: number; windowMinutes: number; detectedAt: string }) =>
  `reveal, export and scan downloads are suspended for your account since ${a.detectedAt} after an unusual number of ${KIND_WORDS[a.kind]} ` +
  `(${a.count} in ${a.windowMinutes} minutes, more than ${a.threshold}); an archive admin can clear it`;
