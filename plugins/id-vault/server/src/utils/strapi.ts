import { randomBytes } from 'node:crypto';
import type { Core } from '@strapi/strapi';
import { UIDS, ENCRYPTED_FIELD, PLUGIN_ID, ACTIONS, ACTION_LIST, CONDITIONS, ARCHIVE_ADMIN_ROLE, FIELD_LABELS } from '../../../shared';
import type { KeysService } from '../services/keys';
import type { FieldsService } from '../services/fields';
import type { VaultService } from '../services/vault';
import type { AuditService } from '../services/audit';
import type { AccessService } from '../services/access';
import type { GrantsService } from '../services/grants';
import type { ScansService } from '../services/scans';
import type { DocumentsService } from '../services/documents';
import type { ExportsService } from '../services/exports';
import type { AuditLogService } from '../services/audit-log';
import type { RotationService } from '../services/rotation';
import type { ErasureService } from '../services/erasure';
import type { ExportRecipientsService } from '../services/export-recipients';
import type { AnomaliesService } from '../services/anomalies';
import type { RetentionService } from '../services/retention';
import type { IndexRotationService } from '../services/index-rotation';
import type { ImportService } from '../services/import';
import type { BackupService } from '../services/backup';

export { UIDS, ENCRYPTED_FIELD, PLUGIN_ID, ACTIONS, ACTION_LIST, CONDITIONS, ARCHIVE_ADMIN_ROLE, FIELD_LABELS };

interface Services {
  keys: KeysService;
  fields: FieldsService;
  vault: VaultService;
  audit: AuditService;
  access: AccessService;
  grants: GrantsService;
  scans: ScansService;
  documents: DocumentsService;
  exports: ExportsService;
  'audit-log': AuditLogService;
  rotation: RotationService;
  erasure: ErasureService;
  'export-recipients': ExportRecipientsService;
  anomalies: AnomaliesService;
  retention: RetentionService;
  'index-rotation': IndexRotationService;
  import: ImportService;
  backup: BackupService;
}

/** The one typed way to reach a service of this plugin. */
export const getService = <K extends keyof Services>(strapi: Core.Strapi, name: K): Services[K] =>
  strapi.plugin(PLUGIN_ID).service(name) as Services[K];

/** Internal types never reachable by any API and skipped by every hook. */
/** A model's table and its column names by attribute (knex speaks columns), as the database layer maps them. */
export const tableOf = (strapi: Core.Strapi, uid: string) => {
  const m: any = strapi.db.metadata.get(uid as any);
  return { name: m.tableName as string, col: (attr: string): string => m.attributes[attr]?.columnName ?? attr, attributes: m.attributes as Record<string, any> };
};

export const INTERNAL_UIDS = new Set<string>([UIDS.dataKey, UIDS.blindIndex, UIDS.auditEvent, UIDS.auditCheckpoint, UIDS.accessGrant, UIDS.scan, UIDS.jobRun, UIDS.erasure, UIDS.exportRecipient, UIDS.anomaly, UIDS.retentionCandidate, UIDS.importRun]);

/**
 * Runs `fn` with the knex of the database transaction in progress (Strapi's, if any; nested
 * `db.transaction` hands over the outer one), else with the plain connection: writes the plugin makes with
 * knex — no db.query read-back — commit or roll back with the write they belong to.
 */
export const withKnex = <T>(strapi: Core.Strapi, fn: (knex: any) => Promise<T>): Promise<T> =>
  strapi.db.inTransaction() ? (strapi.db.transaction(({ trx }: any) => fn(trx)) as Promise<T>) : fn(strapi.db.connection);

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Same shape as Strapi's own document ids (24 lower-case letters and digits, starting with a letter). */
export const newDocumentId = (): string => {
  // One draw of random bytes, not 24 calls of randomInt (index rows take one each); bytes past the largest
  // multiple of the alphabet's size are skipped, so every character stays uniform.
  let id = '';
  while (id.length < 24) {
    for (const b of randomBytes(32)) {
      const size = id.length ? ALPHABET.length : 26;
      if (b >= 256 - (256 % size)) continue;
      id += ALPHABET[b % size];
      if (id.length === 24) break;
    }
  }
  return id;
};

/** Strapi's bookkeeping columns as db.query sets them (SQLite keeps epoch milliseconds). */
export const stamps = (strapi: Core.Strapi) => {
  const now = strapi.db.dialect.client === 'postgres' ? new Date() : Date.now();
  return { document_id: newDocumentId(), created_at: now, updated_at: now, published_at: now };
};
