import type { Core } from '@strapi/strapi';
import contentTypes from './index';
import { PLUGIN_ID } from '../utils/strapi';

type Attributes = Record<string, any>;

/**
 * The plugin's own attributes, copied when the plugin's code is loaded: Strapi's loader later replaces each
 * `contentTypes[name].schema` of the plugin's export with the shallowly merged one.
 */
const OWN: Record<string, Attributes> = Object.fromEntries(Object.entries(contentTypes).map(([name, { schema }]) => [name, structuredClone(schema.attributes)]));

/**
 * The plugin's own attributes of a type with the additions of an extension schema: every plugin attribute,
 * as the plugin defines it (an extension never turns an encrypted field into a plain one, nor drops a field a
 * later plugin version adds), then the extension's other attributes in their order (what admins added in the
 * Content-Type Builder). Pure.
 */
export const mergeAttributes = (own: Attributes, extended: Attributes): Attributes => {
  const merged: Attributes = structuredClone(own);
  for (const [name, attribute] of Object.entries(extended)) if (!(name in merged)) merged[name] = attribute;
  return merged;
};

/**
 * Strapi merges `src/extensions/id-vault/content-types/<type>/schema.json` into the plugin's schema shallowly
 * (core's plugin loader: `{ ...pluginSchema, ...extensionSchema }`), so the extension's attribute list —
 * written whole by the Content-Type Builder — replaces the plugin's. Called first in register(), before the
 * custom field types are swapped and before any model exists: puts the plugin's attributes back under the
 * admin's additions, in the registered type and in the `__schema__` the Content-Type Builder edits and writes.
 */
export const mergeExtensionAttributes = (strapi: Core.Strapi) => {
  for (const [name, own] of Object.entries(OWN)) {
    const ct: any = strapi.get('content-types').get(`plugin::${PLUGIN_ID}.${name}`);
    if (!ct) continue;
    ct.attributes = mergeAttributes(own, ct.attributes);
    if (ct.__schema__?.attributes) ct.__schema__.attributes = mergeAttributes(own, ct.__schema__.attributes);
  }
};
