// DNSimple's contact shape ↔ core contact rows, and DNSimple's error bodies. DNSimple's contacts are account-level:
// core contacts with customer_id null, whose integer id is the core contact `number`.
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import type { ContactQuerySpec } from '../../contacts/contacts.repo.ts';
import { ContactCreate } from '../../contacts/contacts.schema.ts';
import { checkContactFields } from '../../contacts/contacts.service.ts';
import type { ContactRow } from '../../db/types.ts';
import type { TenantContext } from '../../http/context.ts';
import { toAppError } from '../../http/error-handler.ts';
import { AppError, type FieldError } from '../../http/errors.ts';

/** The Contact as DNSimple serialises it, keys in the order of its recorded responses. */
export interface DnsimpleContact {
  id: number;
  account_id: number;
  label: string;
  first_name: string;
  last_name: string;
  job_title: string;
  organization_name: string;
  email: string;
  phone: string;
  fax: string;
  address1: string;
  address2: string;
  city: string;
  state_province: string;
  postal_code: string;
  country: string;
  created_at: string;
  updated_at: string;
}

export const CONTACT_FIELDS = [
  'label',
  'first_name',
  'last_name',
  'job_title',
  'organization_name',
  'email',
  'phone',
  'fax',
  'address1',
  'address2',
  'city',
  'state_province',
  'postal_code',
  'country',
] as const;
type ContactField = (typeof CONTACT_FIELDS)[number];

export const REQUIRED_FIELDS: readonly ContactField[] = [
  'first_name',
  'last_name',
  'address1',
  'city',
  'state_province',
  'postal_code',
  'country',
  'email',
  'phone',
];

/** DNSimple's timestamps carry whole seconds: 2016-01-19T20:50:26Z. */
export function toTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * DNSimple shows phones the way registries (EPP, RFC 5733) want them: "+<country calling code>.<national number>",
 * e.g. "+1.8001234567", derived from the core's E.164 value, never from the text as typed.
 */
export function toDnsimplePhone(e164: string | null, raw: string | null): string {
  if (!e164) return raw ?? '';
  try {
    const parsed = parsePhoneNumberWithError(e164);
    return `+${parsed.countryCallingCode}.${parsed.nationalNumber}`;
  } catch {
    return e164;
  }
}

export function toDnsimpleContact(row: ContactRow, accountId: number): DnsimpleContact {
  // DNSimple declares every attribute a non-null string and answers "" for an empty one.
  const s = (v: string | null) => v ?? '';
  return {
    id: row.number,
    account_id: accountId,
    label: s(row.label),
    first_name: s(row.first_name),
    last_name: s(row.last_name),
    job_title: s(row.job_title),
    organization_name: s(row.organization_name),
    email: s(row.email),
    phone: toDnsimplePhone(row.phone_e164, row.phone),
    fax: toDnsimplePhone(row.fax_e164, row.fax),
    address1: s(row.address1),
    address2: s(row.address2),
    city: s(row.city),
    state_province: s(row.state_province),
    postal_code: s(row.postal_code),
    country: s(row.country),
    created_at: toTimestamp(row.created_at),
    updated_at: toTimestamp(row.updated_at),
  };
}

// ---- Input --------------------------------------------------------------------------------------------------

/** Field errors produced by the dialect already carry DNSimple's wording. */
const VENDOR_CODE = 'dnsimple';

const BLANK = "can't be blank";
const INVALID_EMAIL = 'is an invalid email address';
const INVALID_PHONE = 'is probably not a phone number';
const INVALID_COUNTRY = 'is not a valid country';
const COUNTRY_LENGTH = 'is the wrong length (should be 2 characters)';

// Length bounds are the core's, read from its schema rather than copied.
const coreProperties = ContactCreate.properties as unknown as Record<string, { maxLength?: number }>;

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function vendorError(field: string, message: string): FieldError {
  return { field, code: VENDOR_CODE, message };
}

/** Rails validates format on a blank value too, so DNSimple lists both messages (see the recorded fixture). */
function blankErrors(field: string): FieldError[] {
  const out = [vendorError(field, BLANK)];
  if (field === 'email') out.push(vendorError(field, INVALID_EMAIL));
  if (field === 'phone') out.push(vendorError(field, INVALID_PHONE));
  return out;
}

export type ContactInput = Partial<Record<ContactField, string | null>>;

/**
 * DNSimple's own rules: required attributes, job_title with organization_name, lengths. Unknown attributes are
 * ignored, as DNSimple does. `current` is the stored contact for an update (rules apply to the merged result).
 * Email syntax, phone numbers and country codes are the core's rules, asked of the core here so that one response
 * lists every failing attribute, as DNSimple's does; `dnsimpleError` words them.
 */
export function readContactInput(
  ctx: TenantContext,
  body: Record<string, unknown>,
  current?: ContactRow,
): ContactInput {
  const errors: FieldError[] = [];
  const input: ContactInput = {};
  for (const field of CONTACT_FIELDS) {
    if (!Object.hasOwn(body, field)) continue;
    const value = body[field];
    if (isBlank(value)) {
      if (REQUIRED_FIELDS.includes(field)) errors.push(...blankErrors(field));
      // An empty optional attribute is stored as absent (null): the native API then shows null, DNSimple "".
      else input[field] = null;
      continue;
    }
    const text = value as string;
    if (field === 'country' && text.trim().length !== 2) {
      errors.push(vendorError(field, COUNTRY_LENGTH), vendorError(field, INVALID_COUNTRY));
      continue;
    }
    const max = coreProperties[field]?.maxLength;
    if (max !== undefined && text.length > max) {
      errors.push(vendorError(field, `is too long (maximum is ${max} characters)`));
      continue;
    }
    input[field] = text;
  }
  if (!current) {
    for (const field of REQUIRED_FIELDS) if (!Object.hasOwn(body, field)) errors.push(...blankErrors(field));
  }
  const merged = (field: 'organization_name' | 'job_title') =>
    input[field] !== undefined ? input[field] : (current?.[field] ?? null);
  if (!isBlank(merged('organization_name')) && isBlank(merged('job_title'))) {
    if (!errors.some((e) => e.field === 'job_title')) errors.push(vendorError('job_title', BLANK));
  }
  const failed = new Set(errors.map((e) => e.field));
  errors.push(...checkContactFields(ctx, input).filter((e) => !failed.has(e.field)));
  if (errors.length) throw validationFailed(errors);
  return input;
}

export function validationFailed(errors: FieldError[]): AppError {
  return new AppError(400, 'validation_failed', 'Validation failed', 'Validation failed', errors);
}

// ---- Lists --------------------------------------------------------------------------------------------------

export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 100;
export const SORT_FIELDS = ['id', 'label', 'email'] as const;

const SORT_COLUMNS: Record<(typeof SORT_FIELDS)[number], ContactQuerySpec['orderBy'][number]['column']> = {
  id: 'number',
  label: 'label',
  // The lower-cased email the core keeps for sorting: alphabetical regardless of case.
  email: 'sort_email',
};

/** "label:asc,id:desc" → the core's order; the contact id breaks ties so pages never overlap. */
export function parseSort(raw: string | undefined): ContactQuerySpec['orderBy'] {
  const order: ContactQuerySpec['orderBy'] = [];
  for (const part of (raw ?? 'id:asc').split(',')) {
    const [field = '', direction = 'asc', ...rest] = part.trim().split(':');
    const column = SORT_COLUMNS[field.trim() as keyof typeof SORT_COLUMNS];
    const dir = direction.trim().toLowerCase();
    if (!column || rest.length || (dir !== 'asc' && dir !== 'desc')) {
      throw new AppError(400, 'bad_request', 'Bad request', `Invalid sorting policy \`${part.trim()}\``);
    }
    if (order.some((o) => o.column === column)) continue;
    order.push({ column, desc: dir === 'desc' });
  }
  if (!order.some((o) => o.column === 'number')) order.push({ column: 'number', desc: false });
  return order;
}

/** DNSimple's paging: a missing or non-positive value means the default; per_page is capped at 100. */
export function pageWindow(page: number | undefined, perPage: number | undefined) {
  const p = page !== undefined && page >= 1 ? page : 1;
  const n = perPage !== undefined && perPage >= 1 ? Math.min(perPage, MAX_PER_PAGE) : DEFAULT_PER_PAGE;
  return { page: p, perPage: n, offset: (p - 1) * n };
}

// ---- Errors -------------------------------------------------------------------------------------------------

export interface DnsimpleErrorBody {
  message: string;
  errors?: Record<string, string[]>;
}

export function accountNotFound(account: string): AppError {
  return new AppError(404, 'account_not_found', 'Not found', `Account \`${account}\` not found`);
}

export function contactNotFound(contact: string): AppError {
  return new AppError(404, 'contact_not_found', 'Not found', `Contact \`${contact}\` not found`);
}

/** A core field error (email syntax, phone, country…) in DNSimple's words. */
function vendorMessage(e: FieldError): string {
  if (e.code === VENDOR_CODE) return e.message;
  if (e.field === 'email' && e.code === 'invalid_format') return INVALID_EMAIL;
  if ((e.field === 'phone' || e.field === 'fax') && e.code === 'invalid_phone') return INVALID_PHONE;
  if (e.field === 'country') return INVALID_COUNTRY;
  if ((e.field === 'page' || e.field === 'per_page') && e.code === 'invalid_type') return 'is not a number';
  return 'is invalid';
}

/** `{field: [messages]}`, fields in alphabetical order as DNSimple lists them. */
function groupErrors(errors: FieldError[]): Record<string, string[]> {
  const grouped: Record<string, string[]> = {};
  for (const e of [...errors].sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0))) {
    const message = vendorMessage(e);
    const list = grouped[e.field] ?? [];
    if (!list.includes(message)) list.push(message);
    grouped[e.field] = list;
  }
  return grouped;
}

const CONTACT_IN_USE = "The contact cannot be deleted because it's currently in use";

/** Any error → DNSimple's status and `{message[, errors]}` body. 5xx bodies carry only the catalogue's text. */
export function dnsimpleError(
  error: unknown,
  scope: string | undefined,
): { error: AppError; status: number; body: DnsimpleErrorBody } {
  const e = toAppError(error);
  if (e.code === 'validation_failed') {
    return { error: e, status: 400, body: { message: 'Validation failed', errors: groupErrors(e.errors) } };
  }
  if (e.code === 'contact_in_use') return { error: e, status: 400, body: { message: CONTACT_IN_USE } };
  switch (e.status) {
    case 401:
      return { error: e, status: 401, body: { message: 'Authentication failed' } };
    case 403:
      return {
        error: e,
        status: 403,
        body: { message: `Permission Denied. Required Scope: ${scope ?? ''}` },
      };
    case 404:
      return {
        error: e,
        status: 404,
        body: {
          message: e.code === 'account_not_found' || e.code === 'contact_not_found' ? e.message : 'Not Found',
        },
      };
    default:
      return { error: e, status: e.status, body: { message: e.message } };
  }
}
