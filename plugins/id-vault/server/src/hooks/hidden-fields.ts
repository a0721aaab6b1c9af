import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { isPlainObject, type Access } from '../domain';
import { getService } from '../utils/strapi';
import { validationAccess, withValidationAccess } from '../utils/caller';

/**
 * A hidden field answers exactly what an unknown field answers. On the REST surface that answer comes from
 * Strapi's own query validator ("Invalid key X", with Strapi's details, at every parameter and nesting
 * level). So during content-API validation, and only then, each encrypted attribute hidden from the caller
 * reads as `private` — which Strapi's validator refuses with that very answer. Written values get the
 * answer an unknown root key gets (`validate.input`).
 */
export const installHiddenFields = (strapi: Core.Strapi) => {
  const fields = getService(strapi, 'fields');
  for (const uid of fields.uids()) {
    const attributes = (strapi.getModel(uid as any) as any).attributes;
    for (const { name } of fields.of(uid)) {
      const attr = attributes[name];
      const declared = attr.private === true;
      Object.defineProperty(attr, 'private', {
        configurable: true,
        enumerable: declared,
        get: () => declared || validationAccess()?.visibility(uid, name) === 'hidden',
      });
    }
  }

  const hiddenKeys = (a: Access) => new Set(fields.uids().flatMap((uid) => fields.of(uid).filter((f) => a.visibility(uid, f.name) === 'hidden').map((f) => f.name)));
  /**
   * Strapi's private-attribute answer names the attribute's own path (`customers.phone`); an unknown key's
   * names its parent's (`customers`, or null at the root). Rewritten to the unknown key's, byte for byte.
   */
  const asUnknown = (e: unknown, a: Access) => {
    const details = (e as any)?.details;
    if (!(e instanceof errors.ValidationError) || !details || !hiddenKeys(a).has(details.key)) return e;
    const parts = typeof details.path === 'string' ? details.path.split('.') : [];
    if (parts[parts.length - 1] === details.key) parts.pop();
    const path = parts.length ? parts.join('.') : null;
    const error = new errors.ValidationError(path ? `Invalid key ${details.key} at ${path}` : `Invalid key ${details.key}`, { ...details, key: details.key, path });
    return error;
  };
  const validate: any = strapi.contentAPI.validate;
  const access = () => getService(strapi, 'access').current();
  const query = validate.query;
  validate.query = async (q: unknown, schema: any, options: unknown) => {
    const a = await access();
    try {
      return await withValidationAccess(a, () => query(q, schema, options));
    } catch (e) {
      throw asUnknown(e, a);
    }
  };
  const input = validate.input;
  validate.input = async (data: unknown, schema: any, options: unknown) => {
    const a = await access();
    await withValidationAccess(a, () => input(data, schema, options));
    for (const entry of Array.isArray(data) ? data : [data]) {
      if (!isPlainObject(entry) || !schema?.uid) continue;
      const key = fields.of(schema.uid).find((f) => entry[f.name] !== undefined && a.visibility(schema.uid, f.name) === 'hidden')?.name;
      if (key) throw new errors.ValidationError(`Invalid key ${key}`, { key, path: null, source: 'body' });
    }
  };
};
