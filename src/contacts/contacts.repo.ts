import { type RawBuilder, sql } from 'kysely';
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

type FindContactOptions = { includeDeleted?: boolean; forUpdate?: boolean };

// Every GET, PATCH and DELETE of a contact starts here: compiled once per options (src/db/prepared.ts).
const contactById = preparedByOptions((options: FindContactOptions) => (db, tenantId: string, id: string) => {
  let q = db.selectFrom('contacts').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
  if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
  if (options.forUpdate) q = q.forUpdate();
  return q;
});

export async function findContact(
  db: Db,
  tenantId: string,
  id: string,
  options: FindContactOptions = {},
): Promise<ContactRow | undefined> {
  return (await contactById(options).execute(db, tenantId, id))[0];
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
    .where('deleted_at', 'is', null)
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

/** The columns a contact is shown with (toContact): lists read only these, not the keys kept for search and sort. */
const CONTACT_VIEW_COLUMNS = [
  'id',
  'number',
  'customer_id',
  'name',
  'first_name',
  'last_name',
  'job_title',
  'organization_name',
  'label',
  'email',
  'phone',
  'fax',
  'address1',
  'address2',
  'city',
  'state_province',
  'postal_code',
  'country',
  'contact_type',
  'role',
  'is_primary',
  'notes',
  'user_id',
  'metadata',
  'phone_e164',
  'fax_e164',
  'created_at',
  'updated_at',
  'deleted_at',
] as const;
type ContactViewColumn = (typeof CONTACT_VIEW_COLUMNS)[number];
export type ContactView = Pick<ContactRow, ContactViewColumn>;
type ListedContactRow = ContactView & { cursor_value: string };

/** The list filters other than the tenant, the cursor and the search, on the rows of `alias`. */
function filterConditions(alias: string, filters: ContactFilters): RawBuilder<boolean>[] {
  const col = (name: string) => sql.ref(`${alias}.${name}`);
  const conditions: RawBuilder<boolean>[] = [];
  if (!filters.includeDeleted) conditions.push(sql`${col('deleted_at')} is null`);
  if (filters.customerId) conditions.push(sql`${col('customer_id')} = ${filters.customerId}`);
  if (filters.role) conditions.push(sql`lower(${col('role')}) = ${filters.role.toLowerCase()}`);
  if (filters.contactType) conditions.push(sql`${col('contact_type')} = ${filters.contactType}`);
  if (filters.email) conditions.push(sql`${col('sort_email')} = ${filters.email.toLowerCase()}`);
  if (filters.phoneE164) conditions.push(sql`${col('phone_e164')} = ${filters.phoneE164}`);
  if (filters.isPrimary !== undefined) conditions.push(sql`${col('is_primary')} = ${filters.isPrimary}`);
  if (filters.updatedSince) {
    conditions.push(sql`${col('updated_at')} >= ${new Date(filters.updatedSince)}`);
  }
  return conditions;
}

function allOf(conditions: RawBuilder<boolean>[]): RawBuilder<boolean> {
  return conditions.length ? sql<boolean>`${sql.join(conditions, sql` and `)}` : sql<boolean>`true`;
}

export async function listContactRows(
  db: Db,
  tenantId: string,
  filters: ContactFilters,
  sort: Sort,
  cursor: string | undefined,
  limit: number,
): Promise<ListedContactRow[]> {
  const conditions = filterConditions('c', filters);
  if (filters.search) {
    const column = sql.ref('c.search');
    // pg_trgm takes its trigrams from runs of three letters or digits; without one, the trigram index would return
    // every row to recheck, and the same substring test as a plain filter lets the planner scan instead.
    conditions.push(
      /[\p{L}\p{N}]{3}/u.test(filters.search)
        ? sql<boolean>`${column} like ${containsPattern(filters.search)}`
        : sql<boolean>`strpos(${column}, ${filters.search}) > 0`,
    );
  }
  let q = db.selectFrom('contacts as c').where('c.tenant_id', '=', tenantId).where(allOf(conditions));
  if (cursor) q = q.where(seekPredicate('c', sort, decodeCursor(cursor, sort)));
  return q
    .select(CONTACT_VIEW_COLUMNS.map((col) => `c.${col}` as const))
    .select(cursorValue('c', sort).as('cursor_value'))
    .orderBy(orderBy('c', sort))
    .limit(limit + 1)
    .execute();
}

// A structured query for dialects whose lists are offset-paged and filterable (OData $filter, DNSimple sort,
// Ecwid search): conditions over an allow-list of columns, never SQL text from a client.
export type QueryableContactColumn =
  | Exclude<ContactViewColumn, 'metadata' | 'fax_e164' | 'deleted_at'>
  | 'sort_name'
  | 'sort_email';
export const QUERYABLE_CONTACT_COLUMNS: readonly QueryableContactColumn[] = [
  ...CONTACT_VIEW_COLUMNS.filter(
    (c): c is Exclude<ContactViewColumn, 'metadata' | 'fax_e164' | 'deleted_at'> =>
      c !== 'metadata' && c !== 'fax_e164' && c !== 'deleted_at',
  ),
  'sort_name',
  'sort_email',
];

export type ContactCondition =
  | { and: ContactCondition[] }
  | { or: ContactCondition[] }
  | { not: ContactCondition }
  | {
      column: QueryableContactColumn;
      op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'contains' | 'startswith' | 'endswith';
      value: string | number | boolean | null;
    };

export interface ContactQuerySpec {
  where?: ContactCondition | undefined;
  /** undefined: any; null: the tenant's own contacts only; a UUID: that customer's. */
  customerId?: string | null | undefined;
  includeDeleted?: boolean | undefined;
  orderBy: { column: QueryableContactColumn; desc?: boolean | undefined }[];
  offset: number;
  limit: number;
}

const OPS = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

function conditionSql(c: ContactCondition): RawBuilder<boolean> {
  if ('and' in c)
    return c.and.length
      ? sql<boolean>`(${sql.join(c.and.map(conditionSql), sql` and `)})`
      : sql<boolean>`true`;
  if ('or' in c)
    return c.or.length ? sql<boolean>`(${sql.join(c.or.map(conditionSql), sql` or `)})` : sql<boolean>`false`;
  if ('not' in c) return sql<boolean>`(not coalesce(${conditionSql(c.not)}, false))`;
  if (!(QUERYABLE_CONTACT_COLUMNS as readonly string[]).includes(c.column))
    throw new Error(`not queryable: ${c.column}`);
  const col = sql.ref(`c.${c.column}`);
  if (c.op === 'contains' || c.op === 'startswith' || c.op === 'endswith') {
    const text = String(c.value ?? '').replace(/[\\%_]/g, (ch) => `\\${ch}`);
    const pattern = c.op === 'contains' ? `%${text}%` : c.op === 'startswith' ? `${text}%` : `%${text}`;
    return sql<boolean>`(${col}::text ilike ${pattern})`;
  }
  if (c.value === null)
    return c.op === 'ne' ? sql<boolean>`(${col} is not null)` : sql<boolean>`(${col} is null)`;
  // Compare as the column's own type: the value goes in as text and PostgreSQL casts it.
  const value = sql`cast(${String(c.value)}::text as ${sql.raw(columnType(c.column))})`;
  if (c.op === 'ne') return sql<boolean>`(${col} is distinct from ${value})`;
  return sql<boolean>`(${col} ${sql.raw(OPS[c.op])} ${value})`;
}

function columnType(column: QueryableContactColumn): string {
  if (column === 'id' || column === 'customer_id') return 'uuid';
  if (column === 'number') return 'bigint';
  if (column === 'is_primary') return 'boolean';
  if (column === 'created_at' || column === 'updated_at') return 'timestamptz';
  return 'text';
}

export async function queryContactRows(
  db: Db,
  tenantId: string,
  spec: ContactQuerySpec,
): Promise<{ rows: ContactRow[]; total: number }> {
  let q = db.selectFrom('contacts as c').where('c.tenant_id', '=', tenantId);
  if (!spec.includeDeleted) q = q.where('c.deleted_at', 'is', null);
  if (spec.customerId === null) q = q.where('c.customer_id', 'is', null);
  else if (spec.customerId !== undefined) q = q.where('c.customer_id', '=', spec.customerId);
  if (spec.where) q = q.where(conditionSql(spec.where));
  let page = q.selectAll('c').select(sql<number>`count(*) over ()`.as('total_count'));
  for (const o of spec.orderBy) page = page.orderBy(sql.ref(`c.${o.column}`), o.desc ? 'desc' : 'asc');
  page = page.orderBy('c.id', spec.orderBy.at(-1)?.desc ? 'desc' : 'asc');
  const rows = await page.offset(spec.offset).limit(spec.limit).execute();
  let total = Number(rows[0]?.total_count ?? 0);
  // An offset past the end (or a limit of 0, a count-only query) returns no row to carry the window count:
  // count separately.
  if (rows.length === 0 && (spec.offset > 0 || spec.limit === 0)) {
    const r = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    total = Number(r.n);
  }
  return { rows: rows.map(({ total_count: _, ...row }) => row as ContactRow), total };
}
