import type { Core } from '@strapi/strapi';
import { UIDS } from './strapi';

/**
 * The customer's org unit, mirrored onto the customer row by the database itself.
 *
 * Unit and subtree row scope ask "is this customer's team one of these units?". Asked through the team link
 * table, a count of the scope had to probe the customers' primary key once per customer in scope, so a
 * tenth of 500,000 customers cost more than counting all of them. With the unit on the row and an index
 * (unit, hidden, id), the scope is an index range: a count reads the scope's entries only, a page stops
 * after its rows.
 *
 * The column is not a Strapi attribute (nobody can write it through any API, and it appears in no schema,
 * form or response). Triggers on the link table keep it equal to the link table after every insert, update
 * and delete — whoever writes it (document service, Content Manager, `db.query`, raw SQL, cascades), inside
 * the writer's transaction. At every start-up the column is reconciled with the link table, so rows
 * written while the triggers were missing (an older version, a restore) are repaired before any request.
 * A customer with more than one team link (a manyToOne never has one) mirrors the lowest unit id.
 * Strapi keeps columns, indexes and triggers it did not create (schema/diff.js drops only what its previous
 * schema had).
 */
export const SCOPE_COLUMN = 'idv_scope_unit_id';

const names = (strapi: Core.Strapi) => {
  const meta: any = strapi.db.metadata.get(UIDS.customer);
  const link = meta.attributes.team.joinTable;
  return {
    customers: meta.tableName as string,
    hidden: (meta.attributes.hidden.columnName ?? 'hidden') as string,
    link: link.name as string,
    customer: link.joinColumn.name as string,
    unit: link.inverseJoinColumn.name as string,
  };
};

export const ensureScopeMirror = async (strapi: Core.Strapi): Promise<void> => {
  const knex = strapi.db.connection;
  const n = names(strapi);
  const trigger = `${n.customers}_scope_sync`;
  const index = `${n.customers}_scope_idx`;
  // The lowest unit linked to customer `ref` (a column reference: NEW.x, OLD.x, or the outer row's id).
  const unitOf = (ref: string) => knex.raw(`(SELECT min(??) FROM ?? WHERE ?? = ${ref})`, [n.unit, n.link, n.customer]).toQuery();
  const setFor = (ref: string) => knex.raw(`UPDATE ?? SET ?? = ${unitOf(ref)} WHERE id = ${ref}`, [n.customers, SCOPE_COLUMN]).toQuery();

  await knex.transaction(async (trx) => {
    if (strapi.db.dialect.client === 'postgres') {
      // One process at a time: two starting together would race on CREATE OR REPLACE.
      await trx.raw(`SELECT pg_advisory_xact_lock(hashtext(?))`, [trigger]);
      await trx.raw(`ALTER TABLE ?? ADD COLUMN IF NOT EXISTS ?? integer`, [n.customers, SCOPE_COLUMN]);
      await trx.raw(
        `CREATE OR REPLACE FUNCTION ??() RETURNS trigger LANGUAGE plpgsql AS $body$
         BEGIN
           IF TG_OP <> 'INSERT' THEN ${setFor(`OLD.${knex.raw('??', [n.customer]).toQuery()}`)}; END IF;
           IF TG_OP <> 'DELETE' THEN ${setFor(`NEW.${knex.raw('??', [n.customer]).toQuery()}`)}; END IF;
           RETURN NULL;
         END $body$`,
        [trigger]
      );
      await trx.raw(`CREATE OR REPLACE TRIGGER ?? AFTER INSERT OR UPDATE OR DELETE ON ?? FOR EACH ROW EXECUTE FUNCTION ??()`, [trigger, n.link, trigger]);
    } else {
      const columns = await trx.raw(`PRAGMA table_info(??)`, [n.customers]);
      if (!columns.some((c: any) => c.name === SCOPE_COLUMN)) await trx.raw(`ALTER TABLE ?? ADD COLUMN ?? integer`, [n.customers, SCOPE_COLUMN]);
      const col = (ref: string) => `${ref}.${knex.raw('??', [n.customer]).toQuery()}`;
      for (const [event, refs] of [['INSERT', ['NEW']], ['DELETE', ['OLD']], ['UPDATE', ['OLD', 'NEW']]] as const) {
        await trx.raw(`DROP TRIGGER IF EXISTS ??`, [`${trigger}_${event.toLowerCase()}`]);
        await trx.raw(`CREATE TRIGGER ?? AFTER ${event} ON ?? FOR EACH ROW BEGIN ${refs.map((r) => `${setFor(col(r))};`).join(' ')} END`, [
          `${trigger}_${event.toLowerCase()}`,
          n.link,
        ]);
      }
    }
    await trx.raw(`CREATE INDEX IF NOT EXISTS ?? ON ?? (??, ??, id)`, [index, n.customers, SCOPE_COLUMN, n.hidden]);
    // Reconcile: whatever changed while the triggers were not there.
    const outer = knex.raw('??.id', [n.customers]).toQuery();
    const differs = strapi.db.dialect.client === 'postgres' ? 'IS DISTINCT FROM' : 'IS NOT';
    const repaired = await trx.raw(`UPDATE ?? SET ?? = ${unitOf(outer)} WHERE ?? ${differs} ${unitOf(outer)}`, [n.customers, SCOPE_COLUMN, SCOPE_COLUMN]);
    const count = repaired?.rowCount ?? repaired?.changes ?? 0;
    if (count) strapi.log.info(`id-vault: org-unit scope mirrored onto ${count} customer row(s)`);
    // The link-table index an earlier version read the scope from.
    await trx.raw(`DROP INDEX IF EXISTS ??`, [`${n.link}_scope_idx`]);
  });
};
