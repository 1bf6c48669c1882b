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
// Two tenants, each with one of every object

const MARK_B = 'zqxtenantbsecret';
const IDEMPOTENCY_KEY = 'isolation-shared-key';

interface Seeded {
  tenant: TestTenant;
  objects: Objects;
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
  return {
    tenant,
    objects: {
      customer: [customer.id, gone.id],
      contact: [contact.id, own.id, goneContact.id],
      channel: [channel.id],
      api_key: [key.api_key.id],
    },
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
let covered: Op[];
let skipped: Op[];
/** Tokens of tenant B's keys that have every scope but admin and the one named. */
const lacking = new Map<Scope, string>();
let revokedToken: string;
/** Strings of tenant B that no response to tenant A may contain. */
let secretsOfB: string[];
/** Requests sent per kind of isolation variant, so none of them can silently be empty. */
const variants = { path: 0, unaddressed: 0, reference: 0 };
const exercised: Record<string, Set<string>> = {
  unauthenticated: new Set(),
  badKey: new Set(),
  scope: new Set(),
  isolation: new Set(),
};

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
        return { method, path, operation, scheme, scope, label: `${method.toUpperCase()} ${path}` };
      }),
  );
  skipped = secured.filter((op) => SKIPPED_PREFIXES.some((prefix) => op.path.startsWith(prefix)));
  covered = secured.filter((op) => !skipped.includes(op));

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
  assert.ok(secured.length > 0, 'no secured operations found in the document');
  assert.ok(covered.length > 0, 'every secured operation was skipped');
  for (const op of secured) {
    assert.ok(SCOPES.includes(op.scope), `${op.label}: x-required-scope ${op.scope} is not a scope`);
  }
  for (const op of covered) {
    assert.ok(
      op.scheme in CREDENTIALS,
      `${op.label}: no credential rule for scheme ${op.scheme}; extend CREDENTIALS`,
    );
    for (const name of pathParams(op.path)) paramKind(op.path, name);
  }
  for (const op of skipped) assert.ok(op.path.startsWith('/compat/'), `${op.label} skipped`);
});

function credential(op: Op, token: string): Record<string, string> {
  const make = CREDENTIALS[op.scheme];
  assert.ok(make, `${op.label}: no credential rule for ${op.scheme}`);
  return make(token);
}

/** A request on tenant B's own objects, valid but for its credentials. */
function onB(op: Op, headers: Record<string, string>): Request {
  const params = combinations(op.path, b.objects)[0] ?? {};
  return request(op, headers, params, {}, minimalBody(op, b.objects));
}

test('no credentials: 401 unauthenticated', async (t) => {
  for (const op of covered) {
    await t.test(op.label, async () => {
      expectDenied(op, await send(onB(op, {})), 401, 'unauthenticated');
      exercised.unauthenticated?.add(op.label);
    });
  }
});

test('garbage, revoked or altered keys: 401 unauthenticated', async (t) => {
  const bad: [string, string][] = [
    ['well-formed unknown key', `ck_${randomBytes(32).toString('base64url')}`],
    ['garbage', 'garbage'],
    ['revoked key', revokedToken],
    ['altered key', `${b.tenant.token.slice(0, -2)}${b.tenant.token.endsWith('AA') ? 'BB' : 'AA'}`],
  ];
  for (const op of covered) {
    await t.test(op.label, async () => {
      for (const [label, token] of bad) {
        const res = await send(onB(op, credential(op, token)));
        assert.equal(res.statusCode, 401, `${label}: ${res.body}`);
        expectDenied(op, res, 401, 'unauthenticated');
      }
      exercised.badKey?.add(op.label);
    });
  }
});

test("a key of the object's own tenant without the required scope: 403 insufficient_scope", async (t) => {
  for (const op of covered) {
    await t.test(`${op.label} (needs ${op.scope})`, async () => {
      const token = lacking.get(op.scope);
      assert.ok(token);
      expectDenied(op, await send(onB(op, credential(op, token))), 403, 'insufficient_scope');
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

test("tenant A's admin key cannot see or touch tenant B's objects", async (t) => {
  const adminOfA = a.tenant.token;
  for (const op of covered) {
    await t.test(op.label, async () => {
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
          assert.ok(
            res.statusCode < 300,
            `${op.label} ${JSON.stringify(query)}: ${res.statusCode} ${res.body}`,
          );
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
            assert.ok(
              res.statusCode === 200 || res.statusCode === 404,
              `${op.label} ${ref.name}: ${res.body}`,
            );
            if (res.statusCode === 200) assert.deepEqual(json<{ data: unknown[] }>(res).data, []);
          } else {
            assert.ok(
              res.statusCode >= 400 && res.statusCode < 500,
              `${op.label} with ${ref.name} of tenant B: ${res.statusCode} ${res.body}`,
            );
          }
        }
      }
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

test('every secured operation was covered by every check, bar the counted dialect skips', (t) => {
  const native = secured.filter((op) => !op.path.startsWith('/compat/'));
  t.diagnostic(
    `covered ${covered.length}, skipped ${skipped.length}: ${skipped.map((o) => o.label).join(', ')}`,
  );
  assert.equal(covered.length + skipped.length, secured.length);
  assert.ok(
    covered.length >= native.length,
    `covered ${covered.length} of ${native.length} native operations`,
  );
  t.diagnostic(`isolation requests (each also sent with unknown ids): ${JSON.stringify(variants)}`);
  for (const [kind, n] of Object.entries(variants)) assert.ok(n > 0, `no ${kind} isolation variant was sent`);
  for (const [check, labels] of Object.entries(exercised)) {
    assert.ok(
      labels.size >= secured.length - skipped.length && labels.size === covered.length,
      `${check}: exercised ${labels.size} of ${covered.length} operations`,
    );
  }
});
