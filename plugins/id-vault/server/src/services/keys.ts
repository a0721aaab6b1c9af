import type { Core } from '@strapi/strapi';
import {
  parseMasterKeys,
  newDataKey,
  rewrapDataKey,
  wrapDataKey,
  unwrapDataKey,
  type DataKey,
  type MasterKeyRing,
} from '../crypto';
import { UIDS, withKnex, stamps, tableOf } from '../utils/strapi';
import { insertRows } from '../utils/sql';

/** The data-key ref of the blind-index root of `version` (version 1 keeps the ref it always had). */
export const indexRootRef = (version: number) => (version === 1 ? 'index-root' : `index-root:v${version}`);

/** Data keys re-wrapped per transaction by a rotation (ID_VAULT_ROTATE_BATCH, default 500). */
const rotateBatch = () => Math.max(1, Math.floor(Number(process.env.ID_VAULT_ROTATE_BATCH)) || 500);

export interface MasterKeyUsage {
  masterKeyId: string;
  /** Data keys (records' and the blind-index root) wrapped under it. */
  dataKeys: number;
  active: boolean;
  inRing: boolean;
}

export interface RotationBatch {
  /** Rows looked at, re-wrapped, and left as they were because they did not unwrap (tampered, or a key the ring lacks). */
  seen: number;
  rewrapped: number;
  failed: number;
  /** The id to go on after (the rows are walked in id order). */
  lastId: number;
}

/** Unwrapped data keys kept in memory per process (least recently used go first); ID_VAULT_KEY_CACHE_SIZE. */
const CACHE_SIZE = Math.max(100, Number(process.env.ID_VAULT_KEY_CACHE_SIZE) || 20000);

/**
 * Envelope keys. The master key ring comes from ID_VAULT_MASTER_KEYS; data keys (one per record, and the
 * blind-index root) are random, wrapped by the active master key and stored in idv_data_keys — this service
 * owns that table: nothing else reads or writes it.
 * Unwrapped keys are cached by key id: a key id names immutable key material, so the cache never disagrees
 * with the database about a key's bytes; which key id a record's ref names is cached beside it. Both are
 * bounded (LRU) and forget keys (erasure destroys a key: `forget` drops it here; other processes drop it
 * when their cache evicts it or they restart).
 */
const keys = ({ strapi }: { strapi: Core.Strapi }) => {
  let ring: MasterKeyRing | null = null;
  const unwrapped = new Map<string, Buffer>();
  const indexRoots = new Map<number, Buffer>();

  /** Which key id each ref names (refs never change key: erasure deletes the row, rotation re-wraps). */
  const refs = new Map<string, string>();
  /** Most recently used last; the oldest go first beyond CACHE_SIZE. */
  const touch = <V>(map: Map<string, V>, key: string, value: V) => {
    map.delete(key);
    map.set(key, value);
    while (map.size > CACHE_SIZE) map.delete(map.keys().next().value as string);
  };
  const remember = (keyId: string, key: Buffer) => touch(unwrapped, keyId, key);
  const rememberRef = (ref: string, keyId: string) => touch(refs, ref, keyId);

  const query = () => strapi.db.query(UIDS.dataKey);

  const getRing = (): MasterKeyRing => {
    if (!ring) ring = parseMasterKeys(process.env.ID_VAULT_MASTER_KEYS);
    return ring;
  };

  const select = async (ref: string): Promise<DataKey | null> => {
    const t = table();
    const found: any = await withKnex(strapi, (knex) => knex(t.name).where(t.col('ref'), ref).first({ keyId: t.col('keyId'), wrapped: t.col('wrapped') }));
    if (!found) return null;
    rememberRef(ref, found.keyId);
    return { id: found.keyId, key: unwrap(found.keyId, found.wrapped) };
  };

  /**
   * Reads or creates the data key stored under `ref`. `fresh`: the ref is most likely new (a create), so it
   * inserts first and reads only if another writer was first. With knex, not db.query: no read-back.
   */
  const keyForRef = async (ref: string, fresh = false): Promise<DataKey & { created?: boolean }> => {
    const known = refs.get(ref);
    const cachedKey = known !== undefined ? unwrapped.get(known) : undefined;
    if (known !== undefined && cachedKey) {
      remember(known, cachedKey);
      return { id: known, key: cachedKey };
    }
    if (!fresh) {
      const found = await select(ref);
      if (found) return found;
    }
    const dk = newDataKey();
    const t = table();
    const row = { [t.col('ref')]: ref, [t.col('keyId')]: dk.id, [t.col('wrapped')]: wrapDataKey(getRing(), dk), [t.col('masterKeyId')]: getRing().active.id, ...stamps(strapi) };
    // A fresh ref's key may be held for the end of the write (utils/sql.ts holdingBookkeeping): a clash then fails the write.
    const inserted = await insertRows(strapi, t.name, [row], { ignoreConflictOn: t.col('ref'), returning: t.col('keyId'), holdable: fresh });
    if (!inserted.length) {
      // Another writer created it first (unique ref): use theirs.
      const theirs = await select(ref);
      if (!theirs) throw new Error('id-vault: a data key could neither be created nor read');
      return theirs;
    }
    remember(dk.id, dk.key);
    rememberRef(ref, dk.id);
    return { ...dk, created: true };
  };

  const unwrap = (keyId: string, wrapped: string): Buffer => {
    let key = unwrapped.get(keyId);
    if (!key) key = unwrapDataKey(getRing(), wrapped, keyId);
    remember(keyId, key);
    return key;
  };

  /** Table and column names of idv_data_keys, as the database layer maps them. */
  const table = () => tableOf(strapi, UIDS.dataKey);

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
    dataKeyFor(uid: string, documentId: string, fresh = false): Promise<DataKey & { created?: boolean }> {
      return keyForRef(`${uid}#${documentId}`, fresh);
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
      if (!keyIds) {
        unwrapped.clear();
        refs.clear();
        return;
      }
      const gone = new Set(keyIds);
      for (const id of gone) unwrapped.delete(id);
      for (const [ref, id] of refs) if (gone.has(id)) refs.delete(ref);
    },
    /** How many unwrapped keys this process holds (bounded by ID_VAULT_KEY_CACHE_SIZE). */
    cacheSize(): number {
      return unwrapped.size;
    },
    /** How many data keys each master key wraps, the ring's keys included (0 for those that wrap none). */
    async usage(): Promise<MasterKeyUsage[]> {
      const t = table();
      const rows: any[] = await strapi.db.connection(t.name).select({ masterKeyId: t.col('masterKeyId') }).count({ n: '*' }).groupBy(t.col('masterKeyId'));
      const counts = new Map(rows.map((r) => [r.masterKeyId as string, Number(r.n)]));
      for (const id of getRing().byId.keys()) if (!counts.has(id)) counts.set(id, 0);
      return [...counts].map(([masterKeyId, dataKeys]) => ({ masterKeyId, dataKeys, active: masterKeyId === getRing().active.id, inRing: getRing().byId.has(masterKeyId) }));
    },
    /** Refuses to start, naming them, when stored data keys need master keys the ring lacks. */
    async checkRing(): Promise<void> {
      const missing = (await this.usage()).filter((u) => !u.inRing);
      if (!missing.length) return;
      const list = missing.map((u) => `${u.masterKeyId} (wraps ${u.dataKeys} data keys)`).join(', ');
      throw new Error(`id-vault: ID_VAULT_MASTER_KEYS lacks master key(s) that stored data keys need: ${list}. Put them back in the ring (after the active key), restart, and run npm run keys:rotate before removing a key.`);
    },
    /**
     * Rotation, one batch: the next data keys (ID_VAULT_ROTATE_BATCH) after `afterId` not under the active master key,
     * unwrapped and wrapped again under it, in one transaction. Each row is updated only if it is still under
     * the key it was read under, so rotations and writers in other processes never overwrite one another; a
     * row is always whole (old wrap or new, never half). The key id and the key bytes stay the same, so no
     * field is re-encrypted and no cache goes stale.
     */
    async rewrapBatch(afterId: number): Promise<RotationBatch> {
      const t = table();
      const active = getRing().active.id;
      return strapi.db.connection.transaction(async (trx: any) => {
        const rows: any[] = await trx(t.name)
          .where('id', '>', afterId)
          .whereNot(t.col('masterKeyId'), active)
          .orderBy('id')
          .limit(rotateBatch())
          .select({ id: 'id', keyId: t.col('keyId'), wrapped: t.col('wrapped'), masterKeyId: t.col('masterKeyId') });
        let rewrapped = 0;
        let failed = 0;
        for (const row of rows) {
          let wrapped: string;
          try {
            wrapped = rewrapDataKey(getRing(), row.wrapped, row.keyId);
          } catch {
            failed += 1;
            continue;
          }
          rewrapped += await trx(t.name)
            .where({ id: row.id, [t.col('masterKeyId')]: row.masterKeyId })
            .update({ [t.col('wrapped')]: wrapped, [t.col('masterKeyId')]: active });
        }
        return { seen: rows.length, rewrapped, failed, lastId: rows.length ? Number(rows[rows.length - 1].id) : afterId };
      });
    },
    /**
     * Root of the per-field blind-index keys of `version`: a stored data key, so master-key rotation is a
     * re-wrap. `create`: make it when it does not exist (a fresh install's version 1, or the next version an
     * index rotation starts); otherwise a missing root is an error, never a new random root that would
     * silently match nothing.
     */
    async indexRootAt(version: number, create = false): Promise<Buffer> {
      let root = indexRoots.get(version);
      if (root) return root;
      const ref = indexRootRef(version);
      const found = create ? await keyForRef(ref) : await select(ref);
      if (!found) throw new Error(`id-vault: the blind-index root of version ${version} is missing from the database`);
      root = found.key;
      indexRoots.set(version, root);
      return root;
    },
    /** Destroys the blind-index root of `version` (an index rotation retires the old one); returns whether there was one. */
    async retireIndexRoot(version: number): Promise<boolean> {
      const t = table();
      const ref = indexRootRef(version);
      const row = await strapi.db.connection(t.name).where(t.col('ref'), ref).first({ keyId: t.col('keyId') });
      if (row) await strapi.db.connection(t.name).where(t.col('ref'), ref).del();
      indexRoots.delete(version);
      refs.delete(ref);
      if (row) unwrapped.delete(row.keyId);
      return !!row;
    },
  };
};

export type KeysService = ReturnType<typeof keys>;
export default keys;
