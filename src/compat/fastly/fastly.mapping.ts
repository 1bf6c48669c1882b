// Fastly's customer contacts ↔ the core: the contact shape (plain JSON as fastly-js reads it, and the JSON:API
// envelope the real API answers to `Accept: application/vnd.api+json`), the create input, and Fastly's
// `{"msg", "detail"}` errors mapped from the core's AppErrors and Fastify's validation errors.
import type { FastifyError } from 'fastify';
import type { Contact, ContactCreate } from '../../contacts/contacts.schema.ts';
import { toAppError } from '../../http/error-handler.ts';
import type { FieldError } from '../../http/errors.ts';
import { toFieldErrors } from '../../http/validation.ts';

export interface FastlyContact {
  id: string;
  customer_id: string | null;
  user_id: string | null;
  contact_type: string | null;
  name: string | null;
  email: string | null;
  phone: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

/** The writable fields, as a form or a JSON object (or a JSON:API resource's attributes) carries them. */
export interface FastlyContactInput {
  user_id?: string | null;
  contact_type?: string | null;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  customer_id?: string | null;
}

export const JSON_API_TYPE = 'customer_contact';

/** Contact types for which Fastly requires a phone number (a Fastly rule, so it lives here, not in the core). */
export const PHONE_REQUIRED_TYPES: ReadonlySet<string> = new Set(['primary', 'technical', 'security']);

/** Fastly writes timestamps to the second ("2026-05-22T12:39:57Z"), as the recorded responses show. */
export function fastlyTime(iso: string): string;
export function fastlyTime(iso: string | null): string | null;
export function fastlyTime(iso: string | null): string | null {
  return iso === null ? null : iso.replace(/\.\d+Z$/, 'Z');
}

export function toFastlyContact(contact: Contact): FastlyContact {
  return {
    id: contact.id,
    customer_id: contact.customer_id,
    user_id: contact.user_id ?? null,
    contact_type: contact.contact_type ?? null,
    name: contact.name ?? null,
    email: contact.email ?? null,
    phone: contact.phone ?? null,
    created_at: fastlyTime(contact.created_at),
    updated_at: fastlyTime(contact.updated_at),
    deleted_at: fastlyTime(contact.deleted_at ?? null),
  };
}

/** A JSON:API resource object with the attribute set of the recorded responses, plus user_id. */
export function toJsonApiResource(contact: Contact) {
  const c = toFastlyContact(contact);
  return {
    id: c.id,
    type: JSON_API_TYPE,
    attributes: {
      created_at: c.created_at,
      updated_at: c.updated_at,
      deleted_at: c.deleted_at,
      contact_type: c.contact_type,
      phone: c.phone,
      name: c.name,
      email: c.email,
      user_id: c.user_id,
    },
  };
}

/** A Fastly error: its status, `msg` and optional `detail`. */
export class FastlyError extends Error {
  constructor(
    readonly status: number,
    readonly msg: string,
    readonly detail?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ? `${msg}: ${detail}` : msg);
  }

  get body(): { msg: string; detail?: string } {
    return this.detail === undefined ? { msg: this.msg } : { msg: this.msg, detail: this.detail };
  }
}

/** Fastly's not-found wording, as recorded: `Cannot find customercontact '<id>'`. */
export function recordNotFound(resource: 'customer' | 'customercontact', id: string): FastlyError {
  return new FastlyError(404, 'Record not found', `Cannot find ${resource} '${id}'`);
}

/** 400 whose msg names the field(s); detail says what is wrong with each. */
export function invalidFields(errors: FieldError[]): FastlyError {
  const fields = [...new Set(errors.map((e) => e.field))];
  const first = errors[0];
  const msg =
    fields.length === 1 && first
      ? `${first.code === 'required' ? 'Missing' : 'Invalid'} ${first.field}`
      : `Invalid ${fields.join(', ')}`;
  return new FastlyError(400, msg, errors.map((e) => `${e.field} ${e.message}`).join('; '));
}

function present(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * Applies Fastly's own rules and turns the input into the core's create input. Blank form fields count as absent
 * (an HTML form sends every field). user_id and name/email may come together: both are stored (see README).
 */
export function toCoreCreate(customerId: string, input: FastlyContactInput): ContactCreate {
  const errors: FieldError[] = [];
  const contactType = present(input.contact_type);
  const phone = present(input.phone);
  const bodyCustomer = present(input.customer_id);
  if (bodyCustomer !== undefined && bodyCustomer.trim().toLowerCase() !== customerId.toLowerCase()) {
    errors.push({
      field: 'customer_id',
      code: 'mismatch',
      message: 'must match the customer_id in the path',
    });
  }
  if (contactType === undefined) {
    errors.push({ field: 'contact_type', code: 'required', message: 'is required' });
  } else if (PHONE_REQUIRED_TYPES.has(contactType) && phone === undefined) {
    errors.push({
      field: 'phone',
      code: 'required',
      message: 'is required for primary, technical and security contacts',
    });
  }
  if (errors.length) throw invalidFields(errors);
  const out: ContactCreate = { customer_id: customerId, contact_type: contactType ?? null };
  const userId = present(input.user_id);
  const name = present(input.name);
  const email = present(input.email);
  if (userId !== undefined) out.user_id = userId.trim();
  if (name !== undefined) out.name = name.trim();
  if (email !== undefined) out.email = email;
  if (phone !== undefined) out.phone = phone;
  return out;
}

/** The core's "a contact needs some identity" error, in the fields a Fastly client knows. */
function fastlyFieldErrors(errors: FieldError[]): FieldError[] {
  return errors.map((e) =>
    e.field === 'name' && e.code === 'required'
      ? { field: 'name', code: 'required', message: 'is required (or email, phone or user_id)' }
      : e,
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any thrown thing → the Fastly error a client sees; 5xx never carries internal text. */
export function toFastlyError(error: unknown, params: Record<string, string | undefined> = {}): FastlyError {
  if (error instanceof FastlyError) return error;
  const e = error as FastifyError & { validationContext?: string };
  if (e?.validation) {
    const context = e.validationContext ?? 'body';
    // A malformed id names nothing that could exist: the same 404 as an unknown one, customer first.
    if (context === 'params') {
      const customerId = params.customer_id ?? '';
      if (!UUID.test(customerId)) return recordNotFound('customer', customerId);
      return recordNotFound('customercontact', params.contact_id ?? '');
    }
    const errors = toFieldErrors(e.validation as never, context).map((f) => ({
      ...f,
      field: f.field.replace(/^data\.attributes\./, ''),
    }));
    return invalidFields(errors);
  }
  const app = toAppError(error);
  switch (app.status) {
    case 400:
      return new FastlyError(400, 'Bad request', app.message);
    case 401:
      // The real API's wording (fastly/fastly-js#14); it carries no detail.
      return new FastlyError(401, 'Provided credentials are missing or invalid');
    case 403:
      return new FastlyError(403, 'Forbidden', app.message);
    case 404:
      return new FastlyError(404, 'Record not found', app.message);
    case 413:
      return new FastlyError(413, 'Payload too large', app.message);
    case 415:
      return new FastlyError(
        415,
        'Unsupported media type',
        'Send application/x-www-form-urlencoded, application/json or application/vnd.api+json.',
      );
    case 422:
      return app.errors.length
        ? invalidFields(fastlyFieldErrors(app.errors))
        : new FastlyError(400, 'Bad request', app.message);
    case 503:
      return new FastlyError(503, 'Service unavailable', app.message, { 'retry-after': '1' });
  }
  if (app.status >= 500)
    return new FastlyError(500, 'Internal server error', 'An unexpected error occurred.');
  return new FastlyError(app.status, app.title, app.message);
}
