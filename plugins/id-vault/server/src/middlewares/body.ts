import type { Core } from '@strapi/strapi';

/** Upload routes of scans (content API and admin): their multipart bodies are read by scans/multipart.ts. */
export const SCAN_UPLOAD_PATH = /^\/(?:api\/)?id-vault\/identity-documents\/[^/]+\/scans\/?$/;

/**
 * Wraps `strapi::body` (in register, through the middleware registry's `extend`) so it skips the scan
 * upload routes. Strapi's body parser (koa-body + formidable) is global and runs before routing: it would
 * write every uploaded file, in plaintext, to the OS temp directory before any controller runs. Strapi
 * requires a middleware named `strapi::body` in config/middlewares.ts, so the wrapper takes its place
 * under that name, with the same options; every other route (the Media Library's uploads included) is
 * parsed exactly as before.
 */
export const skipScanUploads = (strapi: Core.Strapi) => {
  (strapi.get('middlewares') as any).extend('strapi::body', (factory: any) => (config: any, deps: any) => {
    const body = factory(config, deps);
    return (ctx: any, next: () => Promise<void>) => (ctx.method === 'POST' && SCAN_UPLOAD_PATH.test(ctx.path) ? next() : body(ctx, next));
  });
};
