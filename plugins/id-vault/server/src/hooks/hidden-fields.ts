import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { isPlainObject } from '../domain';
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

  const validate: any = strapi.contentAPI.validate;
  const access = () => getService(strapi, 'access').current();
  const query = validate.query;
  validate.query = async (q: unknown, schema: any, options: unknown) => withValidationAccess(await access(), () => query(q, schema, options));
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
