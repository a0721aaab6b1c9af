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

/**
 * Envelope keys. The master key ring comes from ID_VAULT_MASTER_KEYS; data keys (one per record, and the
 * blind-index root) are random, wrapped by the active master key and stored in idv_data_keys.
 * Unwrapped keys are cached by key id only: a key id names immutable key material, so the cache can
 * never disagree with the database (a rolled-back key simply is never asked for).
 */
const keys = ({ strapi }: { strapi: Core.Strapi }) => {
  let ring: MasterKeyRing | null = null;
  const unwrapped = new Map<string, Buffer>();
  let indexRoot: Buffer | null = null;

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
    unwrapped.set(dk.id, dk.key);
    return dk;
  };

  const unwrap = (keyId: string, wrapped: string): Buffer => {
    let key = unwrapped.get(keyId);
    if (!key) {
      key = unwrapDataKey(getRing(), wrapped, keyId);
      unwrapped.set(keyId, key);
    }
    return key;
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
    /** Caches wrapped keys fetched by someone else's query (see vault.match). */
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
    /** Root of the per-field blind-index keys: a stored data key, so master-key rotation is a re-wrap. */
    async indexRoot(): Promise<Buffer> {
      if (!indexRoot) indexRoot = (await keyForRef(INDEX_ROOT_REF)).key;
      return indexRoot;
    },
  };
};

export type KeysService = ReturnType<typeof keys>;
export default keys;
