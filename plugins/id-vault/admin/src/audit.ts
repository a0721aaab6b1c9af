import type { IntlShape, MessageDescriptor } from 'react-intl';
import { PLUGIN_ID, t } from './utils';

/** The audit trail as the admin routes (`/id-vault/audit-log/…`, `audit.read`) answer it. */

export const ACTOR_TYPES = ['admin', 'user', 'api-token', 'public', 'system'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];
export const OUTCOMES = ['success', 'rejected', 'denied', 'failure'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface AuditEvent {
  id: number;
  /** Its place in the hash chain; null while the event waits to be chained. */
  seq: number | null;
  occurredAt: string;
  actorType: ActorType;
  actorId: string | null;
  action: string;
  subjectUid: string | null;
  subjectId: string | null;
  fields: string[];
  outcome: Outcome;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}

/** Display names by `<actorType>:<actorId>` (admins, users, API tokens), for the events they came with. */
export type ActorNames = Record<string, string>;

export interface AuditPage {
  events: AuditEvent[];
  /** The cursor of the next page (passed as `before`), null on the last one. */
  next: number | null;
  actors: ActorNames;
}

export interface AuditStats {
  days: number;
  perDay: Array<{ day: string; action: string; count: number }>;
  topActors: Array<{ actorType: ActorType; actorId: string; views: number; reveals: number }>;
  actors: ActorNames;
}

export type ChainStatus =
  | { state: 'never' }
  | { state: 'running'; startedAt: string }
  | {
      state: 'done';
      startedAt: string;
      finishedAt: string;
      ok: boolean;
      count: number;
      brokenAt: number | null;
      reason: string | null;
      pending: number;
    }
  | { state: 'failed'; startedAt: string; finishedAt: string; error: string };

/** The filters of the events route, in the order the filter form shows them; the page's URL query carries them. */
export const FILTER_KEYS = ['from', 'to', 'actorType', 'actorId', 'action', 'outcome', 'subject', 'ip'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

export const AUDIT_LOG_PATH = `/plugins/${PLUGIN_ID}/audit-log`;

/** The Audit log page with these filters. */
export const auditLogPath = (filters: Filters) => `${AUDIT_LOG_PATH}?${new URLSearchParams(filters as Record<string, string>)}`;

const ACTOR_TYPE_LABELS: Record<ActorType, MessageDescriptor> = {
  admin: t('audit.actorType.admin', 'Admin'),
  user: t('audit.actorType.user', 'User'),
  'api-token': t('audit.actorType.api-token', 'API token'),
  public: t('audit.actorType.public', 'Public'),
  system: t('audit.actorType.system', 'System'),
};

export const actorTypeLabel = (formatMessage: IntlShape['formatMessage'], type: string) =>
  type in ACTOR_TYPE_LABELS ? formatMessage(ACTOR_TYPE_LABELS[type as ActorType]) : type;

/** Who did it: the actor's name, else its type and id (a deleted admin keeps its id in the log). */
export const actorName = (
  formatMessage: IntlShape['formatMessage'],
  actors: ActorNames,
  e: { actorType: string; actorId: string | null },
) => actors[`${e.actorType}:${e.actorId}`] ?? [actorTypeLabel(formatMessage, e.actorType), e.actorId].filter(Boolean).join(' ');

export const OUTCOME_BADGES: Record<Outcome, { label: MessageDescriptor; variant: 'success' | 'warning' | 'danger' }> = {
  success: { label: t('audit.outcome.success', 'Success'), variant: 'success' },
  rejected: { label: t('audit.outcome.rejected', 'Rejected'), variant: 'warning' },
  denied: { label: t('audit.outcome.denied', 'Denied'), variant: 'danger' },
  failure: { label: t('audit.outcome.failure', 'Failure'), variant: 'danger' },
};

/** What an event was about: the content type's short name (`customer`) and the documentId. */
export const subjectLabel = (e: Pick<AuditEvent, 'subjectUid' | 'subjectId'>) =>
  [e.subjectUid?.split('.').pop(), e.subjectId].filter(Boolean).join(' · ');

export const DATE_TIME = { dateStyle: 'medium', timeStyle: 'medium' } as const;
