import { AsyncLocalStorage } from 'node:async_hooks';
import type { Core } from '@strapi/strapi';
import { withKnex } from './strapi';

/** Prepared statements per SQLite connection, by SQL text (the plugin's few statement shapes). */
const prepared = new WeakMap<object, Map<string, any>>();
const MAX_PREPARED = 256;

/** A value as knex's better-sqlite3 client binds it (dates as epoch milliseconds, booleans as 0/1). */
const sqliteValue = (v: unknown) => (v instanceof Date ? v.valueOf() : typeof v === 'boolean' ? Number(v) : v);

/** A table or column name quoted for SQL (SQLite and PostgreSQL). */
export const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/**
 * Runs one statement of the plugin's own bookkeeping (data keys, blind-index rows, audit events) in the
 * database transaction in progress, if any. `sql` uses `?` placeholders and double-quoted identifiers.
 *
 * On SQLite, inside a transaction, it runs straight on the transaction's connection as a cached prepared
 * statement: no query builder, no statement preparation, no promise hop per statement. SQLite has one
 * connection, which every other request waits for while a write's transaction holds it, so what runs inside
 * that transaction decides how many writes a second the whole process takes. Elsewhere (outside a
 * transaction, or PostgreSQL) it is one `knex.raw`. Returns the rows a statement with RETURNING answers.
 */
export const execute = (strapi: Core.Strapi, sql: string, bindings: unknown[]): Promise<any[]> => {
  if (strapi.db.dialect.client === 'sqlite' && strapi.db.inTransaction()) {
    return strapi.db.transaction(async ({ trx }: any) => {
      // A transaction's client hands out the one connection the transaction holds.
      const connection = await trx.client.acquireConnection();
      let statements = prepared.get(connection);
      if (!statements) prepared.set(connection, (statements = new Map()));
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= MAX_PREPARED) statements.clear();
        statement = connection.prepare(sql);
        statements.set(sql, statement);
      }
      const values = bindings.map(sqliteValue);
      if (statement.reader) return statement.all(values);
      statement.run(values);
      return [];
    }) as unknown as Promise<any[]>;
  }
  return withKnex(strapi, async (knex) => {
    const result = await knex.raw(sql, bindings);
    return Array.isArray(result) ? result : (result?.rows ?? []);
  });
};

/** A bookkeeping statement held back for the end of a document write (PostgreSQL): its SQL, bindings, and how many rows it must insert (else the write fails). */
interface HeldStatement {
  table: string;
  sql: string;
  bindings: unknown[];
  mustInsert?: number;
}
/** The statements a document write in progress holds back; `open` until they are sent. */
interface Held {
  statements: HeldStatement[];
  open: boolean;
}
const held = new AsyncLocalStorage<Held>();

/** The held statements of the write in progress, if this statement may join them (PostgreSQL, inside its transaction, before they are sent). */
const holding = (strapi: Core.Strapi): Held | null => {
  const h = held.getStore();
  return h?.open && strapi.db.inTransaction() ? h : null;
};

/**
 * Runs a document write (inside its transaction) holding back the plugin's bookkeeping statements — the new
 * document's data key, its blind-index rows, the write's audit row — and sends them at its end as **one**
 * statement (data-modifying CTEs: each runs once, to completion, on the same snapshot). On PostgreSQL each
 * statement is a round trip — a socket write and a reply to parse in this process while the transaction holds
 * its connection: a create's three became one. A held INSERT that must insert its rows (a data key) and did
 * not fails the write. Nothing in the write reads these rows back before its end (the data key is cached
 * with its ref; index rows are read by other requests' searches, which see them only after the commit anyway).
 * On SQLite (statements run in-process, see execute) `fn` runs as it is.
 */
export const holdingBookkeeping = async <T>(strapi: Core.Strapi, fn: () => Promise<T>): Promise<T> => {
  if (strapi.db.dialect.client !== 'postgres' || !strapi.db.inTransaction()) return fn();
  const h: Held = { statements: [], open: true };
  let result: T;
  try {
    result = await held.run(h, fn);
  } finally {
    h.open = false; // a continuation that outlives the write runs its statements itself
  }
  await sendHeld(strapi, h);
  return result;
};

/** The statements held so far, as one statement; throws when a held INSERT that must insert its rows did not. */
const sendHeld = async (strapi: Core.Strapi, h: Held): Promise<void> => {
  const statements = h.statements.splice(0);
  if (!statements.length) return;
  const ctes = statements.map((st, i) => `h${i} as (${st.sql}${st.mustInsert !== undefined ? ' returning 1' : ''})`);
  const counted = statements.flatMap((st, i) => (st.mustInsert !== undefined ? [`(select count(*) from h${i}) as n${i}`] : []));
  const [row] = await execute(strapi, `with ${ctes.join(', ')} select ${counted.length ? counted.join(', ') : '1 as done'}`, statements.flatMap((st) => st.bindings));
  statements.forEach((st, i) => {
    if (st.mustInsert !== undefined && Number(row?.[`n${i}`]) !== st.mustInsert) throw new Error('id-vault: a bookkeeping row of this write clashed with another writer\'s; nothing was written');
  });
};

/** Column values of one row, in `columns` order. */
const valuesOf = (row: Record<string, unknown>, columns: string[]) => columns.map((c) => row[c] ?? null);

/**
 * INSERTs rows (objects keyed by column name, all with the same columns) into `table` in one statement.
 * `ignoreConflictOn`: a unique column; a row that clashes on it is skipped. `returning`: a column to answer.
 * `holdable`: inside holdingBookkeeping, held for the write's end (answering as if every row went in).
 */
export const insertRows = (
  strapi: Core.Strapi,
  table: string,
  rows: Array<Record<string, unknown>>,
  options: { ignoreConflictOn?: string; returning?: string; holdable?: boolean } = {}
): Promise<any[]> => {
  if (!rows.length) return Promise.resolve([]);
  const columns = Object.keys(rows[0]);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const sql =
    `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${rows.map(() => tuple).join(', ')}` +
    (options.ignoreConflictOn ? ` on conflict (${quote(options.ignoreConflictOn)}) do nothing` : '');
  const bindings = rows.flatMap((r) => valuesOf(r, columns));
  const h = options.holdable ? holding(strapi) : null;
  if (h) {
    // Held: answers as if every row went in (`returning` each row's value); the write fails at its end if one did not.
    h.statements.push({ table, sql, bindings, ...(options.ignoreConflictOn ? { mustInsert: rows.length } : {}) });
    return Promise.resolve(options.returning ? rows.map((r) => ({ [options.returning!]: r[options.returning!] })) : []);
  }
  return execute(strapi, sql + (options.returning ? ` returning ${quote(options.returning)}` : ''), bindings);
};

/** DELETE FROM `table` WHERE each column of `equal` equals its value and, if given, `inColumn` is one of `inValues`. */
export const deleteRows = (
  strapi: Core.Strapi,
  table: string,
  equal: Record<string, unknown>,
  inColumn?: string,
  inValues: unknown[] = [],
  options: { holdable?: boolean } = {}
): Promise<any[]> => {
  if (inColumn && !inValues.length) return Promise.resolve([]);
  const keys = Object.keys(equal);
  const where = keys.map((c) => `${quote(c)} = ?`);
  if (inColumn) where.push(`${quote(inColumn)} in (${inValues.map(() => '?').join(', ')})`);
  const sql = `delete from ${quote(table)} where ${where.join(' and ')}`;
  const bindings = [...keys.map((k) => equal[k]), ...inValues];
  const h = options.holdable ? holding(strapi) : null;
  if (h) {
    // One statement's parts all see the same snapshot: a DELETE would not see rows held for the same table
    // earlier in this write (a second index write of the same document: draft and published). Those go first.
    const first = h.statements.some((st) => st.table === table) ? sendHeld(strapi, h) : Promise.resolve();
    return first.then(() => {
      h.statements.push({ table, sql, bindings });
      return [];
    });
  }
  return execute(strapi, sql, bindings);
};
