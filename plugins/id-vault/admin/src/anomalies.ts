import type { IntlShape } from 'react-intl';
import type { ActorNames } from './audit';
import { t } from './utils';

/** Anomaly alerts as the admin routes (`/id-vault/anomalies`, `/id-vault/anomaly-settings`) answer them. */

export const ANOMALY_KINDS = ['views', 'reveals', 'exports'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface Anomaly {
  id: number;
  actorType: string;
  actorId: string;
  kind: AnomalyKind;
  count: number;
  threshold: number;
  windowMinutes: number;
  detectedAt: string;
  clearedAt: string | null;
}

export interface AnomalySettings {
  views: number;
  reveals: number;
  exports: number;
  windowMinutes: number;
  suspend: boolean;
}

export interface OpenAnomalies {
  anomalies: Anomaly[];
  actors: ActorNames;
  settings: AnomalySettings;
}

const KIND_LABELS = {
  views: t('anomalies.kind.views', 'Customer views'),
  reveals: t('anomalies.kind.reveals', 'Reveals'),
  exports: t('anomalies.kind.exports', 'Exports'),
};

export const kindLabel = (formatMessage: IntlShape['formatMessage'], kind: string) =>
  kind in KIND_LABELS ? formatMessage(KIND_LABELS[kind as AnomalyKind]) : kind;

/** "12 in 10 min (more than 10)". */
export const countLabel = (formatMessage: IntlShape['formatMessage'], a: Anomaly) =>
  formatMessage(t('anomalies.count', '{count} in {minutes} min (more than {threshold})'), { count: a.count, minutes: a.windowMinutes, threshold: a.threshold });
