// Contact rules: field normalisation (email syntax, phones to E.164, ISO countries), one primary per customer,
// soft delete and restore, "in use" protection, and an event for every write in the same transaction.
import { sql } from 'kysely';
import { findCustomer, releaseDesignations } from '../customers/customers.repo.ts';
import { addingToCustomer } from '../customers/customers.service.ts';
import type { Db } from '../db/connection.ts';
import { type Page, parseSort, toPage } from '../db/keyset.ts';
import { inTx } from '../db/tx.ts';
import type { ContactRow, ContactUpdate } from '../db/types.ts';
import { changedFields, recordEvent } from '../events/events.service.ts';
import { hasScope, type TenantContext } from '../http/context.ts';
import { ERRORS, type FieldError } from '../http/errors.ts';
import { checkIfMatch, type IfMatch } from '../http/etag.ts';
import { isCountryCode } from '../lib/country.ts';
import { isEmail } from '../lib/email.ts';
import { newId } from '../lib/ids.ts';
import { normalizePhone, phoneForMatch } from '../lib/phone.ts';
import {
  CONTACT_SORT_COLUMNS,
  type ContactQuerySpec,
  type ContactView,
  deleteContactRow,
  demotePrimary,
  findContact,
  findContactByNumber,
  hasLivePrimary,
  insertContact,
  isContactInUse,
  listContactRows,
  lockPrimaryScope,
  queryContactRows,
  updateContactRow,
} from './contacts.repo.ts';
import type { Contact, ContactCreate, ContactListQuery, ContactPatch } from './contacts.schema.ts';

export function toContact(row: ContactView): Contact {
  return {
    id: row.id,
    number: row.number,
    customer_id: row.customer_id,
    name: row.name,
    first_name: row.first_name,
    last_name: row.last_name,
    job_title: row.job_title,
    organization_name: row.organization_name,
    label: row.label,
    email: row.email,
    phone: row.phone,
    fax: row.fax,
    address1: row.address1,
    address2: row.address2,
    city: row.city,
    state_province: row.state_province,
    postal_code: row.postal_code,
    country: row.country,
    contact_type: row.contact_type,
    role: row.role,
    is_primary: row.is_primary,
    notes: row.notes,
    user_id: row.user_id,
    metadata: row.metadata as Contact['metadata'],
    phone_e164: row.phone_e164,
    fax_e164: row.fax_e164,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    deleted_at: row.deleted_at?.toISOString() ?? null,
  };
}

type Fields = Omit<ContactCreate, 'customer_id'>;

const IDENTITY_FIELDS = ['name', 'first_name', 'last_name', 'email', 'phone', 'user_id'] as const;

function blank(value: string | null | undefined): boolean {
  return value === null || value === undefined || value.trim() === '';
}

/** Validates and normalises the fields present in `input` into column values; pushes one error per bad field. */
function normalize(ctx: TenantContext, input: Fields, errors: FieldError[]): ContactUpdate {
  const set: ContactUpdate = {};
  for (const [key, value] of Object.entries(input) as [keyof Fields, unknown][]) {
    if (value === undefined) continue;
    switch (key) {
      case 'email': {
        const v = value as string | null;
        if (blank(v)) set.email = null;
        else if (!isEmail((v as string).trim())) {
          errors.push({ field: 'email', code: 'invalid_format', message: 'must be a valid email address' });
        } else set.email = (v as string).trim();
        break;
      }
      case 'phone':
      case 'fax': {
        const v = value as string | null;
        const e164Key = key === 'phone' ? 'phone_e164' : 'fax_e164';
        if (blank(v)) {
          set[key] = null;
          set[e164Key] = null;
          break;
        }
        const parsed = normalizePhone(v as string, ctx.defaultRegion);
        if (!parsed.ok) {
          errors.push({
            field: key,
            code: 'invalid_phone',
            message: `${parsed.message} (national numbers are read as ${ctx.defaultRegion})`,
          });
        } else {
          set[key] = (v as string).trim();
          set[e164Key] = parsed.e164;
        }
        break;
      }
      case 'country': {
        const v = value as string | null;
        if (blank(v)) set.country = null;
        else if (!isCountryCode((v as string).toUpperCase())) {
          errors.push({
            field: 'country',
            code: 'invalid_value',
            message: 'must be an ISO 3166-1 alpha-2 country code',
          });
        } else set.country = (v as string).toUpperCase();
        break;
      }
      case 'metadata':
        set.metadata = value as Record<string, unknown>;
        break;
      case 'is_primary':
        set.is_primary = value as boolean;
        break;
      default:
        (set as Record<string, unknown>)[key] = value;
    }
  }
  return set;
}

function checkIdentity(
  merged: Partial<Record<(typeof IDENTITY_FIELDS)[number], string | null | undefined>>,
  errors: FieldError[],
) {
  if (IDENTITY_FIELDS.every((f) => blank(merged[f]))) {
    errors.push({
      field: 'name',
      code: 'required',
      message: 'a contact needs at least one of name, first_name, last_name, email, phone or user_id',
    });
  }
}

/** True when applying `set` would change the row (a no-op PATCH keeps the version and ETag). */
function differs(row: ContactRow, set: ContactUpdate): boolean {
  const current = row as unknown as Record<string, unknown>;
  return Object.entries(set).some(([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v));
}

async function recordDemotions(db: Db, ctx: TenantContext, demoted: ContactRow[]): Promise<void> {
  for (const row of demoted) {
    await recordEvent(db, ctx, 'contact', 'updated', row.id, toContact(row), { is_primary: true });
  }
}

export async function createContact(db: Db, ctx: TenantContext, input: ContactCreate): Promise<ContactRow> {
  const { customer_id: customerId = null, ...fields } = input;
  const errors: FieldError[] = [];
  const set = normalize(ctx, fields, errors);
  checkIdentity(fields, errors);
  if (errors.length) throw ERRORS.validation(errors);
  return inTx(db, (trx) =>
    addingToCustomer(trx, ctx, customerId, async () => {
      const id = newId();
      let demoted: ContactRow[] = [];
      if (set.is_primary) {
        await lockPrimaryScope(trx, ctx.tenantId, customerId);
        demoted = await demotePrimary(trx, ctx.tenantId, customerId, id);
      }
      const row = await insertContact(trx, {
        ...(set as object),
        tenant_id: ctx.tenantId,
        id,
        customer_id: customerId,
      } as never);
      await recordDemotions(trx, ctx, demoted);
      await recordEvent(trx, ctx, 'contact', 'created', row.id, toContact(row));
      return row;
    }),
  );
}

export async function getContact(
  db: Db,
  ctx: TenantContext,
  id: string,
  options: { includeDeleted?: boolean } = {},
): Promise<ContactRow> {
  const row = await findContact(db, ctx.tenantId, id, options);
  if (!row) throw ERRORS.notFound('contact', id);
  return row;
}

export async function updateContact(
  db: Db,
  ctx: TenantContext,
  id: string,
  patch: ContactPatch,
  ifMatch?: IfMatch,
): Promise<ContactRow> {
  const { customer_id: newCustomer, ...fields } = patch;
  const errors: FieldError[] = [];
  const set = normalize(ctx, fields, errors);
  if (errors.length) throw ERRORS.validation(errors);
  return inTx(db, async (trx) => {
    // Primary changes take the scope lock before the row lock, the order every writer uses, so two concurrent
    // promotions in one customer queue instead of deadlocking.
    const peek = await findContact(trx, ctx.tenantId, id);
    if (!peek) throw ERRORS.notFound('contact', id);
    const scope = newCustomer !== undefined ? newCustomer : peek.customer_id;
    const promoting =
      set.is_primary === true || (newCustomer !== undefined && (set.is_primary ?? peek.is_primary));
    if (promoting) await lockPrimaryScope(trx, ctx.tenantId, scope);
    const row = await findContact(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw ERRORS.notFound('contact', id);
    if (row.customer_id !== peek.customer_id) {
      throw ERRORS.conflict('The contact moved while this request ran; retry it.', 'concurrent_update');
    }
    checkIfMatch(ifMatch, row.version);
    const moving = newCustomer !== undefined && newCustomer !== row.customer_id;
    if (moving) {
      // FOR KEY SHARE: see addingToCustomer.
      if (newCustomer && !(await findCustomer(trx, ctx.tenantId, newCustomer, { forKeyShare: true }))) {
        throw ERRORS.notFound('customer', newCustomer);
      }
      if (await isContactInUse(trx, ctx.tenantId, id)) throw ERRORS.contactInUse(id);
      set.customer_id = newCustomer;
    }
    const merged = { ...row, ...set } as ContactRow;
    checkIdentity(merged, errors);
    if (errors.length) throw ERRORS.validation(errors);
    const before = toContact(row);
    if (!differs(row, set)) return row;
    let demoted: ContactRow[] = [];
    if (merged.is_primary && (moving || !row.is_primary)) {
      demoted = await demotePrimary(trx, ctx.tenantId, merged.customer_id, id);
    }
    const updated = await updateContactRow(trx, ctx.tenantId, id, set);
    await recordDemotions(trx, ctx, demoted);
    const after = toContact(updated);
    await recordEvent(trx, ctx, 'contact', 'updated', id, after, changedFields(before, after));
    return updated;
  });
}

export async function deleteContact(
  db: Db,
  ctx: TenantContext,
  id: string,
  ifMatch?: IfMatch,
): Promise<ContactRow> {
  return inTx(db, async (trx) => {
    const row = await findContact(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw ERRORS.notFound('contact', id);
    checkIfMatch(ifMatch, row.version);
    if (await isContactInUse(trx, ctx.tenantId, id)) throw ERRORS.contactInUse(id);
    const deleted = await updateContactRow(trx, ctx.tenantId, id, { deleted_at: sql<Date>`now()` as never });
    await recordEvent(trx, ctx, 'contact', 'deleted', id, toContact(deleted));
    return deleted;
  });
}

export async function restoreContact(
  db: Db,
  ctx: TenantContext,
  id: string,
  ifMatch?: IfMatch,
): Promise<ContactRow> {
  return inTx(db, async (trx) => {
    const peek = await findContact(trx, ctx.tenantId, id, { includeDeleted: true });
    if (!peek) throw ERRORS.notFound('contact', id);
    await lockPrimaryScope(trx, ctx.tenantId, peek.customer_id);
    const row = await findContact(trx, ctx.tenantId, id, { includeDeleted: true, forUpdate: true });
    if (!row) throw ERRORS.notFound('contact', id);
    checkIfMatch(ifMatch, row.version);
    if (!row.deleted_at) return row;
    if (row.customer_id && !(await findCustomer(trx, ctx.tenantId, row.customer_id))) {
      throw ERRORS.conflict(
        "The contact's customer is deleted; restore the customer instead.",
        'customer_deleted',
      );
    }
    // A primary restored where another primary now exists comes back as a regular contact.
    const keepPrimary = row.is_primary && !(await hasLivePrimary(trx, ctx.tenantId, row.customer_id, id));
    const restored = await updateContactRow(trx, ctx.tenantId, id, {
      deleted_at: null,
      is_primary: keepPrimary,
    });
    await recordEvent(trx, ctx, 'contact', 'restored', id, toContact(restored));
    return restored;
  });
}

/** Erases the contact and scrubs its personal data from the event history (admin only). */
export async function purgeContact(db: Db, ctx: TenantContext, id: string, ifMatch?: IfMatch): Promise<void> {
  if (!hasScope(ctx, 'admin')) throw ERRORS.forbidden('admin');
  await inTx(db, async (trx) => {
    const row = await findContact(trx, ctx.tenantId, id, { includeDeleted: true, forUpdate: true });
    if (!row) throw ERRORS.notFound('contact', id);
    checkIfMatch(ifMatch, row.version);
    if (await isContactInUse(trx, ctx.tenantId, id)) throw ERRORS.contactInUse(id);
    // Soft-deleted customers may still name it; they lose that designation with the contact.
    await releaseDesignations(trx, ctx.tenantId, [id]);
    await deleteContactRow(trx, ctx.tenantId, id);
    await scrubEvents(trx, ctx.tenantId, [id]);
    await recordEvent(trx, ctx, 'contact', 'purged', id, { id, number: row.number });
  });
}

export async function scrubEvents(db: Db, tenantId: string, resourceIds: string[]): Promise<void> {
  if (resourceIds.length === 0) return;
  await db
    .updateTable('events')
    .set({ data: { redacted: true } })
    .where('tenant_id', '=', tenantId)
    .where('resource_id', 'in', resourceIds)
    .execute();
}

const PHONE_LIKE = /^[\d\s()+.\-/]+$/;

export async function listContacts(
  db: Db,
  ctx: TenantContext,
  query: ContactListQuery,
): Promise<Page<Contact>> {
  const sort = parseSort(query.sort, CONTACT_SORT_COLUMNS, 'created_at');
  let phoneE164: string | undefined;
  if (query.phone !== undefined) {
    phoneE164 = phoneForMatch(query.phone, ctx.defaultRegion);
    if (!phoneE164) throw ERRORS.invalidField('phone', 'invalid_phone', 'is not a phone number');
  }
  let search: string | undefined;
  if (query.q !== undefined) {
    const q = query.q.trim().toLowerCase();
    if (!q) throw ERRORS.invalidField('q', 'too_short', 'must not be blank');
    const digits = q.replace(/\D/g, '');
    // A phone-looking query searches the digits of the E.164 numbers, so any formatting matches.
    search = PHONE_LIKE.test(q) && digits.length >= 3 ? digits : q;
  }
  const limit = query.limit ?? 50;
  const rows = await listContactRows(
    db,
    ctx.tenantId,
    {
      customerId: query.customer_id,
      role: query.role,
      contactType: query.contact_type,
      email: query.email,
      phoneE164,
      isPrimary: query.is_primary,
      updatedSince: query.updated_since,
      includeDeleted: query.include_deleted,
      search: search || undefined,
    },
    sort,
    query.cursor,
    limit,
  );
  return toPage(rows, limit, sort, toContact);
}

export async function listCustomerContacts(
  db: Db,
  ctx: TenantContext,
  customerId: string,
  query: Omit<ContactListQuery, 'customer_id'>,
): Promise<Page<Contact>> {
  await requireCustomer(db, ctx, customerId);
  return listContacts(db, ctx, { ...query, customer_id: customerId });
}

export async function getContactByNumber(db: Db, ctx: TenantContext, number: number): Promise<ContactRow> {
  const row = Number.isSafeInteger(number) ? await findContactByNumber(db, ctx.tenantId, number) : undefined;
  if (!row) throw ERRORS.notFound('contact', String(number));
  return row;
}

export const MAX_QUERY_LIMIT = 1000;

/** Offset-paged, filtered contacts with their total count: the query dialects build their lists on. */
export async function queryContacts(
  db: Db,
  ctx: TenantContext,
  spec: ContactQuerySpec,
): Promise<{ rows: ContactRow[]; total: number }> {
  if (
    spec.limit < 0 ||
    spec.limit > MAX_QUERY_LIMIT ||
    spec.offset < 0 ||
    !Number.isSafeInteger(spec.offset)
  ) {
    throw ERRORS.badRequest(`limit must be 0..${MAX_QUERY_LIMIT} and offset a non-negative integer`);
  }
  if (spec.customerId) await requireCustomer(db, ctx, spec.customerId);
  return queryContactRows(db, ctx.tenantId, spec);
}

async function requireCustomer(db: Db, ctx: TenantContext, customerId: string): Promise<void> {
  if (!(await findCustomer(db, ctx.tenantId, customerId))) throw ERRORS.notFound('customer', customerId);
}

/**
 * The field errors createContact/updateContact would report for these values (email syntax, phones, country),
 * without writing anything: lets a dialect report them together with its own vendor rules in one response.
 */
export function checkContactFields(
  ctx: TenantContext,
  input: Omit<ContactCreate, 'customer_id'>,
): FieldError[] {
  const errors: FieldError[] = [];
  normalize(ctx, input, errors);
  return errors;
}
