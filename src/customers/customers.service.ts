// Customer rules: designated contacts must be live contacts of the customer (or of the tenant), soft delete
// takes the customer's contacts with it and restore brings back exactly those.
import { sql } from 'kysely';
import {
  findContact,
  restoreCustomerContacts,
  softDeleteCustomerContacts,
} from '../contacts/contacts.repo.ts';
import { scrubEvents, toContact } from '../contacts/contacts.service.ts';
import type { Db } from '../db/connection.ts';
import { type Page, parseSort, toPage } from '../db/keyset.ts';
import { inTx, sendAhead } from '../db/tx.ts';
import type { CustomerRow, CustomerUpdate } from '../db/types.ts';
import { changedFields, recordEvent } from '../events/events.service.ts';
import { hasScope, type TenantContext } from '../http/context.ts';
import { ERRORS, type FieldError } from '../http/errors.ts';
import { checkIfMatch, type IfMatch } from '../http/etag.ts';
import { givenFields } from '../lib/fields.ts';
import { newId } from '../lib/ids.ts';
import {
  CUSTOMER_SORT_COLUMNS,
  customerQuery,
  deleteCustomerRow,
  findCustomer,
  findCustomerByNumber,
  findCustomersByIds,
  insertCustomer,
  listCustomerRows,
  releaseDesignations,
  updateCustomerRow,
} from './customers.repo.ts';
import type { Customer, CustomerCreate, CustomerListQuery, CustomerPatch } from './customers.schema.ts';

/**
 * Runs fn, the statements of a transaction that add a contact or channel to a customer, after checking that the
 * customer is live and locking it FOR KEY SHARE until the transaction ends (the lock its foreign keys take anyway:
 * deleting the customer, FOR UPDATE, waits; editing it does not). The check is sent ahead, so it costs no round
 * trip of its own; should fn fail because the customer is missing (a foreign key violation), the answer is
 * still the customer's 404.
 */
export async function addingToCustomer<T>(
  trx: Db,
  ctx: TenantContext,
  customerId: string | null,
  fn: () => Promise<T>,
): Promise<T> {
  if (customerId === null) return fn();
  const found = await sendAhead(trx, customerQuery(trx, ctx.tenantId, customerId, { forKeyShare: true }));
  const requireLive = async () => {
    if ((await found.rows).length === 0) throw ERRORS.notFound('customer', customerId);
  };
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await requireLive();
    throw err;
  }
  await requireLive();
  return result;
}

export function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    number: row.number,
    name: row.name,
    external_ref: row.external_ref,
    metadata: row.metadata as Customer['metadata'],
    billing_contact_id: row.billing_contact_id,
    technical_contact_id: row.technical_contact_id,
    security_contact_id: row.security_contact_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    deleted_at: row.deleted_at?.toISOString() ?? null,
  };
}

const DESIGNATIONS = ['billing_contact_id', 'technical_contact_id', 'security_contact_id'] as const;

async function checkDesignations(
  db: Db,
  ctx: TenantContext,
  customerId: string,
  input: CustomerPatch,
): Promise<void> {
  const errors: FieldError[] = [];
  for (const field of DESIGNATIONS) {
    const contactId = input[field];
    if (!contactId) continue;
    const contact = await findContact(db, ctx.tenantId, contactId, { forUpdate: true });
    if (!contact || (contact.customer_id !== null && contact.customer_id !== customerId)) {
      errors.push({
        field,
        code: 'invalid_reference',
        message: 'must be a live contact of this customer or of the tenant',
      });
    }
  }
  if (errors.length) throw ERRORS.validation(errors);
}

export async function createCustomer(
  db: Db,
  ctx: TenantContext,
  input: CustomerCreate,
): Promise<CustomerRow> {
  return inTx(db, async (trx) => {
    const id = newId();
    await checkDesignations(trx, ctx, id, input);
    const row = await insertCustomer(trx, {
      ...(givenFields(input) as object),
      tenant_id: ctx.tenantId,
      id,
    } as never);
    await recordEvent(trx, ctx, 'customer', 'created', id, toCustomer(row));
    return row;
  });
}

export async function getCustomer(
  db: Db,
  ctx: TenantContext,
  id: string,
  options: { includeDeleted?: boolean } = {},
): Promise<CustomerRow> {
  const row = await findCustomer(db, ctx.tenantId, id, options);
  if (!row) throw ERRORS.notFound('customer', id);
  return row;
}

export async function updateCustomer(
  db: Db,
  ctx: TenantContext,
  id: string,
  patch: CustomerPatch,
  ifMatch?: IfMatch,
): Promise<CustomerRow> {
  return inTx(db, async (trx) => {
    const row = await findCustomer(trx, ctx.tenantId, id, { forNoKeyUpdate: true });
    if (!row) throw ERRORS.notFound('customer', id);
    checkIfMatch(ifMatch, row.version);
    await checkDesignations(trx, ctx, id, patch);
    const before = toCustomer(row);
    const updated = await updateCustomerRow(trx, ctx.tenantId, id, givenFields(patch));
    const after = toCustomer(updated);
    const changes = changedFields(before, after);
    await recordEvent(trx, ctx, 'customer', 'updated', id, after, changes);
    return updated;
  });
}

export async function deleteCustomer(
  db: Db,
  ctx: TenantContext,
  id: string,
  ifMatch?: IfMatch,
): Promise<CustomerRow> {
  return inTx(db, async (trx) => {
    const row = await findCustomer(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw ERRORS.notFound('customer', id);
    checkIfMatch(ifMatch, row.version);
    const deleted = await updateCustomerRow(trx, ctx.tenantId, id, { deleted_at: sql<Date>`now()` as never });
    const contacts = await softDeleteCustomerContacts(trx, ctx.tenantId, id, deleted.deleted_at as Date);
    for (const contact of contacts) {
      await recordEvent(trx, ctx, 'contact', 'deleted', contact.id, toContact(contact));
    }
    await recordEvent(trx, ctx, 'customer', 'deleted', id, toCustomer(deleted));
    return deleted;
  });
}

export async function restoreCustomer(
  db: Db,
  ctx: TenantContext,
  id: string,
  ifMatch?: IfMatch,
): Promise<CustomerRow> {
  return inTx(db, async (trx) => {
    const row = await findCustomer(trx, ctx.tenantId, id, { includeDeleted: true, forUpdate: true });
    if (!row) throw ERRORS.notFound('customer', id);
    checkIfMatch(ifMatch, row.version);
    if (!row.deleted_at) return row;
    const contacts = await restoreCustomerContacts(trx, ctx.tenantId, id, row.deleted_at);
    // A designated contact deleted while the customer was deleted is no longer designated.
    const dangling: CustomerUpdate = {};
    for (const field of DESIGNATIONS) {
      const contactId = row[field];
      if (contactId && !(await findContact(trx, ctx.tenantId, contactId))) dangling[field] = null;
    }
    const restored = await updateCustomerRow(trx, ctx.tenantId, id, { ...dangling, deleted_at: null });
    for (const contact of contacts) {
      await recordEvent(trx, ctx, 'contact', 'restored', contact.id, toContact(contact));
    }
    await recordEvent(trx, ctx, 'customer', 'restored', id, toCustomer(restored));
    return restored;
  });
}

/** Erases the customer, its contacts and channels, and scrubs them from the event history (admin only). */
export async function purgeCustomer(
  db: Db,
  ctx: TenantContext,
  id: string,
  ifMatch?: IfMatch,
): Promise<void> {
  if (!hasScope(ctx, 'admin')) throw ERRORS.forbidden('admin');
  await inTx(db, async (trx) => {
    const row = await findCustomer(trx, ctx.tenantId, id, { includeDeleted: true, forUpdate: true });
    if (!row) throw ERRORS.notFound('customer', id);
    checkIfMatch(ifMatch, row.version);
    const owned = await trx
      .selectFrom('contacts')
      .select('id')
      .where('tenant_id', '=', ctx.tenantId)
      .where('customer_id', '=', id)
      .execute();
    const channels = await trx
      .selectFrom('channels')
      .select('id')
      .where('tenant_id', '=', ctx.tenantId)
      .where('customer_id', '=', id)
      .execute();
    const contactIds = owned.map((c) => c.id);
    await releaseDesignations(trx, ctx.tenantId, contactIds);
    await deleteCustomerRow(trx, ctx.tenantId, id);
    await scrubEvents(trx, ctx.tenantId, [id, ...contactIds, ...channels.map((c) => c.id)]);
    await recordEvent(trx, ctx, 'customer', 'purged', id, { id, number: row.number });
  });
}

export async function listCustomers(
  db: Db,
  ctx: TenantContext,
  query: CustomerListQuery,
): Promise<Page<Customer>> {
  const sort = parseSort(query.sort, CUSTOMER_SORT_COLUMNS, 'created_at');
  const limit = query.limit ?? 50;
  const search = query.q?.trim().toLowerCase();
  if (search === '') throw ERRORS.invalidField('q', 'too_short', 'must not be blank');
  const rows = await listCustomerRows(
    db,
    ctx.tenantId,
    {
      externalRef: query.external_ref,
      updatedSince: query.updated_since,
      includeDeleted: query.include_deleted,
      search,
    },
    sort,
    query.cursor,
    limit,
  );
  return toPage(rows, limit, sort, toCustomer);
}

export async function getCustomerByNumber(db: Db, ctx: TenantContext, number: number): Promise<CustomerRow> {
  const row = Number.isSafeInteger(number) ? await findCustomerByNumber(db, ctx.tenantId, number) : undefined;
  if (!row) throw ERRORS.notFound('customer', String(number));
  return row;
}

/**
 * Customers by id, for lists that show each row's customer (e.g. a contact's customer name) in one query;
 * soft-deleted customers are included so a row never loses its customer's name. Ids of other tenants are absent.
 */
export async function getCustomersByIds(
  db: Db,
  ctx: TenantContext,
  ids: readonly string[],
): Promise<Map<string, CustomerRow>> {
  const rows = await findCustomersByIds(db, ctx.tenantId, [...new Set(ids)]);
  return new Map(rows.map((row) => [row.id, row]));
}
