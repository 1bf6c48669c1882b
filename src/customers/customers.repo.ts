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
import { preparedByOptions } from '../db/prepared.ts';
import type { CustomerRow, CustomerUpdate, NewCustomerRow } from '../db/types.ts';

export const CUSTOMER_SORT_COLUMNS: Record<string, SortColumn> = {
  created_at: { expr: '$.created_at', type: 'timestamptz' },
  updated_at: { expr: '$.updated_at', type: 'timestamptz' },
  name: { expr: 'lower($.name)', type: 'text' },
};

export async function insertCustomer(db: Db, row: NewCustomerRow): Promise<CustomerRow> {
  return db.insertInto('customers').values(row).returningAll().executeTakeFirstOrThrow();
}

type FindCustomerOptions = {
  includeDeleted?: boolean;
  forUpdate?: boolean;
  forNoKeyUpdate?: boolean;
  forKeyShare?: boolean;
};

// Lock strengths: FOR UPDATE (delete, restore, purge) conflicts with the FOR KEY SHARE a new contact or channel
// takes on its customer, so a customer cannot be deleted under a contact being added; FOR NO KEY UPDATE (plain
// updates) does not, so editing a customer never blocks adding to it. Compiled once per options
// (src/db/prepared.ts): every write to a customer's contacts or channels starts here.
const customerById = preparedByOptions(
  (options: FindCustomerOptions) => (db, tenantId: string, id: string) => {
    let q = db.selectFrom('customers').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
    if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
    if (options.forUpdate) q = q.forUpdate();
    else if (options.forNoKeyUpdate) q = q.forNoKeyUpdate();
    else if (options.forKeyShare) q = q.forKeyShare();
    return q;
  },
);

export async function findCustomer(
  db: Db,
  tenantId: string,
  id: string,
  options: FindCustomerOptions = {},
): Promise<CustomerRow | undefined> {
  return (await customerById(options).execute(db, tenantId, id))[0];
}

/** The query findCustomer runs, compiled, for a caller that sends it ahead (src/db/tx.ts). */
export function customerQuery(db: Db, tenantId: string, id: string, options: FindCustomerOptions = {}) {
  return customerById(options).compile(db, tenantId, id);
}

export async function findCustomerByNumber(
  db: Db,
  tenantId: string,
  number: number,
): Promise<CustomerRow | undefined> {
  return db
    .selectFrom('customers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('number', '=', number as never)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function updateCustomerRow(
  db: Db,
  tenantId: string,
  id: string,
  set: CustomerUpdate,
): Promise<CustomerRow> {
  return db
    .updateTable('customers')
    .set({ ...set, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteCustomerRow(db: Db, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('customers').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

/** Clears designated-contact references to contacts of this customer held by other customers (before a purge). */
export async function releaseDesignations(db: Db, tenantId: string, contactIds: string[]): Promise<void> {
  if (contactIds.length === 0) return;
  for (const column of ['billing_contact_id', 'technical_contact_id', 'security_contact_id'] as const) {
    await db
      .updateTable('customers')
      .set({ [column]: null })
      .where('tenant_id', '=', tenantId)
      .where(column, 'in', contactIds)
      .execute();
  }
}

export interface CustomerFilters {
  externalRef?: string | undefined;
  updatedSince?: string | undefined;
  includeDeleted?: boolean | undefined;
  search?: string | undefined;
}

export async function listCustomerRows(
  db: Db,
  tenantId: string,
  filters: CustomerFilters,
  sort: Sort,
  cursor: string | undefined,
  limit: number,
): Promise<(CustomerRow & { cursor_value: string })[]> {
  let q = db
    .selectFrom('customers as c')
    .selectAll('c')
    .select(cursorValue('c', sort).as('cursor_value'))
    .where('c.tenant_id', '=', tenantId);
  if (!filters.includeDeleted) q = q.where('c.deleted_at', 'is', null);
  if (filters.externalRef) q = q.where('c.external_ref', '=', filters.externalRef);
  if (filters.updatedSince) q = q.where('c.updated_at', '>=', new Date(filters.updatedSince));
  if (filters.search) {
    q = q.where(sql`lower(c.name)`, 'like', containsPattern(filters.search));
  }
  if (cursor) q = q.where(seekPredicate('c', sort, decodeCursor(cursor, sort)));
  return q
    .orderBy(orderBy('c', sort))
    .limit(limit + 1)
    .execute();
}

/** The tenant's customers with these ids (deleted ones too), in no particular order. */
export async function findCustomersByIds(
  db: Db,
  tenantId: string,
  ids: readonly string[],
): Promise<CustomerRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('customers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', [...ids])
    .execute();
}
