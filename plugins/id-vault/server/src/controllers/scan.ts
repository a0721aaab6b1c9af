import type { Core } from '@strapi/strapi';
import { getService } from '../utils/strapi';
import { readFiles } from '../scans/multipart';
import type { ScanResponse } from '../services/scans';

/** Headers of every scan body: never cached, never sniffed into another type, shown inline or downloaded. */
export const sendScan = (ctx: any, r: ScanResponse) => {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Content-Disposition', r.disposition);
  ctx.type = r.mime;
  ctx.body = r.body;
};

/**
 * The scan handlers, shared by the content API (`/api/id-vault/...`, controller `scan`) and the admin
 * routes (`/id-vault/...`). Content-API permissions (Users & Permissions, custom API tokens) are one per
 * handler: view (list, preview, thumbnail), upload, download, delete.
 */
export const scanHandlers = (strapi: Core.Strapi) => {
  const scans = () => getService(strapi, 'scans');
  return {
    async list(ctx: any) {
      ctx.body = { data: await scans().list(ctx.params.documentId) };
    },
    async upload(ctx: any) {
      const cfg = scans().config();
      const files = await readFiles(ctx.req, { maxFileBytes: cfg.maxFileBytes, maxFiles: cfg.maxFiles });
      ctx.status = 201;
      ctx.body = { data: await scans().upload(ctx.params.documentId, files) };
    },
    async preview(ctx: any) {
      sendScan(ctx, await scans().view(ctx.params.id, 'preview'));
    },
    async thumbnail(ctx: any) {
      sendScan(ctx, await scans().view(ctx.params.id, 'thumbnail'));
    },
    async download(ctx: any) {
      sendScan(ctx, await scans().download(ctx.params.id));
    },
    async delete(ctx: any) {
      ctx.body = { data: await scans().remove(ctx.params.id) };
    },
  };
};

/** Content API: `view` answers the list and both renderings (one permission for what shows a scan). */
export default ({ strapi }: { strapi: Core.Strapi }) => {
  const h = scanHandlers(strapi);
  return {
    view: (ctx: any) => (ctx.params.id ? (ctx.path.endsWith('/thumbnail') ? h.thumbnail(ctx) : h.preview(ctx)) : h.list(ctx)),
    upload: h.upload,
    download: h.download,
    delete: h.delete,
  };
};
