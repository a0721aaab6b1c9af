import type { Core } from '@strapi/strapi';
import { withKnex } from './strapi';

/** Prepared statements per SQLite connection, by SQL text (the plugin's few statement shapes). */
const prepared = new WeakMap<object, Map<string, any>>();
const MAX_PREPARED = 256;

/** A value as knex's better-sqlite3 client binds it (dates as epoch milliseconds, booleans as 0/1). */
const sqliteValue = (v: unknown) => (v instanceof Date ? v.valueOf() : typeof v === 'boolean' ? Number(v) : v);

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

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

/** Column values of one row, in `columns` order. */
const valuesOf = (row: Record<string, unknown>, columns: string[]) => columns.map((c) => row[c] ?? null);

/**
 * INSERTs rows (objects keyed by column name, all with the same columns) into `table` in one statement.
 * `ignoreConflictOn`: a unique column; a row that clashes on it is skipped. `returning`: a column to answer.
 */
export const insertRows = (
  strapi: Core.Strapi,
  table: string,
  rows: Array<Record<string, unknown>>,
  options: { ignoreConflictOn?: string; returning?: string } = {}
): Promise<any[]> => {
  if (!rows.length) return Promise.resolve([]);
  const columns = Object.keys(rows[0]);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const sql =
    `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${rows.map(() => tuple).join(', ')}` +
    (options.ignoreConflictOn ? ` on conflict (${quote(options.ignoreConflictOn)}) do nothing` : '') +
    (options.returning ? ` returning ${quote(options.returning)}` : '');
  return execute(strapi, sql, rows.flatMap((r) => valuesOf(r, columns)));
};

/** DELETE FROM `table` WHERE each column of `equal` equals its value and, if given, `inColumn` is one of `inValues`. */
export const deleteRows = (strapi: Core.Strapi, table: string, equal: Record<string, unknown>, inColumn?: string, inValues: unknown[] = []): Promise<any[]> => {
  if (inColumn && !inValues.length) return Promise.resolve([]);
  const keys = Object.keys(equal);
  const where = keys.map((c) => `${quote(c)} = ?`);
  if (inColumn) where.push(`${quote(inColumn)} in (${inValues.map(() => '?').join(', ')})`);
  return execute(strapi, `delete from ${quote(table)} where ${where.join(' and ')}`, [...keys.map((k) => equal[k]), ...inValues]);
};
