import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  count,
  createCustomer,
  createTestTenant,
  json,
  keyFor,
  setupTestEnv,
  type TestEnv,
  type TestTenant,
} from '../../../test/helpers.ts';

type Obj = Record<string, unknown>;
interface Customer {
  id: string;
  number: number;
}
interface Contact {
  id: number;
  contact: string;
  type: string;
  default: boolean;
  orderBy: number;
  timestamp: string;
  handle?: string;
  note?: string;
}

let env: TestEnv;
let t: TestTenant;
let other: TestTenant;

const base = (tenant: TestTenant) => `/compat/ecwid/api/v3/${tenant.tenant.number}`;

async function customer(tenant: TestTenant = t): Promise<Customer> {
  return createCustomer<Customer>(env, tenant);
}

function contactsUrl(c: Customer, tenant: TestTenant = t): string {
  return `${base(tenant)}/customers/${c.number}/contacts`;
}

async function create(c: Customer, payload: unknown, tenant: TestTenant = t) {
  return env.app.inject({
    method: 'POST',
    url: contactsUrl(c, tenant),
    headers: tenant.auth,
    payload: payload as Obj,
  });
}

async function created(c: Customer, payload: Obj, tenant: TestTenant = t): Promise<number> {
  const res = await create(c, payload, tenant);
  assert.equal(res.statusCode, 200, res.body);
  const body = json<{ createCount: number; id: number }>(res);
  assert.equal(body.createCount, 1);
  assert.equal(typeof body.id, 'number');
  return body.id;
}

async function getOne(c: Customer, id: number, headers: Obj = t.auth) {
  return env.app.inject({ method: 'GET', url: `${contactsUrl(c)}/${id}`, headers: headers as never });
}

async function list(c: Customer, tenant: TestTenant = t): Promise<Contact[]> {
  const res = await env.app.inject({ method: 'GET', url: contactsUrl(c, tenant), headers: tenant.auth });
  assert.equal(res.statusCode, 200, res.body);
  return json<{ items: Contact[] }>(res).items;
}

function assertEcwidError(
  res: { statusCode: number; body: string; headers: Record<string, unknown> },
  status: number,
  code: string,
): string {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = json<{ errorMessage: string; errorCode: string }>(res);
  assert.deepEqual(Object.keys(body).sort(), ['errorCode', 'errorMessage']);
  assert.equal(body.errorCode, code);
  assert.equal(typeof body.errorMessage, 'string');
  return body.errorMessage;
}

before(async () => {
  env = await setupTestEnv();
  t = await createTestTenant(env);
  other = await createTestTenant(env);
});
after(() => env.close());

describe('operations', () => {
  test('create answers 200 { createCount: 1, id } and get returns the contact in Ecwid shape', async () => {
    const c = await customer();
    const id = await created(c, {
      contact: 'https://www.facebook.com/myshop_page',
      type: 'FACEBOOK',
      handle: 'myshop_page',
      note: 'main page',
      default: true,
      orderBy: 3,
    });
    const res = await getOne(c, id);
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Contact>(res);
    assert.equal(body.id, id);
    assert.equal(body.contact, 'https://www.facebook.com/myshop_page');
    assert.equal(body.type, 'FACEBOOK');
    assert.equal(body.handle, 'myshop_page');
    assert.equal(body.note, 'main page');
    assert.equal(body.default, true);
    assert.equal(body.orderBy, 3);
    assert.match(body.timestamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000$/);
    assert.deepEqual(Object.keys(body).sort(), [
      'contact',
      'default',
      'handle',
      'id',
      'note',
      'orderBy',
      'timestamp',
      'type',
    ]);
  });

  test('the seed example body creates a non-default contact; unset handle and note are left out', async () => {
    const c = await customer();
    const id = await created(c, {
      contact: 'additional_email@example.com',
      type: 'EMAIL',
      default: false,
      orderBy: 1,
    });
    const body = json<Contact>(await getOne(c, id));
    assert.deepEqual(Object.keys(body).sort(), ['contact', 'default', 'id', 'orderBy', 'timestamp', 'type']);
    assert.equal(body.default, false);
    assert.equal(body.orderBy, 1);
  });

  test('timestamp is the creation time in UTC, "yyyy-MM-dd HH:mm:ss +0000"', async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const native = await env.app.inject({
      method: 'GET',
      url: `/v1/customers/${c.id}/channels`,
      headers: t.auth,
    });
    const createdAt = new Date(String(json<{ data: Obj[] }>(native).data[0]?.created_at));
    const expected = `${createdAt.toISOString().slice(0, 10)} ${createdAt.toISOString().slice(11, 19)} +0000`;
    assert.equal(json<Contact>(await getOne(c, id)).timestamp, expected);
  });

  test('search answers { items } with every contact of the customer, by orderBy', async () => {
    const c = await customer();
    const a = await created(c, { contact: 'a@example.com', type: 'EMAIL', orderBy: 5 });
    const b = await created(c, { contact: '+1 202 555 0175', type: 'PHONE', orderBy: 0 });
    const u = await created(c, { contact: 'https://example.com', type: 'URL', orderBy: 2 });
    const res = await env.app.inject({ method: 'GET', url: contactsUrl(c), headers: t.auth });
    assert.equal(res.statusCode, 200);
    const body = json<{ items: Contact[] }>(res);
    assert.deepEqual(Object.keys(body), ['items']);
    assert.deepEqual(
      body.items.map((i) => i.id),
      [b, u, a],
    );
    assert.deepEqual(
      body.items.map((i) => i.orderBy),
      [0, 2, 5],
    );
  });

  test('search returns more than one core page (all contacts in one answer)', async () => {
    const c = await customer();
    const n = 205;
    for (let start = 0; start < n; start += 25) {
      const batch = [...Array(Math.min(25, n - start)).keys()].map((i) =>
        created(c, { contact: `x${start + i}`, type: 'OTHER', orderBy: start + i }),
      );
      await Promise.all(batch);
    }
    const items = await list(c);
    assert.equal(items.length, n);
    assert.deepEqual(
      items.map((i) => i.orderBy),
      [...Array(n).keys()],
    );
  });

  test('search of a customer without contacts answers { items: [] }', async () => {
    const c = await customer();
    assert.deepEqual(await list(c), []);
  });

  test('PUT changes only the fields sent and answers { updateCount: 1 }', async () => {
    const c = await customer();
    const id = await created(c, {
      contact: 'old@example.com',
      type: 'EMAIL',
      handle: 'h',
      note: 'n',
      orderBy: 4,
    });
    const res = await env.app.inject({
      method: 'PUT',
      url: `${contactsUrl(c)}/${id}`,
      headers: { ...t.auth, 'cache-control': 'no-cache' },
      payload: { contact: 'new@example.com' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { updateCount: 1 });
    const body = json<Contact>(await getOne(c, id));
    assert.equal(body.contact, 'new@example.com');
    assert.equal(body.handle, 'h');
    assert.equal(body.note, 'n');
    assert.equal(body.orderBy, 4);
    assert.equal(body.type, 'EMAIL');
  });

  test('PUT can change every writable field; null clears handle and note', async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL', handle: 'h', note: 'n' });
    const res = await env.app.inject({
      method: 'PUT',
      url: `${contactsUrl(c)}/${id}`,
      headers: t.auth,
      payload: { contact: '@shop', type: 'TELEGRAM', handle: null, note: null, default: true, orderBy: 9 },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Contact>(await getOne(c, id));
    assert.deepEqual(
      { ...body, timestamp: undefined },
      { id, contact: '@shop', type: 'TELEGRAM', default: true, orderBy: 9, timestamp: undefined },
    );
  });

  test('PUT with an object read from the API (id, timestamp included) is accepted; those two are ignored', async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const read = json<Contact>(await getOne(c, id));
    const res = await env.app.inject({
      method: 'PUT',
      url: `${contactsUrl(c)}/${id}`,
      headers: t.auth,
      payload: { ...read, id: 1, timestamp: '2001-01-01 00:00:00 +0000', note: 'seen' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const after = json<Contact>(await getOne(c, id));
    assert.equal(after.id, id);
    assert.equal(after.timestamp, read.timestamp);
    assert.equal(after.note, 'seen');
  });

  test('PUT with nothing to change answers { updateCount: 1 } and writes nothing', async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const events = await count(env, 'events');
    const res = await env.app.inject({
      method: 'PUT',
      url: `${contactsUrl(c)}/${id}`,
      headers: t.auth,
      payload: {},
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { updateCount: 1 });
    assert.equal(await count(env, 'events'), events);
  });

  test('DELETE answers { deleteCount: 1 }; the contact is then not found', async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const url = `${contactsUrl(c)}/${id}`;
    const res = await env.app.inject({ method: 'DELETE', url, headers: t.auth });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { deleteCount: 1 });
    assertEcwidError(await getOne(c, id), 404, 'CUSTOMER_CONTACT_NOT_FOUND');
    assertEcwidError(
      await env.app.inject({ method: 'DELETE', url, headers: t.auth }),
      404,
      'CUSTOMER_CONTACT_NOT_FOUND',
    );
    assert.deepEqual(await list(c), []);
  });
  test('DELETE with Content-Type: application/json and no body (as Ecwid examples send) works', async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const res = await env.app.inject({
      method: 'DELETE',
      url: `${contactsUrl(c)}/${id}`,
      headers: { ...t.auth, 'content-type': 'application/json;charset=utf-8' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { deleteCount: 1 });
  });
});

describe('validation (400 WRONG_PARAMETER, nothing written)', () => {
  const cases: [string, unknown, RegExp][] = [
    ['missing contact', { type: 'EMAIL' }, /contact/],
    ['missing type', { contact: 'a@example.com' }, /type/],
    ['empty body object', {}, /contact/],
    ['unknown type', { contact: 'x', type: 'FAX' }, /type/],
    ['lower-case type', { contact: 'a@example.com', type: 'email' }, /type/],
    ['contact not a string', { contact: 42, type: 'OTHER' }, /contact/],
    ['empty contact', { contact: '', type: 'OTHER' }, /contact/],
    ['contact too long', { contact: 'x'.repeat(501), type: 'OTHER' }, /contact/],
    ['default not a boolean', { contact: 'x', type: 'OTHER', default: 'true' }, /default/],
    ['orderBy as a string', { contact: 'x', type: 'OTHER', orderBy: '1' }, /orderBy/],
    ['orderBy as a boolean (as documented)', { contact: 'x', type: 'OTHER', orderBy: true }, /orderBy/],
    ['negative orderBy', { contact: 'x', type: 'OTHER', orderBy: -1 }, /orderBy/],
    ['fractional orderBy', { contact: 'x', type: 'OTHER', orderBy: 1.5 }, /orderBy/],
    ['handle not a string', { contact: 'x', type: 'OTHER', handle: 5 }, /handle/],
    ['note too long', { contact: 'x', type: 'OTHER', note: 'n'.repeat(1001) }, /note/],
    ['unknown field', { contact: 'x', type: 'OTHER', value: 'y' }, /value/],
    ['array body', [{ contact: 'x', type: 'OTHER' }], /./],
    ['invalid EMAIL (core rule)', { contact: 'not-an-email', type: 'EMAIL' }, /^contact .*email/],
    ['invalid PHONE (core rule)', { contact: 'call me maybe', type: 'PHONE' }, /^contact .*phone/],
    ['invalid URL (core rule)', { contact: 'example.com', type: 'URL' }, /^contact .*URL/],
  ];
  for (const [name, payload, message] of cases) {
    test(`create: ${name}`, async () => {
      const c = await customer();
      const before = await count(env, 'channels');
      const res = await create(c, payload);
      assert.match(assertEcwidError(res, 400, 'WRONG_PARAMETER'), message);
      assert.equal(await count(env, 'channels'), before);
    });
  }

  test('malformed JSON', async () => {
    const c = await customer();
    const res = await env.app.inject({
      method: 'POST',
      url: contactsUrl(c),
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: '{"contact": "a@example.com", ',
    });
    assertEcwidError(res, 400, 'WRONG_PARAMETER');
  });

  test('an empty body with a JSON Content-Type', async () => {
    const c = await customer();
    const res = await env.app.inject({
      method: 'POST',
      url: contactsUrl(c),
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: '',
    });
    assertEcwidError(res, 400, 'WRONG_PARAMETER');
  });

  test('no body at all (the seed page shows the request without one)', async () => {
    const c = await customer();
    const res = await env.app.inject({ method: 'POST', url: contactsUrl(c), headers: t.auth });
    assertEcwidError(res, 400, 'WRONG_PARAMETER');
  });

  test('a Content-Type other than JSON → 415', async () => {
    const c = await customer();
    const res = await env.app.inject({
      method: 'POST',
      url: contactsUrl(c),
      headers: { ...t.auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'contact=a%40example.com&type=EMAIL',
    });
    assertEcwidError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    assert.deepEqual(await list(c), []);
  });

  const updates: [string, Obj, RegExp][] = [
    ['invalid email', { contact: 'nope' }, /^contact .*email/],
    ['type change the existing value does not fit', { type: 'PHONE' }, /^contact .*phone/],
    ['unknown type', { type: 'FAX' }, /type/],
    ['contact null', { contact: null }, /contact/],
    ['default null', { default: null }, /default/],
    ['orderBy string', { orderBy: '2' }, /orderBy/],
    ['unknown field', { is_default: true }, /is_default/],
  ];
  for (const [name, payload, message] of updates) {
    test(`PUT: ${name}`, async () => {
      const c = await customer();
      const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
      const before = json<Contact>(await getOne(c, id));
      const res = await env.app.inject({
        method: 'PUT',
        url: `${contactsUrl(c)}/${id}`,
        headers: t.auth,
        payload,
      });
      assert.match(assertEcwidError(res, 400, 'WRONG_PARAMETER'), message);
      assert.deepEqual(json<Contact>(await getOne(c, id)), before);
    });
  }
});

describe('default contact: one per type per customer', () => {
  test('a new default EMAIL clears the previous default EMAIL; other types keep theirs', async () => {
    const c = await customer();
    const first = await created(c, { contact: 'first@example.com', type: 'EMAIL', default: true });
    const phone = await created(c, { contact: '+1 202 555 0175', type: 'PHONE', default: true });
    const second = await created(c, { contact: 'second@example.com', type: 'EMAIL', default: true });
    const byId = new Map((await list(c)).map((i) => [i.id, i.default]));
    assert.equal(byId.get(first), false);
    assert.equal(byId.get(second), true);
    assert.equal(byId.get(phone), true);
  });

  test('PUT default=true moves the default back; the other customer is unaffected', async () => {
    const c = await customer();
    const d = await customer();
    const first = await created(c, { contact: 'first@example.com', type: 'EMAIL', default: true });
    const second = await created(c, { contact: 'second@example.com', type: 'EMAIL', default: true });
    const elsewhere = await created(d, { contact: 'x@example.com', type: 'EMAIL', default: true });
    const res = await env.app.inject({
      method: 'PUT',
      url: `${contactsUrl(c)}/${first}`,
      headers: t.auth,
      payload: { default: true },
    });
    assert.equal(res.statusCode, 200, res.body);
    const byId = new Map((await list(c)).map((i) => [i.id, i.default]));
    assert.equal(byId.get(first), true);
    assert.equal(byId.get(second), false);
    assert.equal(json<Contact>(await getOne(d, elsewhere)).default, true);
  });

  test('default=false leaves the existing default alone', async () => {
    const c = await customer();
    const first = await created(c, { contact: 'first@example.com', type: 'EMAIL', default: true });
    await created(c, { contact: 'second@example.com', type: 'EMAIL', default: false });
    assert.equal(json<Contact>(await getOne(c, first)).default, true);
  });
});

describe('orderBy', () => {
  test('without orderBy a new contact goes last (0, 1, 2…)', async () => {
    const c = await customer();
    const a = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const b = await created(c, { contact: 'b@example.com', type: 'EMAIL' });
    const u = await created(c, { contact: 'https://example.com', type: 'URL' });
    const items = await list(c);
    assert.deepEqual(
      items.map((i) => [i.id, i.orderBy]),
      [
        [a, 0],
        [b, 1],
        [u, 2],
      ],
    );
  });

  test('PUT orderBy reorders the search result', async () => {
    const c = await customer();
    const a = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const b = await created(c, { contact: 'b@example.com', type: 'EMAIL' });
    const res = await env.app.inject({
      method: 'PUT',
      url: `${contactsUrl(c)}/${a}`,
      headers: t.auth,
      payload: { orderBy: 10 },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      (await list(c)).map((i) => i.id),
      [b, a],
    );
  });
});

describe('authentication and scopes', () => {
  test('no token, an unknown token, or a token in the query string → 403 INVALID_API_TOKEN', async () => {
    const c = await customer();
    for (const headers of [{}, { authorization: 'Bearer ck_nope' }, { authorization: 'Basic abc' }]) {
      const res = await env.app.inject({ method: 'GET', url: contactsUrl(c), headers });
      assertEcwidError(res, 403, 'INVALID_API_TOKEN');
    }
    const token = t.auth.authorization.slice('Bearer '.length);
    const res = await env.app.inject({ method: 'GET', url: `${contactsUrl(c)}?token=${token}` });
    assertEcwidError(res, 403, 'INVALID_API_TOKEN');
  });

  test('an unauthenticated write is refused before its body is read', async () => {
    const c = await customer();
    const res = await env.app.inject({
      method: 'POST',
      url: contactsUrl(c),
      payload: { contact: 'a@example.com', type: 'EMAIL' },
    });
    assertEcwidError(res, 403, 'INVALID_API_TOKEN');
    assert.deepEqual(await list(c), []);
  });

  test('read_customers (contacts:read) reads but cannot write: 403 INSUFFICIENT_APP_SCOPE', async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const readOnly = await keyFor(env, t.tenant, ['contacts:read']);
    assert.equal((await getOne(c, id, readOnly)).statusCode, 200);
    const search = await env.app.inject({ method: 'GET', url: contactsUrl(c), headers: readOnly });
    assert.equal(search.statusCode, 200);
    const writes = [
      { method: 'POST' as const, url: contactsUrl(c), payload: { contact: 'b@example.com', type: 'EMAIL' } },
      { method: 'PUT' as const, url: `${contactsUrl(c)}/${id}`, payload: { note: 'x' } },
      { method: 'DELETE' as const, url: `${contactsUrl(c)}/${id}` },
    ];
    const scopes = ['create_customers', 'update_customers', 'update_customers'];
    for (const [i, w] of writes.entries()) {
      const res = await env.app.inject({ ...w, headers: readOnly });
      assert.match(assertEcwidError(res, 403, 'INSUFFICIENT_APP_SCOPE'), new RegExp(String(scopes[i])));
    }
    const items = await list(c);
    assert.equal(items.length, 1);
    assert.equal(items[0]?.note, undefined);
  });

  test('a write-only key cannot read; a customers-only key can do neither', async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const writeOnly = await keyFor(env, t.tenant, ['contacts:write']);
    assert.match(
      assertEcwidError(await getOne(c, id, writeOnly), 403, 'INSUFFICIENT_APP_SCOPE'),
      /read_customers/,
    );
    const put = await env.app.inject({
      method: 'PUT',
      url: `${contactsUrl(c)}/${id}`,
      headers: writeOnly,
      payload: { note: 'w' },
    });
    assert.equal(put.statusCode, 200, put.body);
    const customersOnly = await keyFor(env, t.tenant, ['customers:read', 'customers:write']);
    assertEcwidError(await getOne(c, id, customersOnly), 403, 'INSUFFICIENT_APP_SCOPE');
    const res = await create(c, { contact: 'b@example.com', type: 'EMAIL' }, { ...t, auth: customersOnly });
    assertEcwidError(res, 403, 'INSUFFICIENT_APP_SCOPE');
  });

  test('an admin key can do everything', async () => {
    const c = await customer();
    const admin = await keyFor(env, t.tenant, ['admin']);
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' }, { ...t, auth: admin });
    assert.equal((await getOne(c, id, admin)).statusCode, 200);
  });
});

describe('tenant isolation and not found', () => {
  test("another tenant's store id → 404 STORE_NOT_FOUND on every operation, nothing changed", async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const url = contactsUrl(c);
    const calls = [
      { method: 'GET' as const, url },
      { method: 'POST' as const, url, payload: { contact: 'b@example.com', type: 'EMAIL' } },
      { method: 'GET' as const, url: `${url}/${id}` },
      { method: 'PUT' as const, url: `${url}/${id}`, payload: { contact: 'evil@example.com' } },
      { method: 'DELETE' as const, url: `${url}/${id}` },
    ];
    for (const call of calls) {
      const res = await env.app.inject({ ...call, headers: other.auth });
      assertEcwidError(res, 404, 'STORE_NOT_FOUND');
    }
    const items = await list(c);
    assert.deepEqual(
      items.map((i) => [i.id, i.contact]),
      [[id, 'a@example.com']],
    );
  });

  test("another tenant's customer number under your own store id → 404 CUSTOMER_NOT_FOUND", async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const url = `${base(other)}/customers/${c.number}/contacts`;
    const calls = [
      { method: 'GET' as const, url },
      { method: 'POST' as const, url, payload: { contact: 'b@example.com', type: 'EMAIL' } },
      { method: 'GET' as const, url: `${url}/${id}` },
      { method: 'PUT' as const, url: `${url}/${id}`, payload: { contact: 'evil@example.com' } },
      { method: 'DELETE' as const, url: `${url}/${id}` },
    ];
    for (const call of calls) {
      const res = await env.app.inject({ ...call, headers: other.auth });
      assertEcwidError(res, 404, 'CUSTOMER_NOT_FOUND');
    }
    assert.equal((await list(c)).length, 1);
  });

  test("another tenant's contact id under your own customer → 404 CUSTOMER_CONTACT_NOT_FOUND", async () => {
    const c = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const mine = await customer(other);
    const url = `${contactsUrl(mine, other)}/${id}`;
    for (const call of [
      { method: 'GET' as const, url },
      { method: 'PUT' as const, url, payload: { contact: 'evil@example.com' } },
      { method: 'DELETE' as const, url },
    ]) {
      const res = await env.app.inject({ ...call, headers: other.auth });
      assertEcwidError(res, 404, 'CUSTOMER_CONTACT_NOT_FOUND');
    }
    assert.equal(json<Contact>(await getOne(c, id)).contact, 'a@example.com');
  });

  test('a contact of another customer of the same store → 404 CUSTOMER_CONTACT_NOT_FOUND', async () => {
    const c = await customer();
    const d = await customer();
    const id = await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    assertEcwidError(await getOne(d, id), 404, 'CUSTOMER_CONTACT_NOT_FOUND');
    const del = await env.app.inject({ method: 'DELETE', url: `${contactsUrl(d)}/${id}`, headers: t.auth });
    assertEcwidError(del, 404, 'CUSTOMER_CONTACT_NOT_FOUND');
    assert.equal((await getOne(c, id)).statusCode, 200);
  });

  test('unknown or malformed ids → the 404 of the id at fault', async () => {
    const c = await customer();
    const store = t.tenant.number;
    const cases: [string, string][] = [
      [`/compat/ecwid/api/v3/999999999/customers/${c.number}/contacts`, 'STORE_NOT_FOUND'],
      [`/compat/ecwid/api/v3/abc/customers/${c.number}/contacts`, 'STORE_NOT_FOUND'],
      [`/compat/ecwid/api/v3/0/customers/${c.number}/contacts`, 'STORE_NOT_FOUND'],
      [`/compat/ecwid/api/v3/${store}/customers/999999999/contacts`, 'CUSTOMER_NOT_FOUND'],
      [`/compat/ecwid/api/v3/${store}/customers/${c.id}/contacts`, 'CUSTOMER_NOT_FOUND'],
      [`/compat/ecwid/api/v3/${store}/customers/99999999999999999999/contacts`, 'CUSTOMER_NOT_FOUND'],
      [`${contactsUrl(c)}/999999999`, 'CUSTOMER_CONTACT_NOT_FOUND'],
      [`${contactsUrl(c)}/1.5`, 'CUSTOMER_CONTACT_NOT_FOUND'],
      [`${contactsUrl(c)}/99999999999999999999`, 'CUSTOMER_CONTACT_NOT_FOUND'],
    ];
    for (const [url, code] of cases) {
      assertEcwidError(await env.app.inject({ method: 'GET', url, headers: t.auth }), 404, code);
    }
  });

  test('a soft-deleted customer → 404 CUSTOMER_NOT_FOUND', async () => {
    const c = await customer();
    await created(c, { contact: 'a@example.com', type: 'EMAIL' });
    const del = await env.app.inject({ method: 'DELETE', url: `/v1/customers/${c.id}`, headers: t.auth });
    assert.ok(del.statusCode < 300, del.body);
    const res = await env.app.inject({ method: 'GET', url: contactsUrl(c), headers: t.auth });
    assertEcwidError(res, 404, 'CUSTOMER_NOT_FOUND');
  });
});

describe('unknown paths and methods', () => {
  test('a known path with another method → 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const c = await customer();
    const res = await env.app.inject({
      method: 'PATCH',
      url: `${contactsUrl(c)}/1`,
      headers: t.auth,
      payload: {},
    });
    assertEcwidError(res, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.allow, 'GET, PUT, DELETE');
    const onList = await env.app.inject({ method: 'DELETE', url: contactsUrl(c), headers: t.auth });
    assertEcwidError(onList, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(onList.headers.allow, 'GET, POST');
  });

  test('an unknown path under the prefix → 404 in Ecwid shape', async () => {
    const res = await env.app.inject({
      method: 'GET',
      url: `${base(t)}/profile`,
      headers: t.auth,
    });
    assertEcwidError(res, 404, 'NOT_FOUND');
  });
});

describe('cross-dialect visibility', () => {
  test('a contact created through Ecwid is a channel in the native API', async () => {
    const c = await customer();
    const id = await created(c, {
      contact: 'ecwid@example.com',
      type: 'EMAIL',
      handle: 'h',
      note: 'n',
      default: true,
      orderBy: 2,
    });
    const res = await env.app.inject({
      method: 'GET',
      url: `/v1/customers/${c.id}/channels`,
      headers: t.auth,
    });
    assert.equal(res.statusCode, 200, res.body);
    const data = json<{ data: Obj[] }>(res).data;
    assert.equal(data.length, 1);
    assert.equal(data[0]?.number, id);
    assert.equal(data[0]?.value, 'ecwid@example.com');
    assert.equal(data[0]?.type, 'EMAIL');
    assert.equal(data[0]?.handle, 'h');
    assert.equal(data[0]?.note, 'n');
    assert.equal(data[0]?.is_default, true);
    assert.equal(data[0]?.position, 2);
  });

  test('a channel created natively appears in the Ecwid search, and its default rule is shared', async () => {
    const c = await customer();
    const ecwid = await created(c, { contact: 'ecwid@example.com', type: 'EMAIL', default: true });
    const res = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/channels`,
      headers: t.auth,
      payload: { type: 'EMAIL', value: 'native@example.com', is_default: true, note: 'native' },
    });
    assert.equal(res.statusCode, 201, res.body);
    const native = json<{ number: number }>(res);
    const items = await list(c);
    const found = items.find((i) => i.id === native.number);
    assert.ok(found);
    assert.equal(found.contact, 'native@example.com');
    assert.equal(found.note, 'native');
    assert.equal(found.default, true);
    assert.equal(items.find((i) => i.id === ecwid)?.default, false);
  });
});
