// Tenant isolation and authorization, generated from the OpenAPI document: every secured operation, native or of a
// vendor dialect under /compat/, is sent without credentials, with bad or revoked keys, with a key lacking its
// scope, and with another tenant's admin key aimed at this tenant's objects. A route added later is covered without
// editing this file, and a route this file cannot fill in (an unknown path parameter, a scheme with no credential
// rule, a dialect with no rules) fails loudly.
import assert from 'node:assert/strict';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { SCOPES, type Scope } from '../src/http/context.ts';
import { createTestTenant, json, keyFor, setupTestEnv, type TestEnv, type TestTenant } from './helpers.ts';

// ---------------------------------------------------------------------------------------------------------------
// What the document says

interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  minProperties?: number;
  minLength?: number;
  minimum?: number;
  items?: Schema;
  minItems?: number;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  security?: Record<string, string[]>[];
  'x-required-scope'?: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses?: Record<string, unknown>;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}
interface Op {
  method: string;
  path: string;
  operation: Operation;
  scheme: string;
  scope: Scope;
  label: string;
  /** The vendor dialect serving the operation; undefined for the native API. */
  dialect?: Dialect | undefined;
}

/**
 * How each security scheme carries a token. Dialect paths (/compat/…) speak their vendor's error shapes and name
 * objects in their own ways: each is described by an entry of DIALECTS (below), and a /compat/ path with no entry
 * fails the first test.
 */
const CREDENTIALS: Record<string, (token: string) => Record<string, string>> = {
  bearerAuth: (token) => ({ authorization: `Bearer ${token}` }),
  fastlyKey: (token) => ({ 'fastly-key': token }),
};

type Kind = 'customer' | 'contact' | 'channel' | 'api_key';
type Objects = Record<Kind, string[]>;

/** The collection segment before `{id}` names the kind of object. */
const COLLECTIONS: Record<string, Kind> = {
  customers: 'customer',
  contacts: 'contact',
  channels: 'channel',
  api_keys: 'api_key',
};
/** A property or parameter named like customer_id, contact_id, billing_contact_id … refers to an object. */
const REFERENCE = /(customer|contact|channel|api_key)_id$/;

function paramKind(path: string, name: string): Kind {
  const named = REFERENCE.exec(name);
  if (named) return named[1] as Kind;
  if (name === 'id') {
    const segments = path.split('/');
    const kind = COLLECTIONS[segments[segments.indexOf('{id}') - 1] ?? ''];
    if (kind) return kind;
  }
  throw new Error(`${path}: no rule says which object {${name}} names; extend COLLECTIONS or REFERENCE`);
}

function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    assert.ok(value, `no value for {${name}} in ${path}`);
    return value;
  });
}

// Plausible values by property name; anything else is derived from its schema.
const PLAUSIBLE: Record<string, unknown> = {
  name: 'Cross-tenant probe',
  value: 'probe@example.com',
  type: 'EMAIL',
  email: 'probe@example.com',
  first_name: 'Probe',
  last_name: 'Person',
  label: 'Probe',
  phone: '+1 202 555 0175',
  notes: 'probe',
  note: 'probe',
};

let doc: OpenApi;

function resolve(schema: Schema | undefined): Schema {
  if (!schema?.$ref) return schema ?? {};
  const name = schema.$ref.split('/').at(-1) ?? '';
  const found = doc.components?.schemas?.[name];
  assert.ok(found, `unresolved $ref ${schema.$ref}`);
  return found;
}

function allowsUuid(schema: Schema | undefined): boolean {
  const s = resolve(schema);
  return s.format === 'uuid' || (s.anyOf ?? []).some(allowsUuid);
}

function sample(name: string, schema: Schema | undefined): unknown {
  if (name in PLAUSIBLE) return PLAUSIBLE[name];
  const s = resolve(schema);
  if (s.enum) return s.enum.find((v) => v !== null);
  if (s.anyOf)
    return sample(
      name,
      s.anyOf.find((x) => resolve(x).type !== 'null'),
    );
  const type = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  switch (type) {
    case 'string':
      if (s.format === 'uuid')
        throw new Error(`property ${name} is an id of an unknown kind; extend REFERENCE`);
      if (s.format === 'email') return 'probe@example.com';
      if (s.format === 'date-time') return new Date().toISOString();
      return 'p'.repeat(Math.max(1, s.minLength ?? 1));
    case 'integer':
    case 'number':
      return s.minimum ?? 0;
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sample(`${name}[]`, s.items));
    case 'object':
      return body(s, undefined) ?? {};
    default:
      throw new Error(`no sample value for ${name}: ${JSON.stringify(s)}`);
  }
}

/** Required properties, filled in; at least one property when the schema has any (an empty body means little). */
function body(schema: Schema | undefined, refs: Objects | undefined): Record<string, unknown> | undefined {
  const s = resolve(schema);
  if (!s.properties) return undefined;
  const out: Record<string, unknown> = {};
  for (const name of s.required ?? []) {
    const kind = REFERENCE.exec(name)?.[1] as Kind | undefined;
    if (kind && refs) out[name] = refs[kind][0];
    else out[name] = sample(name, s.properties[name]);
  }
  if (Object.keys(out).length === 0) {
    const name =
      Object.keys(PLAUSIBLE).find((n) => n in (s.properties ?? {})) ??
      Object.keys(s.properties).find((n) => !REFERENCE.test(n));
    if (name) out[name] = sample(name, s.properties[name]);
  }
  return out;
}

function bodySchema(op: Op): Schema | undefined {
  const content = op.operation.requestBody?.content;
  if (!content) return undefined;
  return (content['application/json'] ?? Object.values(content)[0])?.schema;
}

function minimalBody(op: Op, refs: Objects): Record<string, unknown> | undefined {
  const schema = bodySchema(op);
  return schema ? body(schema, refs) : undefined;
}

/** Body properties and query parameters that refer to objects by id. */
function references(op: Op): { where: 'body' | 'query'; name: string; kind: Kind }[] {
  const out: { where: 'body' | 'query'; name: string; kind: Kind }[] = [];
  for (const [name, schema] of Object.entries(resolve(bodySchema(op)).properties ?? {})) {
    const kind = REFERENCE.exec(name)?.[1] as Kind | undefined;
    if (kind && allowsUuid(schema)) out.push({ where: 'body', name, kind });
  }
  for (const p of op.operation.parameters ?? []) {
    const kind = REFERENCE.exec(p.name)?.[1] as Kind | undefined;
    if (p.in === 'query' && kind && allowsUuid(p.schema)) out.push({ where: 'query', name: p.name, kind });
  }
  return out;
}

/** No query, then each boolean query flag turned on (include_deleted, purge …). */
function queryVariants(op: Op): Record<string, string>[] {
  const flags = (op.operation.parameters ?? []).filter(
    (p) => p.in === 'query' && resolve(p.schema).type === 'boolean',
  );
  return [{}, ...flags.map((p) => ({ [p.name]: 'true' }))];
}

function combinations(path: string, objects: Objects): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const name of pathParams(path)) {
    const ids = objects[paramKind(path, name)];
    out = out.flatMap((partial) => ids.map((id) => ({ ...partial, [name]: id })));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Record<string, unknown> | undefined;
}
interface Response {
  statusCode: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
}

let env: TestEnv;

function request(
  op: Op,
  headers: Record<string, string>,
  params: Record<string, string>,
  query: Record<string, string>,
  payload: Record<string, unknown> | undefined,
): Request {
  const qs = new URLSearchParams(query).toString();
  return {
    method: op.method.toUpperCase(),
    url: `${fillPath(op.path, params)}${qs ? `?${qs}` : ''}`,
    headers,
    body: payload,
  };
}

function send(r: Request): Promise<Response> {
  return env.app.inject({
    method: r.method as 'GET',
    url: r.url,
    headers: r.headers,
    ...(r.body !== undefined ? { payload: r.body } : {}),
  });
}

/** The same request with each of `ids` replaced by a fresh random UUID (an object that exists nowhere). */
function withUnknownIds(r: Request, ids: string[]): { request: Request; unknown: string[] } {
  const unknown = ids.map(() => randomUUID());
  let text = JSON.stringify({ url: r.url, body: r.body });
  ids.forEach((id, i) => {
    text = text.replaceAll(id, unknown[i] as string);
  });
  const swapped = JSON.parse(text) as { url: string; body?: Record<string, unknown> };
  return { request: { ...r, url: swapped.url, body: swapped.body }, unknown };
}

function normalized(res: Response, ids: string[]): { status: number; body: unknown } {
  let text = res.body;
  ids.forEach((id, i) => {
    text = text.replaceAll(id, `<id ${i}>`);
  });
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: compared as text
  }
  if (body && typeof body === 'object') delete (body as Record<string, unknown>).request_id;
  return { status: res.statusCode, body };
}

/**
 * Sends `r`, which names the other tenant's objects `ids`, and the same request naming unknown objects instead: the
 * answers must be the same, so a response says nothing about whether another tenant's object exists.
 */
async function indistinguishable(r: Request, ids: string[]): Promise<Response> {
  const theirs = await send(r);
  const { request: probe, unknown } = withUnknownIds(r, ids);
  const nobody = await send(probe);
  assert.deepEqual(
    normalized(theirs, ids),
    normalized(nobody, unknown),
    `${r.method} ${r.url} ${JSON.stringify(r.body ?? null)}: answers differently for another tenant's object than for an unknown one`,
  );
  return theirs;
}

function expectDenied(op: Op, res: Response, status: 401 | 403 | 404, code: string): void {
  const where = `${op.label}: ${res.body}`;
  assert.equal(res.statusCode, status, where);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, where);
  const problem = json<{ code: string; status: number; request_id: string; detail: string }>(res);
  assert.equal(problem.code, code, where);
  assert.equal(problem.status, status, where);
  assert.equal(problem.request_id, res.headers['x-request-id'], where);
  if (status === 401 && op.scheme === 'bearerAuth')
    assert.equal(res.headers['www-authenticate'], 'Bearer', where);
  if (status === 403) assert.ok(problem.detail.includes(op.scope), `${where}: the detail names ${op.scope}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Vendor dialects: how each names the tenant and objects, what else a valid request carries, and how it words its
// refusals (its own error shapes, never RFC 9457)

type Form = 'uuid' | 'number';
type Role = 'tenant' | Kind;
type Level = 'tenant' | 'object';

/** What a path or header parameter names: the tenant or an object, by UUID or by integer number. */
interface IdRule {
  role: Role;
  form: Form;
  /** The object a valid request names (by default the first of its kind). */
  first?: Named;
}

interface Dialect {
  name: string;
  prefix: string;
  /** The security scheme every operation of the dialect declares. */
  scheme: string;
  /** Path and header parameters naming the tenant or an object; a path parameter with no rule fails loudly. */
  ids: Record<string, IdRule>;
  /** Minimal valid bodies by operationId, where the schema alone does not give a valid one. */
  bodies?: Record<string, Record<string, unknown>>;
  /** Headers a valid request needs besides its credential and ids. */
  headers?: (op: Op) => Record<string, string>;
  /** Query values also tried (beside boolean flags) on operations that have the parameter. */
  queryFlags?: Record<string, string>;
  /** Body properties that name objects. */
  bodyRefs?: Record<string, { role: Kind; form: Form }>;
  /** Query parameters that can name objects (an OData $filter), and how. */
  queryRefs?: Record<string, { role: Kind; form: Form; value: (id: string) => string }[]>;
  /** The items of a successful list answer. */
  items?: (body: unknown) => unknown[];
  /** A request with no usable credential; `sent`: a token was sent where the dialect reads it, but is not valid. */
  unauthenticated(op: Op, res: Response, sent: boolean): void;
  /** A key of the right tenant lacking the operation's scope. */
  forbidden(op: Op, res: Response): void;
  /** Not found: the tenant (another account, store, company or business) or an object. */
  notFound(op: Op, res: Response, level: Level): void;
}

/** The vendor's JSON error body with `status`, as `application/json` (problem+json would be the native shape). */
function vendorError<T>(op: Op, res: Response, status: number): T {
  const where = `${op.label}: ${res.statusCode} ${res.body}`;
  assert.equal(res.statusCode, status, where);
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
  return json<T>(res);
}

function bcError(op: Op, res: Response, status: number): { code: string; message: string } {
  const { error } = vendorError<{ error: { code: string; message: string } }>(op, res, status);
  // Business Central ends every message with the correlation id, which is the request id.
  assert.ok(
    error.message.endsWith(`  CorrelationId:  ${String(res.headers['x-request-id'])}.`),
    `${op.label}: ${error.message}`,
  );
  return error;
}

const lacksScope = (scope: string) => `This API key lacks the "${scope}" scope.`;
const ECWID_SCOPES: Record<string, string> = {
  get: 'read_customers',
  post: 'create_customers',
  put: 'update_customers',
  delete: 'update_customers',
};

const DIALECTS: Dialect[] = [
  {
    name: 'Fastly',
    prefix: '/compat/fastly/',
    scheme: 'fastlyKey',
    ids: {
      customer_id: { role: 'customer', form: 'uuid' },
      contact_id: { role: 'contact', form: 'uuid', first: 'spareContact' },
    },
    // The schema's first contact_type (primary) needs a phone; billing needs nothing more than a name.
    bodies: {
      fastlyCreateContact: {
        contact_type: 'billing',
        name: 'Cross-tenant probe',
        email: 'probe@example.com',
      },
    },
    bodyRefs: { customer_id: { role: 'customer', form: 'uuid' } },
    unauthenticated: (op, res) =>
      assert.deepEqual(vendorError(op, res, 401), { msg: 'Provided credentials are missing or invalid' }),
    forbidden: (op, res) =>
      assert.deepEqual(vendorError(op, res, 403), { msg: 'Forbidden', detail: lacksScope(op.scope) }),
    notFound: (op, res) => {
      const error = vendorError<{ msg: string; detail: string }>(op, res, 404);
      assert.equal(error.msg, 'Record not found', op.label);
      assert.match(error.detail, /^Cannot find (customer|customercontact) '[^']*'$/, op.label);
    },
  },
  {
    name: 'Business Central',
    prefix: '/compat/businesscentral/',
    scheme: 'bearerAuth',
    ids: {
      company_id: { role: 'tenant', form: 'uuid' },
      customer_id: { role: 'customer', form: 'uuid' },
      id: { role: 'contact', form: 'uuid', first: 'spareContact' },
    },
    // If-Match is required on PATCH and DELETE; '*' matches any version, so only tenancy can stop the request.
    headers: (op): Record<string, string> =>
      op.method === 'patch' || op.method === 'delete' ? { 'if-match': '*' } : {},
    queryFlags: { $count: 'true', $expand: 'pdfDocument' },
    bodyRefs: { customerId: { role: 'customer', form: 'uuid' } },
    queryRefs: {
      $filter: [
        { role: 'customer', form: 'uuid', value: (id) => `customerId eq ${id}` },
        { role: 'contact', form: 'uuid', value: (id) => `id eq ${id}` },
      ],
    },
    items: (body) => (body as { value: unknown[] }).value,
    unauthenticated: (op, res) => {
      assert.equal(bcError(op, res, 401).code, 'Authentication_InvalidCredentials', op.label);
      assert.equal(res.headers['www-authenticate'], 'Bearer', op.label);
    },
    forbidden: (op, res) => {
      const error = bcError(op, res, 403);
      assert.equal(error.code, 'Authorization_InsufficientPermissions', op.label);
      assert.ok(error.message.includes(op.scope), `${op.label}: the message names ${op.scope}`);
    },
    notFound: (op, res, level) => {
      const error = bcError(op, res, 404);
      assert.equal(error.code, 'BadRequest_NotFound', op.label);
      assert.equal(
        error.message.startsWith("The company '"),
        level === 'tenant',
        `${op.label}: not found at the ${level} level: ${error.message}`,
      );
    },
  },
  {
    name: 'DayZero',
    prefix: '/compat/dayzero/',
    scheme: 'bearerAuth',
    ids: {
      'x-business-id': { role: 'tenant', form: 'uuid' },
      customer_id: { role: 'customer', form: 'uuid' },
      contact_id: { role: 'contact', form: 'uuid', first: 'spareContact' },
    },
    unauthenticated: (op, res, sent) => {
      assert.deepEqual(vendorError(op, res, 401), {
        detail: sent ? 'Invalid authentication credentials' : 'Not authenticated',
      });
      assert.equal(res.headers['www-authenticate'], 'Bearer', op.label);
    },
    forbidden: (op, res) => assert.deepEqual(vendorError(op, res, 403), { detail: lacksScope(op.scope) }),
    notFound: (op, res, level) => {
      const { detail } = vendorError<{ detail: string }>(op, res, 404);
      if (level === 'tenant') assert.equal(detail, 'Business not found', op.label);
      else assert.ok(['Customer not found', 'Contact not found'].includes(detail), `${op.label}: ${detail}`);
    },
  },
  {
    name: 'DNSimple',
    prefix: '/compat/dnsimple/',
    scheme: 'bearerAuth',
    ids: {
      account: { role: 'tenant', form: 'number' },
      // DNSimple's contacts are account-level: the tenant's own contacts, without a customer.
      contact: { role: 'contact', form: 'number', first: 'ownContact' },
    },
    bodies: {
      dnsimpleCreateContact: {
        first_name: 'Probe',
        last_name: 'Person',
        email: 'probe@example.com',
        phone: '+1 202 555 0175',
        address1: 'Italian Street, 10',
        city: 'Roma',
        state_province: 'RM',
        postal_code: '00100',
        country: 'IT',
      },
    },
    unauthenticated: (op, res) => {
      assert.deepEqual(vendorError(op, res, 401), { message: 'Authentication failed' });
      assert.equal(res.headers['www-authenticate'], 'Bearer', op.label);
    },
    forbidden: (op, res) =>
      assert.deepEqual(vendorError(op, res, 403), {
        message: `Permission Denied. Required Scope: ${op.scope}`,
      }),
    notFound: (op, res, level) => {
      const error = vendorError<{ message: string }>(op, res, 404);
      assert.deepEqual(Object.keys(error), ['message'], op.label);
      assert.match(
        error.message,
        level === 'tenant' ? /^Account `[^`]*` not found$/ : /^Contact `[^`]*` not found$/,
        op.label,
      );
    },
  },
  {
    name: 'Ecwid',
    prefix: '/compat/ecwid/',
    scheme: 'bearerAuth',
    ids: {
      storeId: { role: 'tenant', form: 'number' },
      customerId: { role: 'customer', form: 'number' },
      contactId: { role: 'channel', form: 'number' },
    },
    // `contact` must be an address of its `type`, which the schema cannot say.
    bodies: {
      ecwidCreateCustomerContact: { type: 'EMAIL', contact: 'probe@example.com' },
      ecwidUpdateCustomerContact: { note: 'probe' },
    },
    // Ecwid answers a missing or unknown token with 403 INVALID_API_TOKEN, never 401.
    unauthenticated: (op, res) => {
      const error = vendorError<{ errorCode: string; errorMessage: string }>(op, res, 403);
      assert.equal(error.errorCode, 'INVALID_API_TOKEN', op.label);
      assert.equal(typeof error.errorMessage, 'string', op.label);
    },
    forbidden: (op, res) => {
      const error = vendorError<{ errorCode: string; errorMessage: string }>(op, res, 403);
      assert.equal(error.errorCode, 'INSUFFICIENT_APP_SCOPE', op.label);
      const scope = ECWID_SCOPES[op.method] ?? '';
      assert.ok(error.errorMessage.includes(scope), `${op.label}: the message names ${scope}`);
    },
    notFound: (op, res, level) => {
      const { errorCode } = vendorError<{ errorCode: string }>(op, res, 404);
      if (level === 'tenant') assert.equal(errorCode, 'STORE_NOT_FOUND', op.label);
      else
        assert.ok(
          ['CUSTOMER_NOT_FOUND', 'CUSTOMER_CONTACT_NOT_FOUND'].includes(errorCode),
          `${op.label}: ${errorCode}`,
        );
    },
  },
];

function dialectOf(path: string): Dialect | undefined {
  return DIALECTS.find((d) => path.startsWith(d.prefix));
}

interface IdParam {
  name: string;
  in: 'path' | 'header';
  rule: IdRule;
}

/** The operation's path and header parameters that name the tenant or an object. */
function idParams(op: Op, d: Dialect): IdParam[] {
  const out: IdParam[] = [];
  for (const name of pathParams(op.path)) {
    const rule = d.ids[name];
    if (!rule) throw new Error(`${op.label}: no rule says what {${name}} names in ${d.name}; extend its ids`);
    out.push({ name, in: 'path', rule });
  }
  for (const p of op.operation.parameters ?? []) {
    if (p.in !== 'header') continue;
    const rule = d.ids[p.name];
    if (rule) out.push({ name: p.name, in: 'header', rule });
    else if (p.required)
      throw new Error(`${op.label}: no rule for the required header ${p.name}; extend ids`);
  }
  return out;
}

/** A tenant's values for a parameter, in the parameter's form; the first is the one a valid request uses. */
function candidates(s: Seeded, rule: IdRule): string[] {
  if (rule.role === 'tenant') {
    return [rule.form === 'uuid' ? s.tenant.tenant.id : String(s.tenant.tenant.number)];
  }
  const ids = s.objects[rule.role];
  const first = rule.first ? s.named[rule.first] : undefined;
  const ordered = first ? [first, ...ids.filter((id) => id !== first)] : ids;
  return ordered.map((id) => {
    if (rule.form === 'uuid') return id;
    const n = s.numbers.get(id);
    assert.ok(n !== undefined, `no number for ${rule.role} ${id}`);
    return String(n);
  });
}

/** A value of the same form naming nothing: a fresh UUID, or a number far above any handed out here. */
function madeUp(form: Form): string {
  return form === 'uuid' ? randomUUID() : String(randomInt(900_000_000, 999_999_999));
}

/** The values with which a tenant's valid request names itself and its objects. */
function ownValues(op: Op, d: Dialect, s: Seeded): Record<string, string> {
  return Object.fromEntries(idParams(op, d).map((p) => [p.name, candidates(s, p.rule)[0] as string]));
}

function dialectBody(op: Op, d: Dialect): Record<string, unknown> | undefined {
  const listed = d.bodies?.[op.operation.operationId];
  if (listed) return { ...listed };
  const schema = bodySchema(op);
  return schema ? body(schema, undefined) : undefined;
}

function dialectRequest(
  op: Op,
  d: Dialect,
  credentials: Record<string, string>,
  values: Record<string, string>,
  query: Record<string, string>,
  payload: Record<string, unknown> | undefined,
): Request {
  const headers = { ...credentials, ...(d.headers?.(op) ?? {}) };
  for (const p of idParams(op, d)) {
    const value = values[p.name];
    assert.ok(value, `no value for ${p.name} in ${op.label}`);
    if (p.in === 'header') headers[p.name] = value;
  }
  return request(op, headers, values, query, payload);
}

function dialectQueryVariants(op: Op, d: Dialect): Record<string, string>[] {
  const names = new Set((op.operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name));
  const extra = Object.entries(d.queryFlags ?? {})
    .filter(([name]) => names.has(name))
    .map(([name, value]) => ({ [name]: value }));
  return [...queryVariants(op), ...extra];
}

/** Whether the document gives the operation a 2xx answer; one that has none always refuses (e.g. a 405). */
function succeeds(op: Op): boolean {
  return Object.keys(op.operation.responses ?? {}).some((s) => s.startsWith('2'));
}

/** An answer of an operation that never succeeds: one of its documented statuses, in the vendor's JSON. */
function expectRefused(op: Op, res: Response): void {
  const where = `${op.label}: ${res.statusCode} ${res.body}`;
  assert.ok(res.statusCode >= 400 && String(res.statusCode) in (op.operation.responses ?? {}), where);
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
}

// Headers whose values change with every request (or every hour) whatever the request names.
const VOLATILE_HEADERS = new Set([
  'date',
  'x-request-id',
  'content-length',
  'x-ratelimit-reset',
  'ratelimit',
  'ratelimit-policy',
]);

/** Replaces the request id and each of `ids` (whole tokens only: 12 is not found in 120) by a placeholder. */
function cleaner(res: Response, ids: string[]): (text: string) => string {
  const requestId = String(res.headers['x-request-id'] ?? '');
  const escaped = ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(`(?<![0-9A-Za-z])(?:${escaped.join('|')})(?![0-9A-Za-z])`, 'g');
  return (text) => {
    const out = requestId ? text.replaceAll(requestId, '<request id>') : text;
    return ids.length ? out.replace(pattern, (m) => `<id ${ids.indexOf(m)}>`) : out;
  };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Two answers side by side, with ids and request ids replaced only in the values that differ: a small number such
 * as 8 is an id in "Contact `8` not found" but not in "charset=utf-8", which both answers share.
 */
function normalizedPair(
  x: unknown,
  y: unknown,
  clean: [(text: string) => string, (text: string) => string],
): [unknown, unknown] {
  if (Array.isArray(x) && Array.isArray(y) && x.length === y.length) {
    const pairs = x.map((v, i) => normalizedPair(v, y[i], clean));
    return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
  }
  if (isRecord(x) && isRecord(y)) {
    const outX: Record<string, unknown> = {};
    const outY: Record<string, unknown> = {};
    for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const [vx, vy] = normalizedPair(x[key], y[key], clean);
      if (key in x) outX[key] = vx;
      if (key in y) outY[key] = vy;
    }
    return [outX, outY];
  }
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number';
  if (scalar(x) && scalar(y) && x !== y) return [clean[0](String(x)), clean[1](String(y))];
  return [x, y];
}

function parsed(res: Response): unknown {
  try {
    return JSON.parse(res.body);
  } catch {
    return res.body;
  }
}

/** Status, headers (but those that change with every request) and body. */
function answer(res: Response): Record<string, unknown> {
  const headers = Object.fromEntries(
    Object.entries(res.headers)
      .filter(([name]) => !VOLATILE_HEADERS.has(name))
      .map(([name, value]) => [name, String(value)]),
  );
  return { status: res.statusCode, headers, body: parsed(res) };
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  const { authorization: _, 'fastly-key': __, ...rest } = headers;
  return rest;
}

/** A request naming tenant B (or its objects) by `theirs`, which `make` puts wherever the request carries them. */
interface Probe {
  theirs: { value: string; form: Form }[];
  make(ids: string[]): Request;
}

/**
 * Sends the probe as it is and with every value of B's replaced by a made-up one of the same form: status, headers
 * and body must be the same (apart from those values and the request id), so nothing tells B's ids from nobody's.
 */
async function alike(probe: Probe): Promise<Response> {
  const ids = probe.theirs.map((t) => t.value);
  const r = probe.make(ids);
  const theirs = await send(r);
  const unknown = probe.theirs.map((t) => madeUp(t.form));
  const nobody = await send(probe.make(unknown));
  const [x, y] = normalizedPair(answer(theirs), answer(nobody), [
    cleaner(theirs, ids),
    cleaner(nobody, unknown),
  ]);
  assert.deepEqual(
    x,
    y,
    `${r.method} ${r.url} ${JSON.stringify(withoutCredentials(r.headers))} ${JSON.stringify(r.body ?? null)}: answers differently for tenant B's ids than for made-up ones`,
  );
  return theirs;
}

// ---------------------------------------------------------------------------------------------------------------
// Two tenants, each with one of every object

const MARK_B = 'zqxtenantbsecret';
const IDEMPOTENCY_KEY = 'isolation-shared-key';

type Named =
  | 'customer'
  | 'goneCustomer'
  | 'contact'
  | 'ownContact'
  | 'goneContact'
  | 'spareContact'
  | 'channel';

interface Seeded {
  tenant: TestTenant;
  objects: Objects;
  /** The objects by what they are, for dialects whose valid requests need a particular one. */
  named: Record<Named, string>;
  /** Integer numbers of the objects, for dialects that name objects by number. */
  numbers: Map<string, number>;
  /** Every token of the tenant's keys. */
  tokens: string[];
}

async function api(
  tenant: TestTenant,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown> & { id: string }> {
  const res = await env.app.inject({
    method,
    url,
    headers: { ...tenant.auth, ...headers },
    ...(payload ? { payload } : {}),
  });
  assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return json<Record<string, unknown> & { id: string }>(res);
}

async function seed(tenant: TestTenant, mark: string, idempotencyKey?: string): Promise<Seeded> {
  const customer = await api(
    tenant,
    'POST',
    '/v1/customers',
    { name: `${mark} customer` },
    idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
  );
  const gone = await api(tenant, 'POST', '/v1/customers', { name: `${mark} deleted customer` });
  await api(tenant, 'DELETE', `/v1/customers/${gone.id}`);
  const contact = await api(tenant, 'POST', `/v1/customers/${customer.id}/contacts`, {
    name: `${mark} contact`,
    email: `${mark}@example.com`,
  });
  const own = await api(tenant, 'POST', '/v1/contacts', { name: `${mark} own contact` });
  const goneContact = await api(tenant, 'POST', `/v1/customers/${customer.id}/contacts`, {
    name: `${mark} deleted contact`,
  });
  await api(tenant, 'DELETE', `/v1/contacts/${goneContact.id}`);
  // A live contact of the customer that nothing designates, so its own tenant may delete it.
  const spare = await api(tenant, 'POST', `/v1/customers/${customer.id}/contacts`, {
    name: `${mark} spare contact`,
  });
  // A designated contact: deleting it is a 409 for its own tenant, and must still be a plain 404 for another.
  await api(tenant, 'PATCH', `/v1/customers/${customer.id}`, { billing_contact_id: contact.id });
  const channel = await api(tenant, 'POST', `/v1/customers/${customer.id}/channels`, {
    type: 'EMAIL',
    value: `${mark}-channel@example.com`,
    contact_id: contact.id,
  });
  const key = (await api(tenant, 'POST', '/v1/api_keys', {
    name: `${mark} key`,
    scopes: ['contacts:read'],
  })) as unknown as { api_key: { id: string }; token: string };
  const named: Record<Named, Record<string, unknown> & { id: string }> = {
    customer,
    goneCustomer: gone,
    contact,
    ownContact: own,
    goneContact,
    spareContact: spare,
    channel,
  };
  return {
    tenant,
    objects: {
      customer: [customer.id, gone.id],
      contact: [contact.id, own.id, goneContact.id, spare.id],
      channel: [channel.id],
      api_key: [key.api_key.id],
    },
    named: Object.fromEntries(Object.entries(named).map(([k, o]) => [k, o.id])) as Record<Named, string>,
    numbers: new Map(Object.values(named).map((o) => [o.id, o.number as number])),
    tokens: [tenant.token, key.token],
  };
}

interface Snapshot {
  objects: Record<string, { status: number; etag: unknown; body: unknown }>;
  keys: unknown;
  rows: Record<string, number>;
}

const TABLES = ['customers', 'contacts', 'channels', 'api_keys', 'events', 'idempotency_keys'];

async function snapshot(s: Seeded): Promise<Snapshot> {
  const objects: Snapshot['objects'] = {};
  const urls = [
    ...s.objects.customer.map((id) => `/v1/customers/${id}?include_deleted=true`),
    ...s.objects.contact.map((id) => `/v1/contacts/${id}?include_deleted=true`),
    ...s.objects.channel.map((id) => `/v1/channels/${id}`),
  ];
  for (const url of urls) {
    const res = await env.app.inject({ method: 'GET', url, headers: s.tenant.auth });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    objects[url] = { status: res.statusCode, etag: res.headers.etag, body: json(res) };
  }
  const keys = await env.app.inject({ method: 'GET', url: '/v1/api_keys', headers: s.tenant.auth });
  assert.equal(keys.statusCode, 200, keys.body);
  // last_used_at moves as the tenant's own key reads this snapshot.
  const keyList = json<{ data: Record<string, unknown>[] }>(keys).data.map(({ last_used_at: _, ...k }) => k);
  const rows: Record<string, number> = {};
  for (const table of TABLES) {
    const r = await env.sql.unsafe(`select count(*)::int as n from ${table} where tenant_id = $1`, [
      s.tenant.tenant.id,
    ]);
    rows[table] = Number(r[0]?.n);
  }
  return { objects, keys: keyList, rows };
}

// ---------------------------------------------------------------------------------------------------------------

let a: Seeded;
let b: Seeded;
let bBefore: Snapshot;
let aBefore: Snapshot;
let secured: Op[];
let native: Op[];
let dialectOps: Op[];
/** Tokens of tenant B's keys that have every scope but admin and the one named. */
const lacking = new Map<Scope, string>();
let revokedToken: string;
/** Strings of tenant B that no response to tenant A may contain. */
let secretsOfB: string[];
/**
 * Requests sent per kind of isolation variant, so none of them can silently be empty: B's objects in the path (with
 * A's own tenant id where a dialect names the tenant), B's tenant id, A's tenant and objects but one of B's, no
 * object at all, and B's objects referenced from a body or query.
 */
const variants = { path: 0, foreignTenant: 0, mixed: 0, unaddressed: 0, reference: 0 };
const exercised: Record<string, Set<string>> = {
  unauthenticated: new Set(),
  badKey: new Set(),
  scope: new Set(),
  isolation: new Set(),
};
/** Dialect operations whose request was shown valid on its own tenant. */
const controlled = new Set<string>();

before(async () => {
  env = await setupTestEnv();
  a = await seed(await createTestTenant(env), 'zqxtenantaprobe');
  b = await seed(await createTestTenant(env), MARK_B, IDEMPOTENCY_KEY);

  const res = await env.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200, res.body);
  doc = json<OpenApi>(res);

  secured = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, operation]) => (operation.security ?? []).length > 0)
      .map(([method, operation]) => {
        const scheme = Object.keys(operation.security?.[0] ?? {})[0] ?? '';
        const scope = operation['x-required-scope'] as Scope;
        const label = `${method.toUpperCase()} ${path}`;
        return { method, path, operation, scheme, scope, label, dialect: dialectOf(path) };
      }),
  );
  native = secured.filter((op) => !op.path.startsWith('/compat/'));
  dialectOps = secured.filter((op) => op.path.startsWith('/compat/'));

  for (const scope of SCOPES) {
    const others = SCOPES.filter((s) => s !== scope && s !== 'admin');
    const { authorization } = await keyFor(env, b.tenant.tenant, others);
    lacking.set(scope, authorization.replace(/^Bearer /, ''));
  }
  const revoked = (await api(b.tenant, 'POST', '/v1/api_keys', { name: 'revoked' })) as unknown as {
    api_key: { id: string };
    token: string;
  };
  await api(b.tenant, 'DELETE', `/v1/api_keys/${revoked.api_key.id}`);
  revokedToken = revoked.token;

  secretsOfB = [
    MARK_B,
    b.tenant.tenant.id,
    b.tenant.tenant.slug,
    ...Object.values(b.objects).flat(),
    ...b.tokens,
    ...lacking.values(),
  ];
  bBefore = await snapshot(b);
  aBefore = await snapshot(a);
});
after(() => env?.close());

test('the document has secured operations, each with a known scope and credential scheme', () => {
  assert.ok(native.length > 0, 'no secured native operations found in the document');
  for (const op of secured) {
    assert.ok(SCOPES.includes(op.scope), `${op.label}: x-required-scope ${op.scope} is not a scope`);
    assert.ok(
      op.scheme in CREDENTIALS,
      `${op.label}: no credential rule for scheme ${op.scheme}; extend CREDENTIALS`,
    );
  }
  for (const op of native) for (const name of pathParams(op.path)) paramKind(op.path, name);
  for (const op of dialectOps) {
    const d = op.dialect;
    assert.ok(d, `${op.label}: no entry in DIALECTS for this /compat/ path`);
    assert.equal(op.scheme, d.scheme, `${op.label}: the ${d.name} dialect's credential is ${d.scheme}`);
    idParams(op, d);
    dialectBody(op, d);
  }
  for (const d of DIALECTS) {
    assert.ok(
      dialectOps.some((op) => op.dialect === d),
      `no operation of the ${d.name} dialect in the document`,
    );
  }
});

function credential(op: Op, token: string): Record<string, string> {
  const make = CREDENTIALS[op.scheme];
  assert.ok(make, `${op.label}: no credential rule for ${op.scheme}`);
  return make(token);
}

function dialect(op: Op): Dialect {
  assert.ok(op.dialect, `${op.label}: no entry in DIALECTS`);
  return op.dialect;
}

/** A request on tenant B's own objects, valid but for its credentials. */
function onB(op: Op, headers: Record<string, string>): Request {
  if (op.dialect) {
    const d = op.dialect;
    return dialectRequest(op, d, headers, ownValues(op, d, b), {}, dialectBody(op, d));
  }
  const params = combinations(op.path, b.objects)[0] ?? {};
  return request(op, headers, params, {}, minimalBody(op, b.objects));
}

test("each dialect request is valid: with its own tenant's admin key, it does what the document says", async (t) => {
  // A third tenant, so that the writes here change neither A nor B. Without this, a request refused for a reason
  // of its own (a bad body, a wrong id mapping) would make the isolation checks below pass for nothing.
  const control = await createTestTenant(env);
  const shared = await seed(control, 'zqxcontrol');
  for (const op of dialectOps) {
    await t.test(op.label, async () => {
      const d = dialect(op);
      const write = op.method !== 'get';
      // Each write acts on objects of its own: one operation's delete must not turn the next one's into a 404.
      const s = write ? await seed(control, 'zqxcontrol') : shared;
      for (const query of write ? [{}] : dialectQueryVariants(op, d)) {
        const r = dialectRequest(
          op,
          d,
          credential(op, control.token),
          ownValues(op, d, s),
          query,
          dialectBody(op, d),
        );
        const res = await send(r);
        const where = `${r.method} ${r.url} ${JSON.stringify(r.body ?? null)}: ${res.statusCode} ${res.body}`;
        if (succeeds(op)) assert.ok(res.statusCode >= 200 && res.statusCode < 300, where);
        else expectRefused(op, res);
      }
      controlled.add(op.label);
    });
  }
});

/** A valid key of B's in each header the operation does not read its key from (Fastly-Key, Authorization). */
function misplaced(op: Op): Record<string, string>[] {
  return Object.entries(CREDENTIALS)
    .filter(([scheme]) => scheme !== op.scheme)
    .map(([, make]) => make(b.tenant.token));
}

test('no credentials, or a valid key where the operation does not read it: unauthenticated', async (t) => {
  for (const op of secured) {
    await t.test(op.label, async () => {
      for (const headers of [{}, ...misplaced(op)]) {
        const res = await send(onB(op, headers));
        if (op.dialect) op.dialect.unauthenticated(op, res, false);
        else expectDenied(op, res, 401, 'unauthenticated');
      }
      exercised.unauthenticated?.add(op.label);
    });
  }
});

test('garbage, revoked or altered keys: unauthenticated', async (t) => {
  const bad: [string, string][] = [
    ['well-formed unknown key', `ck_${randomBytes(32).toString('base64url')}`],
    ['garbage', 'garbage'],
    ['revoked key', revokedToken],
    ['altered key', `${b.tenant.token.slice(0, -2)}${b.tenant.token.endsWith('AA') ? 'BB' : 'AA'}`],
  ];
  for (const op of secured) {
    await t.test(op.label, async () => {
      for (const [label, token] of bad) {
        const res = await send(onB(op, credential(op, token)));
        if (op.dialect) {
          // 401, or Ecwid's 403 INVALID_API_TOKEN: each dialect's rule checks the status and body.
          op.dialect.unauthenticated(op, res, true);
        } else {
          assert.equal(res.statusCode, 401, `${label}: ${res.body}`);
          expectDenied(op, res, 401, 'unauthenticated');
        }
      }
      exercised.badKey?.add(op.label);
    });
  }
});

test("a key of the object's own tenant without the required scope: 403 insufficient_scope", async (t) => {
  for (const op of secured) {
    await t.test(`${op.label} (needs ${op.scope})`, async () => {
      const token = lacking.get(op.scope);
      assert.ok(token);
      const res = await send(onB(op, credential(op, token)));
      if (op.dialect) op.dialect.forbidden(op, res);
      else expectDenied(op, res, 403, 'insufficient_scope');
      exercised.scope?.add(op.label);
    });
  }
});

function assertNoSecretOfB(where: string, res: Response): void {
  for (const secret of secretsOfB) {
    assert.ok(
      !res.body.includes(secret),
      `${where}: the response contains tenant B's ${secret}: ${res.body}`,
    );
  }
}

async function nativeIsolation(op: Op): Promise<void> {
  const adminOfA = a.tenant.token;
  const headers = credential(op, adminOfA);
  const params = pathParams(op.path);
  if (params.length > 0) {
    // B's objects in the path: 404, exactly as for objects that do not exist.
    for (const combo of combinations(op.path, b.objects)) {
      for (const query of queryVariants(op)) {
        const r = request(op, headers, combo, query, minimalBody(op, b.objects));
        const res = await indistinguishable(r, Object.values(combo));
        expectDenied(op, res, 404, 'not_found');
        variants.path++;
      }
    }
  } else {
    // No path parameter: lists and creates act on tenant A only.
    for (const query of queryVariants(op)) {
      const res = await send(request(op, headers, {}, query, minimalBody(op, a.objects)));
      assert.ok(res.statusCode < 300, `${op.label} ${JSON.stringify(query)}: ${res.statusCode} ${res.body}`);
      assertNoSecretOfB(`${op.label} ${JSON.stringify(query)}`, res);
      variants.unaddressed++;
    }
  }
  // A's own objects in the path, B's objects referenced from the body or the query: refused, and refused
  // exactly as a reference to nothing would be.
  for (const ref of references(op)) {
    for (const id of b.objects[ref.kind]) {
      const combo = combinations(op.path, a.objects)[0] ?? {};
      const payload = minimalBody(op, a.objects);
      const query: Record<string, string> = {};
      if (ref.where === 'query') query[ref.name] = id;
      const r = request(
        op,
        headers,
        combo,
        query,
        ref.where === 'body' ? { ...payload, [ref.name]: id } : payload,
      );
      const res = await indistinguishable(r, [id]);
      variants.reference++;
      if (op.method === 'get') {
        // A filter naming B's object finds nothing (or 404s), as for an unknown id.
        assert.ok(res.statusCode === 200 || res.statusCode === 404, `${op.label} ${ref.name}: ${res.body}`);
        if (res.statusCode === 200) assert.deepEqual(json<{ data: unknown[] }>(res).data, []);
      } else {
        assert.ok(
          res.statusCode >= 400 && res.statusCode < 500,
          `${op.label} with ${ref.name} of tenant B: ${res.statusCode} ${res.body}`,
        );
      }
    }
  }
}

async function dialectIsolation(op: Op, d: Dialect): Promise<void> {
  const credentials = credential(op, a.tenant.token);
  const params = idParams(op, d);
  const objectParams = params.filter((p) => p.rule.role !== 'tenant');
  const namesTenant = objectParams.length < params.length;
  const payload = dialectBody(op, d);
  const queries = dialectQueryVariants(op, d);

  /** Every combination of values, each parameter taking B's values or A's valid one as `owner` says. */
  const assignments = (owner: (p: IdParam) => 'a' | 'b'): Record<string, string>[] => {
    let out: Record<string, string>[] = [{}];
    for (const p of params) {
      const values = owner(p) === 'b' ? candidates(b, p.rule) : [candidates(a, p.rule)[0] as string];
      out = out.flatMap((partial) => values.map((v) => ({ ...partial, [p.name]: v })));
    }
    return out;
  };
  const cases: {
    counter: keyof typeof variants;
    level: Level;
    values: Record<string, string>;
    theirs: IdParam[];
  }[] = [];
  if (params.length > 0) {
    // B's own tenant id (account, store, company, business) and B's objects: refused at the tenant already.
    for (const values of assignments(() => 'b')) {
      cases.push({
        counter: namesTenant ? 'foreignTenant' : 'path',
        level: namesTenant ? 'tenant' : 'object',
        values,
        theirs: params,
      });
    }
  }
  if (namesTenant && objectParams.length > 0) {
    // A's own tenant id with B's objects: every object lookup must be A's.
    for (const values of assignments((p) => (p.rule.role === 'tenant' ? 'a' : 'b'))) {
      cases.push({ counter: 'path', level: 'object', values, theirs: objectParams });
    }
  }
  if (objectParams.length > 1) {
    // A's tenant and objects but one of B's: each lookup checks the tenant, not only the outermost one.
    for (const one of objectParams) {
      for (const values of assignments((p) => (p === one ? 'b' : 'a'))) {
        cases.push({ counter: 'mixed', level: 'object', values, theirs: [one] });
      }
    }
  }
  for (const c of cases) {
    for (const query of queries) {
      const res = await alike({
        theirs: c.theirs.map((p) => ({ value: c.values[p.name] as string, form: p.rule.form })),
        make: (ids) =>
          dialectRequest(
            op,
            d,
            credentials,
            { ...c.values, ...Object.fromEntries(c.theirs.map((p, i) => [p.name, ids[i] as string])) },
            query,
            payload,
          ),
      });
      if (succeeds(op)) d.notFound(op, res, c.level);
      else expectRefused(op, res);
      variants[c.counter]++;
    }
  }

  const own = ownValues(op, d, a);
  if (objectParams.length === 0) {
    // Nothing but (at most) A's own tenant id: lists and creates act on tenant A only.
    for (const query of queries) {
      const r = dialectRequest(op, d, credentials, own, query, payload);
      const res = await send(r);
      const where = `${r.method} ${r.url}: ${res.statusCode} ${res.body}`;
      if (succeeds(op)) assert.ok(res.statusCode >= 200 && res.statusCode < 300, where);
      else expectRefused(op, res);
      assertNoSecretOfB(where, res);
      variants.unaddressed++;
    }
  }

  // A's own tenant and objects, B's objects named in the body or the query: refused (or found nothing), exactly
  // as a reference to nothing would be.
  const bodyProps = Object.keys(resolve(bodySchema(op)).properties ?? {});
  for (const name of bodyProps) {
    const ref = d.bodyRefs?.[name];
    if (!ref) continue;
    for (const id of candidates(b, ref)) {
      const res = await alike({
        theirs: [{ value: id, form: ref.form }],
        make: (ids) => dialectRequest(op, d, credentials, own, {}, { ...payload, [name]: ids[0] }),
      });
      assert.ok(
        res.statusCode >= 400 && res.statusCode < 500,
        `${op.label} with ${name} of tenant B: ${res.statusCode} ${res.body}`,
      );
      assert.match(String(res.headers['content-type']), /^application\/json/, op.label);
      variants.reference++;
    }
  }
  const queryParams = (op.operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
  for (const name of queryParams) {
    for (const ref of d.queryRefs?.[name] ?? []) {
      for (const id of candidates(b, ref)) {
        const res = await alike({
          theirs: [{ value: id, form: ref.form }],
          make: (ids) =>
            dialectRequest(op, d, credentials, own, { [name]: ref.value(ids[0] as string) }, payload),
        });
        if (res.statusCode === 200) {
          assert.ok(d.items, `${d.name}: no rule reads the items of a list`);
          assert.deepEqual(d.items(json(res)), [], `${op.label} ${name} naming B's ${ref.role}`);
        } else d.notFound(op, res, 'object');
        variants.reference++;
      }
    }
  }
}

test("tenant A's admin key cannot see or touch tenant B's objects", async (t) => {
  for (const op of secured) {
    await t.test(op.label, async () => {
      if (op.dialect) await dialectIsolation(op, op.dialect);
      else await nativeIsolation(op);
      exercised.isolation?.add(op.label);
    });
  }
});

test('an Idempotency-Key tenant B used replays nothing to tenant A', async () => {
  const res = await env.app.inject({
    method: 'POST',
    url: '/v1/customers',
    headers: { ...a.tenant.auth, 'idempotency-key': IDEMPOTENCY_KEY },
    payload: { name: `${MARK_B} customer` },
  });
  assert.equal(res.statusCode, 201, res.body);
  const created = json<{ id: string }>(res);
  assert.ok(!Object.values(b.objects).flat().includes(created.id), 'tenant B’s customer was replayed');
  const got = await env.app.inject({
    method: 'GET',
    url: `/v1/customers/${created.id}`,
    headers: a.tenant.auth,
  });
  assert.equal(got.statusCode, 200, got.body);
});

test("tenant B's objects, keys and rows are unchanged", async () => {
  assert.deepEqual(await snapshot(b), bBefore);
});

test("tenant A's own objects, named alongside B's references, are unchanged", async () => {
  assert.deepEqual((await snapshot(a)).objects, aBefore.objects);
});

test('every secured operation, native and of every dialect, was covered by every check', (t) => {
  const perDialect = DIALECTS.map((d) => `${d.name} ${dialectOps.filter((op) => op.dialect === d).length}`);
  t.diagnostic(`covered ${secured.length}: native ${native.length}, ${perDialect.join(', ')}`);
  assert.ok(
    dialectOps.every((op) => op.dialect),
    'a /compat/ operation has no entry in DIALECTS',
  );
  t.diagnostic(`isolation requests (each also sent with unknown ids): ${JSON.stringify(variants)}`);
  for (const [kind, n] of Object.entries(variants)) assert.ok(n > 0, `no ${kind} isolation variant was sent`);
  for (const [check, labels] of Object.entries(exercised)) {
    assert.equal(
      labels.size,
      secured.length,
      `${check}: exercised ${labels.size} of ${secured.length} operations`,
    );
  }
  assert.equal(
    controlled.size,
    dialectOps.length,
    `control: ${controlled.size} of ${dialectOps.length} dialect operations`,
  );
});
