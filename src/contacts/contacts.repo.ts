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
import { containsPattern } from '../db/like.ts';
import type { ContactRow, ContactUpdate, NewContactRow } from '../db/types.ts';

export const CONTACT_SORT_COLUMNS: Record<string, SortColumn> = {
  created_at: { expr: '$.created_at', type: 'timestamptz' },
  updated_at: { expr: '$.updated_at', type: 'timestamptz' },
  name: { expr: '$.sort_name', type: 'text' },
  email: { expr: '$.sort_email', type: 'text' },
};

export async function insertContact(db: Db, row: NewContactRow): Promise<ContactRow> {
  return db.insertInto('contacts').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findContact(
  db: Db,
  tenantId: string,
  id: string,
  options: { includeDeleted?: boolean; forUpdate?: boolean } = {},
): Promise<ContactRow | undefined> {
  let q = db.selectFrom('contacts').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
  if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
  if (options.forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function findContactByNumber(
  db: Db,
  tenantId: string,
  number: number,
): Promise<ContactRow | undefined> {
  return db
    .selectFrom('contacts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('number', '=', number as never)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function updateContactRow(
  db: Db,
  tenantId: string,
  id: string,
  set: ContactUpdate,
): Promise<ContactRow> {
  return db
    .updateTable('contacts')
    .set({ ...set, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Serialises "set primary" per customer (or per tenant for its own contacts), so two concurrent promotions
 * cannot both demote the same old primary and then collide on the one-primary index.
 */
export async function lockPrimaryScope(db: Db, tenantId: string, customerId: string | null): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`primary:${tenantId}:${customerId ?? ''}`}, 0))`.execute(
    db,
  );
}

export async function demotePrimary(
  db: Db,
  tenantId: string,
  customerId: string | null,
  exceptId: string,
): Promise<ContactRow[]> {
  let q = db
    .updateTable('contacts')
    .set({ is_primary: false, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('is_primary', '=', true)
    .where('deleted_at', 'is', null)
    .where('id', '!=', exceptId);
  q = customerId === null ? q.where('customer_id', 'is', null) : q.where('customer_id', '=', customerId);
  return q.returningAll().execute();
}

export async function hasLivePrimary(
  db: Db,
  tenantId: string,
  customerId: string | null,
  exceptId: string,
): Promise<boolean> {
  let q = db
    .selectFrom('contacts')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('is_primary', '=', true)
    .where('deleted_at', 'is', null)
    .where('id', '!=', exceptId);
  q = customerId === null ? q.where('customer_id', 'is', null) : q.where('customer_id', '=', customerId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** True when a live customer names this contact as its billing, technical or security contact. */
export async function isContactInUse(db: Db, tenantId: string, contactId: string): Promise<boolean> {
  const row = await db
    .selectFrom('customers')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where((eb) =>
      eb.or([
        eb('billing_contact_id', '=', contactId),
        eb('technical_contact_id', '=', contactId),
        eb('security_contact_id', '=', contactId),
      ]),
    )
    .executeTakeFirst();
  return row !== undefined;
}

export async function deleteContactRow(db: Db, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('contacts').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

/** Soft-deletes a customer's live contacts with the customer's own deleted_at, so restoring it can undo exactly that. */
export async function softDeleteCustomerContacts(
  db: Db,
  tenantId: string,
  customerId: string,
  at: Date,
): Promise<ContactRow[]> {
  return db
    .updateTable('contacts')
    .set({ deleted_at: at, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .where('deleted_at', 'is', null)
    .returningAll()
    .execute();
}

export async function restoreCustomerContacts(
  db: Db,
  tenantId: string,
  customerId: string,
  at: Date,
): Promise<ContactRow[]> {
  return db
    .updateTable('contacts')
    .set({ deleted_at: null, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .where('deleted_at', '=', at)
    .returningAll()
    .execute();
}

export interface ContactFilters {
  customerId?: string | undefined;
  role?: string | undefined;
  contactType?: string | undefined;
  email?: string | undefined;
  phoneE164?: string | undefined;
  isPrimary?: boolean | undefined;
  updatedSince?: string | undefined;
  includeDeleted?: boolean | undefined;
  /** Lower-cased text searched as a substring of the search column (trigram-indexed). */
  search?: string | undefined;
}

export async function listContactRows(
  db: Db,
  tenantId: string,
  filters: ContactFilters,
  sort: Sort,
  cursor: string | undefined,
  limit: number,
): Promise<(ContactRow & { cursor_value: string })[]> {
  let q = db
    .selectFrom('contacts as c')
    .selectAll('c')
    .select(cursorValue('c', sort).as('cursor_value'))
    .where('c.tenant_id', '=', tenantId);
  if (!filters.includeDeleted) q = q.where('c.deleted_at', 'is', null);
  if (filters.customerId) q = q.where('c.customer_id', '=', filters.customerId);
  if (filters.role) q = q.where(sql`lower(c.role)`, '=', filters.role.toLowerCase());
  if (filters.contactType) q = q.where('c.contact_type', '=', filters.contactType);
  if (filters.email) q = q.where('c.sort_email', '=', filters.email.toLowerCase());
  if (filters.phoneE164) q = q.where('c.phone_e164', '=', filters.phoneE164);
  if (filters.isPrimary !== undefined) q = q.where('c.is_primary', '=', filters.isPrimary);
  if (filters.updatedSince) q = q.where('c.updated_at', '>=', new Date(filters.updatedSince));
  if (filters.search) q = q.where('c.search', 'like', containsPattern(filters.search));
  if (cursor) q = q.where(seekPredicate('c', sort, decodeCursor(cursor, sort)));
  return q
    .orderBy(orderBy('c', sort))
    .limit(limit + 1)
    .execute();
}
