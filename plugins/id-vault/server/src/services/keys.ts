import type { Core } from '@strapi/strapi';
import {
  parseMasterKeys,
  newDataKey,
  wrapDataKey,
  unwrapDataKey,
  type DataKey,
  type MasterKeyRing,
} from '../crypto';
import { UIDS } from '../utils/strapi';

const INDEX_ROOT_REF = 'index-root';

/** Unwrapped data keys kept in memory per process (least recently used go first); ID_VAULT_KEY_CACHE_SIZE. */
const CACHE_SIZE = Math.max(100, Number(process.env.ID_VAULT_KEY_CACHE_SIZE) || 20000);

/**
 * Envelope keys. The master key ring comes from ID_VAULT_MASTER_KEYS; data keys (one per record, and the
 * blind-index root) are random, wrapped by the active master key and stored in idv_data_keys — this service
 * owns that table: nothing else reads or writes it.
 * Unwrapped keys are cached by key id: a key id names immutable key material, so the cache never disagrees
 * with the database about a key's bytes; it is bounded (LRU) and can forget keys (erasure destroys a key:
 * `forget` drops it here; other processes drop it when their cache evicts it or they restart).
 */
const keys = ({ strapi }: { strapi: Core.Strapi }) => {
  let ring: MasterKeyRing | null = null;
  const unwrapped = new Map<string, Buffer>();
  let indexRoot: Buffer | null = null;

  const remember = (keyId: string, key: Buffer) => {
    unwrapped.delete(keyId);
    unwrapped.set(keyId, key);
    while (unwrapped.size > CACHE_SIZE) unwrapped.delete(unwrapped.keys().next().value as string);
  };

  const query = () => strapi.db.query(UIDS.dataKey);

  const getRing = (): MasterKeyRing => {
    if (!ring) ring = parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS);
    return ring;
  };

  /** Reads or creates the data key stored under `ref`. */
  const keyForRef = async (ref: string): Promise<DataKey> => {
    const found = await query().findOne({ where: { ref }, select: ['keyId', 'wrapped'] });
    if (found) return { id: found.keyId, key: unwrap(found.keyId, found.wrapped) };
    const dk = newDataKey();
    const wrapped = wrapDataKey(getRing(), dk);
    try {
      await query().create({ data: { ref, keyId: dk.id, wrapped, masterKeyId: getRing().active.id } });
    } catch (e) {
      // Another process created it first (unique ref): use theirs.
      const again = await query().findOne({ where: { ref }, select: ['keyId', 'wrapped'] });
      if (!again) throw e;
      return { id: again.keyId, key: unwrap(again.keyId, again.wrapped) };
    }
    remember(dk.id, dk.key);
    return dk;
  };

  const unwrap = (keyId: string, wrapped: string): Buffer => {
    let key = unwrapped.get(keyId);
    if (!key) key = unwrapDataKey(getRing(), wrapped, keyId);
    remember(keyId, key);
    return key;
  };

  /** Table and column names of idv_data_keys, as the database layer maps them. */
  const table = () => {
    const meta: any = strapi.db.metadata.get(UIDS.dataKey);
    return { name: meta.tableName as string, col: (attr: string) => (meta.attributes[attr]?.columnName ?? attr) as string };
  };

  return {
    /** Parses the master key ring; throws a message that says how to create one. */
    init(): MasterKeyRing {
      ring = null;
      return getRing();
    },
    activeMasterKeyId(): string {
      return getRing().active.id;
    },
    /** The data key of one record (content-type uid + documentId), created on first use. */
    dataKeyFor(uid: string, documentId: string): Promise<DataKey> {
      return keyForRef(`${uid}#${documentId}`);
    },
    /** Loads and unwraps the given key ids into the cache; ids that do not exist stay unknown. */
    async load(keyIds: Iterable<string>): Promise<void> {
      const missing = [...new Set(keyIds)].filter((id) => !unwrapped.has(id));
      if (!missing.length) return;
      const rows = await query().findMany({ where: { keyId: { $in: missing } }, select: ['keyId', 'wrapped'] });
      for (const row of rows) {
        try {
          unwrap(row.keyId, row.wrapped);
        } catch {
          // A wrapped key that fails authentication stays unknown: its fields come back null.
        }
      }
    },
    /**
     * Adds the wrapped data key of each row to a knex query whose rows name a record by `uidColumn` and
     * `docIdColumn` (one round trip for rows and keys; see vault.match), selected as `keyId` and `wrapped`.
     * Feed the rows to prime() afterwards.
     */
    joinDataKeys(query: any, uidColumn: string, docIdColumn: string): any {
      const t = table();
      const knex = strapi.db.connection;
      return query
        .leftJoin(`${t.name} as k`, `k.${t.col('ref')}`, knex.raw(`?? || '#' || ??`, [uidColumn, docIdColumn]))
        .select({ keyId: `k.${t.col('keyId')}`, wrapped: `k.${t.col('wrapped')}` });
    },
    /** Caches wrapped keys fetched with joinDataKeys. */
    prime(rows: Array<{ keyId: string | null; wrapped: string | null }>): void {
      for (const row of rows) {
        if (!row.keyId || !row.wrapped || unwrapped.has(row.keyId)) continue;
        try {
          unwrap(row.keyId, row.wrapped);
        } catch {
          // Stays unknown; its fields come back null when read.
        }
      }
    },
    /** A key already loaded with load(), or undefined. */
    cached(keyId: string): Buffer | undefined {
      return unwrapped.get(keyId);
    },
    /** Drops keys from this process's cache (all of them without ids). */
    forget(keyIds?: Iterable<string>): void {
      if (!keyIds) unwrapped.clear();
      else for (const id of keyIds) unwrapped.delete(id);
    },
    /** How many unwrapped keys this process holds (bounded by ID_VAULT_KEY_CACHE_SIZE). */
    cacheSize(): number {
      return unwrapped.size;
    },
    /** Root of the per-field blind-index keys: a stored data key, so master-key rotation is a re-wrap. */
    async indexRoot(): Promise<Buffer> {
      if (!indexRoot) indexRoot = (await keyForRef(INDEX_ROOT_REF)).key;
      return indexRoot;
    },
  };
};

export type KeysService = ReturnType<typeof keys>;
export default keys;
