// Ecwid customer contacts ↔ core channels, and core errors → Ecwid's `{ errorMessage, errorCode }` bodies.
// Ecwid's "customer contact" is the core's channel: contact = value, default = is_default, orderBy = position,
// timestamp = created_at, id = the channel's integer number.
import type { FastifyError } from 'fastify';
import type { Channel, ChannelCreate, ChannelPatch } from '../../channels/channels.schema.ts';
import type { Scope } from '../../http/context.ts';
import { toAppError } from '../../http/error-handler.ts';
import { AppError, type FieldError } from '../../http/errors.ts';
import { toFieldErrors } from '../../http/validation.ts';
import type { EcwidContact, EcwidContactCreate, EcwidContactUpdate } from './ecwid.schema.ts';

/** Ecwid's date-time format in responses: `2025-03-26 11:07:12 +0000` (always UTC). */
export function ecwidTimestamp(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

export function toEcwidContact(channel: Channel): EcwidContact {
  // Ecwid leaves unset optional fields out rather than sending null.
  return {
    id: channel.number,
    contact: channel.value,
    ...(channel.handle !== null ? { handle: channel.handle } : {}),
    ...(channel.note !== null ? { note: channel.note } : {}),
    type: channel.type,
    default: channel.is_default,
    orderBy: channel.position,
    timestamp: ecwidTimestamp(channel.created_at),
  };
}

// `id` and `timestamp` are accepted (a client may send back an object it read) but never written: the id is the
// path's and the timestamp is the creation time.
export function fromEcwidCreate(body: EcwidContactCreate): ChannelCreate {
  return {
    type: body.type,
    value: body.contact,
    ...(body.handle !== undefined ? { handle: body.handle } : {}),
    ...(body.note !== undefined ? { note: body.note } : {}),
    ...(body.default !== undefined ? { is_default: body.default } : {}),
    ...(body.orderBy !== undefined ? { position: body.orderBy } : {}),
  };
}

export function fromEcwidUpdate(body: EcwidContactUpdate): ChannelPatch {
  return {
    ...(body.type !== undefined ? { type: body.type } : {}),
    ...(body.contact !== undefined ? { value: body.contact } : {}),
    ...(body.handle !== undefined ? { handle: body.handle } : {}),
    ...(body.note !== undefined ? { note: body.note } : {}),
    ...(body.default !== undefined ? { is_default: body.default } : {}),
    ...(body.orderBy !== undefined ? { position: body.orderBy } : {}),
  };
}

/** Core field names → Ecwid's, for error messages. */
const ECWID_FIELD: Record<string, string> = {
  value: 'contact',
  is_default: 'default',
  position: 'orderBy',
  type: 'type',
  handle: 'handle',
  note: 'note',
};

/**
 * Ecwid's access scopes, as its pages name them, and the core scope that serves each. Ecwid's delete-customer
 * call requires update_customers, so deleting a contact does too.
 */
export const ECWID_SCOPES = {
  read_customers: 'contacts:read',
  create_customers: 'contacts:write',
  update_customers: 'contacts:write',
} as const satisfies Record<string, Scope>;

const SCOPE_BY_METHOD: Record<string, keyof typeof ECWID_SCOPES> = {
  GET: 'read_customers',
  HEAD: 'read_customers',
  POST: 'create_customers',
  PUT: 'update_customers',
  DELETE: 'update_customers',
};

/** An error already in Ecwid's terms. */
export class EcwidError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const ECWID_ERRORS = {
  storeNotFound: () => new EcwidError(404, 'STORE_NOT_FOUND', 'Store with specified ID was not found.'),
  customerNotFound: () =>
    new EcwidError(404, 'CUSTOMER_NOT_FOUND', 'Customer with specified ID was not found.'),
  contactNotFound: () =>
    new EcwidError(404, 'CUSTOMER_CONTACT_NOT_FOUND', 'Customer contact with specified ID was not found.'),
  routeNotFound: (method: string, path: string) =>
    new EcwidError(404, 'NOT_FOUND', `No such endpoint: ${method} ${path}.`),
  methodNotAllowed: (method: string, allow: string) =>
    new EcwidError(405, 'METHOD_NOT_ALLOWED', `HTTP method ${method} is not supported for this endpoint.`, {
      allow,
    }),
};

/** Runs a core call whose only possible 404 means `notFound` (e.g. "the customer in the path is gone"). */
export async function orNotFound<T>(call: Promise<T>, notFound: () => EcwidError): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof AppError && error.status === 404) throw notFound();
    throw error;
  }
}

function describeFields(errors: FieldError[], rename: Record<string, string> = {}): string {
  return errors.map((e) => `${rename[e.field] ?? e.field} ${e.message}`).join('; ');
}

function fromAppError(error: AppError, method: string): EcwidError {
  switch (error.status) {
    case 400:
      return new EcwidError(400, 'WRONG_PARAMETER', error.message);
    case 401:
      // Ecwid answers a missing or unknown token with 403 INVALID_API_TOKEN, never 401.
      return new EcwidError(403, 'INVALID_API_TOKEN', 'Invalid access token in the request.');
    case 403: {
      const scope = SCOPE_BY_METHOD[method];
      return new EcwidError(
        403,
        'INSUFFICIENT_APP_SCOPE',
        scope
          ? `Application doesn't have a required scope for the request: ${scope}.`
          : "Application doesn't have a required scope for the request.",
      );
    }
    case 404:
      return new EcwidError(404, 'NOT_FOUND', error.message);
    case 405:
      return new EcwidError(405, 'METHOD_NOT_ALLOWED', error.message);
    case 409:
      return new EcwidError(409, 'CONSTRAINT_VIOLATION', error.message);
    case 413:
      return new EcwidError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
    case 415:
      return new EcwidError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Unsupported content-type: expected application/json.',
      );
    case 422:
      // Ecwid reports invalid field values as 400 WRONG_PARAMETER.
      return new EcwidError(
        400,
        'WRONG_PARAMETER',
        error.errors.length ? describeFields(error.errors, ECWID_FIELD) : error.message,
      );
    case 429:
      return new EcwidError(429, 'RATE_LIMITED', error.message, error.headers);
    case 503:
      return new EcwidError(503, 'SERVICE_UNAVAILABLE', error.message, error.headers);
    default:
      if (error.status >= 500) return new EcwidError(500, 'INTERNAL_ERROR', 'Internal server error.');
      return new EcwidError(error.status, 'WRONG_PARAMETER', error.message);
  }
}

const PARAM_NOT_FOUND: Record<string, () => EcwidError> = {
  storeId: ECWID_ERRORS.storeNotFound,
  customerId: ECWID_ERRORS.customerNotFound,
  contactId: ECWID_ERRORS.contactNotFound,
};

/** Any thrown thing → the Ecwid error a client should see. */
export function toEcwidError(error: unknown, method: string): EcwidError {
  if (error instanceof EcwidError) return error;
  const e = error as FastifyError & { validationContext?: string };
  if (e?.validation) {
    const context = e.validationContext ?? 'body';
    const errors = toFieldErrors(e.validation as never, context);
    // A path id that is not a positive integer names nothing that could exist.
    if (context === 'params')
      return (PARAM_NOT_FOUND[errors[0]?.field ?? ''] ?? ECWID_ERRORS.storeNotFound)();
    // The request schemas use Ecwid's own field names, so these need no renaming.
    return new EcwidError(400, 'WRONG_PARAMETER', describeFields(errors) || 'The request is not valid.');
  }
  return fromAppError(toAppError(error), method);
}
