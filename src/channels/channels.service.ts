// Channels: the ways to reach a customer (Ecwid's customer contacts). At most one default per type per customer,
// enforced by a unique index; setting a new default clears the old one in the same transaction.
import { findContact } from '../contacts/contacts.repo.ts';
import { findCustomer } from '../customers/customers.repo.ts';
import { addingToCustomer } from '../customers/customers.service.ts';
import type { Db } from '../db/connection.ts';
import { type Page, parseSort, toPage } from '../db/keyset.ts';
import { inTx } from '../db/tx.ts';
import type { ChannelRow, ChannelUpdate } from '../db/types.ts';
import { changedFields, recordEvent } from '../events/events.service.ts';
import type { TenantContext } from '../http/context.ts';
import { ERRORS, type FieldError } from '../http/errors.ts';
import { checkIfMatch, type IfMatch } from '../http/etag.ts';
import { isEmail } from '../lib/email.ts';
import { givenFields } from '../lib/fields.ts';
import { newId } from '../lib/ids.ts';
import { normalizePhone } from '../lib/phone.ts';
import {
  CHANNEL_SORT_COLUMNS,
  clearDefault,
  deleteChannelRow,
  findChannel,
  findChannelByNumber,
  insertChannel,
  listChannelRows,
  lockDefaultScope,
  nextPosition,
  updateChannelRow,
} from './channels.repo.ts';
import type { Channel, ChannelCreate, ChannelListQuery, ChannelPatch } from './channels.schema.ts';

export function toChannel(row: ChannelRow): Channel {
  return {
    id: row.id,
    number: row.number,
    customer_id: row.customer_id,
    contact_id: row.contact_id,
    type: row.type,
    value: row.value,
    handle: row.handle,
    note: row.note,
    is_default: row.is_default,
    position: row.position,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function checkValue(ctx: TenantContext, type: string, value: string, errors: FieldError[]): void {
  if (!value.trim()) {
    errors.push({ field: 'value', code: 'required', message: 'must not be blank' });
    return;
  }
  if (type === 'EMAIL' && !isEmail(value.trim())) {
    errors.push({
      field: 'value',
      code: 'invalid_format',
      message: 'must be a valid email address for an EMAIL channel',
    });
  } else if (type === 'PHONE' && !normalizePhone(value, ctx.defaultRegion).ok) {
    errors.push({
      field: 'value',
      code: 'invalid_phone',
      message: 'must be a valid phone number for a PHONE channel',
    });
  } else if (type === 'URL' && !/^https?:\/\/\S+$/i.test(value.trim())) {
    errors.push({
      field: 'value',
      code: 'invalid_format',
      message: 'must be an http(s) URL for a URL channel',
    });
  }
}

async function checkContact(
  db: Db,
  ctx: TenantContext,
  customerId: string,
  contactId: string | null | undefined,
) {
  if (!contactId) return;
  const contact = await findContact(db, ctx.tenantId, contactId);
  if (!contact || contact.customer_id !== customerId) {
    throw ERRORS.invalidField('contact_id', 'invalid_reference', 'must be a live contact of this customer');
  }
}

export async function createChannel(
  db: Db,
  ctx: TenantContext,
  customerId: string,
  input: ChannelCreate,
): Promise<ChannelRow> {
  const errors: FieldError[] = [];
  checkValue(ctx, input.type, input.value, errors);
  if (errors.length) throw ERRORS.validation(errors);
  return inTx(db, (trx) =>
    addingToCustomer(trx, ctx, customerId, async () => {
      await checkContact(trx, ctx, customerId, input.contact_id);
      const id = newId();
      let cleared: ChannelRow[] = [];
      if (input.is_default) {
        await lockDefaultScope(trx, ctx.tenantId, customerId, input.type);
        cleared = await clearDefault(trx, ctx.tenantId, customerId, input.type, id);
      }
      const row = await insertChannel(trx, {
        tenant_id: ctx.tenantId,
        id,
        customer_id: customerId,
        contact_id: input.contact_id ?? null,
        type: input.type,
        value: input.value.trim(),
        handle: input.handle ?? null,
        note: input.note ?? null,
        is_default: input.is_default ?? false,
        position: input.position ?? (await nextPosition(trx, ctx.tenantId, customerId)),
      });
      for (const c of cleared)
        await recordEvent(trx, ctx, 'channel', 'updated', c.id, toChannel(c), { is_default: true });
      await recordEvent(trx, ctx, 'channel', 'created', id, toChannel(row));
      return row;
    }),
  );
}

export async function getChannel(db: Db, ctx: TenantContext, id: string): Promise<ChannelRow> {
  const row = await findChannel(db, ctx.tenantId, id);
  if (!row) throw ERRORS.notFound('channel', id);
  return row;
}

export async function updateChannel(
  db: Db,
  ctx: TenantContext,
  id: string,
  patch: ChannelPatch,
  ifMatch?: IfMatch,
): Promise<ChannelRow> {
  return inTx(db, async (trx) => {
    const peek = await findChannel(trx, ctx.tenantId, id);
    if (!peek) throw ERRORS.notFound('channel', id);
    const type = patch.type ?? peek.type;
    const becomesDefault =
      (patch.is_default ?? peek.is_default) && (patch.is_default === true || type !== peek.type);
    if (becomesDefault) await lockDefaultScope(trx, ctx.tenantId, peek.customer_id, type);
    const row = await findChannel(trx, ctx.tenantId, id, true);
    if (!row) throw ERRORS.notFound('channel', id);
    checkIfMatch(ifMatch, row.version);
    const errors: FieldError[] = [];
    if (patch.value !== undefined) patch.value = patch.value.trim();
    checkValue(ctx, type, patch.value ?? row.value, errors);
    if (errors.length) throw ERRORS.validation(errors);
    if (patch.contact_id !== undefined) await checkContact(trx, ctx, row.customer_id, patch.contact_id);
    const set: ChannelUpdate = givenFields(patch);
    let cleared: ChannelRow[] = [];
    if (becomesDefault) cleared = await clearDefault(trx, ctx.tenantId, row.customer_id, type, id);
    const before = toChannel(row);
    const updated = await updateChannelRow(trx, ctx.tenantId, id, set);
    for (const c of cleared)
      await recordEvent(trx, ctx, 'channel', 'updated', c.id, toChannel(c), { is_default: true });
    const after = toChannel(updated);
    await recordEvent(trx, ctx, 'channel', 'updated', id, after, changedFields(before, after));
    return updated;
  });
}

export async function deleteChannel(
  db: Db,
  ctx: TenantContext,
  id: string,
  ifMatch?: IfMatch,
): Promise<ChannelRow> {
  return inTx(db, async (trx) => {
    const row = await findChannel(trx, ctx.tenantId, id, true);
    if (!row) throw ERRORS.notFound('channel', id);
    checkIfMatch(ifMatch, row.version);
    await deleteChannelRow(trx, ctx.tenantId, id);
    await recordEvent(trx, ctx, 'channel', 'deleted', id, toChannel(row));
    return row;
  });
}

export async function listChannels(
  db: Db,
  ctx: TenantContext,
  customerId: string,
  query: ChannelListQuery,
): Promise<Page<Channel>> {
  if (!(await findCustomer(db, ctx.tenantId, customerId))) throw ERRORS.notFound('customer', customerId);
  const sort = parseSort(undefined, CHANNEL_SORT_COLUMNS, 'position');
  const limit = query.limit ?? 50;
  const rows = await listChannelRows(
    db,
    ctx.tenantId,
    customerId,
    { type: query.type, contactId: query.contact_id },
    sort,
    query.cursor,
    limit,
  );
  return toPage(rows, limit, sort, toChannel);
}

/** A channel by its integer number (for dialects with integer ids), within the tenant. */
export async function getChannelByNumber(db: Db, ctx: TenantContext, number: number): Promise<ChannelRow> {
  const row = Number.isSafeInteger(number) ? await findChannelByNumber(db, ctx.tenantId, number) : undefined;
  if (!row) throw ERRORS.notFound('channel', String(number));
  return row;
}
