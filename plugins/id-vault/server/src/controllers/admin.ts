import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { getService, ACTIONS } from '../utils/strapi';
import { scanHandlers } from './scan';
import { parseAuditQuery } from '../services/audit-log';
import { exportFileName } from '../domain/export';

/** The admin panel's own routes (`/id-vault/...`, admin JWT); permissions are checked by route policies too. */
export default ({ strapi }: { strapi: Core.Strapi }) => {
  const access = () => getService(strapi, 'access');
  const grants = () => getService(strapi, 'grants');
  const canApprove = (ctx: any) => !!ctx.state.userAbility?.can(ACTIONS['grant.approve']);
  const scan = scanHandlers(strapi);
  const documents = () => getService(strapi, 'documents');
  const auditLog = () => getService(strapi, 'audit-log');
  const recipients = () => getService(strapi, 'export-recipients');
  const anomalies = () => getService(strapi, 'anomalies');
  const retention = () => getService(strapi, 'retention');

  return {
    async getAccessPolicy(ctx: any) {
      ctx.body = { data: await access().describe() };
    },
    async putAccessPolicy(ctx: any) {
      ctx.body = { data: await access().save(ctx.request.body?.policy) };
    },
    async revealRight(ctx: any) {
      ctx.body = { data: { reveal: await grants().mayReveal(await access().current(), ctx.params.documentId) } };
    },
    async reveal(ctx: any) {
      ctx.body = { data: await grants().reveal(await access().current(), ctx.params.documentId, ctx.request.body) };
    },
    async listGrants(ctx: any) {
      ctx.body = { data: await grants().list(ctx.state.user, canApprove(ctx)), meta: { maxDays: grants().maxDays(), noHead: !(await grants().chainHasHead(ctx.state.user.id)) } };
    },
    async requestGrant(ctx: any) {
      ctx.body = { data: await grants().request(ctx.state.user, ctx.request.body) };
    },
    async approveGrant(ctx: any) {
      ctx.body = { data: await grants().approve(ctx.state.user, ctx.params.documentId) };
    },
    async rejectGrant(ctx: any) {
      ctx.body = { data: await grants().decide(ctx.state.user, ctx.params.documentId, 'reject', canApprove(ctx)) };
    },
    listScans: scan.list,
    uploadScans: scan.upload,
    previewScan: scan.preview,
    thumbnailScan: scan.thumbnail,
    downloadScan: scan.download,
    deleteScan: scan.delete,
    async customerDocuments(ctx: any) {
      ctx.body = { data: await documents().panel(ctx.params.documentId, !!ctx.state.userAbility?.can(ACTIONS['scan.view'])) };
    },
    async documentsAttention(ctx: any) {
      const days = Number(ctx.query.days ?? 30);
      if (!Number.isInteger(days) || days < 0 || days > 3650) throw new errors.ValidationError('days must be a whole number from 0 to 3650');
      ctx.body = { data: await documents().attention(days) };
    },
    async auditEvents(ctx: any) {
      ctx.body = { data: await auditLog().page(parseAuditQuery(ctx.query)) };
    },
    /** The filtered events as a CSV download (the page's filters; `before` is ignored unless given). */
    async auditExport(ctx: any) {
      const { limit: _limit, ...filters } = ctx.query ?? {};
      const body = await auditLog().exportCsv(ctx, parseAuditQuery(filters));
      const timeZone = (strapi.config.get('plugin::id-vault.scans') as { timeZone: string }).timeZone;
      ctx.set('Cache-Control', 'no-store');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Content-Disposition', `attachment; filename="${exportFileName(new Date(), timeZone, 'csv', 'audit-log')}"`);
      ctx.set('Content-Type', 'text/csv; charset=utf-8');
      ctx.body = body;
    },
    async auditStats(ctx: any) {
      const days = Number(ctx.query.days ?? 30);
      if (!Number.isInteger(days) || days < 1 || days > 366) throw new errors.ValidationError('days must be a whole number from 1 to 366');
      ctx.body = { data: await auditLog().stats(days) };
    },
    async eraseCustomer(ctx: any) {
      ctx.body = { data: await getService(strapi, 'erasure').erase(ctx.params.documentId, ctx.request.body?.reason) };
    },
    async listBackups(ctx: any) {
      ctx.body = { data: await getService(strapi, 'backup').status() };
    },
    async createBackup(ctx: any) {
      ctx.status = 202;
      ctx.body = { data: await getService(strapi, 'backup').start((await access().current()).caller) };
    },
    async downloadBackup(ctx: any) {
      const { file, bytes, stream } = await getService(strapi, 'backup').download(ctx.params.file, (await access().current()).caller);
      ctx.set('Cache-Control', 'no-store');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Content-Disposition', `attachment; filename="${file}"`);
      ctx.set('Content-Length', String(bytes));
      ctx.type = 'application/octet-stream';
      ctx.body = stream;
    },
    async keysStatus(ctx: any) {
      const status = await getService(strapi, 'rotation').status();
      // Which kept backups need each master key (a key may leave the ring only when none does).
      const kept = await getService(strapi, 'backup').list();
      const backups = (id: string) => kept.filter((b) => (b.needsMasterKeys ?? [b.masterKeyId]).includes(id)).length;
      ctx.body = { data: { ...status, masterKeys: status.masterKeys.map((k: any) => ({ ...k, backups: backups(k.masterKeyId) })) } };
    },
    async auditStatus(ctx: any) {
      ctx.body = { data: await auditLog().status() };
    },
    async auditVerify(ctx: any) {
      ctx.status = 202;
      ctx.body = { data: await auditLog().startVerify() };
    },
    async customerAudit(ctx: any) {
      ctx.body = { data: await auditLog().ofCustomer(ctx.params.documentId) };
    },
    async listExportRecipients(ctx: any) {
      // settings.manage: the whole view (the settings page); an export right: what the Export button's menu
      // needs (no certificate subject, which may name a person); anyone else: 403.
      const can = (a: string) => !!ctx.state.userAbility?.can(ACTIONS[a]);
      const full = can('settings.manage');
      if (!full && !can('export.masked') && !can('export.plain')) return ctx.forbidden('listing export recipients needs an export right or settings.manage');
      const list = await recipients().list();
      // The switch, so that the Export button offers a plain file only where the server would send one.
      const { plainOnlyEncrypted } = strapi.config.get('plugin::id-vault.exports') as { plainOnlyEncrypted: boolean };
      ctx.body = {
        data: full ? list : list.map(({ documentId, name, fingerprint, valid }) => ({ documentId, name, fingerprint, valid })),
        meta: { plainOnlyEncrypted: plainOnlyEncrypted !== false },
      };
    },
    async addExportRecipient(ctx: any) {
      ctx.status = 201;
      ctx.body = { data: await recipients().add(ctx.request.body) };
    },
    async deleteExportRecipient(ctx: any) {
      await recipients().remove(ctx.params.documentId);
      ctx.body = { data: { documentId: ctx.params.documentId } };
    },
    async getRequiredDocuments(ctx: any) {
      ctx.body = { data: await documents().rules() };
    },
    async putRequiredDocuments(ctx: any) {
      ctx.body = { data: await documents().saveRules(ctx.request.body?.rules) };
    },
    async listAnomalies(ctx: any) {
      ctx.body = { data: await anomalies().list() };
    },
    async clearAnomaly(ctx: any) {
      ctx.body = { data: await anomalies().clear(ctx.state.user, ctx.params.id, ctx.request.body) };
    },
    async getAnomalySettings(ctx: any) {
      ctx.body = { data: await anomalies().settings() };
    },
    async putAnomalySettings(ctx: any) {
      ctx.body = { data: await anomalies().saveSettings(ctx.request.body?.settings) };
    },
    async getRetentionSettings(ctx: any) {
      ctx.body = { data: await retention().settings() };
    },
    async putRetentionSettings(ctx: any) {
      ctx.body = { data: await retention().saveSettings(ctx.request.body?.settings) };
    },
    async retentionScan(ctx: any) {
      ctx.body = { data: await retention().scan() };
    },
    async retentionCandidates(ctx: any) {
      ctx.body = { data: await retention().list(ctx.query ?? {}) };
    },
    async approveRetentionCandidate(ctx: any) {
      ctx.body = { data: await retention().approve(ctx.state.user, ctx.params.id, ctx.request.body) };
    },
    async dismissRetentionCandidate(ctx: any) {
      ctx.body = { data: await retention().dismiss(ctx.state.user, ctx.params.id, ctx.request.body) };
    },
    async revokeGrant(ctx: any) {
      ctx.body = { data: await grants().decide(ctx.state.user, ctx.params.documentId, 'revoke', canApprove(ctx)) };
    },
  };
};
