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

// A search page has two good plans, and which one wins depends on how many of the tenant's rows match and where
// they fall in the sort order: walk the sort index and filter (cheap when matches are dense: the page fills after
// a few rows), or find every match (the trigram index, or an index on another filter) and sort them (cheap when
// matches are few, where a walk reads a large part of the tenant to fill the page). The planner picks by its
// estimate of the LIKE's selectivity, which is coarse (a term found in none of the column's 100 histogram samples
// counts as 0.01% of the rows, one found in a sample as 1%), assumes matches spread evenly over the sort order, and
// in a generic plan, which sees no pattern, is 0.5% for every term. On a tenant of a million contacts it then walks
// most of the tenant for a term whose matches are rarer than it thought or lie at the far end of the sort order
// (q=ann sorted by -email read ~900,000 rows: 5 s). The statement measures instead:
// - the probe reads at most SEARCH_PROBE_ROWS of the tenant's rows in sort order, keeping those that match. If
//   they fill the page, or if the probe read all of the tenant's rows (from the cursor on), they are the answer;
// - if the probe found matches at a rate that should fill the page within SEARCH_WALK_ROWS rows, a walk of at most
//   that many rows tries; a page found there is the answer;
// - otherwise (the term is rare, or its matches cluster where the probe looked) the planner's best plan for all the
//   matches runs, and the first of them in sort order are the page.
// The walks count the rows they read, not the rows that pass the filters, so each is bounded whatever the filters
// and the data; a term whose matches are rare or clustered costs at most the two walks more than the search of
// every match. One-time filters on the counts gate the branches, so a later one runs only when the earlier ones
// did not answer. The CTEs are MATERIALIZED so the planner cannot fold a walk into another plan, and OFFSET 0 keeps
// the sort order from steering the search of every match onto the sort index.
const SEARCH_PROBE_ROWS = 1000;
const SEARCH_WALK_ROWS = 10_000;

export async function listContactRows(
  db: Db,
  tenantId: string,
  filters: ContactFilters,
  sort: Sort,
  cursor: string | undefined,
  limit: number,
): Promise<ListedContactRow[]> {
  const tenantContacts = db.selectFrom('contacts as c').where('c.tenant_id', '=', tenantId);
  const after = cursor ? decodeCursor(cursor, sort) : undefined;
  const tenantRows = after ? tenantContacts.where(seekPredicate('c', sort, after)) : tenantContacts;
  const page = limit + 1;
  if (!filters.search) {
    return tenantRows
      .where(allOf(filterConditions('c', filters)))
      .select(CONTACT_VIEW_COLUMNS.map((col) => `c.${col}` as const))
      .select(cursorValue('c', sort).as('cursor_value'))
      .orderBy(orderBy('c', sort))
      .limit(page)
      .execute();
  }

  // pg_trgm takes its trigrams from runs of three letters or digits; without one, the trigram index would return
  // every row to recheck, and the same substring test as a plain filter lets the planner scan the table instead.
  const search = filters.search;
  const trigrams = /[\p{L}\p{N}]{3}/u.test(search);
  const matching = (alias: string) => {
    const column = sql.ref(`${alias}.search`);
    return allOf([
      ...filterConditions(alias, filters),
      trigrams
        ? sql<boolean>`${column} like ${containsPattern(search)}`
        : sql<boolean>`strpos(${column}, ${search}) > 0`,
    ]);
  };
  const walk = (rows: number) => tenantRows.selectAll('c').orderBy(orderBy('c', sort)).limit(sql.lit(rows));
  const probeRows = sql.lit(SEARCH_PROBE_ROWS);
  const read = tenantRows.select(sql.lit(1).as('one')).orderBy(orderBy('c', sort)).limit(probeRows);
  // The cursor applies outside the fence: inside, it would invite the sort index as a range scan for "all matches".
  const matches = tenantContacts.selectAll('c').where(matching('c')).offset(sql.lit(0));
  const afterCursor = after ? seekPredicate('m', sort, after) : sql<boolean>`true`;
  // The probe's matches that predict a page within SEARCH_WALK_ROWS rows.
  const dense = Math.ceil((page * SEARCH_PROBE_ROWS) / SEARCH_WALK_ROWS);
  // Nested in a derived table, the WITH stays inside a plain SELECT (PostgreSQL allows data-modifying CTEs only at
  // the top level), which the driver sends as a read. The cursor value is computed for the page's rows only.
  const searched = sql<ContactRow>`(
    with probe as materialized (
      select w.* from ${walk(SEARCH_PROBE_ROWS)} as w where ${matching('w')} order by ${orderBy('w', sort)} limit ${page}
    ), read as materialized (
      select count(*) as n from ${read} as w
    ), further as materialized (
      select w.* from ${walk(SEARCH_WALK_ROWS)} as w where ${matching('w')} order by ${orderBy('w', sort)} limit ${page}
    )
    select * from probe
    where (select count(*) from probe) = ${page} or (select n from read) < ${probeRows}
    union all
    select * from further
    where (select count(*) from probe) between ${dense} and ${page - 1} and (select n from read) = ${probeRows}
      and (select count(*) from further) = ${page}
    union all
    select * from (
      select * from ${matches} as m where ${afterCursor} order by ${orderBy('m', sort)} limit ${page}
    ) as sorted
    where (select count(*) from probe) < ${page} and (select n from read) = ${probeRows}
      and ((select count(*) from probe) < ${dense} or (select count(*) from further) < ${page})
  )`;
  return db
    .selectFrom(searched.as('r'))
    .select(CONTACT_VIEW_COLUMNS.map((col) => `r.${col}` as const))
    .select(cursorValue('r', sort).as('cursor_value'))
    .orderBy(orderBy('r', sort))
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
