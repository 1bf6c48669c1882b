// The Fastly dialect, driven by the published fastly-js client (npm `fastly` 13) over a real socket, plus
// app.inject for what fastly-js cannot send (JSON bodies, the singular delete path, JSON:API, bad input).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApiClient, type ApiError, ContactApi } from 'fastly';
import {
  count,
  createCustomer,
  createTestTenant,
  json,
  setupTestEnv,
  type TestEnv,
  type TestTenant,
} from '../../../test/helpers.ts';
import { createApiKey } from '../../keys/keys.service.ts';

type Obj = Record<string, unknown> & { id: string };

const PREFIX = '/compat/fastly';
const SECONDS_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const MISSING_ID = '0190a5c0-0000-7000-8000-000000000000';
const FIELDS = [
  'contact_type',
  'created_at',
  'customer_id',
  'deleted_at',
  'email',
  'id',
  'name',
  'phone',
  'updated_at',
  'user_id',
];

let env: TestEnv;
let a: TestTenant;
let b: TestTenant;
let baseUrl: string;

before(async () => {
  env = await setupTestEnv();
  a = await createTestTenant(env);
  b = await createTestTenant(env);
  await env.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = env.app.server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}${PREFIX}`;
});
after(() => env.close());

/**
 * A fastly-js ContactApi aimed at this server. Its generated operations pass their own basePath
 * ('https://api.fastly.com') to ApiClient#buildUrl, which then ignores ApiClient#basePath: replace it on the
 * instance.
 */
interface Sent {
  contentType: unknown;
  fastlyKey: unknown;
  accept: unknown;
  body: unknown;
}

function fastly(token: string, sent: Sent[] = []): ContactApi {
  const client = new ApiClient();
  client.plugins = [
    (request) =>
      request.on('request', ({ req, _data }) =>
        sent.push({
          contentType: req.getHeader('content-type'),
          fastlyKey: req.getHeader('fastly-key'),
          accept: req.getHeader('accept'),
          body: _data,
        }),
      ),
  ];
  const build = ApiClient.prototype.buildUrl;
  client.buildUrl = (path, pathParams, allowReserved) =>
    build.call(client, path, pathParams, allowReserved, baseUrl);
  const api = new ContactApi(client);
  client.authenticate(token);
  return api;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    return err as ApiError;
  }
  assert.fail('expected the call to fail');
}

async function customer(tenant: TestTenant = a, name = 'Acme'): Promise<string> {
  return (await createCustomer(env, tenant, { name })).id;
}

async function nativeContact(customerId: string, payload: Record<string, unknown>, tenant: TestTenant = a) {
  const res = await env.app.inject({
    method: 'POST',
    url: `/v1/customers/${customerId}/contacts`,
    headers: tenant.auth,
    payload,
  });
  assert.equal(res.statusCode, 201, res.body);
  return json<Obj>(res);
}

async function nativeGet(id: string, tenant: TestTenant = a) {
  return env.app.inject({
    method: 'GET',
    url: `/v1/contacts/${id}?include_deleted=true`,
    headers: tenant.auth,
  });
}

function postJson(
  customerId: string,
  payload: unknown,
  token = a.token,
  headers: Record<string, string> = {},
) {
  return env.app.inject({
    method: 'POST',
    url: `${PREFIX}/customer/${customerId}/contacts`,
    headers: { 'fastly-key': token, 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(payload),
  });
}

describe('fastly-js ContactApi against the dialect', () => {
  test('createContacts sends a form and gets the contact back, timestamps as Dates', async () => {
    const customerId = await customer();
    const sent: Sent[] = [];
    const api = fastly(a.token, sent);
    const created = await api.createContacts({
      customer_id: customerId,
      contact_type: 'emergency',
      name: 'test contact',
      email: 'go-fastly-test+contact@example.com',
    });
    assert.deepEqual(sent, [
      {
        contentType: 'application/x-www-form-urlencoded',
        fastlyKey: a.token,
        accept: 'application/json',
        body: 'contact_type=emergency&name=test%20contact&email=go-fastly-test%2Bcontact%40example.com',
      },
    ]);
    assert.match(String(created.id), /^[0-9a-f-]{36}$/);
    assert.equal(created.customer_id, customerId);
    assert.equal(created.contact_type, 'emergency');
    assert.equal(created.name, 'test contact');
    assert.equal(created.email, 'go-fastly-test+contact@example.com');
    assert.equal(created.phone, null);
    assert.equal(created.user_id, null);
    assert.equal(created.deleted_at, null);
    assert.ok(created.created_at instanceof Date && !Number.isNaN(created.created_at.getTime()));
    assert.ok(created.updated_at instanceof Date);
    // The form reached the core as it was sent.
    const native = json<Obj>(await nativeGet(created.id as string));
    assert.equal(native.contact_type, 'emergency');
    assert.equal(native.customer_id, customerId);
  });

  test('"general compliance" (with its space) and a phone survive form encoding', async () => {
    const customerId = await customer();
    const created = await fastly(a.token).createContacts({
      customer_id: customerId,
      contact_type: 'general compliance',
      name: 'Ann & Bob',
      phone: '+44 20 7946 0958',
      customer_id2: customerId,
    });
    assert.equal(created.contact_type, 'general compliance');
    assert.equal(created.name, 'Ann & Bob');
    assert.equal(created.phone, '+44 20 7946 0958');
    assert.equal(json<Obj>(await nativeGet(created.id as string)).phone_e164, '+442079460958');
  });

  test('listContacts returns the customer’s live contacts, oldest first; deleteContact answers status ok', async () => {
    const customerId = await customer();
    const other = await customer();
    const api = fastly(a.token);
    const first = await api.createContacts({
      customer_id: customerId,
      contact_type: 'billing',
      email: 'billing@example.com',
    });
    const second = await api.createContacts({
      customer_id: customerId,
      contact_type: 'security',
      email: 'sec@example.com',
      phone: '+1 202 555 0175',
    });
    await api.createContacts({ customer_id: other, contact_type: 'billing', email: 'x@example.com' });

    const listed = await api.listContacts({ customer_id: customerId });
    assert.deepEqual(
      listed.map((c) => c.id),
      [first.id, second.id],
    );
    assert.equal(listed[1]?.phone, '+1 202 555 0175');
    assert.ok(listed[0]?.created_at instanceof Date);

    const deleted = await api.deleteContact({ customer_id: customerId, contact_id: first.id as string });
    assert.equal(deleted?.status, 'ok');
    assert.deepEqual(
      (await api.listContacts({ customer_id: customerId })).map((c) => c.id),
      [second.id],
    );
    // Soft delete: the core row is kept with deleted_at set.
    const native = json<Obj>(await nativeGet(first.id as string));
    assert.equal(typeof native.deleted_at, 'string');

    // Deleting it again is Fastly's recorded 404.
    const err = await rejection(
      api.deleteContact({ customer_id: customerId, contact_id: first.id as string }),
    );
    assert.equal(err.status, 404);
    assert.deepEqual(err.body, {
      msg: 'Record not found',
      detail: `Cannot find customercontact '${first.id}'`,
    });
  });

  test('an unknown or malformed customer is a 404 in Fastly’s shape for every operation', async () => {
    const api = fastly(a.token);
    for (const id of [MISSING_ID, 'not-a-uuid']) {
      const expected = { msg: 'Record not found', detail: `Cannot find customer '${id}'` };
      const list = await rejection(api.listContacts({ customer_id: id }));
      assert.equal(list.status, 404);
      assert.deepEqual(list.body, expected);
      const create = await rejection(
        api.createContacts({ customer_id: id, contact_type: 'billing', email: 'x@example.com' }),
      );
      assert.equal(create.status, 404);
      assert.deepEqual(create.body, expected);
      const del = await rejection(api.deleteContact({ customer_id: id, contact_id: MISSING_ID }));
      assert.equal(del.status, 404);
      assert.deepEqual(del.body, expected);
    }
  });

  test('an unknown or malformed contact id is a 404 naming the customercontact', async () => {
    const customerId = await customer();
    for (const id of [MISSING_ID, 'nope']) {
      const err = await rejection(fastly(a.token).deleteContact({ customer_id: customerId, contact_id: id }));
      assert.equal(err.status, 404);
      assert.deepEqual(err.body, { msg: 'Record not found', detail: `Cannot find customercontact '${id}'` });
    }
  });

  test('a missing, wrong or Bearer-only key is 401; a read-only key can list but not write (403)', async () => {
    const customerId = await customer();
    const bad = await rejection(fastly('ck_not_a_real_key').listContacts({ customer_id: customerId }));
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, { msg: 'Provided credentials are missing or invalid' });

    for (const headers of [{}, { authorization: `Bearer ${a.token}` }]) {
      const res = await env.app.inject({
        method: 'GET',
        url: `${PREFIX}/customer/${customerId}/contacts`,
        headers,
      });
      assert.equal(res.statusCode, 401);
      assert.deepEqual(json(res), { msg: 'Provided credentials are missing or invalid' });
    }

    const { token } = await createApiKey(env.db, a.tenant.id, { scopes: ['contacts:read'] });
    const reader = fastly(token);
    assert.ok(Array.isArray(await reader.listContacts({ customer_id: customerId })));
    const before = await count(env, 'contacts');
    const denied = await rejection(
      reader.createContacts({ customer_id: customerId, contact_type: 'billing', email: 'x@example.com' }),
    );
    assert.equal(denied.status, 403);
    assert.equal((denied.body as Obj).msg, 'Forbidden');
    assert.match(String((denied.body as Obj).detail), /contacts:write/);
    assert.equal(await count(env, 'contacts'), before);
  });
});

describe('create: JSON body and validation', () => {
  test('JSON body: 201 with every documented field, nulls present, second-precision ISO 8601', async () => {
    const customerId = await customer();
    const res = await postJson(customerId, {
      contact_type: 'technical',
      name: 'Tech Lead',
      email: 'tech@example.com',
      phone: '(202) 555-0175',
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = json<Obj>(res);
    assert.deepEqual(Object.keys(body).sort(), FIELDS);
    assert.equal(body.customer_id, customerId);
    assert.equal(body.phone, '(202) 555-0175');
    assert.equal(body.user_id, null);
    assert.equal(body.deleted_at, null);
    assert.match(String(body.created_at), SECONDS_ISO);
    assert.match(String(body.updated_at), SECONDS_ISO);
  });

  test('user_id with name and email: all three are stored and returned', async () => {
    const customerId = await customer();
    const created = await fastly(a.token).createContacts({
      customer_id: customerId,
      contact_type: 'billing',
      user_id: '2x3y4z5a6b7c8d9e0f1g2h',
      name: 'Test User',
      email: 'user@example.com',
    });
    assert.equal(created.user_id, '2x3y4z5a6b7c8d9e0f1g2h');
    assert.equal(created.name, 'Test User');
    assert.equal(created.email, 'user@example.com');
    const onlyUser = await postJson(customerId, { contact_type: 'billing', user_id: 'u-1' });
    assert.equal(onlyUser.statusCode, 201, onlyUser.body);
    assert.equal(json<Obj>(onlyUser).name, null);
  });

  const invalid: { name: string; payload: unknown; msg: string; detail: RegExp }[] = [
    {
      name: 'no contact_type',
      payload: { email: 'a@example.com' },
      msg: 'Missing contact_type',
      detail: /required/,
    },
    {
      name: 'contact_type outside the enum',
      payload: { contact_type: 'owner', email: 'a@example.com' },
      msg: 'Invalid contact_type',
      detail: /general compliance/,
    },
    {
      name: 'contact_type with an underscore for the space',
      payload: { contact_type: 'general_compliance', email: 'a@example.com' },
      msg: 'Invalid contact_type',
      detail: /must be one of/,
    },
    ...['primary', 'technical', 'security'].map((type) => ({
      name: `${type} without phone`,
      payload: { contact_type: type, email: 'a@example.com' },
      msg: 'Missing phone',
      detail: /required for primary, technical and security/,
    })),
    {
      name: 'primary with a blank phone',
      payload: { contact_type: 'primary', email: 'a@example.com', phone: '  ' },
      msg: 'Missing phone',
      detail: /required/,
    },
    {
      name: 'email syntax (the core’s check)',
      payload: { contact_type: 'billing', email: 'not-an-email' },
      msg: 'Invalid email',
      detail: /valid email/,
    },
    {
      name: 'phone that is not a number (the core’s check)',
      payload: { contact_type: 'primary', email: 'a@example.com', phone: 'call me' },
      msg: 'Invalid phone',
      detail: /phone/,
    },
    {
      name: 'nothing that identifies the contact',
      payload: { contact_type: 'billing' },
      msg: 'Missing name',
      detail: /user_id/,
    },
    {
      name: 'a field Fastly does not have',
      payload: { contact_type: 'billing', email: 'a@example.com', is_primary: true },
      msg: 'Invalid is_primary',
      detail: /not a known field/,
    },
    {
      name: 'a number where a string belongs',
      payload: { contact_type: 'billing', email: 'a@example.com', phone: 2025550175 },
      msg: 'Invalid phone',
      detail: /string/,
    },
    {
      name: 'name over the core’s bound',
      payload: { contact_type: 'billing', name: 'x'.repeat(201) },
      msg: 'Invalid name',
      detail: /at most 200/,
    },
    {
      name: 'customer_id in the body for another customer',
      payload: { contact_type: 'billing', email: 'a@example.com', customer_id: MISSING_ID },
      msg: 'Invalid customer_id',
      detail: /must match/,
    },
  ];

  for (const c of invalid) {
    test(`400 (JSON): ${c.name}; nothing written`, async () => {
      const customerId = await customer();
      const before = await count(env, 'contacts');
      const res = await postJson(customerId, c.payload);
      assert.equal(res.statusCode, 400, res.body);
      const body = json<Obj>(res);
      assert.equal(body.msg, c.msg);
      assert.match(String(body.detail), c.detail);
      assert.equal(await count(env, 'contacts'), before);
    });
  }

  test('400 through fastly-js too: enum, phone rule and email syntax on a form body', async () => {
    const customerId = await customer();
    const api = fastly(a.token);
    const cases: [Record<string, string>, string][] = [
      [{ contact_type: 'owner', email: 'a@example.com' }, 'Invalid contact_type'],
      [{ contact_type: 'security', email: 'a@example.com' }, 'Missing phone'],
      [{ contact_type: 'billing', email: 'a@@example' }, 'Invalid email'],
      [{ email: 'a@example.com' }, 'Missing contact_type'],
      [{ contact_type: 'billing', email: 'a@example.com', customer_id2: MISSING_ID }, 'Invalid customer_id'],
    ];
    for (const [fields, msg] of cases) {
      const err = await rejection(api.createContacts({ customer_id: customerId, ...fields }));
      assert.equal(err.status, 400, JSON.stringify(fields));
      assert.equal((err.body as Obj).msg, msg);
    }
    assert.deepEqual(await api.listContacts({ customer_id: customerId }), []);
  });

  test('form edge cases: repeated field, no body, malformed JSON, unsupported type', async () => {
    const customerId = await customer();
    const url = `${PREFIX}/customer/${customerId}/contacts`;
    const repeated = await env.app.inject({
      method: 'POST',
      url,
      headers: { 'fastly-key': a.token, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'contact_type=billing&contact_type=primary&email=a%40example.com',
    });
    assert.equal(repeated.statusCode, 400);
    assert.equal(json(repeated).msg, 'Invalid contact_type');

    const proto = await env.app.inject({
      method: 'POST',
      url,
      headers: { 'fastly-key': a.token, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'contact_type=billing&email=a%40example.com&__proto__=x',
    });
    assert.equal(proto.statusCode, 400);
    assert.equal(json(proto).msg, 'Invalid __proto__');

    const empty = await env.app.inject({ method: 'POST', url, headers: { 'fastly-key': a.token } });
    assert.equal(empty.statusCode, 400);
    assert.equal(json(empty).msg, 'Missing contact_type');

    const malformed = await env.app.inject({
      method: 'POST',
      url,
      headers: { 'fastly-key': a.token, 'content-type': 'application/json' },
      payload: '{"contact_type":',
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(json(malformed).msg, 'Bad request');

    for (const type of ['text/plain', 'application/merge-patch+json']) {
      const res = await env.app.inject({
        method: 'POST',
        url,
        headers: { 'fastly-key': a.token, 'content-type': type },
        payload: '{"contact_type":"billing","email":"a@example.com"}',
      });
      assert.equal(res.statusCode, 415, type);
      assert.equal(json(res).msg, 'Unsupported media type');
    }
    assert.equal((await fastly(a.token).listContacts({ customer_id: customerId })).length, 0);
  });
});

describe('delete', () => {
  test('the older singular path /customer/{id}/contact/{id} deletes too', async () => {
    const customerId = await customer();
    const created = await nativeContact(customerId, { contact_type: 'billing', email: 'a@example.com' });
    const res = await env.app.inject({
      method: 'DELETE',
      url: `${PREFIX}/customer/${customerId}/contact/${created.id}`,
      headers: { 'fastly-key': a.token },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { status: 'ok' });
    assert.equal(typeof json<Obj>(await nativeGet(created.id)).deleted_at, 'string');
    const again = await env.app.inject({
      method: 'DELETE',
      url: `${PREFIX}/customer/${customerId}/contact/${created.id}`,
      headers: { 'fastly-key': a.token },
    });
    assert.equal(again.statusCode, 404);
    assert.deepEqual(json(again), {
      msg: 'Record not found',
      detail: `Cannot find customercontact '${created.id}'`,
    });
  });

  test('a contact of another customer (same tenant) is not found through this customer', async () => {
    const mine = await customer();
    const theirs = await customer();
    const created = await nativeContact(theirs, { contact_type: 'billing', email: 'a@example.com' });
    const err = await rejection(fastly(a.token).deleteContact({ customer_id: mine, contact_id: created.id }));
    assert.equal(err.status, 404);
    assert.deepEqual(err.body, {
      msg: 'Record not found',
      detail: `Cannot find customercontact '${created.id}'`,
    });
    assert.equal(json<Obj>(await nativeGet(created.id)).deleted_at, null);
  });

  test('a designated contact of its customer is protected by the core: 409, still live', async () => {
    const customerId = await customer();
    const created = await nativeContact(customerId, { contact_type: 'billing', email: 'a@example.com' });
    const patch = await env.app.inject({
      method: 'PATCH',
      url: `/v1/customers/${customerId}`,
      headers: a.auth,
      payload: { billing_contact_id: created.id },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    const err = await rejection(
      fastly(a.token).deleteContact({ customer_id: customerId, contact_id: created.id }),
    );
    assert.equal(err.status, 409);
    assert.equal(typeof (err.body as Obj).msg, 'string');
    assert.match(String((err.body as Obj).detail), /designated/);
    assert.equal(json<Obj>(await nativeGet(created.id)).deleted_at, null);
  });
});

describe('JSON:API, as the real API answers go-fastly', () => {
  test('create, list and delete with application/vnd.api+json', async () => {
    const customerId = await customer();
    const headers = { 'fastly-key': a.token, accept: 'application/vnd.api+json' };
    const created = await env.app.inject({
      method: 'POST',
      url: `${PREFIX}/customer/${customerId}/contacts`,
      headers: { ...headers, 'content-type': 'application/vnd.api+json' },
      payload: JSON.stringify({
        data: {
          type: 'customer_contact',
          attributes: { contact_type: 'emergency', email: 'guard@example.com', name: 'guard contact' },
        },
      }),
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.match(String(created.headers['content-type']), /^application\/vnd\.api\+json/);
    const resource = json<{ data: Obj & { type: string; attributes: Obj } }>(created).data;
    assert.equal(resource.type, 'customer_contact');
    assert.deepEqual(resource.attributes, {
      created_at: resource.attributes.created_at,
      updated_at: resource.attributes.updated_at,
      deleted_at: null,
      contact_type: 'emergency',
      phone: null,
      name: 'guard contact',
      email: 'guard@example.com',
      user_id: null,
    });
    assert.match(String(resource.attributes.created_at), SECONDS_ISO);

    const list = await env.app.inject({
      method: 'GET',
      url: `${PREFIX}/customer/${customerId}/contacts`,
      headers,
    });
    assert.equal(list.statusCode, 200);
    assert.match(String(list.headers['content-type']), /^application\/vnd\.api\+json/);
    assert.deepEqual(json<{ data: Obj[] }>(list).data, [resource]);

    const bad = await env.app.inject({
      method: 'POST',
      url: `${PREFIX}/customer/${customerId}/contacts`,
      headers: { ...headers, 'content-type': 'application/vnd.api+json' },
      payload: JSON.stringify({
        data: { type: 'customer_contact', attributes: { contact_type: 'primary' } },
      }),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['content-type']), /^application\/json/);
    assert.equal(json(bad).msg, 'Missing phone');

    const del = await env.app.inject({
      method: 'DELETE',
      url: `${PREFIX}/customer/${customerId}/contacts/${resource.id}`,
      headers,
    });
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, '');
  });
});

describe('tenant isolation', () => {
  test('tenant B’s key reaches none of tenant A’s customers or contacts, and changes nothing', async () => {
    const customerA = await customer(a);
    const customerB = await customer(b);
    const contactA = await nativeContact(customerA, { contact_type: 'billing', email: 'a@example.com' });
    const apiB = fastly(b.token);
    const notFound = { msg: 'Record not found', detail: `Cannot find customer '${customerA}'` };

    const list = await rejection(apiB.listContacts({ customer_id: customerA }));
    assert.equal(list.status, 404);
    assert.deepEqual(list.body, notFound);

    const before = await count(env, 'contacts');
    const create = await rejection(
      apiB.createContacts({ customer_id: customerA, contact_type: 'billing', email: 'b@example.com' }),
    );
    assert.equal(create.status, 404);
    assert.deepEqual(create.body, notFound);
    assert.equal(await count(env, 'contacts'), before);

    const del = await rejection(apiB.deleteContact({ customer_id: customerA, contact_id: contactA.id }));
    assert.equal(del.status, 404);
    assert.deepEqual(del.body, notFound);
    const viaOwn = await rejection(apiB.deleteContact({ customer_id: customerB, contact_id: contactA.id }));
    assert.equal(viaOwn.status, 404);
    assert.deepEqual(viaOwn.body, {
      msg: 'Record not found',
      detail: `Cannot find customercontact '${contactA.id}'`,
    });
    const singular = await env.app.inject({
      method: 'DELETE',
      url: `${PREFIX}/customer/${customerB}/contact/${contactA.id}`,
      headers: { 'fastly-key': b.token },
    });
    assert.equal(singular.statusCode, 404);

    assert.equal(json<Obj>(await nativeGet(contactA.id)).deleted_at, null);
    assert.deepEqual(
      (await fastly(a.token).listContacts({ customer_id: customerA })).map((c) => c.id),
      [contactA.id],
    );
  });
});

describe('cross-dialect visibility', () => {
  test('a contact created through Fastly is in the native API, and a native one is in Fastly’s list', async () => {
    const customerId = await customer();
    const viaFastly = await fastly(a.token).createContacts({
      customer_id: customerId,
      contact_type: 'primary',
      name: 'Cloud Team',
      email: 'cloud@example.com',
      phone: '+1 202 555 0175',
      user_id: 'u-42',
    });
    const native = await env.app.inject({
      method: 'GET',
      url: `/v1/contacts?customer_id=${customerId}`,
      headers: a.auth,
    });
    assert.equal(native.statusCode, 200);
    const nativeRows = json<{ data: Obj[] }>(native).data;
    assert.equal(nativeRows.length, 1);
    assert.equal(nativeRows[0]?.id, viaFastly.id);
    assert.equal(nativeRows[0]?.contact_type, 'primary');
    assert.equal(nativeRows[0]?.name, 'Cloud Team');
    assert.equal(nativeRows[0]?.email, 'cloud@example.com');
    assert.equal(nativeRows[0]?.phone_e164, '+12025550175');
    assert.equal(nativeRows[0]?.user_id, 'u-42');

    const viaNative = await nativeContact(customerId, {
      first_name: 'Ann',
      last_name: 'Lee',
      email: 'ann@example.com',
      contact_type: 'general compliance',
    });
    const gone = await nativeContact(customerId, { name: 'Gone', contact_type: 'billing' });
    const del = await env.app.inject({ method: 'DELETE', url: `/v1/contacts/${gone.id}`, headers: a.auth });
    assert.equal(del.statusCode, 200, del.body);

    const listed = await fastly(a.token).listContacts({ customer_id: customerId });
    assert.deepEqual(
      listed.map((c) => c.id),
      [viaFastly.id, viaNative.id],
    );
    const ann = listed[1];
    assert.equal(ann?.contact_type, 'general compliance');
    assert.equal(ann?.email, 'ann@example.com');
    assert.equal(ann?.name, null);
    assert.equal(ann?.customer_id, customerId);
    assert.equal(ann?.created_at?.toISOString().slice(0, 19), String(viaNative.created_at).slice(0, 19));
  });
});

test('an unknown path under /compat/fastly answers in Fastly’s error shape', async () => {
  const res = await env.app.inject({
    method: 'GET',
    url: `${PREFIX}/customer/${MISSING_ID}/users`,
    headers: { 'fastly-key': a.token },
  });
  assert.equal(res.statusCode, 404);
  assert.equal(json(res).msg, 'Not found');
  assert.equal(typeof json(res).detail, 'string');
});
