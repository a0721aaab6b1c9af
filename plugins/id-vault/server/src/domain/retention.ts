import { z } from 'zod';
import { mask } from './masking';
import { reasonSchema } from './grants';

/**
 * Retention rules (Settings → ID Vault → Retention): which records are due for erasure, and how a candidate is
 * named and keyed. Pure: the service finds the rows, this decides the cut-offs and shapes.
 */

export const RETENTION_RULES = ['customer-stale', 'document-expired'] as const;
export type RetentionRule = (typeof RETENTION_RULES)[number];
export const CANDIDATE_STATUSES = ['pending', 'approved', 'dismissed', 'auto-erased'] as const;
export type CandidateStatus = (typeof CANDIDATE_STATUSES)[number];

const DAY_MS = 86_400_000;
export const MAX_STALE_YEARS = 100;
export const MAX_EXPIRED_DAYS = 3650;

export const retentionSettingsSchema = z
  .object({
    /** Customers not updated for `years` years. */
    customers: z
      .object({
        enabled: z.boolean(),
        years: z.number({ error: 'a whole number of years' }).int('a whole number of years').min(1, 'at least 1 year').max(MAX_STALE_YEARS, `at most ${MAX_STALE_YEARS} years`),
        /** Erase without an archive admin's approval (recorded like an approval). Off by default. */
        autoErase: z.boolean(),
      })
      .strict(),
    /** Identity documents whose expiry date is more than `days` days ago. */
    documents: z
      .object({
        enabled: z.boolean(),
        days: z.number({ error: 'a whole number of days' }).int('a whole number of days').min(0, 'at least 0 days').max(MAX_EXPIRED_DAYS, `at most ${MAX_EXPIRED_DAYS} days`),
        autoErase: z.boolean(),
      })
      .strict(),
  })
  .strict();
export type RetentionSettings = z.infer<typeof retentionSettingsSchema>;

/** Nothing is listed, nothing erased, until an admin turns a rule on. */
export const DEFAULT_RETENTION_SETTINGS: RetentionSettings = {
  customers: { enabled: false, years: 5, autoErase: false },
  documents: { enabled: false, days: 365, autoErase: false },
};

/** Customers last updated before this instant have not been updated for `years` years (calendar years, UTC). */
export const staleBefore = (now: Date, years: number): Date => {
  const d = new Date(now.getTime());
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d;
};

/** Documents whose expiry date (YYYY-MM-DD) is before this day expired more than `days` days before `today`'s date (UTC). */
export const expiredBefore = (today: Date, days: number): string => {
  const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return new Date(midnight - days * DAY_MS).toISOString().slice(0, 10);
};

/**
 * One candidate per rule, record and version of what made it one (the customer's last update, the document's
 * expiry date): listing again finds the same key (nothing listed twice, whichever process runs), and a
 * dismissed candidate is listed again only once its record has changed and is due again.
 */
export const candidateKey = (rule: RetentionRule, documentId: string, version: string | number): string => `${rule}:${documentId}:${version}`;

/** What the candidate list shows of a customer's name: its first character. */
export const maskedName = (name: unknown): string | null => (typeof name === 'string' && name ? mask(name, 'name') : null);

export const approveCandidateSchema = z.object({ reason: reasonSchema }).strict();
export const dismissCandidateSchema = z.object({ reason: reasonSchema.optional() }).strict();

/** The reason an automatic erasure leaves in the tombstone (no personal data: the rule and its bound). */
export const autoEraseReason = (rule: RetentionRule, s: RetentionSettings): string =>
  rule === 'customer-stale'
    ? `retention rule: not updated for ${s.customers.years} years (automatic)`
    : `retention rule: expired more than ${s.documents.days} days ago (automatic)`;
