import type { Core } from '@strapi/strapi';
import { parseFieldOptions, type EncryptedFieldOptions } from '../domain';
import { ENCRYPTED_FIELD, INTERNAL_UIDS } from '../utils/strapi';

export interface EncryptedAttribute {
  name: string;
  options: EncryptedFieldOptions;
}

/**
 * Which attributes of which content types are encrypted: every attribute whose customField is
 * plugin::id-vault.encrypted, the built-in ones and those admins add in the Content-Type Builder alike.
 */
const fields = ({ strapi }: { strapi: Core.Strapi }) => {
  let byUid: Map<string, EncryptedAttribute[]> | null = null;

  const build = () => {
    const indexBits = Number(strapi.config.get('plugin::id-vault.defaultIndexBits') ?? 64);
    const map = new Map<string, EncryptedAttribute[]>();
    for (const [uid, ct] of Object.entries(strapi.contentTypes)) {
      if (INTERNAL_UIDS.has(uid)) continue;
      const list: EncryptedAttribute[] = [];
      for (const [name, attr] of Object.entries<any>(ct.attributes)) {
        if (attr.customField !== ENCRYPTED_FIELD) continue;
        try {
          list.push({ name, options: parseFieldOptions(attr.options, { indexBits }) });
        } catch (e) {
          throw new Error(`id-vault: ${uid}.${name}: ${(e as Error).message}`);
        }
      }
      if (list.length) map.set(uid, list);
    }
    for (const [uid, comp] of Object.entries(strapi.components)) {
      for (const [name, attr] of Object.entries<any>(comp.attributes)) {
        if (attr.customField === ENCRYPTED_FIELD) {
          throw new Error(
            `id-vault: ${uid}.${name}: encrypted fields inside components are not supported yet; put the field on the content type itself.`
          );
        }
      }
    }
    return map;
  };

  const all = () => (byUid ??= build());

  return {
    /** Rebuilds the registry (call after content types changed, e.g. in bootstrap). */
    refresh() {
      byUid = build();
    },
    of(uid: string): EncryptedAttribute[] {
      return all().get(uid) ?? [];
    },
    find(uid: string, field: string): EncryptedAttribute | undefined {
      return all().get(uid)?.find((f) => f.name === field);
    },
    uids(): string[] {
      return [...all().keys()];
    },
  };
};

export type FieldsService = ReturnType<typeof fields>;
export default fields;
