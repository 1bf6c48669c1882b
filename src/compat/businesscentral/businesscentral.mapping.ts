// Business Central customerContact ↔ core contact rows, the @odata.etag ↔ core version mapping, and core errors →
// Business Central's OData error envelope {"error":{"code","message"}}.

import type { FastifyError } from 'fastify';
import type { QueryableContactColumn } from '../../contacts/contacts.repo.ts';
import type { ContactPatch } from '../../contacts/contacts.schema.ts';
import type { ContactRow } from '../../db/types.ts';
import { AppError } from '../../http/errors.ts';
import type { IfMatch } from '../../http/etag.ts';
import { echoText } from '../../lib/echo.ts';

/** An error already in Business Central's terms: HTTP status, OData error code, message. */
export class BcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ContactProperty {
  edmType: 'Edm.Guid' | 'Edm.String';
  /** The core column $filter and $orderby use; undefined: calculated, so neither filterable nor sortable. */
  column?: QueryableContactColumn;
  /** The core column can hold null (read as ''). */
  nullable?: boolean;
  /** Compared case-insensitively through a lower-cased column (email, like Business Central's CI collation). */
  lowercase?: boolean;
  /** Core field behind a writable property. */
  field?: 'email' | 'first_name' | 'last_name' | 'job_title' | 'phone';
  maxLength?: number;
}

// Entity order is the order of Business Central's page (and of the JSON it returns). Lengths are the core's.
export const CONTACT_PROPERTIES = {
  id: { edmType: 'Edm.Guid', column: 'id' },
  email: { edmType: 'Edm.String', column: 'sort_email', lowercase: true, field: 'email', maxLength: 254 },
  firstName: {
    edmType: 'Edm.String',
    column: 'first_name',
    nullable: true,
    field: 'first_name',
    maxLength: 100,
  },
  lastName: {
    edmType: 'Edm.String',
    column: 'last_name',
    nullable: true,
    field: 'last_name',
    maxLength: 100,
  },
  professionalTitle: {
    edmType: 'Edm.String',
    column: 'job_title',
    nullable: true,
    field: 'job_title',
    maxLength: 200,
  },
  customerId: { edmType: 'Edm.Guid', column: 'customer_id' },
  customerName: { edmType: 'Edm.String' },
  primaryPhoneNumber: {
    edmType: 'Edm.String',
    column: 'phone',
    nullable: true,
    field: 'phone',
    maxLength: 40,
  },
} as const satisfies Record<string, ContactProperty>;

export type ContactPropertyName = keyof typeof CONTACT_PROPERTIES;
export const WRITABLE_PROPERTIES = [
  'email',
  'firstName',
  'lastName',
  'professionalTitle',
  'primaryPhoneNumber',
] as const;

export interface CustomerContact {
  '@odata.etag': string;
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  professionalTitle: string;
  customerId: string;
  customerName: string;
  primaryPhoneNumber: string;
}

// ---------------------------------------------------------------------------------------------------------------
// ETags: W/"<base64 of '<length>;<version>;00;'>", the shape Business Central's tokens decode to
// (e.g. 'JzIwOzEyMjU1NzUwNjQ3MjkxMTQ0Mjg5MTswMDsn' is '20;12255750647291144289;00;' in quotes), carrying the
// core version, so If-Match maps straight back onto the core's optimistic concurrency.

export function etagOf(version: number): string {
  const v = String(version);
  return `W/"${Buffer.from(`'${v.length};${v};00;'`).toString('base64')}"`;
}

function versionOf(tag: string): number | undefined {
  const m = /^(?:W\/)?"([A-Za-z0-9+/]+={0,2})"$/.exec(tag);
  if (!m) return undefined;
  const decoded = /^'(\d{1,2});(\d{1,9});00;'$/.exec(
    Buffer.from(m[1] as string, 'base64').toString('latin1'),
  );
  if (!decoded || Number(decoded[1]) !== (decoded[2] as string).length) return undefined;
  return Number(decoded[2]);
}

export function invalidToken(): BcError {
  return new BcError(
    400,
    'BadRequest_InvalidToken',
    'Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.',
  );
}

/**
 * If-Match → the core's IfMatch. Business Central requires it on PATCH and DELETE: missing, or a token this service
 * did not issue, is BadRequest_InvalidToken (400); a token of another version reaches the core and fails there
 * (412 Request_EntityChanged).
 */
export function ifMatchOf(header: string | string[] | undefined): Exclude<IfMatch, undefined> {
  if (header === undefined) throw invalidToken();
  const text = (Array.isArray(header) ? header.join(',') : header).trim();
  if (text === '*') return '*';
  const versions = new Set<number>();
  for (const part of text.split(',')) {
    const version = versionOf(part.trim());
    if (version === undefined) throw invalidToken();
    versions.add(version);
  }
  return versions;
}

// ---------------------------------------------------------------------------------------------------------------
// Entities

export function isCustomerContact(
  row: ContactRow,
  customerId?: string,
): row is ContactRow & { customer_id: string } {
  return row.customer_id !== null && (customerId === undefined || row.customer_id === customerId);
}

export function toCustomerContact(row: ContactRow, customerName: string): CustomerContact {
  return {
    '@odata.etag': etagOf(row.version),
    id: row.id,
    email: row.email ?? '',
    firstName: row.first_name ?? '',
    lastName: row.last_name ?? '',
    professionalTitle: row.job_title ?? '',
    customerId: row.customer_id ?? '',
    customerName,
    primaryPhoneNumber: row.phone ?? '',
  };
}

/** Keeps @odata.etag and the selected properties (OData returns only what $select names; BC adds no key). */
export function selectProperties(
  entity: CustomerContact,
  select: readonly string[] | undefined,
): Record<string, unknown> {
  if (!select) return { ...entity };
  const out: Record<string, unknown> = { '@odata.etag': entity['@odata.etag'] };
  for (const name of select) out[name] = entity[name as ContactPropertyName];
  return out;
}

export interface PdfDocumentEntity {
  id: string;
  parentId: string;
  parentType: string;
  'pdfDocumentContent@odata.mediaReadLink': string;
}

/** The pdfDocument part of a customerContact: the AL page links it with Document Type "Customer Statement". */
export function toPdfDocument(contactId: string, contentUrl: string): PdfDocumentEntity {
  return {
    id: contactId,
    parentId: contactId,
    parentType: 'Customer Statement',
    'pdfDocumentContent@odata.mediaReadLink': contentUrl,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// PATCH body

export type CustomerContactPatchBody = Partial<Record<ContactPropertyName, string | null>> &
  Record<string, unknown>;

function readOnly(name: string): BcError {
  return new BcError(400, 'BadRequest_InvalidOperation', `Control '${name}' is read-only.`);
}

/**
 * A PATCH body → the core patch. Instance annotations (`@odata.etag` echoed back from a GET) are ignored; the
 * read-only id and customerName are accepted only unchanged (a GET-modify-PATCH round trip sends them back, and
 * Business Central's own PATCH example carries the id); '' clears a field, as blank does in Business Central.
 */
export function toContactPatch(
  body: CustomerContactPatchBody,
  current: { id: string; customerId: string; customerName: string },
): { patch: ContactPatch; newCustomerId?: string } {
  const patch: ContactPatch = {};
  if (body.id !== undefined && String(body.id).toLowerCase() !== current.id) throw readOnly('id');
  if (body.customerName !== undefined && body.customerName !== current.customerName)
    throw readOnly('customerName');
  for (const name of WRITABLE_PROPERTIES) {
    const value = body[name];
    if (value === undefined) continue;
    const field = CONTACT_PROPERTIES[name].field;
    patch[field] = value === null || value.trim() === '' ? null : value;
  }
  let newCustomerId: string | undefined;
  if (body.customerId !== undefined) {
    const id = body.customerId?.toLowerCase() ?? '';
    if (id !== current.customerId) newCustomerId = id;
  }
  return newCustomerId === undefined ? { patch } : { patch, newCustomerId };
}

export function customerDoesNotExist(): BcError {
  // The AL page's own message for a customerId that names no customer.
  return new BcError(400, 'Application_DialogException', 'Customer with provided id - does not exist');
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

export function notFound(message = 'Bad Request - Error in query syntax.'): BcError {
  return new BcError(404, 'BadRequest_NotFound', message);
}

export function methodNotAllowed(method: string, segment: string, edmType: 'Entity' | 'EntitySet'): BcError {
  return new BcError(
    405,
    'BadRequest_MethodNotAllowed',
    `'${method}' requests for '${segment}' of EdmType '${edmType}' are not allowed within Microsoft Dynamics 365 Business Central OData web services.`,
  );
}

// Core field names → the customerContact property a client sent.
const FIELD_TO_PROPERTY: Record<string, string> = {
  email: 'email',
  first_name: 'firstName',
  last_name: 'lastName',
  job_title: 'professionalTitle',
  phone: 'primaryPhoneNumber',
  customer_id: 'customerId',
};

function fromAppError(error: AppError): BcError {
  switch (error.status) {
    case 400:
      return new BcError(
        400,
        'BadRequest',
        error.code === 'malformed_json' ? 'Invalid Request Body' : error.message,
      );
    case 401:
      return new BcError(
        401,
        'Authentication_InvalidCredentials',
        'The server has rejected the client credentials.',
        {
          'www-authenticate': 'Bearer',
        },
      );
    case 403:
      return new BcError(403, 'Authorization_InsufficientPermissions', error.message);
    case 404:
      return notFound(
        error.code === 'route_not_found'
          ? 'Bad Request - Error in query syntax.'
          : 'The requested record does not exist.',
      );
    case 409:
      if (error.code === 'concurrent_update') {
        return new BcError(409, 'Request_EntityChanged', 'Another user has already changed the record.');
      }
      return new BcError(400, 'Application_DialogException', error.message);
    case 412:
      return new BcError(412, 'Request_EntityChanged', 'Another user has already changed the record.');
    case 413:
      return new BcError(413, 'BadRequest', 'The request body is too large.');
    case 415:
      return new BcError(415, 'BadRequest', error.message);
    case 422: {
      const messages = error.errors.map((e) => {
        if (e.field === 'name' && e.code === 'required') {
          return 'A contact needs at least one of firstName, lastName, email or primaryPhoneNumber.';
        }
        return `${FIELD_TO_PROPERTY[e.field] ?? e.field}: ${e.message}`;
      });
      return new BcError(
        400,
        'Application_DialogException',
        messages.join(' ') || 'The request is not valid.',
      );
    }
    case 429:
      // Business Central documents the status (429, with Retry-After) but no error code for it.
      return new BcError(429, 'TooManyRequests', error.message, error.headers);
    case 503:
      return new BcError(
        503,
        'Internal_ServiceUnavailable',
        'The service is temporarily unavailable; retry shortly.',
        {
          'retry-after': error.headers['retry-after'] ?? '1',
        },
      );
    default:
      return error.status >= 500
        ? new BcError(500, 'Internal_ServerError', 'An unexpected error occurred.')
        : new BcError(error.status, 'BadRequest', error.message);
  }
}

type ValidationIssue = {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
};

/** Body validation failures in OData's wording: unknown property, wrong type, too long. */
function fromBodyValidation(issues: ValidationIssue[], body: unknown): BcError {
  const issue = issues.find((i) => i.keyword !== 'anyOf' && i.keyword !== 'oneOf') ?? issues[0];
  const name = issue?.instancePath.split('/').filter(Boolean)[0];
  const value =
    name && body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  switch (issue?.keyword) {
    case 'additionalProperties': {
      const extra = String(issue.params.additionalProperty);
      return new BcError(
        400,
        'BadRequest',
        `The property '${extra}' does not exist on type 'Microsoft.NAV.customerContact'. Make sure to only use property names that are defined by the type.`,
      );
    }
    case 'maxLength':
      return new BcError(
        400,
        'Application_StringExceededLength',
        `The length of the string is ${String(value).length}, but it must be less than or equal to ${String(issue.params.limit)} characters. Value: ${echoText(value)}`,
      );
    case 'type':
    case 'pattern':
    case 'format': {
      const prop = CONTACT_PROPERTIES[name as ContactPropertyName];
      if (!name || !prop) return new BcError(400, 'BadRequest', 'Invalid Request Body');
      return new BcError(
        400,
        'BadRequest',
        `Cannot convert the literal '${echoText(value)}' to the expected type '${prop.edmType}'.`,
      );
    }
    default:
      return new BcError(400, 'BadRequest', 'Invalid Request Body');
  }
}

/** Anything thrown → a Business Central error. `toAppError` is the core's mapping for everything else. */
export function toBcError(error: unknown, body: unknown, toAppError: (e: unknown) => AppError): BcError {
  if (error instanceof BcError) return error;
  if (error instanceof AppError) return fromAppError(error);
  const e = error as FastifyError & { validationContext?: string };
  if (e?.validation) {
    if (e.validationContext === 'params') return notFound();
    if (e.validationContext === 'body') return fromBodyValidation(e.validation as ValidationIssue[], body);
    const issue = (e.validation as ValidationIssue[])[0];
    const option = issue?.instancePath.split('/').filter(Boolean)[0] ?? 'query';
    return new BcError(
      400,
      'BadRequest',
      issue?.keyword === 'type'
        ? `Query option '${option}' was specified more than once, but it must be specified at most once.`
        : `The query option '${option}' is not valid.`,
    );
  }
  return fromAppError(toAppError(error));
}

/** Business Central ends every error message with the request's correlation id. */
export function errorBody(error: BcError, requestId: string): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: `${error.message}  CorrelationId:  ${requestId}.` } };
}
