// The DNSimple dialect against what DNSimple's recorded responses show (dnsimple.recorded.ts), and driven by the
// published `dnsimple` npm client over real TLS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuthenticationError, ClientError, DNSimple, type Fetcher, NotFoundError } from 'dnsimple';
import {
  count,
  createTestTenant,
  json,
  keyFor,
  setupTestEnv,
  type TestEnv,
  type TestTenant,
} from '../../../test/helpers.ts';
import { buildApp } from '../../app.ts';
import type { App } from '../../http/deps.ts';
import { RECORDED, type Recorded, type Shape } from './dnsimple.recorded.ts';

// ---- Recorded responses ----------------------------------------------------------------------------------

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Same keys in the same order and the same JSON type for every value, recursively (arrays: each item). */
function assertShape(actual: unknown, expected: Shape, at = '$'): void {
  if (typeof expected === 'string') {
    assert.equal(jsonType(actual), expected, `type of ${at}`);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${at} is an array`);
    assert.ok(actual.length > 0, `${at} is empty: nothing to compare`);
    for (const [i, item] of actual.entries()) assertShape(item, expected[0], `${at}[${i}]`);
  } else {
    assert.equal(jsonType(actual), 'object', `type of ${at}`);
    const a = actual as Record<string, unknown>;
    assert.deepEqual(Object.keys(a), Object.keys(expected), `keys of ${at}`);
    for (const [k, shape] of Object.entries(expected)) assertShape(a[k], shape, `${at}.${k}`);
  }
}

type Headers = Record<string, string | string[] | number | undefined>;

/** The headers of a recording that clients rely on are present, with the same value where it is not per-request. */
function assertHeaders(actual: Headers, expected: Recorded): void {
  assert.equal(actual['content-type'], expected.headers['content-type'], 'content-type');
  assert.equal(actual['cache-control'], expected.headers['cache-control'], 'cache-control');
  assert.ok(actual['x-request-id'], 'x-request-id');
  if (expected.ratelimit) {
    for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
      assert.match(String(actual[name]), /^\d+$/, name);
    }
  }
}

// ---- Setup --------------------------------------------------------------------------------------------------

let env: TestEnv;
let a: TestTenant;
let b: TestTenant;

const base = (tenant: TestTenant) => `/compat/dnsimple/v2/${tenant.tenant.number}/contacts`;

let serial = 0;
/** A valid DNSimple create body; each call gets a distinct email. */
function contactBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  serial++;
  return {
    label: 'Default',
    first_name: 'First',
    last_name: 'User',
    job_title: 'CEO',
    organization_name: 'Awesome Company',
    email: `first${serial}@example.com`,
    phone: '+1 202 555 0175',
    fax: '+12025550176',
    address1: 'Italian Street, 10',
    city: 'Roma',
    state_province: 'RM',
    postal_code: '00100',
    country: 'IT',
    ...extra,
  };
}

function call(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
  url: string,
  tenant = a,
  payload?: object,
) {
  return env.app.inject({ method, url, headers: tenant.auth, ...(payload ? { payload } : {}) });
}

async function create(tenant = a, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const res = await call('POST', base(tenant), tenant, contactBody(extra));
  assert.equal(res.statusCode, 201, res.body);
  return json<{ data: Record<string, unknown> }>(res).data;
}

/** The native view of a contact, found by its email. */
async function native(email: string, tenant = a): Promise<Record<string, unknown>> {
  const res = await env.app.inject({
    method: 'GET',
    url: `/v1/contacts?email=${encodeURIComponent(email)}&include_deleted=true`,
    headers: tenant.auth,
  });
  assert.equal(res.statusCode, 200, res.body);
  const found = json<{ data: Record<string, unknown>[] }>(res).data;
  assert.equal(found.length, 1);
  return found[0] as Record<string, unknown>;
}

before(async () => {
  env = await setupTestEnv();
  a = await createTestTenant(env);
  b = await createTestTenant(env);
});
after(() => env.close());

// ---- Recorded shapes ----------------------------------------------------------------------------------------

describe('responses have the shape of the recorded ones', () => {
  test('createContact: 201 {data}', async () => {
    const f = RECORDED.createContact;
    const res = await call('POST', base(a), a, contactBody());
    assert.equal(res.statusCode, f.status);
    assertShape(json(res), f.shape);
    assertHeaders(res.headers, f);
  });

  test('getContact and updateContact: 200 {data}', async () => {
    const c = await create();
    for (const [method, f, payload] of [
      ['GET', RECORDED.getContact, undefined],
      ['PATCH', RECORDED.updateContact, { label: 'Office' }],
    ] as const) {
      const res = await call(method, `${base(a)}/${c.id}`, a, payload);
      assert.equal(res.statusCode, f.status, res.body);
      assertShape(json(res), f.shape);
      assertHeaders(res.headers, f);
    }
  });

  test('listContacts: 200 {data, pagination}, also with empty optional attributes', async () => {
    await create(a, { label: '', job_title: null, organization_name: null, fax: '', address2: null });
    for (const f of [RECORDED.listContacts, RECORDED.listPage]) {
      const res = await call('GET', base(a));
      assert.equal(res.statusCode, f.status);
      const body = json<{ data: unknown[]; pagination: unknown }>(res);
      // The paging recording abbreviates contacts to {id}; its envelope and pagination are still the real ones.
      if (f === RECORDED.listPage) assertShape(body.pagination, f.shape.pagination);
      else assertShape(body, f.shape);
      assertHeaders(res.headers, f);
    }
  });

  test('createContact with nothing: the recorded validation error, word for word', async () => {
    const f = RECORDED.validationFailed;
    const before = await count(env, 'contacts');
    const res = await call('POST', base(a), a, {});
    assert.equal(res.statusCode, f.status);
    assert.deepEqual(json(res), f.body);
    // deepEqual ignores key order; DNSimple lists attributes alphabetically.
    assert.deepEqual(Object.keys(json(res).errors as object), Object.keys(f.body.errors));
    assertHeaders(res.headers, f);
    assert.equal(await count(env, 'contacts'), before);
  });

  test('deleteContact: 204 with no body', async () => {
    const f = RECORDED.deleteContact;
    const c = await create();
    const res = await call('DELETE', `${base(a)}/${c.id}`);
    assert.equal(res.statusCode, f.status);
    assert.equal(res.body, '');
    assertHeaders(res.headers, f);
  });

  test('deleteContact of a contact in use: the recorded 400', async () => {
    const f = RECORDED.contactInUse;
    const c = await create();
    const uuid = (await native(c.email as string)).id;
    const cust = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: a.auth,
      payload: { name: 'Acme', technical_contact_id: uuid },
    });
    assert.equal(cust.statusCode, 201, cust.body);
    const res = await call('DELETE', `${base(a)}/${c.id}`);
    assert.equal(res.statusCode, f.status);
    assert.deepEqual(json(res), f.body);
    assertHeaders(res.headers, f);
    assert.equal((await native(c.email as string)).deleted_at, null);
  });

  test('unknown contact: the recorded 404', async () => {
    const f = RECORDED.contactNotFound;
    const res = await call('GET', `${base(a)}/0`);
    assert.equal(res.statusCode, f.status);
    assert.deepEqual(json(res), f.body);
    assert.equal(res.headers['content-type'], f.headers['content-type']);
    assert.equal(res.headers['cache-control'], f.headers['cache-control']);
    for (const [method, id] of [
      ['GET', 'abc'],
      ['PATCH', '99999999999'],
      ['DELETE', '-1'],
    ] as const) {
      const r = await call(method, `${base(a)}/${id}`, a, method === 'PATCH' ? { label: 'x' } : undefined);
      assert.equal(r.statusCode, 404);
      assert.deepEqual(json(r), { message: `Contact \`${id}\` not found` });
    }
  });

  test('a method the path does not have: the recorded 405, with Allow and no body', async () => {
    const f = RECORDED.methodNotAllowed;
    for (const [method, url, allow] of [
      ['PUT', base(a), 'GET, HEAD, POST'],
      ['DELETE', base(a), 'GET, HEAD, POST'],
      ['POST', `${base(a)}/1`, 'DELETE, GET, HEAD, PATCH'],
      ['PUT', `${base(a)}/1`, 'DELETE, GET, HEAD, PATCH'],
    ] as const) {
      const res = await call(method, url);
      assert.equal(res.statusCode, f.status, `${method} ${url}`);
      assert.equal(res.headers.allow, allow);
      assert.equal(res.headers['content-type'], undefined);
      assert.equal(res.body, '');
      assert.equal(res.headers['cache-control'], f.headers['cache-control']);
    }
  });

  test('HEAD answers as GET does, without a body', async () => {
    const res = await env.app.inject({ method: 'HEAD', url: base(a), headers: a.auth });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  });

  test('an unknown path under the prefix: 404 {"message":"Not Found"}', async () => {
    const res = await call('GET', '/compat/dnsimple/v2/whoami/nothing');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(json(res), { message: 'Not Found' });
  });
});

test('the operations are documented in /openapi.json, with their bearer credential', async () => {
  const doc = json<{
    paths: Record<string, Record<string, { operationId: string; security: unknown; tags: string[] }>>;
  }>(await env.app.inject({ method: 'GET', url: '/openapi.json' }));
  const ops = Object.entries(doc.paths)
    .filter(([p]) => p.startsWith('/compat/dnsimple/'))
    .flatMap(([p, methods]) =>
      Object.entries(methods).map(([m, op]) => `${m.toUpperCase()} ${p} ${op.operationId}`),
    );
  assert.deepEqual(ops.sort(), [
    'DELETE /compat/dnsimple/v2/{account}/contacts/{contact} dnsimpleDeleteContact',
    'GET /compat/dnsimple/v2/{account}/contacts dnsimpleListContacts',
    'GET /compat/dnsimple/v2/{account}/contacts/{contact} dnsimpleGetContact',
    'PATCH /compat/dnsimple/v2/{account}/contacts/{contact} dnsimpleUpdateContact',
    'POST /compat/dnsimple/v2/{account}/contacts dnsimpleCreateContact',
  ]);
  const list = doc.paths['/compat/dnsimple/v2/{account}/contacts']?.get;
  assert.deepEqual(list?.security, [{ bearerAuth: [] }]);
  assert.deepEqual(list?.tags, ['DNSimple dialect']);
});

// ---- Values -------------------------------------------------------------------------------------------------

describe('contact values', () => {
  test('integer ids, the account id, EPP phones, "" for empty attributes, timestamps to the second', async () => {
    const c = await create(a, { fax: null, address2: undefined, label: '' });
    const n = await native(c.email as string);
    assert.equal(c.id, n.number);
    assert.equal(c.account_id, a.tenant.number);
    assert.equal(c.phone, '+1.2025550175');
    assert.equal(n.phone_e164, '+12025550175');
    assert.equal(c.fax, '');
    assert.equal(c.address2, '');
    assert.equal(c.label, '');
    assert.equal(n.label, null);
    assert.match(c.created_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(c.updated_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('phones in other countries and national formats', async () => {
    const c = await create(a, { phone: '+39 06 6982 1234', fax: '(202) 555-0199', country: 'it' });
    assert.equal(c.phone, '+39.0669821234');
    assert.equal(c.fax, '+1.2025550199');
    assert.equal(c.country, 'IT');
  });

  test('attributes DNSimple does not know are ignored', async () => {
    const c = await create(a, {
      id: 424242,
      account_id: 1,
      created_at: '2000-01-01T00:00:00Z',
      whatever: true,
    });
    assert.notEqual(c.id, 424242);
    assert.equal(c.account_id, a.tenant.number);
    assert.notEqual(c.created_at, '2000-01-01T00:00:00Z');
  });
});

// ---- Validation ---------------------------------------------------------------------------------------------

describe('validation: 400 {"message":"Validation failed","errors":{attribute:[messages]}}', () => {
  const cases: [string, Record<string, unknown>, Record<string, string[]>][] = [
    ['organization_name needs job_title', { job_title: undefined }, { job_title: ["can't be blank"] }],
    ['organization_name needs a non-blank job_title', { job_title: ' ' }, { job_title: ["can't be blank"] }],
    ['email syntax', { email: 'not-an-email' }, { email: ['is an invalid email address'] }],
    ['phone', { phone: '12' }, { phone: ['is probably not a phone number'] }],
    ['fax', { fax: 'call me' }, { fax: ['is probably not a phone number'] }],
    [
      'country length',
      { country: 'ITA' },
      { country: ['is the wrong length (should be 2 characters)', 'is not a valid country'] },
    ],
    ['country code', { country: 'XX' }, { country: ['is not a valid country'] }],
    [
      'blank required attributes',
      { first_name: '  ', city: null },
      { city: ["can't be blank"], first_name: ["can't be blank"] },
    ],
    [
      'blank email and phone',
      { email: '', phone: null },
      {
        email: ["can't be blank", 'is an invalid email address'],
        phone: ["can't be blank", 'is probably not a phone number'],
      },
    ],
    [
      "DNSimple's rules and the core's together",
      { first_name: '', email: 'nope', phone: '12', country: 'XX' },
      {
        country: ['is not a valid country'],
        email: ['is an invalid email address'],
        first_name: ["can't be blank"],
        phone: ['is probably not a phone number'],
      },
    ],
    ['length', { first_name: 'x'.repeat(101) }, { first_name: ['is too long (maximum is 100 characters)'] }],
    ['a non-string attribute', { postal_code: 100 }, { postal_code: ['is invalid'] }],
  ];
  for (const [name, extra, errors] of cases) {
    test(`create: ${name}`, async () => {
      const before = await count(env, 'contacts');
      const body = contactBody(extra);
      for (const [k, v] of Object.entries(extra)) if (v === undefined) delete body[k];
      const res = await call('POST', base(a), a, body);
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(json(res), { message: 'Validation failed', errors });
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(await count(env, 'contacts'), before);
    });
  }

  test('update: required attributes cannot be blanked; organization_name needs the stored or sent job_title', async () => {
    const c = await create(a, { organization_name: null, job_title: null });
    const url = `${base(a)}/${c.id}`;
    let res = await call('PATCH', url, a, { last_name: '', email: 'x@' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(json(res).errors, {
      email: ['is an invalid email address'],
      last_name: ["can't be blank"],
    });
    res = await call('PATCH', url, a, { organization_name: 'Acme' });
    assert.deepEqual(json(res).errors, { job_title: ["can't be blank"] });
    res = await call('PATCH', url, a, { organization_name: 'Acme', job_title: 'CTO' });
    assert.equal(res.statusCode, 200, res.body);
    res = await call('PATCH', url, a, { job_title: null });
    assert.deepEqual(json(res).errors, { job_title: ["can't be blank"] });
    const after = json<{ data: Record<string, unknown> }>(await call('GET', url)).data;
    assert.equal(after.last_name, 'User');
    assert.equal(after.organization_name, 'Acme');
    assert.equal(after.job_title, 'CTO');
  });

  test('update: partial, and an empty body changes nothing', async () => {
    const c = await create();
    const url = `${base(a)}/${c.id}`;
    let res = await call('PATCH', url, a, {
      city: 'Milano',
      address2: 'c/o Someone',
      phone: '+39 02 1234 5678',
    });
    assert.equal(res.statusCode, 200, res.body);
    const data = json<{ data: Record<string, unknown> }>(res).data;
    assert.equal(data.city, 'Milano');
    assert.equal(data.address2, 'c/o Someone');
    assert.equal(data.phone, '+39.0212345678');
    assert.equal(data.first_name, 'First');
    res = await call('PATCH', url, a, {});
    assert.equal(res.statusCode, 200);
    assert.deepEqual(json(res), { data });
  });
});

// ---- Lists --------------------------------------------------------------------------------------------------

describe('listContacts: sort and pages', () => {
  let t: TestTenant;
  const ids: Record<string, number> = {};
  before(async () => {
    t = await createTestTenant(env);
    for (const [label, email] of [
      ['b', 'Delta@example.com'],
      ['a', 'charlie@example.com'],
      ['c', 'alpha@example.com'],
      ['a', 'bravo@example.com'],
      ['', 'echo@example.com'],
    ]) {
      const c = await create(t, { label, email });
      ids[email as string] = c.id as number;
    }
    // A customer's contact is not an account contact.
    const cust = json<{ id: string }>(
      await env.app.inject({ method: 'POST', url: '/v1/customers', headers: t.auth, payload: { name: 'C' } }),
    );
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/contacts',
      headers: t.auth,
      payload: { customer_id: cust.id, email: 'customer@example.com' },
    });
    assert.equal(res.statusCode, 201);
  });

  async function list(query: string) {
    const res = await call('GET', `${base(t)}${query}`, t);
    assert.equal(res.statusCode, 200, res.body);
    return json<{ data: { id: number; email: string; label: string }[]; pagination: Record<string, number> }>(
      res,
    );
  }
  const emails = (page: { data: { email: string }[] }) => page.data.map((c) => c.email);

  test('default: id ascending, 30 per page', async () => {
    const page = await list('');
    assert.deepEqual(
      page.data.map((c) => c.id),
      Object.values(ids).sort((x, y) => x - y),
    );
    assert.deepEqual(page.pagination, { current_page: 1, per_page: 30, total_entries: 5, total_pages: 1 });
  });

  test('sort by id, email, label, and combinations', async () => {
    assert.deepEqual(
      (await list('?sort=id:desc')).data.map((c) => c.id),
      Object.values(ids).sort((x, y) => y - x),
    );
    const byEmail = ['alpha', 'bravo', 'charlie', 'Delta', 'echo'].map((e) => `${e}@example.com`);
    assert.deepEqual(emails(await list('?sort=email:asc')), byEmail);
    assert.deepEqual(emails(await list('?sort=email:desc')), [...byEmail].reverse());
    // Ties on label fall back to the id, in the order asked for; a contact without a label has none (null), which
    // PostgreSQL puts last ascending and first descending.
    assert.deepEqual(emails(await list('?sort=label:asc,id:desc')), [
      'bravo@example.com',
      'charlie@example.com',
      'Delta@example.com',
      'alpha@example.com',
      'echo@example.com',
    ]);
    assert.deepEqual(emails(await list('?sort=label:desc,email:asc')), [
      'echo@example.com',
      'alpha@example.com',
      'Delta@example.com',
      'bravo@example.com',
      'charlie@example.com',
    ]);
    assert.deepEqual(emails(await list('?sort=label')), emails(await list('?sort=label:asc')));
  });

  test('an unknown sort is a 400 with a message', async () => {
    for (const sort of ['name:asc', 'id:up', 'id:asc:desc']) {
      const res = await call('GET', `${base(t)}?sort=${sort}`, t);
      assert.equal(res.statusCode, 400);
      assert.deepEqual(json(res), { message: `Invalid sorting policy \`${sort}\`` });
    }
  });

  test('page and per_page', async () => {
    const p1 = await list('?per_page=2');
    const p3 = await list('?per_page=2&page=3');
    assert.deepEqual(p1.pagination, { current_page: 1, per_page: 2, total_entries: 5, total_pages: 3 });
    assert.deepEqual(p3.pagination, { current_page: 3, per_page: 2, total_entries: 5, total_pages: 3 });
    assert.equal(p3.data.length, 1);
    const past = await list('?per_page=2&page=9');
    assert.deepEqual(past.data, []);
    assert.equal(past.pagination.total_entries, 5);
    assert.equal((await list('?per_page=500')).pagination.per_page, 100);
    assert.equal((await list('?per_page=0&page=0')).pagination.per_page, 30);
    const res = await call('GET', `${base(t)}?per_page=many`, t);
    assert.equal(res.statusCode, 400);
    assert.deepEqual(json(res), { message: 'Validation failed', errors: { per_page: ['is not a number'] } });
  });

  test('an empty account', async () => {
    const empty = await createTestTenant(env);
    const res = await call('GET', base(empty), empty);
    assert.deepEqual(json(res), {
      data: [],
      pagination: { current_page: 1, per_page: 30, total_entries: 0, total_pages: 0 },
    });
  });
});

// ---- Authentication and tenancy -----------------------------------------------------------------------------

describe('authentication', () => {
  test('no token or a bad one: 401 {"message":"Authentication failed"}', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer ck_nope' },
      { authorization: 'Basic dXNlcjpwYXNz' },
    ]) {
      const res = await env.app.inject({ method: 'GET', url: base(a), headers });
      assert.equal(res.statusCode, 401);
      assert.deepEqual(json(res), { message: 'Authentication failed' });
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    }
  });

  test('a key without the scope: 403 naming it, nothing created', async () => {
    const readOnly = await keyFor(env, a.tenant, ['contacts:read']);
    const before = await count(env, 'contacts');
    const res = await env.app.inject({
      method: 'POST',
      url: base(a),
      headers: readOnly,
      payload: contactBody(),
    });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(json(res), { message: 'Permission Denied. Required Scope: contacts:write' });
    assert.equal(await count(env, 'contacts'), before);
    assert.equal((await env.app.inject({ method: 'GET', url: base(a), headers: readOnly })).statusCode, 200);
  });
});

describe('tenant isolation', () => {
  test("another account's id: 404 Account not found for every operation, nothing changed", async () => {
    const theirs = await create(b);
    const before = await count(env, 'contacts');
    const other = `/compat/dnsimple/v2/${b.tenant.number}/contacts`;
    for (const [method, url, payload] of [
      ['GET', other, undefined],
      ['POST', other, contactBody()],
      ['POST', other, {}],
      ['GET', `${other}/${theirs.id}`, undefined],
      ['PATCH', `${other}/${theirs.id}`, { first_name: 'Mallory' }],
      ['DELETE', `${other}/${theirs.id}`, undefined],
    ] as const) {
      const res = await call(method, url, a, payload);
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(json(res), { message: `Account \`${b.tenant.number}\` not found` });
    }
    for (const account of ['0', 'abc', `0${a.tenant.number}x`]) {
      const res = await call('GET', `/compat/dnsimple/v2/${account}/contacts`);
      assert.deepEqual(json(res), { message: `Account \`${account}\` not found` });
    }
    assert.equal(await count(env, 'contacts'), before);
    const still = json<{ data: Record<string, unknown> }>(await call('GET', `${other}/${theirs.id}`, b)).data;
    assert.deepEqual(still, theirs);
  });

  test("another tenant's contact id under one's own account: 404 Contact not found, nothing changed", async () => {
    const theirs = await create(b);
    for (const [method, payload] of [
      ['GET', undefined],
      ['PATCH', { first_name: 'Mallory' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(method, `${base(a)}/${theirs.id}`, a, payload);
      assert.equal(res.statusCode, 404);
      assert.deepEqual(json(res), { message: `Contact \`${theirs.id}\` not found` });
    }
    const list = json<{ data: { id: number }[] }>(await call('GET', `${base(a)}?per_page=100`)).data;
    assert.ok(!list.some((c) => c.id === theirs.id));
    const still = json<{ data: Record<string, unknown> }>(
      await call('GET', `${base(b)}/${theirs.id}`, b),
    ).data;
    assert.deepEqual(still, theirs);
  });

  test("a customer's contact is not an account contact: 404", async () => {
    const cust = json<{ id: string }>(
      await env.app.inject({ method: 'POST', url: '/v1/customers', headers: a.auth, payload: { name: 'K' } }),
    );
    const made = json<{ number: number; id: string }>(
      await env.app.inject({
        method: 'POST',
        url: '/v1/contacts',
        headers: a.auth,
        payload: { customer_id: cust.id, first_name: 'Cus', email: 'cus@example.com' },
      }),
    );
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await call(method, `${base(a)}/${made.number}`);
      assert.equal(res.statusCode, 404);
    }
    const still = await env.app.inject({ method: 'GET', url: `/v1/contacts/${made.id}`, headers: a.auth });
    assert.equal(json(still).deleted_at, null);
  });
});

describe('cross-dialect visibility', () => {
  test('a DNSimple contact is a native contact with customer_id null', async () => {
    const c = await create(a, { email: 'cross@example.com' });
    const n = await native('cross@example.com');
    assert.equal(n.customer_id, null);
    assert.equal(n.number, c.id);
    assert.equal(n.first_name, 'First');
    assert.equal(n.organization_name, 'Awesome Company');
    assert.equal(n.country, 'IT');
    const listed = await env.app.inject({ method: 'GET', url: '/v1/contacts?limit=200', headers: a.auth });
    assert.ok(json<{ data: { id: string }[] }>(listed).data.some((x) => x.id === n.id));
  });

  test('a native tenant contact is a DNSimple contact; its DNSimple delete is a native soft delete', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/contacts',
      headers: a.auth,
      payload: {
        first_name: 'Nat',
        last_name: 'Ive',
        email: 'native@example.com',
        phone: '+44 20 7946 0958',
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    const n = json<{ id: string; number: number }>(res);
    const got = json<{ data: Record<string, unknown> }>(await call('GET', `${base(a)}/${n.number}`)).data;
    assert.equal(got.first_name, 'Nat');
    assert.equal(got.phone, '+44.2079460958');
    assert.equal(got.address1, '');
    assert.equal(got.label, '');
    const list = json<{ data: { id: number }[] }>(await call('GET', `${base(a)}?per_page=100`)).data;
    assert.ok(list.some((c) => c.id === n.number));
    assert.equal((await call('DELETE', `${base(a)}/${n.number}`)).statusCode, 204);
    assert.equal((await call('GET', `${base(a)}/${n.number}`)).statusCode, 404);
    assert.notEqual((await native('native@example.com')).deleted_at, null);
  });
});

// ---- The published client, over TLS -------------------------------------------------------------------------

type ContactData = Parameters<DNSimple['contacts']['createContact']>[1];

describe('the dnsimple npm client', () => {
  let server: App;
  let client: DNSimple;
  let baseUrl: string;
  let tmp: string | undefined;
  let transport: 'tls' | 'http';
  const seen: string[] = [];

  function hasOpenssl(): boolean {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  // Without openssl, the client's pluggable fetcher calls the same app over plain HTTP on a real socket.
  const httpFetcher: Fetcher = async ({ method, url, headers, body, timeout }) => {
    const res = await fetch(url, {
      method,
      headers,
      body: body ?? null,
      signal: AbortSignal.timeout(timeout),
    });
    return { status: res.status, body: await res.text() };
  };

  before(async () => {
    let tls: { cert: Buffer; key: Buffer } | undefined;
    if (hasOpenssl()) {
      tmp = mkdtempSync(path.join(tmpdir(), 'dnsimple-tls-'));
      const [certPath, keyPath] = [path.join(tmp, 'cert.pem'), path.join(tmp, 'key.pem')];
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          keyPath,
          '-out',
          certPath,
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      tls = { cert: readFileSync(certPath), key: readFileSync(keyPath) };
      // The client's built-in fetcher calls https.request with no agent, i.e. https.globalAgent, whose options are
      // merged into every TLS connection it makes: trusting the throwaway CA there reaches the unmodified client.
      // (NODE_EXTRA_CA_CERTS is read once at process start, too late to set from a test.)
      https.globalAgent.options.ca = tls.cert;
    }
    transport = tls ? 'tls' : 'http';
    server = await buildApp({
      config: env.config,
      database: { db: env.db, sql: env.sql, appDb: env.appDb },
      https: tls,
      listen: false,
      logger: false,
    });
    server.addHook('onRequest', async (request) => {
      seen.push(`${request.method} ${request.url}`);
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.server.address() as { port: number };
    baseUrl = `${transport === 'tls' ? 'https' : 'http'}://127.0.0.1:${port}/compat/dnsimple`;
    client = new DNSimple({
      baseUrl,
      accessToken: a.token,
      ...(transport === 'http' ? { fetcher: httpFetcher } : {}),
    });
  });

  after(async () => {
    await server?.close();
    delete https.globalAgent.options.ca;
    https.globalAgent.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('runs over real TLS when openssl exists', (t) => {
    t.diagnostic(`transport: ${transport}`);
    assert.equal(transport, hasOpenssl() ? 'tls' : 'http');
  });

  test('createContact, getContact, updateContact, deleteContact', async () => {
    const account = a.tenant.number;
    const created = await client.contacts.createContact(account, {
      label: 'Client',
      first_name: 'Jane',
      last_name: 'Smith',
      email: 'jane.smith@example.com',
      phone: '+1.2025550143',
      address1: '111 SW 1st Street',
      city: 'Miami',
      state_province: 'FL',
      postal_code: '33130',
      country: 'US',
    });
    assert.equal(created.data.account_id, account);
    assert.equal(created.data.phone, '+1.2025550143');
    assert.equal(created.data.fax, '');
    const id = created.data.id;

    const got = await client.contacts.getContact(account, id);
    assert.deepEqual(got.data, created.data);

    const updated = await client.contacts.updateContact(account, id, {
      organization_name: 'Smith & Co',
      job_title: 'Owner',
    });
    assert.equal(updated.data.organization_name, 'Smith & Co');
    assert.equal(updated.data.first_name, 'Jane');

    assert.deepEqual(await client.contacts.deleteContact(account, id), {});
    await assert.rejects(client.contacts.getContact(account, id), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.deepEqual(err.data, { message: `Contact \`${id}\` not found` });
      return true;
    });
  });

  test('listContacts with sort and pages, and collectAll across pages', async () => {
    const t = await createTestTenant(env);
    const own = new DNSimple({
      baseUrl,
      accessToken: t.token,
      ...(transport === 'http' ? { fetcher: httpFetcher } : {}),
    });
    const made: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await own.contacts.createContact(
        t.tenant.number,
        contactBody({ email: `p${i}@example.com` }) as ContactData,
      );
      made.push(c.data.id);
    }
    const page2 = await own.contacts.listContacts(t.tenant.number, { sort: 'id:desc', per_page: 2, page: 2 });
    assert.deepEqual(
      page2.data.map((c) => c.id),
      [...made].reverse().slice(2, 4),
    );
    assert.deepEqual(page2.pagination, { current_page: 2, per_page: 2, total_entries: 5, total_pages: 3 });

    seen.length = 0;
    const all = await own.contacts.listContacts.collectAll(t.tenant.number, { per_page: 2 });
    assert.deepEqual(
      all.map((c) => c.id),
      made,
    );
    const pages = seen.filter((s) => s.startsWith(`GET /compat/dnsimple/v2/${t.tenant.number}/contacts?`));
    assert.equal(pages.length, 3, pages.join('\n'));
    const byEmail = await own.contacts.listContacts.collectAll(t.tenant.number, {
      sort: 'email:desc',
      per_page: 3,
    });
    assert.deepEqual(
      byEmail.map((c) => c.email),
      ['p4', 'p3', 'p2', 'p1', 'p0'].map((p) => `${p}@example.com`),
    );
  });

  test('a validation error surfaces as ClientError with attributeErrors()', async () => {
    await assert.rejects(
      client.contacts.createContact(a.tenant.number, { first_name: 'Only', email: 'nope' }),
      (err: unknown) => {
        assert.ok(err instanceof ClientError);
        assert.equal(err.status, 400);
        assert.equal(err.data.message, 'Validation failed');
        const errors = err.attributeErrors();
        assert.deepEqual(errors.email, ['is an invalid email address']);
        assert.deepEqual(errors.phone, ["can't be blank", 'is probably not a phone number']);
        assert.equal(errors.first_name, undefined);
        return true;
      },
    );
  });

  test('deleting a contact in use surfaces as ClientError with DNSimple message', async () => {
    const c = await client.contacts.createContact(
      a.tenant.number,
      contactBody({ email: 'inuse@example.com' }) as ContactData,
    );
    const uuid = (await native('inuse@example.com')).id;
    const cust = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: a.auth,
      payload: { name: 'Billing Co', billing_contact_id: uuid },
    });
    assert.equal(cust.statusCode, 201, cust.body);
    await assert.rejects(client.contacts.deleteContact(a.tenant.number, c.data.id), (err: unknown) => {
      assert.ok(err instanceof ClientError);
      assert.equal(err.status, 400);
      assert.deepEqual(err.data, { message: "The contact cannot be deleted because it's currently in use" });
      return true;
    });
    assert.equal((await client.contacts.getContact(a.tenant.number, c.data.id)).data.id, c.data.id);
  });

  test('a bad token and another account', async () => {
    const stranger = new DNSimple({
      baseUrl,
      accessToken: 'ck_invalid',
      ...(transport === 'http' ? { fetcher: httpFetcher } : {}),
    });
    await assert.rejects(stranger.contacts.listContacts(a.tenant.number), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError);
      assert.deepEqual(err.data, { message: 'Authentication failed' });
      return true;
    });
    await assert.rejects(client.contacts.listContacts(b.tenant.number), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.deepEqual(err.data, { message: `Account \`${b.tenant.number}\` not found` });
      return true;
    });
  });
});
