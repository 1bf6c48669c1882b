// Property-based bad-input suite: generated malformed requests to every operation of /openapi.json (the native API
// and every mounted dialect), checking that (1) nothing answers 5xx, (2) every error is in the error shape of the
// route's family (problem+json under /v1, each vendor's own shape under /compat/<vendor>/), a 2xx only for a GET,
// and (3) nothing was written: row counts and object versions are unchanged after each operation's batch.
//
// Every write case carries at least one element that is invalid for every route (bad credentials, an id that names
// nothing, a body that no schema accepts...), so a 2xx on a write, or any change in the database, is a bug.
// Runs are seeded: FUZZ_SEED reproduces a run, FUZZ_RUNS scales its size (default ≈4,000 requests).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createTestTenant, json, keyFor, setupTestEnv, type TestEnv, type TestTenant } from './helpers.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_522);
const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 4000);
// Triage: record every failure and report them all at the end, instead of stopping at an operation's first.
const KEEP_GOING = process.env.FUZZ_KEEP_GOING === '1';
const triage = new Map<string, string>();

// ---------------------------------------------------------------------------------------------------------------
// The OpenAPI document

interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  maxLength?: number;
  minimum?: number;
  description?: string;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
  description?: string;
}
interface Operation {
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

interface Op {
  method: string;
  path: string;
  id: string;
  scheme: string | undefined;
  params: Parameter[];
  query: Parameter[];
  headers: Parameter[];
  bodyTypes: Record<string, Schema>;
  write: boolean;
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

function operationsOf(doc: OpenApi): Op[] {
  const resolve = (s: Schema | undefined): Schema => {
    if (!s?.$ref) return s ?? {};
    const name = s.$ref.replace('#/components/schemas/', '');
    return doc.components?.schemas?.[name] ?? {};
  };
  const ops: Op[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const params = op.parameters ?? [];
      const bodyTypes: Record<string, Schema> = {};
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
        bodyTypes[type] = resolve(media.schema);
      ops.push({
        method: method.toUpperCase(),
        path,
        id: op.operationId,
        scheme: Object.keys(op.security?.[0] ?? {})[0],
        params: params.filter((p) => p.in === 'path'),
        query: params.filter((p) => p.in === 'query'),
        headers: params.filter((p) => p.in === 'header'),
        bodyTypes,
        write: method !== 'get',
      });
    }
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------------------------
// Error families: the shape each part of the service answers errors in

type Family = 'native' | 'fastly' | 'businesscentral' | 'dayzero' | 'dnsimple' | 'ecwid';

interface Response {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function parsed(res: Response): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(res.body) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function contentType(res: Response): string {
  return String(res.headers['content-type'] ?? '');
}

/** Each family's error body, as its own error handler renders it; undefined when it conforms. */
const CHECKERS: Record<Family, (res: Response) => string | undefined> = {
  // RFC 9457 problem details (src/http/error-handler.ts).
  native: (res) => {
    const b = parsed(res);
    if (!contentType(res).startsWith('application/problem+json')) return 'content-type is not problem+json';
    if (!b) return 'body is not a JSON object';
    if (!isString(b.type) || !isString(b.title) || !isString(b.detail)) return 'type/title/detail missing';
    if (!isString(b.code) || !b.code) return 'code missing';
    if (b.status !== res.statusCode) return `status ${String(b.status)} ≠ ${res.statusCode}`;
    if (!isString(b.request_id) || b.request_id !== res.headers['x-request-id'])
      return 'request_id missing or ≠ x-request-id';
    if (b.errors !== undefined) {
      if (!Array.isArray(b.errors)) return 'errors is not an array';
      for (const e of b.errors as Record<string, unknown>[])
        if (!isString(e.field) || !isString(e.code) || !isString(e.message)) return 'malformed errors[]';
    }
    return undefined;
  },
  // Fastly: {msg, detail?} (src/compat/fastly/fastly.mapping.ts FastlyError).
  fastly: (res) => {
    const b = parsed(res);
    if (!contentType(res).includes('json')) return 'content-type is not JSON';
    if (!b || !isString(b.msg)) return 'no msg';
    if (b.detail !== undefined && !isString(b.detail)) return 'detail is not a string';
    if (Object.keys(b).some((k) => k !== 'msg' && k !== 'detail')) return 'unexpected keys';
    return undefined;
  },
  // Business Central: OData {error: {code, message}} (businesscentral.mapping.ts errorBody).
  businesscentral: (res) => {
    const b = parsed(res);
    if (!contentType(res).includes('json')) return 'content-type is not JSON';
    const e = b?.error as Record<string, unknown> | undefined;
    if (!e || !isString(e.code) || !isString(e.message)) return 'no error.code / error.message';
    return undefined;
  },
  // DayZero: FastAPI's {detail: string | [{type, loc, msg, ...}]} (dayzero.mapping.ts renderError).
  dayzero: (res) => {
    const b = parsed(res);
    if (!contentType(res).includes('json')) return 'content-type is not JSON';
    if (!b) return 'body is not a JSON object';
    if (isString(b.detail)) return undefined;
    if (!Array.isArray(b.detail) || b.detail.length === 0) return 'detail is neither a string nor a list';
    for (const i of b.detail as Record<string, unknown>[])
      if (!isString(i.type) || !Array.isArray(i.loc) || !isString(i.msg)) return 'malformed detail[]';
    return undefined;
  },
  // DNSimple: {message, errors?}; a known path with another method is 405 with Allow and no body, as DNSimple
  // answers (dnsimple.routes.ts).
  dnsimple: (res) => {
    if (res.statusCode === 405 && res.body === '' && res.headers.allow) return undefined;
    const b = parsed(res);
    if (!contentType(res).includes('json')) return 'content-type is not JSON';
    if (!b || !isString(b.message)) return 'no message';
    if (b.errors !== undefined) {
      if (!b.errors || typeof b.errors !== 'object') return 'errors is not an object';
      for (const v of Object.values(b.errors))
        if (!Array.isArray(v) || !v.every(isString)) return 'bad errors';
    }
    return undefined;
  },
  // Ecwid: {errorMessage, errorCode} (ecwid.routes.ts sendEcwidError).
  ecwid: (res) => {
    const b = parsed(res);
    if (!contentType(res).includes('json')) return 'content-type is not JSON';
    if (!b || !isString(b.errorMessage) || !isString(b.errorCode)) return 'no errorMessage / errorCode';
    return undefined;
  },
};

const DIALECTS: Family[] = ['fastly', 'businesscentral', 'dayzero', 'dnsimple', 'ecwid'];

/**
 * The family of the route a URL reaches; inject resolves dot segments as a client's URL parser would. A dialect
 * mounted later but missing from DIALECTS is checked as native and fails loudly until it gets its checker.
 */
function familyOf(url: string): Family {
  const path = new URL(url, 'http://localhost').pathname;
  for (const d of DIALECTS) if (path.startsWith(`/compat/${d}/`)) return d;
  return 'native';
}

// Internal text must never reach a client, whatever the status.
const LEAKS = [
  /node_modules/,
  /\n\s+at /,
  /syntax error at or near/i,
  /relation "/,
  /violates .* constraint/,
];

// ---------------------------------------------------------------------------------------------------------------
// The world: two tenants with real objects, so generated requests also name things that exist

interface Pools {
  tenant: string[];
  customer: string[];
  contact: string[];
  channel: string[];
  api_key: string[];
}
interface World {
  a: TestTenant;
  b: TestTenant;
  readOnly: string;
  ids: Pools;
  numbers: Pools;
  otherIds: Pools;
  otherNumbers: Pools;
}

let env: TestEnv;
let world: World;
let ops: Op[];

async function post(path: string, auth: Record<string, string>, payload: object) {
  const res = await env.app.inject({ method: 'POST', url: path, headers: auth, payload });
  assert.equal(res.statusCode, 201, `${path}: ${res.body}`);
  return json<{ id: string; number: number }>(res);
}

async function populate(t: TestTenant): Promise<{ ids: Pools; numbers: Pools }> {
  const ids: Pools = { tenant: [t.tenant.id], customer: [], contact: [], channel: [], api_key: [] };
  const numbers: Pools = {
    tenant: [String(t.tenant.number)],
    customer: [],
    contact: [],
    channel: [],
    api_key: [],
  };
  const add = (kind: keyof Pools, o: { id: string; number?: number }) => {
    ids[kind].push(o.id);
    if (o.number !== undefined) numbers[kind].push(String(o.number));
  };
  for (const name of ['Acme Corp', 'Globex', 'Gone Ltd']) {
    const customer = await post('/v1/customers', t.auth, { name, external_ref: `${name}-${t.tenant.slug}` });
    add('customer', customer);
    for (const [i, contact] of [
      {
        name: 'Ann Lee',
        email: 'ann@acme.com',
        phone: '+12025550175',
        is_primary: true,
        contact_type: 'billing',
      },
      { first_name: 'Bo', last_name: 'Chan', email: 'bo@acme.com', role: 'Technical' },
    ].entries()) {
      const c = await post(`/v1/customers/${customer.id}/contacts`, t.auth, {
        ...contact,
        name: `${name} ${i}`,
      });
      add('contact', c);
    }
    for (const channel of [
      { type: 'EMAIL', value: 'ops@acme.com', is_default: true },
      { type: 'PHONE', value: '+12025550111' },
    ])
      add('channel', await post(`/v1/customers/${customer.id}/channels`, t.auth, channel));
  }
  // The tenant's own contacts (DNSimple's account contacts).
  for (const email of ['own1@tenant.example', 'own2@tenant.example'])
    add('contact', await post('/v1/contacts', t.auth, { customer_id: null, name: email, email }));
  // A soft-deleted customer and contact: restore and include_deleted paths have something to find.
  const gone = ids.customer[2] as string;
  const del = await env.app.inject({
    method: 'DELETE',
    url: `/v1/contacts/${ids.contact[0]}`,
    headers: t.auth,
  });
  assert.equal(del.statusCode, 200, del.body);
  const delc = await env.app.inject({ method: 'DELETE', url: `/v1/customers/${gone}`, headers: t.auth });
  assert.ok(delc.statusCode < 300, delc.body);
  const keys = await env.app.inject({ method: 'GET', url: '/v1/api_keys', headers: t.auth });
  for (const k of json<{ data: { id: string }[] }>(keys).data) ids.api_key.push(k.id);
  return { ids, numbers };
}

// ---------------------------------------------------------------------------------------------------------------
// What a path parameter names, so "real" values are the right kind of object

type Kind = keyof Pools;

function kindOf(op: Op, p: Parameter): Kind {
  const name = p.name.toLowerCase();
  if (/^(account|storeid|company_id|business)/.test(name)) return 'tenant';
  // Ecwid's customer contacts are the core's channels.
  if (op.path.startsWith('/compat/ecwid/') && name === 'contactid') return 'channel';
  if (name.includes('customer')) return 'customer';
  if (name.includes('contact')) return 'contact';
  if (name.includes('channel')) return 'channel';
  const before = op.path.slice(0, op.path.indexOf(`{${p.name}}`)).toLowerCase();
  const segment = /([a-z_]+)\(?\/?$/.exec(before)?.[1] ?? '';
  if (segment.startsWith('customercontact') || segment === 'contacts') return 'contact';
  if (segment === 'customers') return 'customer';
  if (segment === 'channels') return 'channel';
  if (segment === 'api_keys') return 'api_key';
  return 'contact';
}

/** Dialects that name objects by integer numbers say so in the parameter's type or description. */
function usesNumbers(p: Parameter): boolean {
  const s = p.schema ?? {};
  return (
    s.type === 'integer' || /\b(integer|number)\b/i.test(`${s.description ?? ''} ${p.description ?? ''}`)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Generated values

const SQL = [
  "' OR 1=1 --",
  '; drop table contacts;',
  "'; DROP TABLE contacts; --",
  "1' UNION SELECT token_hash FROM api_keys --",
  '1) OR (1=1',
  "email eq 'a' or 1 eq 1",
  "\\'; select pg_sleep(0); --",
  '%_%',
];
const TRAVERSAL = [
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2f',
  '....//....//',
  '/etc/passwd',
  '..\\..\\windows\\win.ini',
];
const NUMBERS = [
  '-1',
  '0',
  '1e308',
  '-1e308',
  '9007199254740993',
  '1.5',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '1e-7',
  '',
  ' ',
  '99999999999999999999999',
  '-0',
  '2147483648',
  '+1',
  '1_000',
];
const STRANGE = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '😀😀',
  '\u202eevil',
  'ﬀ',
  '\r\nx-injected: 1',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style probe, sent as literal text
  '${jndi:ldap://x}',
  '{{7*7}}',
];
const HUGE = 100 * 1024;

const garbage = fc.string({ unit: 'binary-ascii', maxLength: 24 }).map((s) => `z${s}`);
const anyText = fc.oneof(
  fc.constantFrom(...SQL),
  fc.constantFrom(...TRAVERSAL),
  fc.constantFrom(...STRANGE),
  fc.constantFrom(...NUMBERS),
  garbage,
  fc.string({ unit: 'grapheme', maxLength: 30 }),
);

/** Percent-encodes a value for a URL; a lone surrogate (not encodable) is sent as a replacement character. */
function enc(value: string): string {
  return encodeURIComponent(value.replace(/[\ud800-\udfff]/g, '\ufffd'));
}

// Path parameters ------------------------------------------------------------------------------------------------

type PathChoice =
  | { k: 'real'; n: number }
  | { k: 'other'; n: number }
  | { k: 'uuid'; v: string }
  | { k: 'int'; v: number }
  | { k: 'text'; v: string }
  | { k: 'rawTraversal'; v: string }
  | { k: 'badPercent'; v: string }
  | { k: 'huge'; n: number }
  | { k: 'empty' };

const definitePath: fc.Arbitrary<PathChoice> = fc.oneof(
  fc.record({ k: fc.constant('other' as const), n: fc.nat() }),
  fc.record({ k: fc.constant('uuid' as const), v: fc.uuid({ version: 4 }) }),
  fc.record({
    k: fc.constant('int' as const),
    v: fc.oneof(
      fc.integer({ min: 1_000_000_000, max: 2 ** 53 - 1 }),
      fc.integer({ min: -1_000_000, max: 0 }),
    ),
  }),
  fc.record({
    k: fc.constant('text' as const),
    v: fc.oneof(fc.constantFrom(...SQL, ...TRAVERSAL, ...STRANGE), garbage),
  }),
  fc.record({
    k: fc.constant('badPercent' as const),
    v: fc.constantFrom('%', '%zz', '%c0%ae', '%ff%fe', 'a%2', '%e2%82'),
  }),
  fc.record({ k: fc.constant('huge' as const), n: fc.constantFrom(300, 5000, HUGE) }),
  fc.record({ k: fc.constant('empty' as const) }),
);
const anyPath: fc.Arbitrary<PathChoice> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('real' as const), n: fc.nat() }) },
  { weight: 4, arbitrary: definitePath },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('rawTraversal' as const),
      v: fc.constantFrom('..', '../..', '../../etc/passwd', '.', '%2e%2e', '%2e'),
    }),
  },
);

function pick<T>(list: readonly T[], n: number): T | undefined {
  return list.length ? list[n % list.length] : undefined;
}

/** The URL text for a path parameter, and whether it surely names nothing this tenant can reach. */
function pathValue(op: Op, p: Parameter, c: PathChoice): { text: string; definite: boolean } {
  const kind = kindOf(op, p);
  const numeric = usesNumbers(p);
  const pools = numeric ? world.numbers : world.ids;
  const other = numeric ? world.otherNumbers : world.otherIds;
  switch (c.k) {
    case 'real':
      return { text: enc(pick(pools[kind], c.n) ?? randomUUID()), definite: false };
    case 'other': {
      // Another tenant's numbers restart at 1, so only its UUIDs and its own tenant number name nothing here.
      const v = pick(other[kind], c.n) ?? randomUUID();
      return { text: enc(v), definite: !numeric || kind === 'tenant' };
    }
    case 'uuid':
      return { text: c.v, definite: true };
    case 'int':
      return { text: String(c.v), definite: true };
    case 'text':
      return { text: enc(c.v), definite: true };
    case 'rawTraversal':
      // Resolved by the URL parser: the request may land on another route, so it proves nothing by itself.
      return { text: c.v, definite: false };
    case 'badPercent':
      return { text: c.v, definite: true };
    case 'huge':
      return { text: 'z'.repeat(c.n), definite: true };
    case 'empty':
      return { text: '', definite: true };
  }
}

// Query strings ---------------------------------------------------------------------------------------------------

type QueryEntry = { name: string; value: string; raw: boolean };

const queryValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 2, arbitrary: anyText },
  { weight: 1, arbitrary: fc.constantFrom('a\u0000b', '\u0000', '%00') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '1',
      '10',
      '200',
      'true',
      'false',
      'name',
      '-created_at',
      'id:desc',
      'json',
      'pdfDocument',
      'email',
      'prev',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(50, 1900, 5000).map((n) => `${'('.repeat(n)}email eq 'a'${')'.repeat(n)}`),
  },
  { weight: 1, arbitrary: fc.constant('z'.repeat(HUGE)) },
);

function queryArb(op: Op): fc.Arbitrary<QueryEntry[]> {
  const names = op.query.map((q) => q.name);
  const documented = names.length
    ? fc.record({ name: fc.constantFrom(...names), value: queryValue, raw: fc.constant(false) })
    : undefined;
  const unknown = fc.record({
    name: fc.constantFrom(
      'x_fuzz',
      '__proto__',
      'constructor',
      '$filter',
      'limit',
      'page',
      'per_page',
      '$top',
      '$skip',
      'a[b]',
      'a[0]',
    ),
    value: queryValue,
    raw: fc.constant(false),
  });
  // Undecodable bytes, sent as they are.
  const raw = fc.record({
    name: names.length ? fc.constantFrom(...names) : fc.constant('x'),
    value: fc.constantFrom('%ff%fe', '%c0%ae', '%00', '%', '%zz', '%e2%82'),
    raw: fc.constant(true),
  });
  const entry = documented
    ? fc.oneof({ weight: 4, arbitrary: documented }, unknown, raw)
    : fc.oneof(unknown, raw);
  // Repeating an entry duplicates the parameter.
  return fc
    .array(entry, { maxLength: 4 })
    .chain((list) =>
      list.length && names.length
        ? fc.boolean().map((dup) => (dup ? [...list, list[0] as QueryEntry] : list))
        : fc.constant(list),
    );
}

function queryString(entries: QueryEntry[]): string {
  if (!entries.length) return '';
  return `?${entries.map((e) => `${enc(e.name)}=${e.raw ? e.value : enc(e.value)}`).join('&')}`;
}

// Headers -----------------------------------------------------------------------------------------------------------

type AuthChoice =
  | 'valid'
  | 'validLower'
  | 'otherTenant'
  | 'none'
  | 'badToken'
  | 'readOnly'
  | 'wrongHeader'
  | 'basic'
  | 'emptyBearer'
  | 'twoTokens';
const DEFINITE_AUTH: AuthChoice[] = [
  'none',
  'badToken',
  'readOnly',
  'wrongHeader',
  'basic',
  'emptyBearer',
  'twoTokens',
];

function authHeaders(op: Op, choice: AuthChoice): Record<string, string> {
  const fastly = op.scheme === 'fastlyKey';
  const carry = (token: string): Record<string, string> =>
    fastly ? { 'fastly-key': token } : { authorization: `Bearer ${token}` };
  switch (choice) {
    case 'valid':
      return carry(world.a.token);
    case 'validLower':
      return fastly ? { 'fastly-key': ` ${world.a.token} ` } : { authorization: `bearer   ${world.a.token}` };
    case 'otherTenant':
      return carry(world.b.token);
    case 'none':
      return {};
    case 'badToken':
      return carry(`ck_${'x'.repeat(40)}`);
    case 'readOnly':
      return carry(world.readOnly);
    case 'wrongHeader':
      // The right key in the other scheme's header.
      return fastly ? { authorization: `Bearer ${world.a.token}` } : { 'fastly-key': world.a.token };
    case 'basic':
      return fastly
        ? { 'fastly-key': '' }
        : { authorization: `Basic ${Buffer.from(`x:${world.a.token}`).toString('base64')}` };
    case 'emptyBearer':
      return fastly ? { 'fastly-key': '   ' } : { authorization: 'Bearer ' };
    case 'twoTokens':
      return fastly
        ? { 'fastly-key': `${world.a.token} ${world.a.token}` }
        : { authorization: `Bearer ${world.a.token} x` };
  }
}

interface HeaderNoise {
  big: 'none' | 'name8k' | 'value8k' | 'value20k' | 'many';
  ifMatch: string | undefined;
  idempotencyKey: string | undefined;
  accept: string | undefined;
  requestId: string | undefined;
  business: 'valid' | 'upper' | 'missing' | 'garbage' | 'other' | 'list';
}

const headerNoise: fc.Arbitrary<HeaderNoise> = fc.record({
  big: fc.constantFrom('none', 'none', 'none', 'name8k', 'value8k', 'value20k', 'many'),
  ifMatch: fc.option(
    fc.constantFrom(
      '*',
      '"v1"',
      '"v2", "v1"',
      'W/"v1"',
      'W/"JzE7JyA="',
      '"v99999999999"',
      'garbage',
      '""',
      `"v${'9'.repeat(400)}"`,
      "' OR 1=1 --",
    ),
    { freq: 3, nil: undefined },
  ),
  idempotencyKey: fc.option(
    fc.oneof(fc.uuid(), fc.constantFrom('', ' ', 'é', 'x'.repeat(300), "' OR 1=1 --")),
    { freq: 4, nil: undefined },
  ),
  accept: fc.option(
    fc.constantFrom(
      'application/vnd.api+json',
      'text/html',
      '*/*',
      'application/xml',
      ';;;',
      'application/json;q=0',
    ),
    { freq: 3, nil: undefined },
  ),
  requestId: fc.option(fc.constantFrom('fuzz-1', '../../etc/passwd', 'x'.repeat(500), "' OR 1=1 --"), {
    freq: 4,
    nil: undefined,
  }),
  business: fc.constantFrom(
    'valid',
    'valid',
    'valid',
    'valid',
    'upper',
    'missing',
    'garbage',
    'other',
    'list',
  ),
});

function noiseHeaders(n: HeaderNoise): Record<string, string> {
  const h: Record<string, string> = {};
  if (n.big === 'name8k') h[`x-${'a'.repeat(8 * 1024)}`] = '1';
  if (n.big === 'value8k') h['x-anything'] = 'v'.repeat(8 * 1024);
  if (n.big === 'value20k') h['x-anything'] = 'v'.repeat(20 * 1024);
  if (n.big === 'many') for (let i = 0; i < 200; i++) h[`x-fuzz-${i}`] = String(i);
  if (n.ifMatch !== undefined) h['if-match'] = n.ifMatch;
  if (n.idempotencyKey !== undefined) h['idempotency-key'] = n.idempotencyKey.replace(/[^\x20-\x7e]/g, '?');
  if (n.accept !== undefined) h.accept = n.accept;
  if (n.requestId !== undefined) h['x-request-id'] = n.requestId;
  return h;
}

function businessHeader(choice: HeaderNoise['business']): string | undefined {
  switch (choice) {
    case 'valid':
      return world.a.tenant.id;
    case 'upper':
      return world.a.tenant.id.toUpperCase();
    case 'missing':
      return undefined;
    case 'garbage':
      return "' OR 1=1 --";
    case 'other':
      return world.b.tenant.id;
    case 'list':
      return `${world.a.tenant.id}, ${world.a.tenant.id}`;
  }
}
const DEFINITE_BUSINESS: HeaderNoise['business'][] = ['missing', 'garbage', 'other'];

// Bodies ----------------------------------------------------------------------------------------------------------

type Mutation =
  | { k: 'wrongType'; n: number; deep: number }
  | { k: 'huge'; n: number }
  | { k: 'unknown'; name: string }
  | { k: 'text'; n: number; v: string }
  | { k: 'number'; n: number; v: number | string }
  | { k: 'null'; n: number }
  | { k: 'drop'; n: number };

type Payload =
  | { k: 'object'; mutations: Mutation[]; badBytes: boolean }
  | { k: 'null' }
  | { k: 'array' }
  | { k: 'scalar'; v: number | string | boolean }
  | { k: 'deep'; depth: number }
  | { k: 'truncated'; cut: number }
  | { k: 'text'; v: 'xml' | 'multipart' | 'garbage' | 'form' }
  | { k: 'tooLarge' }
  | { k: 'empty' };

type CtChoice =
  | 'json'
  | 'none'
  | 'text/plain'
  | 'application/xml'
  | 'multipart'
  | 'garbage'
  | 'form'
  | 'charset'
  | 'merge-patch'
  | 'vendor';
const BAD_TYPES: Record<string, string> = {
  'text/plain': 'text/plain',
  'application/xml': 'application/xml',
  multipart: 'multipart/form-data; boundary=x',
  garbage: 'foo/bar; ;;',
};

interface BodyChoice {
  payload: Payload;
  ct: CtChoice;
}

const definiteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    k: fc.constant('wrongType' as const),
    n: fc.nat(),
    deep: fc.constantFrom(0, 0, 1, 5000, 5001, 50_000),
  }),
  fc.record({ k: fc.constant('huge' as const), n: fc.nat() }),
);
const noiseMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    k: fc.constant('unknown' as const),
    name: fc.constantFrom(
      'x_fuzz',
      '__proto__',
      'constructor',
      'prototype',
      'id',
      'tenant_id',
      'version',
      '@odata.etag',
      '',
    ),
  }),
  fc.record({ k: fc.constant('text' as const), n: fc.nat(), v: anyText }),
  fc.record({
    k: fc.constant('number' as const),
    n: fc.nat(),
    v: fc.constantFrom<number | string>(-1, 1e308, -1e308, 2 ** 53 + 1, 0.5, 'NaN', 'Infinity', '1e308'),
  }),
  fc.record({ k: fc.constant('null' as const), n: fc.nat() }),
  fc.record({ k: fc.constant('drop' as const), n: fc.nat() }),
);

const definitePayload: fc.Arbitrary<Payload> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('object' as const),
      mutations: fc
        .tuple(definiteMutation, fc.array(noiseMutation, { maxLength: 3 }))
        .map(([d, rest]) => [d, ...rest]),
      badBytes: fc.boolean(),
    }),
  },
  fc.constant({ k: 'null' as const }),
  fc.constant({ k: 'array' as const }),
  fc.record({
    k: fc.constant('scalar' as const),
    v: fc.constantFrom<number | string | boolean>(1, 'contact', true, 1e308),
  }),
  fc.record({ k: fc.constant('deep' as const), depth: fc.constantFrom(5000, 50_000) }),
  fc.record({ k: fc.constant('truncated' as const), cut: fc.nat() }),
  fc.record({
    k: fc.constant('text' as const),
    v: fc.constantFrom('xml' as const, 'multipart' as const, 'garbage' as const),
  }),
  { weight: 1, arbitrary: fc.constant({ k: 'tooLarge' as const }) },
);
const anyPayload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 4, arbitrary: definitePayload },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('object' as const),
      mutations: fc.array(noiseMutation, { maxLength: 4 }),
      badBytes: fc.boolean(),
    }),
  },
  fc.constant({ k: 'empty' as const }),
  fc.record({ k: fc.constant('text' as const), v: fc.constant('form' as const) }),
);
const anyCt: fc.Arbitrary<CtChoice> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<CtChoice>('json', 'vendor') },
  {
    weight: 4,
    arbitrary: fc.constantFrom<CtChoice>(
      'none',
      'text/plain',
      'application/xml',
      'multipart',
      'garbage',
      'form',
      'charset',
      'merge-patch',
    ),
  },
);

function typesOf(s: Schema): Set<string> | undefined {
  const out = new Set<string>();
  const add = (x: Schema) => {
    if (Array.isArray(x.type)) for (const t of x.type) out.add(t);
    else if (x.type) out.add(x.type);
    for (const m of [...(x.anyOf ?? []), ...(x.oneOf ?? [])]) add(m);
  };
  add(s);
  if (out.has('integer')) out.add('number');
  return out.size ? out : undefined;
}

/** A plausible value for a schema: the base that mutations then break. */
function sample(s: Schema, depth = 0): unknown {
  const types = typesOf(s);
  const nonNull = s.enum?.find((v) => v !== null);
  if (nonNull !== undefined) return nonNull;
  const member = [...(s.anyOf ?? []), ...(s.oneOf ?? [])].find((m) => !typesOf(m)?.has('null'));
  if (member) return sample(member, depth);
  if (types?.has('object') && s.properties && depth < 4) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s.properties)) out[k] = sample(v, depth + 1);
    return out;
  }
  if (types?.has('string')) {
    if (s.format === 'uuid' || s.pattern?.includes('[0-9a-fA-F]{8}')) return world.ids.customer[0];
    if (s.format === 'email' || /email/i.test(s.description ?? '')) return 'fuzz@example.com';
    return 'fuzz';
  }
  if (types?.has('boolean')) return true;
  if (types?.has('number')) return Math.max(1, s.minimum ?? 1);
  if (types?.has('array')) return s.items ? [sample(s.items, depth + 1)] : [];
  if (types?.has('object')) return {};
  return 'fuzz';
}

/** The body's scalar fields, as paths into nested objects (a JSON:API body nests them under data.attributes). */
function leaves(s: Schema, prefix: string[] = [], depth = 0): { path: string[]; schema: Schema }[] {
  if (!s.properties || depth > 3) return [];
  return Object.entries(s.properties).flatMap(([k, v]) =>
    v.properties ? leaves(v, [...prefix, k], depth + 1) : [{ path: [...prefix, k], schema: v }],
  );
}

function setAt(obj: Record<string, unknown>, path: string[], value: unknown, remove = false): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (!next || typeof next !== 'object') return;
    cur = next as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (remove) delete cur[last];
  else Object.defineProperty(cur, last, { value, enumerable: true, writable: true, configurable: true });
}

const DEEP_TOKEN = '@@fuzz-deep@@';
const BYTES_TOKEN = '@@fuzz-bytes@@';
const INVALID_UTF8 = Buffer.from([
  0xff, 0xfe, 0xc0, 0xae, 0xed, 0xa0, 0x80, 0xf8, 0x88, 0x80, 0x80, 0x80, 0xe2, 0x82,
]);

/** JSON text nested `depth` levels deep: arrays for an even depth, objects for an odd one. */
function nested(depth: number): string {
  return depth % 2
    ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    : `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** A value whose JSON type the field does not allow, so every validator refuses it. */
function wrongValue(types: Set<string>, deep: number): unknown {
  if (!types.has('object')) return deep ? DEEP_TOKEN : { value: 'fuzz' };
  if (!types.has('array')) return ['fuzz'];
  return 12345;
}

interface Built {
  payload: string | Buffer | undefined;
  headers: Record<string, string>;
  definite: boolean;
  summary: string;
}

function buildBody(op: Op, choice: BodyChoice): Built {
  const types = Object.keys(op.bodyTypes);
  const vendorType = types.find((t) => t !== 'application/json' && t.includes('json'));
  const ct =
    choice.ct === 'json'
      ? 'application/json'
      : choice.ct === 'vendor'
        ? (vendorType ?? 'application/json')
        : choice.ct === 'charset'
          ? 'application/json; charset=iso-8859-1'
          : choice.ct === 'merge-patch'
            ? 'application/merge-patch+json'
            : choice.ct === 'form'
              ? 'application/x-www-form-urlencoded'
              : choice.ct === 'none'
                ? undefined
                : BAD_TYPES[choice.ct];
  const schema =
    op.bodyTypes[ct?.split(';')[0] ?? ''] ??
    op.bodyTypes['application/json'] ??
    Object.values(op.bodyTypes)[0] ??
    {};
  const base = sample(schema) as Record<string, unknown>;
  const fields = leaves(schema);
  let definite = false;
  let text: string;
  const notes: string[] = [];
  let deep = 0;
  let badBytes = false;
  const p = choice.payload;
  switch (p.k) {
    case 'object': {
      const obj = (base && typeof base === 'object' ? structuredClone(base) : {}) as Record<string, unknown>;
      // Noise first, then the breaking mutations, so noise never repairs what they broke.
      const breaking = (m: Mutation) => m.k === 'wrongType' || m.k === 'huge';
      const ordered = [...p.mutations.filter((m) => !breaking(m)), ...p.mutations.filter(breaking)];
      const broken = new Set<string>();
      for (const m of ordered) {
        const field = 'n' in m ? fields[m.n % Math.max(1, fields.length)] : undefined;
        if (m.k === 'unknown') {
          setAt(obj, [m.name], 'fuzz');
          notes.push(`unknown ${m.name}`);
          continue;
        }
        if (!field) continue;
        const fieldTypes = typesOf(field.schema);
        if (m.k === 'wrongType' && fieldTypes) {
          setAt(obj, field.path, wrongValue(fieldTypes, m.deep));
          if (!fieldTypes.has('object')) deep = m.deep;
          definite = true;
          broken.add(field.path.join('.'));
          notes.push(`wrong type at ${field.path.join('.')}${deep ? ` (depth ${deep})` : ''}`);
        } else if (
          m.k === 'huge' &&
          fieldTypes?.has('string') &&
          (field.schema.maxLength ?? Infinity) < HUGE
        ) {
          setAt(obj, field.path, 'h'.repeat(HUGE));
          definite = true;
          broken.add(field.path.join('.'));
          notes.push(`100 KB at ${field.path.join('.')}`);
        } else if (m.k === 'text') {
          setAt(obj, field.path, m.v);
          notes.push(`text at ${field.path.join('.')}`);
        } else if (m.k === 'number') {
          setAt(obj, field.path, m.v);
          notes.push(`number ${m.v} at ${field.path.join('.')}`);
        } else if (m.k === 'null') {
          setAt(obj, field.path, null);
        } else if (m.k === 'drop') {
          setAt(obj, field.path, undefined, true);
        }
      }
      // Invalid UTF-8 inside a string value: decoders substitute U+FFFD, so on its own it proves nothing.
      if (p.badBytes) {
        const target = fields.find((f) => typesOf(f.schema)?.has('string') && !broken.has(f.path.join('.')));
        if (target) {
          setAt(obj, target.path, BYTES_TOKEN);
          badBytes = true;
          notes.push(`invalid UTF-8 at ${target.path.join('.')}`);
        }
      }
      text = JSON.stringify(obj);
      break;
    }
    case 'null':
      text = 'null';
      definite = true;
      break;
    case 'array':
      text = JSON.stringify([base, base]);
      definite = true;
      break;
    case 'scalar':
      text = JSON.stringify(p.v);
      definite = true;
      break;
    case 'deep':
      // Arrays: a deep object would be a body whose only field is unknown, which some dialects rightly ignore.
      text = nested(p.depth - (p.depth % 2));
      definite = true;
      break;
    case 'truncated': {
      const full = JSON.stringify(base ?? {});
      text = full.slice(0, 1 + (p.cut % Math.max(1, full.length - 1)));
      definite = true;
      break;
    }
    case 'text':
      text =
        p.v === 'xml'
          ? '<?xml version="1.0"?><contact><name>fuzz</name></contact>'
          : p.v === 'multipart'
            ? '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nfuzz\r\n--x--\r\n'
            : p.v === 'form'
              ? new URLSearchParams(
                  Object.entries(base ?? {}).map(([k, v]): [string, string] => [k, String(v)]),
                ).toString()
              : 'zz{not json';
      definite = p.v !== 'form';
      break;
    case 'tooLarge':
      text = JSON.stringify({ name: 'x'.repeat(1_100_000) });
      definite = true;
      break;
    case 'empty':
      text = '';
      break;
  }
  if (ct === 'application/x-www-form-urlencoded' && p.k !== 'tooLarge') definite = false;
  // A body in a media type no route reads is refused, whatever it holds.
  if (ct && Object.values(BAD_TYPES).includes(ct) && text.length > 0) definite = true;
  const headers: Record<string, string> = ct ? { 'content-type': ct } : {};
  let payload: string | Buffer = text;
  if (deep) payload = text.replace(JSON.stringify(DEEP_TOKEN), nested(deep));
  if (badBytes) {
    const [before, afterToken] = (payload as string).split(BYTES_TOKEN) as [string, string];
    payload = Buffer.concat([Buffer.from(before), INVALID_UTF8, Buffer.from(afterToken)]);
  }
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  return {
    payload: size ? payload : undefined,
    headers,
    definite,
    summary: `${p.k}${notes.length ? ` [${notes.join('; ')}]` : ''} as ${ct ?? '(no content-type)'}, ${size} bytes`,
  };
}

// Cases -------------------------------------------------------------------------------------------------------------

type Anchor = 'body' | 'path' | 'auth' | 'business';

interface Case {
  path: PathChoice[];
  definitePath: { index: number; choice: PathChoice };
  query: QueryEntry[];
  auth: AuthChoice;
  definiteAuth: AuthChoice;
  headers: HeaderNoise;
  body: BodyChoice | undefined;
  definiteBody: BodyChoice;
  anchor: Anchor | undefined;
}

function anchorsOf(op: Op): Anchor[] {
  const out: Anchor[] = [];
  if (Object.keys(op.bodyTypes).length) out.push('body', 'body', 'body');
  if (op.params.length) out.push('path', 'path');
  if (op.scheme) out.push('auth');
  if (op.headers.some((h) => h.name.toLowerCase() === 'x-business-id')) out.push('business');
  return out;
}

function caseArb(op: Op): fc.Arbitrary<Case> {
  const hasBody = Object.keys(op.bodyTypes).length > 0;
  const anchors = anchorsOf(op);
  return fc.record({
    path: fc.array(anyPath, { minLength: op.params.length, maxLength: op.params.length }),
    definitePath: fc.record({ index: fc.nat(), choice: definitePath }),
    query: queryArb(op),
    auth: fc.oneof(
      { weight: 12, arbitrary: fc.constant<AuthChoice>('valid') },
      { weight: 1, arbitrary: fc.constantFrom<AuthChoice>('validLower', 'otherTenant') },
      { weight: 2, arbitrary: fc.constantFrom(...DEFINITE_AUTH) },
    ),
    definiteAuth: fc.constantFrom(...DEFINITE_AUTH),
    headers: headerNoise,
    // Bodies go to bodyless operations too, now and then.
    body: hasBody
      ? fc.record({ payload: anyPayload, ct: anyCt })
      : fc.option(fc.record({ payload: anyPayload, ct: anyCt }), { freq: 6, nil: undefined }),
    definiteBody: fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          payload: definitePayload,
          ct: fc.constantFrom<CtChoice>('json', 'vendor', 'charset', 'merge-patch', 'none'),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          payload: fc.oneof(anyPayload.filter((p) => p.k !== 'empty')),
          ct: fc.constantFrom<CtChoice>('text/plain', 'application/xml', 'multipart', 'garbage'),
        }),
      },
    ),
    anchor: op.write && anchors.length ? fc.constantFrom(...anchors) : fc.constant(undefined),
  });
}

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload: string | Buffer | undefined;
  definite: boolean;
  summary: string;
}

function build(op: Op, c: Case): Request {
  const pathChoices = [...c.path];
  const anchoredParam = op.params.length ? c.definitePath.index % op.params.length : -1;
  if (c.anchor === 'path') pathChoices[anchoredParam] = c.definitePath.choice;
  let definite = false;
  let url = op.path;
  op.params.forEach((p, i) => {
    let choice = pathChoices[i] as PathChoice;
    // A dot segment moves a write to another route, where the case's invalid element may mean nothing.
    if (op.write && choice.k === 'rawTraversal') choice = { k: 'text', v: choice.v };
    let v = pathValue(op, p, choice);
    if (c.anchor === 'path' && i === anchoredParam) {
      if (!v.definite) v = pathValue(op, p, { k: 'text', v: 'zz-names-nothing' });
      definite = true;
    }
    url = url.replace(`{${p.name}}`, v.text);
  });
  url += queryString(c.query);

  // Another tenant's ids name nothing only for this tenant's key.
  const auth =
    c.anchor === 'auth'
      ? c.definiteAuth
      : (c.anchor === 'path' || c.anchor === 'business') && c.auth === 'otherTenant'
        ? 'valid'
        : c.auth;
  if (c.anchor === 'auth') definite = true;
  const headers: Record<string, string> = { ...noiseHeaders(c.headers), ...authHeaders(op, auth) };
  if (op.headers.some((h) => h.name.toLowerCase() === 'x-business-id')) {
    const choice =
      c.anchor === 'business'
        ? (pick(DEFINITE_BUSINESS, c.definitePath.index) ?? 'missing')
        : c.headers.business;
    const value = businessHeader(choice);
    if (value !== undefined) headers['x-business-id'] = value;
    if (c.anchor === 'business') definite = true;
  }

  const bodyChoice = c.anchor === 'body' ? c.definiteBody : c.body;
  let payload: string | Buffer | undefined;
  let bodySummary = 'no body';
  if (bodyChoice) {
    let b = buildBody(op, bodyChoice);
    // The drawn mutations may not apply to this body (e.g. no field with a length limit): fall back to null.
    if (c.anchor === 'body' && !b.definite) b = buildBody(op, { payload: { k: 'null' }, ct: 'json' });
    Object.assign(headers, b.headers);
    payload = b.payload;
    bodySummary = b.summary;
    if (c.anchor === 'body' && b.definite) definite = true;
  }
  return {
    method: op.method,
    url,
    headers,
    payload,
    definite,
    summary: `anchor ${c.anchor ?? '-'}, auth ${auth}, body ${bodySummary}`,
  };
}

/** Long runs of one character (huge strings, deep nesting) shown as counts, then cut to n characters. */
function clip(s: string, n = 300): string {
  const squeezed = s.replace(/([\s\S])\1{19,}/g, (run, ch: string) => `${ch}{×${run.length}}`);
  return squeezed.length > n ? `${squeezed.slice(0, n)}… (${s.length} chars)` : squeezed;
}

function describe(op: Op, r: Request, res?: Response): string {
  const headers = Object.fromEntries(
    Object.entries(r.headers).map(([k, v]) => [
      clip(k, 40),
      clip(k === 'authorization' || k === 'fastly-key' ? v.replace(/ck_\w+/, 'ck_…') : v, 80),
    ]),
  );
  const body =
    r.payload === undefined
      ? '(none)'
      : Buffer.isBuffer(r.payload)
        ? `Buffer ${clip(r.payload.toString('latin1'))}`
        : clip(r.payload);
  return [
    `${op.id}: ${r.method} ${clip(r.url, 400)}`,
    `  ${r.summary}`,
    `  headers ${clip(JSON.stringify(headers), 600)}`,
    `  body ${body}`,
    res ? `  → ${res.statusCode} ${contentType(res)} ${clip(res.body, 600)}` : '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Known dialect bugs, excused only while they keep their exact signature (each also has a repro test below, which
// fails once the dialect is fixed so the entry gets removed). Owners: the dialect's helper.

interface KnownBug {
  name: string;
  /** Exactly the bug's signature: anything else that fails still fails. */
  matches(r: Request, res: Response): boolean;
  /** A request that shows it, for the test that notices when the bug is gone. */
  repro(): Request;
  hits: number;
}

/** The root scope's masked 500: a dialect's own error handler threw, and Fastify fell back to the parent's. */
function isMaskedInternalError(res: Response): boolean {
  return res.statusCode === 500 && parsed(res)?.code === 'internal_error';
}

// Bugs this suite found in a dialect and that are not fixed yet, each excused by its exact signature (none now:
// the deep-JSON 500s of Business Central and DayZero were fixed by bounding what their errors echo, src/lib/echo.ts).
const KNOWN_BUGS: KnownBug[] = [];

/** Requests that once gave a 500 in a dialect: each must now get a structured 4xx and write nothing. */
const DEEP_JSON_REGRESSIONS: (() => Request)[] = [
  () => ({
    method: 'PATCH',
    url: `/compat/businesscentral/v2.0/companies(${world.a.tenant.id})/customerContacts(${world.ids.contact[1]})`,
    headers: {
      authorization: `Bearer ${world.a.token}`,
      'content-type': 'application/json',
      'if-match': '*',
    },
    payload: `{"email":${nested(5000)}}`,
    definite: true,
    summary: 'email nested 5,000 levels deep',
  }),
  () => ({
    method: 'POST',
    url: `/compat/dayzero/api/v1/customers/${world.ids.customer[0]}/contacts`,
    headers: {
      authorization: `Bearer ${world.a.token}`,
      'x-business-id': world.a.tenant.id,
      'content-type': 'application/json',
    },
    payload: `{"name":${nested(5000)}}`,
    definite: true,
    summary: 'name nested 5,000 levels deep',
  }),
];

// ---------------------------------------------------------------------------------------------------------------
// The database: what must not change

interface Snapshot {
  counts: Record<string, number>;
  versions: string;
}

async function snapshot(): Promise<Snapshot> {
  const counts: Record<string, number> = {};
  for (const table of [
    'tenants',
    'customers',
    'contacts',
    'channels',
    'events',
    'api_keys',
    'idempotency_keys',
  ]) {
    const rows = await env.sql.unsafe(`select count(*)::int as n from ${table}`);
    counts[table] = Number(rows[0]?.n);
  }
  const rows = await env.sql.unsafe(`
    select 'contact' as kind, id::text, version, deleted_at::text as gone from contacts
    union all select 'customer', id::text, version, deleted_at::text from customers
    union all select 'channel', id::text, version, null from channels
    union all select 'api_key', id::text, 0, revoked_at::text from api_keys
    order by 1, 2`);
  return { counts, versions: rows.map((r) => `${r.kind}:${r.id}:${r.version}:${r.gone ?? ''}`).join('\n') };
}

function diff(a: Snapshot, b: Snapshot): string | undefined {
  const counts = Object.keys(a.counts).filter((k) => a.counts[k] !== b.counts[k]);
  if (counts.length)
    return `row counts changed: ${counts.map((k) => `${k} ${a.counts[k]}→${b.counts[k]}`).join(', ')}`;
  if (a.versions !== b.versions) {
    const before = new Set(a.versions.split('\n'));
    const changed = b.versions.split('\n').filter((l) => !before.has(l));
    return `objects changed: ${changed.slice(0, 5).join(', ')}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The properties

const stats = { requests: 0, byStatus: new Map<string, number>(), operations: new Set<string>() };

async function send(r: Request): Promise<Response> {
  const res = await env.app.inject({
    method: r.method as 'GET',
    url: r.url,
    headers: r.headers,
    ...(r.payload === undefined ? {} : { payload: r.payload }),
  });
  return { statusCode: res.statusCode, headers: res.headers, body: res.body };
}

/** Undefined when the response is acceptable for this request; otherwise what is wrong. */
function verdict(op: Op, r: Request, res: Response): string | undefined {
  if (res.statusCode >= 500) return `${res.statusCode}: no generated request may cause a server error`;
  if (res.statusCode < 400) {
    if (op.write) return `${res.statusCode} on a write that carries an invalid element (${r.summary})`;
    if (res.statusCode >= 300 && res.statusCode !== 304) return `unexpected ${res.statusCode}`;
    return undefined;
  }
  const family = familyOf(r.url);
  const wrong = CHECKERS[family](res);
  if (wrong) return `not a ${family} error: ${wrong}`;
  for (const leak of LEAKS) if (leak.test(res.body)) return `the error leaks internal text (${leak})`;
  return undefined;
}

function seedFor(id: string): number {
  let h = SEED | 0;
  for (const ch of id) h = Math.imul(h ^ ch.charCodeAt(0), 16_777_619);
  return h | 0;
}

function runsFor(op: Op, all: Op[]): number {
  const weight = (o: Op) => (Object.keys(o.bodyTypes).length ? 2 : o.write ? 1.5 : 1);
  const total = all.reduce((sum, o) => sum + weight(o), 0);
  return Math.max(10, Math.round((TOTAL_RUNS * weight(op)) / total));
}

before(async () => {
  env = await setupTestEnv();
  const a = await createTestTenant(env);
  const b = await createTestTenant(env);
  const readOnly = (await keyFor(env, a.tenant, ['contacts:read'])).authorization.replace('Bearer ', '');
  const mine = await populate(a);
  const theirs = await populate(b);
  world = {
    a,
    b,
    readOnly,
    ids: mine.ids,
    numbers: mine.numbers,
    otherIds: theirs.ids,
    otherNumbers: theirs.numbers,
  };
  const res = await env.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  ops = operationsOf(json<OpenApi>(res));
});

after(async () => {
  await env?.close();
});

test('each known dialect bug still reproduces (once one is fixed, delete its KNOWN_BUGS entry)', async () => {
  for (const bug of KNOWN_BUGS) {
    const r = bug.repro();
    const before = await snapshot();
    const res = await send(r);
    assert.ok(
      bug.matches(r, res),
      `${bug.name} no longer reproduces (${res.statusCode} ${clip(res.body, 200)}): the dialect was fixed, so remove its KNOWN_BUGS entry from test/fuzz.test.ts`,
    );
    assert.equal(diff(before, await snapshot()), undefined, `${bug.name} wrote something`);
  }
});

test('JSON nested 5,000 levels deep gets a structured 4xx from the dialects that echo input', async () => {
  for (const make of DEEP_JSON_REGRESSIONS) {
    const r = make();
    const before = await snapshot();
    const res = await send(r);
    assert.ok(
      res.statusCode >= 400 && res.statusCode < 500,
      `${r.summary}: ${res.statusCode} ${clip(res.body, 200)}`,
    );
    assert.ok(!isMaskedInternalError(res));
    assert.equal(diff(before, await snapshot()), undefined, `${r.summary} wrote something`);
  }
});

// Deterministic regressions for what this suite found in the core.
test('an undecodable or over-long path segment is answered in the route family’s own error shape', async () => {
  const families = new Set<Family>();
  for (const op of ops) {
    const family = familyOf(op.path);
    if (op.method !== 'GET' || !op.params.length || families.has(family)) continue;
    families.add(family);
    for (const bad of ['%zz', '%c0%ae', 'z'.repeat(300), `a${'%'.repeat(300)}`]) {
      let url = op.path;
      op.params.forEach((p, i) => {
        url = url.replace(`{${p.name}}`, i === 0 ? bad : pathValue(op, p, { k: 'real', n: 0 }).text);
      });
      const headers = { ...authHeaders(op, 'valid'), 'x-business-id': world.a.tenant.id };
      const res = await send({
        method: 'GET',
        url,
        headers,
        payload: undefined,
        definite: true,
        summary: bad,
      });
      assert.ok(
        res.statusCode >= 400 && res.statusCode < 500,
        `${url.slice(0, 120)}: ${res.statusCode} ${res.body}`,
      );
      assert.equal(CHECKERS[family](res), undefined, `${url.slice(0, 120)}: ${res.body}`);
    }
  }
  assert.deepEqual([...families].sort(), [...new Set(ops.map((o) => familyOf(o.path)))].sort());
});

test('a NUL character in a value is a 400, not a database error', async () => {
  const auth = { authorization: `Bearer ${world.a.token}` };
  for (const url of ['/v1/contacts?q=a%00b', '/v1/customers?external_ref=%00']) {
    const res = await env.app.inject({ method: 'GET', url, headers: auth });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(json(res).code, 'bad_request');
  }
  const before = await snapshot();
  const res = await env.app.inject({
    method: 'POST',
    url: '/v1/customers',
    headers: auth,
    payload: { name: 'Nul\u0000Corp', metadata: { k: 'a\u0000b' } },
  });
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(CHECKERS.native(res), undefined);
  assert.equal(diff(before, await snapshot()), undefined);
});

// Last: the targeted tests above run before the fuzz spends the key's rate-limit budget.
test('malformed requests to every documented operation: no 5xx, the family’s error shape, nothing written', async (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL_RUNS} (set them to reproduce or scale a run)`);
  const prefixes = new Set(ops.map((o) => familyOf(o.path)));
  t.diagnostic(`${ops.length} operations in /openapi.json; families: ${[...prefixes].join(', ')}`);
  assert.ok(ops.length >= 20, 'the document lists the native API at least');

  for (const op of ops) {
    const seed = seedFor(op.id);
    const numRuns = runsFor(op, ops);
    const before = await snapshot();
    const sent: { r: Request; res: Response }[] = [];
    let failure: string | undefined;
    const run = await fc.check(
      fc.asyncProperty(caseArb(op), async (c) => {
        const r = build(op, c);
        if (op.write && !r.definite)
          failure = `generator bug: a write case without an invalid element\n${describe(op, r)}`;
        if (failure) return false;
        const res = await send(r);
        stats.requests++;
        const key = `${familyOf(r.url)} ${res.statusCode}`;
        stats.byStatus.set(key, (stats.byStatus.get(key) ?? 0) + 1);
        if (op.write) sent.push({ r, res });
        const wrong = verdict(op, r, res);
        if (!wrong) return true;
        const known = KNOWN_BUGS.find((k) => k.matches(r, res));
        if (known) {
          known.hits++;
          return true;
        }
        failure = `${wrong}\n${describe(op, r, res)}`;
        if (KEEP_GOING) {
          const key = `${op.id} ${wrong.slice(0, 60)}`;
          if (!triage.has(key)) triage.set(key, failure);
          failure = undefined;
          return true;
        }
        return false;
      }),
      { seed, numRuns, endOnFailure: true },
    );
    if (run.failed) {
      assert.fail(
        `${failure ?? String(run.errorInstance)}\nreproduce: FUZZ_SEED=${SEED}; ${op.id} ran with seed ${seed}, failing at run ${run.numRuns} (path "${run.counterexamplePath}")`,
      );
    }
    stats.operations.add(`${op.method} ${op.path}`);
    const changed = diff(before, await snapshot());
    if (changed) {
      // Find the request that wrote: replay the batch's writes one at a time.
      let culprit = '';
      for (const { r } of sent) {
        const s0 = await snapshot();
        const res = await send(r);
        if (diff(s0, await snapshot())) {
          culprit = describe(op, r, res);
          break;
        }
      }
      const succeeded = sent
        .filter(({ res }) => res.statusCode < 300)
        .map(({ r, res }) => describe(op, r, res));
      assert.fail(
        `${op.id}: ${changed}\n${culprit || `(no single request reproduced it; writes that succeeded: ${succeeded.join('\n') || 'none'})`}`,
      );
    }
  }

  if (triage.size) assert.fail(`${triage.size} distinct failures:\n\n${[...triage.values()].join('\n\n')}`);
  t.diagnostic(
    `${stats.requests} requests; by family and status: ${[...stats.byStatus]
      .sort()
      .map(([k, v]) => `${k}×${v}`)
      .join(', ')}`,
  );
  for (const k of KNOWN_BUGS) t.diagnostic(`known bug ${k.name}: excused ${k.hits} time(s)`);
  assert.ok(
    stats.operations.size >= ops.length,
    `covered ${stats.operations.size} of ${ops.length} operations`,
  );
  assert.ok(stats.requests >= TOTAL_RUNS * 0.9, `only ${stats.requests} requests sent`);
});
