import type { Core } from '@strapi/strapi';
import { redactQuery } from '../domain';

/**
 * Replaces `strapi::logger` (config/middlewares.ts): the same line — method, URL, time, status — but query
 * values that could be personal data (filter values, search terms, ids to omit) are redacted.
 */
export const requestLog = (_config: unknown, { strapi }: { strapi: Core.Strapi }) => async (ctx: any, next: () => Promise<void>) => {
  const start = Date.now();
  await next();
  const delta = Math.ceil(Date.now() - start);
  const query = ctx.querystring ? `?${redactQuery(ctx.querystring)}` : '';
  strapi.log.http(`${ctx.method} ${ctx.path}${query} (${delta} ms) ${ctx.status}`);
};
