import type { Core } from '@strapi/strapi';

/** Query keys whose values name fields or pages, never data: logged as they are. Everything else is redacted. */
const HARMLESS = /^(page|pageSize|pagination\[[a-zA-Z]+\]|sort(\[\d*\])?|locale|status|fields(\[\d*\])?|populate(\[[^\]=]*\])*)$/;

/** `a=1&filters[x][$eq]=secret` → `a=1&filters[x][$eq]=***` (keys kept, so the line still says what was asked). */
export const redactQuery = (querystring: string): string =>
  querystring
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const i = pair.indexOf('=');
      const rawKey = i < 0 ? pair : pair.slice(0, i);
      let key = rawKey;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      } catch {
        return '***';
      }
      if (i < 0) return HARMLESS.test(key) ? rawKey : '***';
      return HARMLESS.test(key) ? pair : `${rawKey}=***`;
    })
    .join('&');

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
