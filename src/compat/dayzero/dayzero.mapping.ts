// DayZero (a FastAPI service with pydantic v2 models) ↔ the core: the EntityContact shape, request validation that
// answers in FastAPI's 422 shape with pydantic's types and messages, the x-business-id header, DayZero's cursor, and
// every other error as FastAPI's `{"detail": "..."}`. The rules on a contact's content (email syntax, phone
// numbers, one primary per customer) stay in the core; this file only words their errors the way DayZero does.

import type { FastifyRequest } from 'fastify';
import { CONTACT_SORT_COLUMNS } from '../../contacts/contacts.repo.ts';
import { type Contact, ContactCreate } from '../../contacts/contacts.schema.ts';
import {
  decodeCursor as decodeCoreCursor,
  encodeCursor as encodeCoreCursor,
  parseSort,
  type Sort,
} from '../../db/keyset.ts';
import { bearerToken } from '../../http/auth.ts';
import { toAppError } from '../../http/error-handler.ts';
import { AppError, type FieldError } from '../../http/errors.ts';
import { echoable } from '../../lib/echo.ts';
import { isEmail } from '../../lib/email.ts';
import { SORT_BY } from './dayzero.schema.ts';

/** One entry of FastAPI's 422 `detail` list (pydantic v2's error, as FastAPI serialises it). */
export interface Issue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

/** An error already in DayZero's words: `{"detail": "..."}` or, for 422, `{"detail": [Issue, ...]}`. */
export class DayZeroError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | Issue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === 'string' ? detail : 'Validation error');
  }
}

export const notFound = (what: 'Business' | 'Customer' | 'Contact') =>
  new DayZeroError(404, `${what} not found`);
export const invalid = (issues: Issue[]) => new DayZeroError(422, issues);
export const invalidCursor = () => new DayZeroError(400, 'Invalid cursor');

/** A request body sent with a non-JSON Content-Type: FastAPI hands the model the raw text, which no model accepts. */
export class RawBody {
  constructor(readonly text: string) {}
}

// ---------------------------------------------------------------------------------------------------------------
// Response shape

export interface EntityContact {
  id: string;
  entity_type: 'customer';
  entity_id: string;
  name: string;
  email: string | null;
  phone: string | null;
  role: string | null;
  is_primary: boolean;
  notes: string | null;
  created_at: string;
  updated_at: string;
}

export function toEntityContact(contact: Contact): EntityContact {
  // DayZero's name is required; a contact created natively with only first/last name shows them joined.
  const name =
    contact.name ?? ([contact.first_name, contact.last_name].filter((part) => part).join(' ') || '');
  return {
    id: contact.id,
    entity_type: 'customer',
    entity_id: contact.customer_id ?? '',
    name,
    email: contact.email,
    phone: contact.phone,
    role: contact.role,
    is_primary: contact.is_primary,
    notes: contact.notes,
    created_at: contact.created_at,
    updated_at: contact.updated_at,
  };
}

export const DELETED = { success: true, message: 'Contact deleted successfully', code: 'SUCCESS' } as const;

// ---------------------------------------------------------------------------------------------------------------
// pydantic v2 building blocks

const missing = (loc: (string | number)[], input: unknown): Issue => ({
  type: 'missing',
  loc,
  msg: 'Field required',
  input,
});

const stringType = (loc: (string | number)[], input: unknown): Issue => ({
  type: 'string_type',
  loc,
  msg: 'Input should be a valid string',
  input,
});

function stringTooLong(loc: (string | number)[], input: string, max: number): Issue {
  return {
    type: 'string_too_long',
    loc,
    msg: `String should have at most ${max} character${max === 1 ? '' : 's'}`,
    input,
    ctx: { max_length: max },
  };
}

function literalError(loc: (string | number)[], input: unknown, allowed: readonly string[]): Issue {
  const quoted = allowed.map((v) => `'${v}'`);
  const expected =
    quoted.length > 1
      ? `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`
      : (quoted[0] ?? '');
  return { type: 'literal_error', loc, msg: `Input should be ${expected}`, input, ctx: { expected } };
}

/** A ValueError raised in a validator: FastAPI serialises the exception in ctx as an empty object. */
function valueError(loc: (string | number)[], input: unknown, message: string): Issue {
  return { type: 'value_error', loc, msg: `Value error, ${message}`, input, ctx: { error: {} } };
}

/**
 * The reason python-email-validator gives for the common malformed addresses (pydantic's EmailStr quotes it).
 * Whether an address is valid is decided by the core's isEmail; this only words the answer.
 */
export function emailReason(value: string): string {
  const text = value.trim();
  const at = text.lastIndexOf('@');
  if (at < 0) return 'An email address must have an @-sign.';
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (!local) return 'There must be something before the @-sign.';
  if (!domain) return 'There must be something after the @-sign.';
  if (local.includes('@')) return 'The email address is not valid. It must have exactly one @-sign.';
  if (text.length > 254) return `The email address is too long (${text.length - 254} characters too many).`;
  if (!domain.includes('.')) return 'The part after the @-sign is not valid. It should have a period.';
  if (/\s/.test(local)) return 'The email address contains invalid characters before the @-sign: SPACE.';
  return 'The email address is not valid.';
}

function emailError(loc: (string | number)[], input: string): Issue {
  const reason = emailReason(input);
  return {
    type: 'value_error',
    loc,
    msg: `value is not a valid email address: ${reason}`,
    input,
    ctx: { reason },
  };
}

const TRUE = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

/** pydantic's lax bool: booleans, 0/1, and the usual words, from JSON bodies and query strings alike. */
function parseBool(loc: (string | number)[], input: unknown): { value: boolean } | { issue: Issue } {
  if (typeof input === 'boolean') return { value: input };
  const unreadable: Issue = {
    type: 'bool_parsing',
    loc,
    msg: 'Input should be a valid boolean, unable to interpret input',
    input,
  };
  if (typeof input === 'number')
    return input === 0 || input === 1 ? { value: input === 1 } : { issue: unreadable };
  if (typeof input === 'string') {
    const word = input.trim().toLowerCase();
    if (TRUE.has(word)) return { value: true };
    if (FALSE.has(word)) return { value: false };
    return { issue: unreadable };
  }
  return { issue: { type: 'bool_type', loc, msg: 'Input should be a valid boolean', input } };
}

// ---------------------------------------------------------------------------------------------------------------
// UUIDs as pydantic parses them (the Rust uuid crate, with its error texts): hyphenated, simple, braced or urn.

const GROUP_STARTS = [0, 9, 14, 19, 24] as const;
const GROUP_LENGTHS = [8, 4, 4, 4, 12] as const;
const HEX = /^[0-9a-fA-F]$/;

function parseUuidText(input: string): { uuid: string } | { error: string } {
  let body: string | undefined;
  if (input.length === 32) body = input;
  else if (input.length === 36) body = input;
  else if (input.length === 38 && input.startsWith('{') && input.endsWith('}')) body = input.slice(1, -1);
  else if (input.length === 45 && input.startsWith('urn:uuid:')) body = input.slice(9);
  if (body !== undefined) {
    const hex =
      body.length === 32
        ? body
        : [8, 13, 18, 23].every((i) => body[i] === '-')
          ? body.replaceAll('-', '')
          : undefined;
    if (hex?.length === 32 && [...hex].every((c) => HEX.test(c))) {
      const h = hex.toLowerCase();
      return {
        uuid: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
      };
    }
  }
  // Diagnose as the uuid crate does: first bad character, then group count, then the first group of bad length.
  let text = input;
  let offset = 0;
  let simple = true;
  if (input.length >= 2 && input.startsWith('{') && input.endsWith('}')) {
    text = input.slice(1, -1);
    offset = 1;
    simple = false;
  } else if (input.startsWith('urn:uuid:')) {
    text = input.slice(9);
    offset = 9;
    simple = false;
  }
  const bounds: number[] = [];
  let hyphens = 0;
  let index = 0; // a byte offset, as Rust's char_indices reports it
  for (const ch of text) {
    if (ch === '-') {
      if (hyphens < 4) bounds.push(index);
      hyphens++;
    } else if (!HEX.test(ch)) {
      return {
        error: `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${ch}\` at ${index + offset + 1}`,
      };
    }
    index += Buffer.byteLength(ch);
  }
  if (hyphens === 0 && simple) {
    return {
      error: `invalid length: expected length 32 for simple format, found ${Buffer.byteLength(input)}`,
    };
  }
  if (hyphens !== 4) return { error: `invalid group count: expected 5, found ${hyphens + 1}` };
  for (let group = 0; group < 4; group++) {
    const bound = bounds[group] as number;
    const start = GROUP_STARTS[group] as number;
    if (bound !== (GROUP_STARTS[group + 1] as number) - 1) {
      return {
        error: `invalid group length in group ${group}: expected ${GROUP_LENGTHS[group]}, found ${bound - start}`,
      };
    }
  }
  return { error: `invalid group length in group 4: expected 12, found ${index - GROUP_STARTS[4]}` };
}

/**
 * The x-business-id header: missing or not a UUID → a 422 issue (FastAPI reports it with the body's issues);
 * a UUID that is not the key's tenant → DayZero's 404 for a wrong business context.
 */
export function checkBusiness(header: string | string[] | undefined, tenantId: string): Issue[] {
  const loc = ['header', 'x-business-id'];
  if (header === undefined) return [missing(loc, null)];
  const value = Array.isArray(header) ? header.join(', ') : header;
  const parsed = parseUuidText(value);
  if ('error' in parsed) {
    return [
      {
        type: 'uuid_parsing',
        loc,
        msg: `Input should be a valid UUID, ${parsed.error}`,
        input: value,
        ctx: { error: parsed.error },
      },
    ];
  }
  if (parsed.uuid !== tenantId.toLowerCase()) throw notFound('Business');
  return [];
}

// ---------------------------------------------------------------------------------------------------------------
// Request bodies: EntityContactCreateRequest and EntityContactUpdateRequest

export interface ContactFields {
  name?: string;
  email?: string | null;
  phone?: string | null;
  role?: string | null;
  is_primary?: boolean;
  notes?: string | null;
}

const FIELDS = ['name', 'email', 'phone', 'role', 'is_primary', 'notes'] as const;
type Field = (typeof FIELDS)[number];

// The core's own bounds (its create schema), reported the way pydantic reports a max_length.
function maxLength(field: Field): number | undefined {
  const props = ContactCreate.properties as unknown as Record<string, { maxLength?: number } | undefined>;
  return props[field]?.maxLength;
}

/**
 * Validates a create (name required) or update (all optional) body as pydantic would, field by field in the
 * model's order. Unknown fields are ignored (pydantic's default). `null` clears the optional text fields; name
 * and is_primary cannot be null.
 */
export function readContactBody(
  body: unknown,
  mode: 'create' | 'update',
): { fields: ContactFields; issues: Issue[] } {
  const fields: ContactFields = {};
  if (body === undefined || body === null) return { fields, issues: [missing(['body'], null)] };
  if (body instanceof RawBody || typeof body !== 'object' || Array.isArray(body)) {
    const input = body instanceof RawBody ? body.text : body;
    return {
      fields,
      issues: [
        {
          type: 'model_attributes_type',
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          input,
        },
      ],
    };
  }
  const issues: Issue[] = [];
  const record = body as Record<string, unknown>;
  for (const field of FIELDS) {
    const loc = ['body', field];
    if (!Object.hasOwn(record, field)) {
      if (field === 'name' && mode === 'create') issues.push(missing(loc, body));
      continue;
    }
    const value = record[field];
    if (field === 'is_primary') {
      const parsed = parseBool(loc, value);
      if ('issue' in parsed) issues.push(parsed.issue);
      else fields.is_primary = parsed.value;
      continue;
    }
    if (value === null && field !== 'name') {
      fields[field] = null;
      continue;
    }
    if (typeof value !== 'string') {
      issues.push(stringType(loc, value));
      continue;
    }
    const max = maxLength(field);
    if (max !== undefined && [...value].length > max) {
      issues.push(stringTooLong(loc, value, max));
      continue;
    }
    // EmailStr rejects an empty address, which the core would read as "no email".
    if (field === 'email' && (value.trim() === '' || !isEmail(value.trim()))) {
      issues.push(emailError(loc, value));
      continue;
    }
    fields[field] = value;
  }
  return { fields, issues };
}

/** The core's field errors (phone, email, blank identity, database bounds) as pydantic issues on the body. */
export function coreFieldIssues(errors: FieldError[], body: unknown): Issue[] {
  const record = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  return errors.map((e) => {
    const loc = ['body', e.field];
    const input = record[e.field];
    if (e.field === 'email' && typeof input === 'string') return emailError(loc, input);
    if (e.field === 'name' && e.code === 'required') {
      return valueError(loc, input, 'name must not be blank unless the contact has an email or a phone');
    }
    return valueError(loc, input, `${e.field} ${e.message}`);
  });
}

/** A core error raised while acting on `what`: its 404 becomes "<what> not found", its 422 pydantic issues. */
export function fromCore(error: unknown, what: 'Customer' | 'Contact', body?: unknown): unknown {
  if (!(error instanceof AppError)) return error;
  if (error.status === 404) return notFound(what);
  if (error.status === 422 && error.errors.length) return invalid(coreFieldIssues(error.errors, body));
  return error;
}

// ---------------------------------------------------------------------------------------------------------------
// List query and cursor

export type SortBy = (typeof SORT_BY)[number];

export interface ListParams {
  cursor: string | undefined;
  limit: number;
  direction: 'next' | 'prev';
  includeTotalCount: boolean;
  sortBy: SortBy;
  descending: boolean;
}

const DIRECTIONS = ['next', 'prev'] as const;

/** Query parameters as FastAPI reads them: the last value of a repeated key, strings parsed by pydantic. */
export function readListQuery(query: unknown): { params: ListParams; issues: Issue[] } {
  const raw = (query ?? {}) as Record<string, string | string[] | undefined>;
  const get = (key: string): string | undefined => {
    const v = raw[key];
    return Array.isArray(v) ? v[v.length - 1] : v;
  };
  const issues: Issue[] = [];
  const params: ListParams = {
    cursor: get('cursor') || undefined,
    limit: 50,
    direction: 'next',
    includeTotalCount: false,
    sortBy: 'created_at',
    descending: true,
  };

  const limit = get('limit');
  if (limit !== undefined) {
    const loc = ['query', 'limit'];
    const text = limit.trim();
    if (!/^[+-]?\d+(\.0*)?$/.test(text)) {
      issues.push({
        type: 'int_parsing',
        loc,
        msg: 'Input should be a valid integer, unable to parse string as an integer',
        input: limit,
      });
    } else {
      const n = Number.parseInt(text, 10);
      if (n < 1) {
        issues.push({
          type: 'greater_than_equal',
          loc,
          msg: 'Input should be greater than or equal to 1',
          input: limit,
          ctx: { ge: 1 },
        });
      } else if (n > 1000) {
        issues.push({
          type: 'less_than_equal',
          loc,
          msg: 'Input should be less than or equal to 1000',
          input: limit,
          ctx: { le: 1000 },
        });
      } else params.limit = n;
    }
  }

  const direction = get('direction');
  if (direction) {
    if ((DIRECTIONS as readonly string[]).includes(direction))
      params.direction = direction as 'next' | 'prev';
    else issues.push(literalError(['query', 'direction'], direction, DIRECTIONS));
  }

  for (const key of ['include_total_count', 'descending'] as const) {
    const value = get(key);
    if (value === undefined) continue;
    const parsed = parseBool(['query', key], value);
    if ('issue' in parsed) issues.push(parsed.issue);
    else if (key === 'descending') params.descending = parsed.value;
    else params.includeTotalCount = parsed.value;
  }

  const sortBy = get('sort_by');
  if (sortBy) {
    if ((SORT_BY as readonly string[]).includes(sortBy)) params.sortBy = sortBy as SortBy;
    else issues.push(literalError(['query', 'sort_by'], sortBy, SORT_BY));
  }
  return { params, issues };
}

/** A row boundary in one sort key's order: the row's sort value (full precision, as the core keeps it) and id. */
interface Position {
  k: SortBy;
  v: string;
  id: string;
}

/** The core's sort for DayZero's sort_by/descending (the core spells descending with a leading "-"). */
export function coreSort(sortBy: SortBy, descending: boolean): Sort {
  return parseSort(`${descending ? '-' : ''}${sortBy}`, CONTACT_SORT_COLUMNS, 'created_at');
}

/**
 * DayZero's cursor marks a row in the sort_by order, whichever the direction: the core cursor for the requested
 * walk is rebuilt from it, so one cursor serves `direction=next` (rows after it) and `direction=prev` (rows before).
 */
export function toCoreCursor(cursor: string, sort: Sort): string {
  let position: Position | undefined;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Position;
  } catch {
    throw invalidCursor();
  }
  if (
    !position ||
    typeof position !== 'object' ||
    position.k !== sort.key ||
    typeof position.v !== 'string' ||
    typeof position.id !== 'string'
  ) {
    throw invalidCursor();
  }
  return encodeCoreCursor(sort, position.v, position.id);
}

export function fromCoreCursor(coreCursor: string, sort: Sort): string {
  const { v, id } = decodeCoreCursor(coreCursor, sort);
  const position: Position = { k: sort.key as SortBy, v, id };
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

export interface Rendered {
  status: number;
  body: { detail: string | Issue[] };
  headers: Record<string, string>;
}

/** Any error thrown in the dialect's scope → FastAPI's body for it. 5xx never carries internal text. */
export function renderError(error: unknown, request: FastifyRequest): Rendered {
  if (error instanceof DayZeroError) {
    const detail =
      typeof error.detail === 'string'
        ? error.detail
        : error.detail.map((i) => ({ ...i, input: echoable(i.input) }));
    return { status: error.status, body: { detail }, headers: error.headers };
  }
  const app = toAppError(error);
  switch (app.status) {
    case 401:
      // FastAPI's HTTPBearer words: no credentials vs. credentials it does not accept.
      return {
        status: 401,
        body: { detail: bearerToken(request) ? 'Invalid authentication credentials' : 'Not authenticated' },
        headers: { 'www-authenticate': 'Bearer' },
      };
    case 404:
      return { status: 404, body: { detail: 'Not Found' }, headers: {} };
    case 422:
      return {
        status: 422,
        body: {
          detail: app.errors.length
            ? coreFieldIssues(app.errors, request.body)
            : [valueError(['body'], null, app.message)],
        },
        headers: {},
      };
    case 503:
      return { status: 503, body: { detail: 'Service Unavailable' }, headers: app.headers };
  }
  if (app.code === 'invalid_cursor') return { status: 400, body: { detail: 'Invalid cursor' }, headers: {} };
  if (app.status >= 500) return { status: 500, body: { detail: 'Internal Server Error' }, headers: {} };
  return { status: app.status, body: { detail: app.message }, headers: app.headers };
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies: JSON for application/json, */*+json and requests without a Content-Type (as FastAPI reads them)

function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const [main, sub = ''] = mediaType.split('/');
  return main === 'application' && (sub === 'json' || sub.endsWith('+json'));
}

/**
 * Where and why Python's json module rejects a text JSON.parse rejected (FastAPI reports e.pos and e.msg), for the
 * messages of Python up to 3.12. Only called on text that failed to parse.
 */
export function locateJsonError(text: string): { pos: number; msg: string } {
  class Failure {
    constructor(
      readonly pos: number,
      readonly msg: string,
    ) {}
  }
  const fail = (pos: number, msg: string): never => {
    throw new Failure(pos, msg);
  };
  const ws = (i: number): number => {
    let j = i;
    while (j < text.length && ' \t\n\r'.includes(text[j] as string)) j++;
    return j;
  };
  const string = (start: number): number => {
    let i = start + 1;
    for (;;) {
      if (i >= text.length) return fail(start, 'Unterminated string starting at');
      const ch = text[i] as string;
      if (ch === '"') return i + 1;
      if (ch < ' ') return fail(i, 'Invalid control character at');
      if (ch === '\\') {
        const esc = text[i + 1];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return fail(i, 'Invalid \\uXXXX escape');
          i += 6;
          continue;
        }
        if (esc === undefined || !'"\\/bfnrt'.includes(esc)) return fail(i, 'Invalid \\escape');
        i += 2;
        continue;
      }
      i++;
    }
  };
  const value = (at: number): number => {
    const i = ws(at);
    const ch = text[i];
    if (ch === '"') return string(i);
    if (ch === '{') {
      let j = ws(i + 1);
      if (text[j] === '}') return j + 1;
      for (;;) {
        if (text[j] !== '"') return fail(j, 'Expecting property name enclosed in double quotes');
        j = ws(string(j));
        if (text[j] !== ':') return fail(j, "Expecting ':' delimiter");
        j = ws(value(j + 1));
        if (text[j] === '}') return j + 1;
        if (text[j] !== ',') return fail(j, "Expecting ',' delimiter");
        j = ws(j + 1);
      }
    }
    if (ch === '[') {
      let j = ws(i + 1);
      if (text[j] === ']') return j + 1;
      for (;;) {
        j = ws(value(j));
        if (text[j] === ']') return j + 1;
        if (text[j] !== ',') return fail(j, "Expecting ',' delimiter");
        j += 1;
      }
    }
    for (const word of ['null', 'true', 'false', 'NaN', 'Infinity', '-Infinity']) {
      if (text.startsWith(word, i)) return i + word.length;
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i));
    if (number) return i + number[0].length;
    return fail(i, 'Expecting value');
  };
  try {
    const end = ws(value(0));
    if (end < text.length) fail(end, 'Extra data');
  } catch (err) {
    if (err instanceof Failure) return { pos: err.pos, msg: err.msg };
    throw err;
  }
  return { pos: 0, msg: 'Expecting value' };
}

export function parseBody(contentType: string | undefined, text: string): unknown {
  if (text === '') return undefined;
  if (!isJsonType(contentType)) return new RawBody(text);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const { pos, msg } = locateJsonError(text);
    throw invalid([
      { type: 'json_invalid', loc: ['body', pos], msg: 'JSON decode error', input: {}, ctx: { error: msg } },
    ]);
  }
}
