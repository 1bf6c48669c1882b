import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import {
  cursorValue,
  decodeCursor,
  orderBy,
  type Sort,
  type SortColumn,
  seekPredicate,
} from '../db/keyset.ts';
import type { ChannelRow, ChannelUpdate, NewChannelRow } from '../db/types.ts';

export const CHANNEL_SORT_COLUMNS: Record<string, SortColumn> = {
  position: { expr: '$.position', type: 'bigint' },
};

export async function insertChannel(db: Db, row: NewChannelRow): Promise<ChannelRow> {
  return db.insertInto('channels').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findChannel(
  db: Db,
  tenantId: string,
  id: string,
  forUpdate = false,
): Promise<ChannelRow | undefined> {
  // Only a live customer's channels: a soft-deleted customer's channels are hidden with it.
  let q = db
    .selectFrom('channels as ch')
    .selectAll('ch')
    .where('ch.tenant_id', '=', tenantId)
    .where('ch.id', '=', id)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('customers as cu')
          .select('cu.id')
          .whereRef('cu.tenant_id', '=', 'ch.tenant_id')
          .whereRef('cu.id', '=', 'ch.customer_id')
          .where('cu.deleted_at', 'is', null),
      ),
    );
  if (forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function updateChannelRow(
  db: Db,
  tenantId: string,
  id: string,
  set: ChannelUpdate,
): Promise<ChannelRow> {
  return db
    .updateTable('channels')
    .set({ ...set, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteChannelRow(db: Db, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('channels').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

/** Serialises "set default" per customer and type, like lockPrimaryScope for contacts. */
export async function lockDefaultScope(
  db: Db,
  tenantId: string,
  customerId: string,
  type: string,
): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`default:${tenantId}:${customerId}:${type}`}, 0))`.execute(
    db,
  );
}

export async function clearDefault(
  db: Db,
  tenantId: string,
  customerId: string,
  type: string,
  exceptId: string,
): Promise<ChannelRow[]> {
  return db
    .updateTable('channels')
    .set({ is_default: false, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .where('type', '=', type)
    .where('is_default', '=', true)
    .where('id', '!=', exceptId)
    .returningAll()
    .execute();
}

export async function nextPosition(db: Db, tenantId: string, customerId: string): Promise<number> {
  const row = await db
    .selectFrom('channels')
    .select(sql<number>`coalesce(max(position) + 1, 0)::int`.as('next'))
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .executeTakeFirstOrThrow();
  return row.next;
}

export async function listChannelRows(
  db: Db,
  tenantId: string,
  customerId: string,
  filters: { type?: string | undefined; contactId?: string | undefined },
  sort: Sort,
  cursor: string | undefined,
  limit: number,
): Promise<(ChannelRow & { cursor_value: string })[]> {
  let q = db
    .selectFrom('channels as c')
    .selectAll('c')
    .select(cursorValue('c', sort).as('cursor_value'))
    .where('c.tenant_id', '=', tenantId)
    .where('c.customer_id', '=', customerId);
  if (filters.type) q = q.where('c.type', '=', filters.type);
  if (filters.contactId) q = q.where('c.contact_id', '=', filters.contactId);
  if (cursor) q = q.where(seekPredicate('c', sort, decodeCursor(cursor, sort)));
  return q
    .orderBy(orderBy('c', sort))
    .limit(limit + 1)
    .execute();
}

export async function findChannelByNumber(
  db: Db,
  tenantId: string,
  number: number,
): Promise<ChannelRow | undefined> {
  return db
    .selectFrom('channels')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('number', '=', number as never)
    .executeTakeFirst();
}
