import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './audit-chain';
import { hkdf } from './kdf';
import type { MasterKey, MasterKeyRing } from './keyring';

/**
 * One line of the erasure ledger: a customer erased for good, with the data-key refs destroyed, kept outside
 * the database and its backups so that a restore of an older backup can be erased again. No personal data:
 * ids, a time, and a MAC under a key derived from the master key ring (whoever can write the ledger's
 * directory cannot add, change or drop-and-forge an entry without the master key).
 */
export interface LedgerEntry {
  /** The customer erased; for a document entry, the customer the document belonged to ('' if none). */
  customerDocumentId: string;
  /** Set when the entry is one identity document deleted for good (a retention approval), not a customer. */
  documentId?: string;
  erasedAt: string;
  /** Data-key refs (`<uid>#<documentId>`) destroyed with the customer: its own and its documents'. */
  refs: string[];
  keyId: string;
  mac: string;
}

export type LedgerProblem = 'not-json' | 'bad-shape' | 'key-unknown' | 'mac-mismatch';

const LEDGER_INFO = 'idv-erasure-ledger-v1';

// A customer entry's MAC input is what it always was; a document entry's adds its documentId.
const canonical = (e: Omit<LedgerEntry, 'mac'>) =>
  canonicalJson({ v: 1, customerDocumentId: e.customerDocumentId, erasedAt: e.erasedAt, refs: e.refs, keyId: e.keyId, ...(e.documentId !== undefined ? { documentId: e.documentId } : {}) });
const mac = (master: MasterKey, e: Omit<LedgerEntry, 'mac'>) => createHmac('sha256', hkdf(master.key, LEDGER_INFO)).update(canonical(e), 'utf8').digest('hex');

/** An entry MACed under the ring's active master key, as one line of JSON (no newline). */
export const ledgerLine = (ring: MasterKeyRing, e: Omit<LedgerEntry, 'keyId' | 'mac'>): string => {
  const fields = { customerDocumentId: e.customerDocumentId, ...(e.documentId !== undefined ? { documentId: e.documentId } : {}), erasedAt: e.erasedAt, refs: [...e.refs].sort(), keyId: ring.active.id };
  return JSON.stringify({ ...fields, mac: mac(ring.active, fields) });
};

/** Parses and authenticates one line; a problem names what is wrong, never the line's content. */
export const readLedgerLine = (ring: MasterKeyRing, line: string): { entry: LedgerEntry } | { problem: LedgerProblem } => {
  let e: any;
  try {
    e = JSON.parse(line);
  } catch {
    return { problem: 'not-json' };
  }
  const shaped =
    e && typeof e.customerDocumentId === 'string' && typeof e.erasedAt === 'string' && Array.isArray(e.refs) && e.refs.every((r: unknown) => typeof r === 'string') && typeof e.keyId === 'string' && typeof e.mac === 'string' && (e.documentId === undefined || typeof e.documentId === 'string');
  if (!shaped) return { problem: 'bad-shape' };
  const master = ring.byId.get(e.keyId);
  if (!master) return { problem: 'key-unknown' };
  const expected = Buffer.from(mac(master, e), 'hex');
  const given = Buffer.from(/^[0-9a-f]{64}$/.test(e.mac) ? e.mac : '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { problem: 'mac-mismatch' };
  return { entry: { customerDocumentId: e.customerDocumentId, ...(e.documentId !== undefined ? { documentId: e.documentId } : {}), erasedAt: e.erasedAt, refs: e.refs, keyId: e.keyId, mac: e.mac } };
};

/** What makes two entries the same erasure, whichever key signed them. */
const sameErasure = (e: Pick<LedgerEntry, 'customerDocumentId' | 'documentId' | 'erasedAt' | 'refs'>) => canonicalJson({ c: e.customerDocumentId, d: e.documentId ?? null, t: e.erasedAt, r: [...e.refs].sort() });

/**
 * A whole ledger, authenticated: its entries, or the first problem and where it is. An entry under a master
 * key the ring no longer holds is accepted only when the same erasure is also there under a key it holds
 * (`keys:rotate` appends such copies): the copy authenticates the content, and a ledger is only ever
 * appended to. Anything else that does not verify is a problem.
 */
export const readLedger = (ring: MasterKeyRing, items: Array<{ at: string; line: string }>): { entries: LedgerEntry[] } | { problem: LedgerProblem; at: string } => {
  const entries: LedgerEntry[] = [];
  const unknown: Array<{ at: string; line: string }> = [];
  for (const item of items) {
    const read = readLedgerLine(ring, item.line);
    if ('entry' in read) entries.push(read.entry);
    else if (read.problem === 'key-unknown') unknown.push(item);
    else return { problem: read.problem, at: item.at };
  }
  const known = new Set(entries.map(sameErasure));
  for (const item of unknown) {
    if (!known.has(sameErasure(JSON.parse(item.line)))) return { problem: 'key-unknown', at: item.at };
  }
  return { entries };
};

/** The entries to append again under the ring's active key: those under an older key with no copy under the active one. */
export const entriesToResign = (ring: MasterKeyRing, entries: LedgerEntry[]): LedgerEntry[] => {
  const current = new Set(entries.filter((e) => e.keyId === ring.active.id).map(sameErasure));
  const out = new Map<string, LedgerEntry>();
  for (const e of entries) if (e.keyId !== ring.active.id && !current.has(sameErasure(e))) out.set(sameErasure(e), e);
  return [...out.values()];
};
