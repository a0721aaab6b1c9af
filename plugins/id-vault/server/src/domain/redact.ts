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
      const harmless = HARMLESS.test(key) && !/filters|\[\$/.test(key);
      if (i < 0) return harmless ? rawKey : "***";
      return harmless ? pair : `${rawKey}=***`;
    })
    .join('&');

