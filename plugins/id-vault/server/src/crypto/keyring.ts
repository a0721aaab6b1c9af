import { randomBytes } from 'node:crypto';
import { IdVaultConfigError, IdVaultCryptoError } from './errors';
import { seal, open, parseEnvelope } from './gcm';
import type { DataKey } from './aead';

export interface MasterKey {
  id: string;
  key: Buffer;
}

export interface MasterKeyRing {
  active: MasterKey;
  byId: Map<string, MasterKey>;
}

const MASTER_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
export const WRAPPED_PREFIX = '$idvk1$';

/** Parses ID_VAULT_MASTER_KEYS: `keyId:base64(32 bytes)[,keyId:base64…]`, the first entry active. */
export const parseMasterKeys = (value: string | undefined): MasterKeyRing => {
  if (!value || !value.trim()) throw new IdVaultConfigError('ID_VAULT_MASTER_KEYS is not set');
  const byId = new Map<string, MasterKey>();
  const entries = value.split(',').map((e) => e.trim());
  entries.forEach((entry, i) => {
    const n = i + 1;
    const sep = entry.indexOf(':');
    if (sep < 0) throw new IdVaultConfigError(`ID_VAULT_MASTER_KEYS entry ${n} is not keyId:base64`);
    const id = entry.slice(0, sep).trim();
    const b64 = entry.slice(sep + 1).trim();
    if (!MASTER_ID.test(id)) throw new IdVaultConfigError(`ID_VAULT_MASTER_KEYS entry ${n} has a bad key id (letters, digits, _ and -, at most 32)`);
    if (byId.has(id)) throw new IdVaultConfigError(`ID_VAULT_MASTER_KEYS entry ${n} repeats key id ${id}`);
    const key = Buffer.from(b64, 'base64');
    if (!BASE64.test(b64) || key.length !== 32) throw new IdVaultConfigError(`ID_VAULT_MASTER_KEYS entry ${n} is not 32 bytes of base64`);
    byId.set(id, { id, key });
  });
  return { active: byId.values().next().value as MasterKey, byId };
};

/** A new master key entry for ID_VAULT_MASTER_KEYS. */
export const generateMasterKeyEntry = (id?: string): string => {
  const keyId = id ?? `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}${randomBytes(2).toString('hex')}`;
  if (!MASTER_ID.test(keyId)) throw new IdVaultConfigError('a master key id has letters, digits, _ and - only, at most 32');
  return `${keyId}:${randomBytes(32).toString('base64')}`;
};

export const newDataKey = (): DataKey => ({ id: `dk_${randomBytes(16).toString('base64url')}`, key: randomBytes(32) });

const wrapAad = (masterId: string, dataKeyId: string) => Buffer.from(['idvk1', masterId, dataKeyId].join('\u0000'), 'utf8');

/** `$idvk1$<masterKeyId>$<base64url(iv ‖ ciphertext ‖ tag)>` under the active master key. */
export const wrapDataKey = (ring: MasterKeyRing, dk: DataKey): string =>
  `${WRAPPED_PREFIX}${ring.active.id}$${seal(ring.active.key, dk.key, wrapAad(ring.active.id, dk.id)).toString('base64url')}`;

const parseWrapped = (wrapped: string) => {
  const env = parseEnvelope(wrapped, WRAPPED_PREFIX, MASTER_ID);
  if (!env) throw new IdVaultCryptoError('BAD_FORMAT', 'not a wrapped id-vault data key');
  return env;
};

export const wrappedMasterKeyId = (wrapped: string): string => parseWrapped(wrapped).id;

export const unwrapDataKey = (ring: MasterKeyRing, wrapped: string, dataKeyId: string): Buffer => {
  const env = parseWrapped(wrapped);
  const master = ring.byId.get(env.id);
  if (!master) throw new IdVaultCryptoError('UNKNOWN_KEY', `master key ${env.id} is not in the key ring`);
  const key = open(master.key, env.body, wrapAad(env.id, dataKeyId));
  if (key.length !== 32) throw new IdVaultCryptoError('BAD_KEY', 'unwrapped data key has the wrong length');
  return key;
};

/** Re-wraps a data key under the active master key (rotation: no field is re-encrypted). */
export const rewrapDataKey = (ring: MasterKeyRing, wrapped: string, dataKeyId: string): string =>
  wrapDataKey(ring, { id: dataKeyId, key: unwrapDataKey(ring, wrapped, dataKeyId) });
