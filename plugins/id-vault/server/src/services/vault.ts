import type { Core } from '@strapi/strapi';
import {
  encryptField,
  decryptField,
  decryptParsed,
  parseCiphertext,
  isCiphertext,
  ciphertextKeyId,
  exactIndex,
  prefixIndex,
  fieldIndexKey,
  type DataKey,
} from '../crypto';
import { validateValue, normalise, mask, SYSTEM_ACCESS as SYSTEM, type Access } from '../domain';
import { IdVaultQueryError, IdVaultValidationError } from '../errors';
import { getService, UIDS, withKnex, tableOf, stamps } from '../utils/strapi';
import { insertRows, deleteRows } from '../utils/sql';
import type { EncryptedAttribute } from './fields';
import { asSystem, oncePerRequest, type DecryptFailure } from '../utils/caller';

type Entry = Record<string, any>;
/** Attribute types that are not a column of the row itself. */
export const NOT_SCALAR = new Set(['relation', 'component', 'dynamiczone', 'media']);
/** One blind-index token ('e…' exact, 'p…' prefix) under the index root of `version`. */
export interface IndexToken {
  token: string;
  version: number;
}
/** Blind-index tokens of one record, per field, under every index root in use. An empty list clears the field. */
export type FieldTokens = Map<string, IndexToken[]>;

/**
 * The storage boundary and its mirror on the way out. Writing: validate plaintext, encrypt it under the
 * record's data key, compute blind-index tokens. Reading: decrypt, ask domain/ what the caller may see,
 * mask or drop, walking populated relations and components.
 */
const vault = ({ strapi }: { strapi: Core.Strapi }) => {
  const keys = () => getService(strapi, 'keys');
  const registry = () => getService(strapi, 'fields');
  const fieldKeys = new Map<string, Buffer>();
  const schemas = new Map<string, any>();
  const schemaOf = (uid: string): any => {
    if (!schemas.has(uid)) schemas.set(uid, strapi.getModel(uid as any) ?? null);
    return schemas.get(uid);
  };

  /** Table and column names of a model, as the database layer maps them. */
  const table = (uid: string) => tableOf(strapi, uid);

  /** The index root versions in use: the current one, and the next one while an index rotation runs. */
  const versions = () => getService(strapi, 'index-rotation').activeVersions();

  const fieldKey = async (uid: string, field: string, version: number): Promise<Buffer> => {
    const k = `${version}\u0000${uid}\u0000${field}`;
    let key = fieldKeys.get(k);
    if (!key) {
      key = fieldIndexKey(await keys().indexRootAt(version), uid, field);
      fieldKeys.set(k, key);
    }
    return key;
  };

  /** The form a value is indexed in: validated canonical form when it validates, then normalised. */
  const indexForm = (attr: EncryptedAttribute, raw: string): string => {
    const canonical = validateValue(attr.options.validate, raw);
    return normalise(canonical.ok ? canonical.value : raw, attr.options.normalise);
  };

  /** The tokens of one plaintext value under the index root of `version` (default: the current one). */
  const tokensFor = async (uid: string, attr: EncryptedAttribute, plain: string, version?: number): Promise<string[]> => {
    const { searchable, indexBits, prefixLength } = attr.options;
    if (searchable === 'none') return [];
    const key = await fieldKey(uid, attr.name, version ?? (await versions())[0]);
    const value = indexForm(attr, plain);
    const tokens = [`e${exactIndex(key, value, indexBits)}`];
    if (searchable === 'exact-prefix') {
      const p = prefixIndex(key, value, prefixLength, indexBits);
      if (p) tokens.push(`p${p}`);
    }
    return tokens;
  };

  /** Per content type, once: the attributes a result can nest other entries under. */
  const nestings = new Map<string, Array<{ name: string; target: string | null }> | null>();
  const nestedOf = (uid: string) => {
    if (!nestings.has(uid)) {
      const schema = schemaOf(uid);
      nestings.set(
        uid,
        schema &&
          Object.entries<any>(schema.attributes).flatMap(([name, a]): Array<{ name: string; target: string | null }> => {
            if (a.type === 'relation' && a.target) return [{ name, target: a.target as string }];
            if (a.type === 'component') return [{ name, target: a.component as string }];
            if (a.type === 'media') return [{ name, target: 'plugin::upload.file' }];
            if (a.type === 'dynamiczone') return [{ name, target: null }]; // each item names its component
            return [];
          })
      );
    }
    return nestings.get(uid);
  };

  /** Calls visit(uid, entry) for every entry in a result tree: the entry, populated relations, components. */
  const walk = (uid: string, value: unknown, visit: (uid: string, entry: Entry) => void): void => {
    if (Array.isArray(value)) return value.forEach((v) => walk(uid, v, visit));
    if (!value || typeof value !== 'object') return;
    const nested = nestedOf(uid);
    if (!nested) return;
    const entry = value as Entry;
    visit(uid, entry);
    for (const { name, target } of nested) {
      const v = entry[name];
      if (v === undefined || v === null) continue;
      if (target) walk(target, v, visit);
      else if (Array.isArray(v)) v.forEach((item) => item?.__component && walk(item.__component, item, visit));
    }
  };

  return {
    tokensFor,

    /** Drops the fields' HMAC keys derived from the index root of `version` (retired by an index rotation). */
    forgetIndexKeys(version: number): void {
      for (const k of [...fieldKeys.keys()]) if (k.startsWith(`${version}\u0000`)) fieldKeys.delete(k);
    },

    /**
     * Encrypts every encrypted attribute present in `data` in place and returns its blind-index tokens.
     * Idempotent: a value that already is ciphertext of this very record and field is kept (publish copies
     * rows); ciphertext of another record or field fails closed.
     */
    async protect(uid: string, data: Entry, documentId: string, creating = false): Promise<{ tokens: FieldTokens; plain: Record<string, string | null>; newKey: boolean }> {
      const tokens: FieldTokens = new Map();
      const plain: Record<string, string | null> = {};
      let dk: (DataKey & { created?: boolean }) | null = null;
      for (const attr of registry().of(uid)) {
        const v = data[attr.name];
        if (v === undefined) continue;
        if (v === null || v === '') {
          data[attr.name] = null;
          plain[attr.name] = null;
          tokens.set(attr.name, []);
          continue;
        }
        const ctx = { uid, documentId, field: attr.name };
        let value: string;
        if (isCiphertext(v)) {
          await keys().load([ciphertextKeyId(v)]);
          try {
            value = decryptField(v, (id) => keys().cached(id), ctx);
          } catch {
            throw new IdVaultValidationError(attr.name, 'carries ciphertext that does not belong to this record');
          }
        } else if (typeof v === 'string') {
          const checked = validateValue(attr.options.validate, v);
          if (!checked.ok) throw new IdVaultValidationError(attr.name, checked.message);
          value = checked.value;
          dk ??= await keys().dataKeyFor(uid, documentId, creating);
          data[attr.name] = encryptField(value, dk, ctx);
        } else {
          throw new IdVaultValidationError(attr.name, 'must be a string');
        }
        plain[attr.name] = value;
        const list: IndexToken[] = [];
        for (const version of await versions()) for (const token of await tokensFor(uid, attr, value, version)) list.push({ token, version });
        tokens.set(attr.name, list);
      }
      return { tokens, plain, newKey: dk?.created === true };
    },

    /**
     * Replaces the blind-index rows of one document for the fields in `tokens`. Keyed by document id,
     * like the ciphertext's AAD, so `strapi export`/`import` (which renumbers rows) keeps search working.
     */
    async writeIndex(uid: string, docId: string, tokens: FieldTokens, newDocument = false): Promise<void> {
      if (!tokens.size) return;
      const t = table(UIDS.blindIndex);
      // A document whose data key was created by this very write has no index rows yet.
      if (!newDocument) await deleteRows(strapi, t.name, { [t.col('subject')]: uid, [t.col('docId')]: docId }, t.col('field'), [...tokens.keys()], { holdable: true });
      const rows = [...tokens].flatMap(([field, list]) =>
        list.map(({ token, version }) => ({
          [t.col('subject')]: uid,
          [t.col('field')]: field,
          [t.col('token')]: token,
          [t.col('docId')]: docId,
          [t.col('rootVersion')]: version,
          ...stamps(strapi),
        }))
      );
      await insertRows(strapi, t.name, rows, { holdable: true });
    },

    async dropIndex(uid: string, docIds: string[]): Promise<void> {
      if (docIds.length) await strapi.db.query(UIDS.blindIndex).deleteMany({ where: { subject: uid, docId: { $in: docIds } } });
    },

    /**
     * Document ids whose `field` matches `operator value` through the blind index (once per request).
     * Throws a 400 for what the index cannot answer.
     */
    match(uid: string, attr: EncryptedAttribute, operator: string, value: unknown): Promise<string[]> {
      // A list and its count ask the same question: once per request.
      return oncePerRequest(strapi, `match:${uid}:${attr.name}:${operator}:${JSON.stringify(value)}`, () => this.lookUp(uid, attr, operator, value));
    },

    async lookUp(uid: string, attr: EncryptedAttribute, operator: string, value: unknown): Promise<string[]> {
      const { searchable, prefixLength, indexBits } = attr.options;
      const values = operator === '$in' ? (Array.isArray(value) ? value : [value]) : [value];
      if (values.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
        throw new IdVaultQueryError(attr.name, `${attr.name}: ${operator} needs a string value`);
      }
      if (searchable === 'none') {
        throw new IdVaultQueryError(attr.name, `${attr.name} is encrypted and not searchable`);
      }
      // Under every index root in use: during an index rotation a document may be indexed under either.
      const tokens: string[] = [];
      for (const version of await versions()) {
        const key = await fieldKey(uid, attr.name, version);
        if (operator === '$eq' || operator === '$in') {
          tokens.push(...values.map((v) => `e${exactIndex(key, indexForm(attr, String(v)), indexBits)}`));
        } else if (operator === '$startsWith') {
          if (searchable !== 'exact-prefix') {
            throw new IdVaultQueryError(attr.name, `${attr.name} is encrypted with an exact index only: use $eq or $in`);
          }
          const form = normalise(String(values[0]), attr.options.normalise);
          if (Array.from(form).length !== prefixLength) {
            throw new IdVaultQueryError(attr.name, `${attr.name}: $startsWith on this encrypted field takes exactly ${prefixLength} characters`);
          }
          tokens.push(`p${prefixIndex(key, form, prefixLength, indexBits)}`);
        } else {
          throw new IdVaultQueryError(
            attr.name,
            `${attr.name} is encrypted: only $eq, $in${searchable === 'exact-prefix' ? ', $startsWith' : ''}, $null and $notNull can filter on it`
          );
        }
      }
      if (!tokens.length) return [];
      // One round trip for the matching documents and their wrapped data keys, which the read that
      // follows will need (the key cache is warm by then).
      const bidx = table(UIDS.blindIndex);
      // In the transaction in progress, if any (a read records its audit event in its own): on SQLite's one
      // connection a query beside it would wait for it forever.
      const rows: Array<{ docId: string; keyId: string | null; wrapped: string | null }> = await withKnex(strapi, (knex) =>
        keys().joinDataKeys(
          knex(`${bidx.name} as b`)
            .where(`b.${bidx.col('subject')}`, uid)
            .andWhere(`b.${bidx.col('field')}`, attr.name)
            .whereIn(`b.${bidx.col('token')}`, tokens)
            .select({ docId: `b.${bidx.col('docId')}` }),
          `b.${bidx.col('subject')}`,
          `b.${bidx.col('docId')}`
        )
      );
      keys().prime(rows);
      return [...new Set(rows.map((r: any) => String(r.docId)))];
    },

    /**
     * Decrypts, then masks or drops what `access` may not see, in every entry of a result tree.
     * A value that does not decrypt becomes null and is reported in `failures`; it never fails the result.
     */
    async reveal(uid: string, result: unknown, access: Access, failures: DecryptFailure[]): Promise<void> {
      const fields = registry();
      if (!fields.uids().length) return;
      // One walk to find the encrypted values and the keys they need (each parsed once); then decrypt.
      const found: Array<{ uid: string; entry: Entry; attr: EncryptedAttribute; parsed: ReturnType<typeof parseCiphertext> }> = [];
      const keyIds = new Set<string>();
      walk(uid, result, (u, entry) => {
        for (const attr of fields.of(u)) {
          if (!(attr.name in entry)) continue;
          const parsed = parseCiphertext(entry[attr.name]);
          if (parsed) keyIds.add(parsed.keyId);
          found.push({ uid: u, entry, attr, parsed });
        }
      });
      if (!found.length) return;
      const keyService = keys();
      await keyService.load(keyIds);
      const resolve = (id: string) => keyService.cached(id);
      for (const { uid: u, entry, attr, parsed } of found) {
        const visibility = access.visibility(u, attr.name);
        const stored = entry[attr.name];
        if (visibility === 'hidden') {
          delete entry[attr.name];
        } else if (stored === null || stored === undefined) {
          entry[attr.name] = null;
        } else {
          try {
            // A value that is not ciphertext at all (written around the vault) fails closed too.
            if (!parsed) throw new Error('not ciphertext');
            const plain = decryptParsed(parsed, resolve, { uid: u, documentId: entry.documentId, field: attr.name });
            entry[attr.name] = visibility === 'plain' ? plain : mask(plain, attr.options.mask);
          } catch {
            failures.push({ uid: u, documentId: entry.documentId ?? null, field: attr.name });
            entry[attr.name] = null;
          }
        }
      }
    },

    /** The stored scalar fields of one document, encrypted ones decrypted (system use: compare, clone). */
    async currentOf(uid: string, documentId: string): Promise<Record<string, any> | null> {
      const schema = schemaOf(uid);
      const scalars = Object.entries<any>(schema.attributes)
        .filter(([, a]) => !NOT_SCALAR.has(a.type))
        .map(([name]) => name);
      const row = await asSystem(() => strapi.db.query(uid as any).findOne({ where: { documentId }, select: ['id', 'documentId', ...scalars] }));
      if (row) await this.reveal(uid, row, SYSTEM, []);
      return row;
    },
  };
};

export type VaultService = ReturnType<typeof vault>;
export default vault;
