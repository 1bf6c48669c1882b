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

type Obj = Record<string, unknown> & { id: string };
interface Issue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}
interface List {
  items: Obj[];
  next_cursor: string | null;
  has_more: boolean;
  total_count?: number;
}

const BASE = '/compat/dayzero/api/v1';
const FIELDS = [
  'created_at',
  'email',
  'entity_id',
  'entity_type',
  'id',
  'is_primary',
  'name',
  'notes',
  'phone',
  'role',
  'updated_at',
];

let env: TestEnv;
let a: TestTenant;
let b: TestTenant;

function headers(tenant: TestTenant, extra: Record<string, string> = {}) {
  return { ...tenant.auth, 'x-business-id': tenant.tenant.id, ...extra };
}

async function dz(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH',
  path: string,
  options: {
    tenant?: TestTenant;
    headers?: Record<string, string>;
    payload?: unknown;
    query?: Record<string, string>;
  } = {},
) {
  const tenant = options.tenant ?? a;
  return env.app.inject({
    method,
    url: `${BASE}${path}`,
    headers: options.headers ?? headers(tenant),
    ...(options.payload !== undefined ? { payload: options.payload as Record<string, unknown> } : {}),
    ...(options.query ? { query: options.query } : {}),
  });
}

async function customer(tenant: TestTenant = a, name = 'Acme'): Promise<Obj> {
  return createCustomer(env, tenant, { name });
}

async function created(
  customerId: string,
  payload: Record<string, unknown>,
  tenant: TestTenant = a,
): Promise<Obj> {
  const res = await dz('POST', `/customers/${customerId}/contacts`, { tenant, payload });
  assert.equal(res.statusCode, 201, res.body);
  return json<Obj>(res);
}

function detail(res: { statusCode: number; body: string }, status = 422): Issue[] {
  assert.equal(res.statusCode, status, res.body);
  return json<{ detail: Issue[] }>(res).detail;
}

before(async () => {
  env = await setupTestEnv();
  a = await createTestTenant(env);
  b = await createTestTenant(env);
});
after(() => env.close());

describe('create', () => {
  test('201 with the bare EntityContactResponse (not a SuccessEnvelope)', async () => {
    const c = await customer();
    const res = await dz('POST', `/customers/${c.id}/contacts`, {
      payload: {
        name: 'Jane Smith',
        email: 'jane@acme.example.com',
        phone: '+1 202 555 0175',
        role: 'Accounts Payable',
        is_primary: true,
        notes: 'prefers email',
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = json<Obj>(res);
    assert.deepEqual(Object.keys(body).sort(), FIELDS);
    assert.equal(body.entity_type, 'customer');
    assert.equal(body.entity_id, c.id);
    assert.equal(body.name, 'Jane Smith');
    assert.equal(body.email, 'jane@acme.example.com');
    assert.equal(body.phone, '+1 202 555 0175');
    assert.equal(body.role, 'Accounts Payable');
    assert.equal(body.is_primary, true);
    assert.equal(body.notes, 'prefers email');
    assert.ok(!Number.isNaN(Date.parse(String(body.created_at))));
    assert.ok(!Number.isNaN(Date.parse(String(body.updated_at))));
  });

  test('only name is required; the optional fields come back null and is_primary false', async () => {
    const c = await customer();
    const body = await created(c.id, { name: 'Bo' });
    assert.deepEqual(
      {
        email: body.email,
        phone: body.phone,
        role: body.role,
        notes: body.notes,
        is_primary: body.is_primary,
      },
      { email: null, phone: null, role: null, notes: null, is_primary: false },
    );
  });

  test('unknown fields are ignored, as pydantic does by default', async () => {
    const c = await customer();
    const body = await created(c.id, {
      name: 'Cy',
      id: 'x',
      entity_type: 'vendor',
      website: 'https://x.example',
    });
    assert.deepEqual(Object.keys(body).sort(), FIELDS);
    assert.equal(body.entity_type, 'customer');
    assert.notEqual(body.id, 'x');
  });

  test("is_primary is read as pydantic's lax bool", async () => {
    const c = await customer();
    assert.equal((await created(c.id, { name: 'Di', is_primary: 'yes' })).is_primary, true);
    assert.equal((await created(c.id, { name: 'Ed', is_primary: 0 })).is_primary, false);
  });

  test('a new primary demotes the previous one', async () => {
    const c = await customer();
    const first = await created(c.id, { name: 'First', is_primary: true });
    await created(c.id, { name: 'Second', is_primary: true });
    const res = await dz('GET', `/customers/${c.id}/contacts/${first.id}`);
    assert.equal(json<Obj>(res).is_primary, false);
  });

  test('unknown customer, another tenant’s customer and a non-UUID id → 404 Customer not found', async () => {
    const other = await customer(b);
    for (const id of ['0190a0a0-0000-7000-8000-000000000000', other.id, 'not-a-uuid']) {
      const before = await count(env, 'contacts');
      const res = await dz('POST', `/customers/${id}/contacts`, { payload: { name: 'X' } });
      assert.equal(res.statusCode, 404, res.body);
      assert.deepEqual(json(res), { detail: 'Customer not found' });
      assert.equal(await count(env, 'contacts'), before);
    }
  });
});

describe('create validation: FastAPI 422 bodies with pydantic v2 types and messages', () => {
  let customerId: string;
  before(async () => {
    customerId = (await customer()).id;
  });

  const cases: [string, unknown, Issue[]][] = [
    [
      'name missing',
      { email: 'a@b.example' },
      [{ type: 'missing', loc: ['body', 'name'], msg: 'Field required', input: { email: 'a@b.example' } }],
    ],
    [
      'name not a string',
      { name: 123 },
      [{ type: 'string_type', loc: ['body', 'name'], msg: 'Input should be a valid string', input: 123 }],
    ],
    [
      'name null',
      { name: null },
      [{ type: 'string_type', loc: ['body', 'name'], msg: 'Input should be a valid string', input: null }],
    ],
    [
      'name too long',
      { name: 'x'.repeat(201) },
      [
        {
          type: 'string_too_long',
          loc: ['body', 'name'],
          msg: 'String should have at most 200 characters',
          input: 'x'.repeat(201),
          ctx: { max_length: 200 },
        },
      ],
    ],
    [
      'email without @',
      { name: 'A', email: 'nope' },
      [
        {
          type: 'value_error',
          loc: ['body', 'email'],
          msg: 'value is not a valid email address: An email address must have an @-sign.',
          input: 'nope',
          ctx: { reason: 'An email address must have an @-sign.' },
        },
      ],
    ],
    [
      'email without a dot in the domain',
      { name: 'A', email: 'a@b' },
      [
        {
          type: 'value_error',
          loc: ['body', 'email'],
          msg: 'value is not a valid email address: The part after the @-sign is not valid. It should have a period.',
          input: 'a@b',
          ctx: { reason: 'The part after the @-sign is not valid. It should have a period.' },
        },
      ],
    ],
    [
      'empty email',
      { name: 'A', email: '' },
      [
        {
          type: 'value_error',
          loc: ['body', 'email'],
          msg: 'value is not a valid email address: An email address must have an @-sign.',
          input: '',
          ctx: { reason: 'An email address must have an @-sign.' },
        },
      ],
    ],
    [
      'email not a string',
      { name: 'A', email: ['a@b.example'] },
      [
        {
          type: 'string_type',
          loc: ['body', 'email'],
          msg: 'Input should be a valid string',
          input: ['a@b.example'],
        },
      ],
    ],
    [
      'phone, role and notes not strings',
      { name: 'A', phone: 5, role: true, notes: {} },
      [
        { type: 'string_type', loc: ['body', 'phone'], msg: 'Input should be a valid string', input: 5 },
        { type: 'string_type', loc: ['body', 'role'], msg: 'Input should be a valid string', input: true },
        { type: 'string_type', loc: ['body', 'notes'], msg: 'Input should be a valid string', input: {} },
      ],
    ],
    [
      'role too long',
      { name: 'A', role: 'r'.repeat(101) },
      [
        {
          type: 'string_too_long',
          loc: ['body', 'role'],
          msg: 'String should have at most 100 characters',
          input: 'r'.repeat(101),
          ctx: { max_length: 100 },
        },
      ],
    ],
    [
      'is_primary an unreadable string',
      { name: 'A', is_primary: 'maybe' },
      [
        {
          type: 'bool_parsing',
          loc: ['body', 'is_primary'],
          msg: 'Input should be a valid boolean, unable to interpret input',
          input: 'maybe',
        },
      ],
    ],
    [
      'is_primary a list',
      { name: 'A', is_primary: [] },
      [{ type: 'bool_type', loc: ['body', 'is_primary'], msg: 'Input should be a valid boolean', input: [] }],
    ],
    [
      'every problem at once, in field order',
      { email: 'x', is_primary: 2 },
      [
        {
          type: 'missing',
          loc: ['body', 'name'],
          msg: 'Field required',
          input: { email: 'x', is_primary: 2 },
        },
        {
          type: 'value_error',
          loc: ['body', 'email'],
          msg: 'value is not a valid email address: An email address must have an @-sign.',
          input: 'x',
          ctx: { reason: 'An email address must have an @-sign.' },
        },
        {
          type: 'bool_parsing',
          loc: ['body', 'is_primary'],
          msg: 'Input should be a valid boolean, unable to interpret input',
          input: 2,
        },
      ],
    ],
    [
      'a JSON array',
      [{ name: 'A' }],
      [
        {
          type: 'model_attributes_type',
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          input: [{ name: 'A' }],
        },
      ],
    ],
  ];
  for (const [name, payload, expected] of cases) {
    test(name, async () => {
      const before = await count(env, 'contacts');
      const res = await dz('POST', `/customers/${customerId}/contacts`, { payload });
      assert.deepEqual(detail(res), expected);
      assert.equal(await count(env, 'contacts'), before);
    });
  }

  test('no body → body Field required', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: `${BASE}/customers/${customerId}/contacts`,
      headers: headers(a),
    });
    assert.deepEqual(detail(res), [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
  });

  const malformedJson: [string, number, string][] = [
    ['{"name": "A",}', 13, 'Expecting property name enclosed in double quotes'],
    ['{"name" "A"}', 8, "Expecting ':' delimiter"],
    ['{"name": "A" "role": "x"}', 13, "Expecting ',' delimiter"],
    ['{"name": }', 9, 'Expecting value'],
    ['{"name": "A', 9, 'Unterminated string starting at'],
    ['{"name": "A"} x', 14, 'Extra data'],
    ["{'name': 'A'}", 1, 'Expecting property name enclosed in double quotes'],
  ];
  for (const [payload, pos, error] of malformedJson) {
    test(`malformed JSON ${payload} → json_invalid at ${pos}`, async () => {
      const res = await env.app.inject({
        method: 'POST',
        url: `${BASE}/customers/${customerId}/contacts`,
        headers: { ...headers(a), 'content-type': 'application/json' },
        payload,
      });
      assert.deepEqual(detail(res), [
        { type: 'json_invalid', loc: ['body', pos], msg: 'JSON decode error', input: {}, ctx: { error } },
      ]);
    });
  }

  test('an empty JSON body, or JSON null → body Field required', async () => {
    for (const payload of ['', 'null']) {
      const res = await env.app.inject({
        method: 'POST',
        url: `${BASE}/customers/${customerId}/contacts`,
        headers: { ...headers(a), 'content-type': 'application/json' },
        payload,
      });
      assert.deepEqual(detail(res), [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
    }
  });

  test('a JSON body sent as application/*+json or without a Content-Type is read as JSON', async () => {
    for (const type of ['application/vnd.api+json', undefined]) {
      const res = await env.app.inject({
        method: 'POST',
        url: `${BASE}/customers/${customerId}/contacts`,
        headers: { ...headers(a), ...(type ? { 'content-type': type } : {}) },
        payload: Buffer.from('{"name": "Typed"}'),
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(json(res).name, 'Typed');
    }
  });

  test('a non-JSON body is not an object', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: `${BASE}/customers/${customerId}/contacts`,
      headers: { ...headers(a), 'content-type': 'text/plain' },
      payload: 'name=A',
    });
    assert.deepEqual(detail(res), [
      {
        type: 'model_attributes_type',
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        input: 'name=A',
      },
    ]);
  });

  test('a phone the core cannot read → value_error on phone', async () => {
    const res = await dz('POST', `/customers/${customerId}/contacts`, {
      payload: { name: 'A', phone: 'call me' },
    });
    const issues = detail(res);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.type, 'value_error');
    assert.deepEqual(issues[0]?.loc, ['body', 'phone']);
    assert.match(String(issues[0]?.msg), /^Value error, phone /);
    assert.equal(issues[0]?.input, 'call me');
  });

  test('a blank name with nothing else to identify the contact → value_error on name', async () => {
    const res = await dz('POST', `/customers/${customerId}/contacts`, { payload: { name: ' ' } });
    const issues = detail(res);
    assert.deepEqual(
      issues.map((i) => [i.type, i.loc]),
      [['value_error', ['body', 'name']]],
    );
  });
});

describe('x-business-id and the API key', () => {
  let customerId: string;
  before(async () => {
    customerId = (await customer()).id;
  });

  test('missing → 422 on the header, reported together with the body’s issues', async () => {
    const res = await dz('POST', `/customers/${customerId}/contacts`, {
      headers: a.auth,
      payload: { role: 'x' },
    });
    assert.deepEqual(detail(res), [
      { type: 'missing', loc: ['header', 'x-business-id'], msg: 'Field required', input: null },
      { type: 'missing', loc: ['body', 'name'], msg: 'Field required', input: { role: 'x' } },
    ]);
    const list = await dz('GET', `/customers/${customerId}/contacts`, { headers: a.auth });
    assert.deepEqual(detail(list), [
      { type: 'missing', loc: ['header', 'x-business-id'], msg: 'Field required', input: null },
    ]);
  });

  const malformed: [string, string][] = [
    [
      'not-a-uuid',
      'invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1',
    ],
    ['123', 'invalid length: expected length 32 for simple format, found 3'],
    ['10c25fc2-835b-4ef3-bb3d-bf44fe496e', 'invalid group length in group 4: expected 12, found 10'],
    ['10c25fc2-835b-4ef3-bb3dbf44fe496e00', 'invalid group count: expected 5, found 4'],
  ];
  for (const [value, error] of malformed) {
    test(`malformed ${JSON.stringify(value)} → uuid_parsing`, async () => {
      const res = await dz('GET', `/customers/${customerId}/contacts`, {
        headers: { ...a.auth, 'x-business-id': value },
      });
      assert.deepEqual(detail(res), [
        {
          type: 'uuid_parsing',
          loc: ['header', 'x-business-id'],
          msg: `Input should be a valid UUID, ${error}`,
          input: value,
          ctx: { error },
        },
      ]);
    });
  }

  test('another tenant’s business id, or an unknown one → 404 Business not found, nothing written', async () => {
    for (const business of [b.tenant.id, '0190a0a0-0000-7000-8000-000000000000']) {
      const before = await count(env, 'contacts');
      const res = await dz('POST', `/customers/${customerId}/contacts`, {
        headers: { ...a.auth, 'x-business-id': business },
        payload: { name: 'X' },
      });
      assert.equal(res.statusCode, 404, res.body);
      assert.deepEqual(json(res), { detail: 'Business not found' });
      assert.equal(await count(env, 'contacts'), before);
    }
  });

  test('the business id is read as pydantic reads a UUID: any case, or without hyphens', async () => {
    for (const business of [a.tenant.id.toUpperCase(), a.tenant.id.replaceAll('-', '')]) {
      const res = await dz('GET', `/customers/${customerId}/contacts`, {
        headers: { ...a.auth, 'x-business-id': business },
      });
      assert.equal(res.statusCode, 200, res.body);
    }
  });

  test('no key → 401 Not authenticated; a bad key → 401 Invalid authentication credentials', async () => {
    const none = await dz('GET', `/customers/${customerId}/contacts`, {
      headers: { 'x-business-id': a.tenant.id },
    });
    assert.equal(none.statusCode, 401);
    assert.deepEqual(json(none), { detail: 'Not authenticated' });
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    const bad = await dz('GET', `/customers/${customerId}/contacts`, {
      headers: { authorization: 'Bearer ck_nope', 'x-business-id': a.tenant.id },
    });
    assert.equal(bad.statusCode, 401);
    assert.deepEqual(json(bad), { detail: 'Invalid authentication credentials' });
  });

  test('a read-only key cannot write → 403 {detail}', async () => {
    const readOnly = await keyFor(env, a.tenant, ['contacts:read']);
    const res = await dz('POST', `/customers/${customerId}/contacts`, {
      headers: { ...readOnly, 'x-business-id': a.tenant.id },
      payload: { name: 'X' },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(typeof json(res).detail, 'string');
    const read = await dz('GET', `/customers/${customerId}/contacts`, {
      headers: { ...readOnly, 'x-business-id': a.tenant.id },
    });
    assert.equal(read.statusCode, 200, read.body);
  });
});

describe('list', () => {
  let customerId: string;
  let all: Obj[];
  before(async () => {
    customerId = (await customer()).id;
    all = [];
    for (const name of ['delta', 'Alpha', 'echo', 'charlie', 'bravo']) {
      all.push(await created(customerId, { name, email: `${name.toLowerCase()}@x.example` }));
    }
    // Another customer's contact must never show up.
    await created((await customer()).id, { name: 'elsewhere' });
  });

  async function walk(query: Record<string, string>): Promise<{ pages: Obj[][]; ids: string[] }> {
    const pages: Obj[][] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res = await dz('GET', `/customers/${customerId}/contacts`, {
        query: { ...query, ...(cursor ? { cursor } : {}) },
      });
      assert.equal(res.statusCode, 200, res.body);
      const page = json<List>(res);
      pages.push(page.items);
      assert.equal(page.total_count, undefined);
      assert.equal(page.has_more, page.next_cursor !== null);
      if (!page.has_more) break;
      cursor = page.next_cursor;
    }
    return { pages, ids: pages.flat().map((c) => c.id) };
  }

  test('default: newest first, {items, next_cursor, has_more}', async () => {
    const res = await dz('GET', `/customers/${customerId}/contacts`);
    assert.equal(res.statusCode, 200, res.body);
    const body = json<List>(res);
    assert.deepEqual(Object.keys(body).sort(), ['has_more', 'items', 'next_cursor']);
    assert.deepEqual(
      body.items.map((c) => c.id),
      all.map((c) => c.id).reverse(),
    );
    assert.equal(body.has_more, false);
    assert.equal(body.next_cursor, null);
    assert.deepEqual(Object.keys(body.items[0] as Obj).sort(), FIELDS);
  });

  test('walking with the cursor visits each contact once, descending and ascending', async () => {
    const desc = await walk({ limit: '2' });
    assert.deepEqual(
      desc.pages.map((p) => p.length),
      [2, 2, 1],
    );
    assert.deepEqual(desc.ids, all.map((c) => c.id).reverse());
    const asc = await walk({ limit: '2', descending: 'false' });
    assert.deepEqual(
      asc.ids,
      all.map((c) => c.id),
    );
  });

  test('sort_by name, both ways (case-insensitive)', async () => {
    const byName = (await walk({ limit: '2', sort_by: 'name', descending: 'false' })).pages
      .flat()
      .map((c) => c.name);
    assert.deepEqual(byName, ['Alpha', 'bravo', 'charlie', 'delta', 'echo']);
    const reversed = (await walk({ limit: '3', sort_by: 'name' })).pages.flat().map((c) => c.name);
    assert.deepEqual(reversed, ['echo', 'delta', 'charlie', 'bravo', 'Alpha']);
    const byEmail = (await walk({ limit: '4', sort_by: 'email', descending: 'false' })).ids;
    assert.equal(byEmail.length, 5);
  });

  test('direction=prev walks back from the end: each contact once, every page in sort order', async () => {
    const back = await walk({ limit: '2', direction: 'prev', descending: 'false' });
    assert.deepEqual(
      back.pages.map((p) => p.map((c) => c.name)),
      [['charlie', 'bravo'], ['Alpha', 'echo'], ['delta']],
    );
    assert.deepEqual(
      back.pages
        .reverse()
        .flat()
        .map((c) => c.id),
      all.map((c) => c.id),
    );
  });

  test('direction=prev with a cursor reads the rows before the cursor row', async () => {
    const first = json<List>(await dz('GET', `/customers/${customerId}/contacts`, { query: { limit: '3' } }));
    assert.ok(first.next_cursor);
    // The cursor marks the page's last row (the third newest); before it come the two newest, in sort order.
    const prev = json<List>(
      await dz('GET', `/customers/${customerId}/contacts`, {
        query: { limit: '10', direction: 'prev', cursor: first.next_cursor },
      }),
    );
    assert.deepEqual(
      prev.items.map((c) => c.id),
      first.items.slice(0, 2).map((c) => c.id),
    );
    assert.equal(prev.has_more, false);
    assert.equal(prev.next_cursor, null);
    // The same cursor read forward continues after that row.
    const next = json<List>(
      await dz('GET', `/customers/${customerId}/contacts`, {
        query: { limit: '10', cursor: first.next_cursor },
      }),
    );
    assert.deepEqual(
      next.items.map((c) => c.id),
      all
        .slice(0, 2)
        .map((c) => c.id)
        .reverse(),
    );
  });

  test('include_total_count adds total_count (of all the customer’s contacts, not the page)', async () => {
    const body = json<List>(
      await dz('GET', `/customers/${customerId}/contacts`, {
        query: { limit: '2', include_total_count: 'true' },
      }),
    );
    assert.equal(body.total_count, 5);
    assert.equal(body.items.length, 2);
    const empty = await customer();
    const none = json<List>(
      await dz('GET', `/customers/${empty.id}/contacts`, { query: { include_total_count: '1' } }),
    );
    assert.deepEqual(none, { items: [], next_cursor: null, has_more: false, total_count: 0 });
  });

  const queryCases: [Record<string, string>, Issue[]][] = [
    [
      { limit: '0' },
      [
        {
          type: 'greater_than_equal',
          loc: ['query', 'limit'],
          msg: 'Input should be greater than or equal to 1',
          input: '0',
          ctx: { ge: 1 },
        },
      ],
    ],
    [
      { limit: '1001' },
      [
        {
          type: 'less_than_equal',
          loc: ['query', 'limit'],
          msg: 'Input should be less than or equal to 1000',
          input: '1001',
          ctx: { le: 1000 },
        },
      ],
    ],
    [
      { limit: 'ten' },
      [
        {
          type: 'int_parsing',
          loc: ['query', 'limit'],
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          input: 'ten',
        },
      ],
    ],
    [
      { direction: 'back' },
      [
        {
          type: 'literal_error',
          loc: ['query', 'direction'],
          msg: "Input should be 'next' or 'prev'",
          input: 'back',
          ctx: { expected: "'next' or 'prev'" },
        },
      ],
    ],
    [
      { sort_by: 'amount' },
      [
        {
          type: 'literal_error',
          loc: ['query', 'sort_by'],
          msg: "Input should be 'created_at', 'updated_at', 'name' or 'email'",
          input: 'amount',
          ctx: { expected: "'created_at', 'updated_at', 'name' or 'email'" },
        },
      ],
    ],
    [
      { descending: 'sometimes', include_total_count: 'x' },
      [
        {
          type: 'bool_parsing',
          loc: ['query', 'include_total_count'],
          msg: 'Input should be a valid boolean, unable to interpret input',
          input: 'x',
        },
        {
          type: 'bool_parsing',
          loc: ['query', 'descending'],
          msg: 'Input should be a valid boolean, unable to interpret input',
          input: 'sometimes',
        },
      ],
    ],
  ];
  for (const [query, expected] of queryCases) {
    test(`query ${JSON.stringify(query)} → 422`, async () => {
      assert.deepEqual(detail(await dz('GET', `/customers/${customerId}/contacts`, { query })), expected);
    });
  }

  test('a cursor that is not one, or one issued for another sort_by → 400 Invalid cursor', async () => {
    const byName = json<List>(
      await dz('GET', `/customers/${customerId}/contacts`, { query: { limit: '1', sort_by: 'name' } }),
    );
    assert.ok(byName.next_cursor);
    for (const query of [
      { cursor: 'garbage' },
      { cursor: byName.next_cursor },
      { cursor: Buffer.from('{"k":"created_at","v":"yesterday","id":"x"}').toString('base64url') },
    ]) {
      const res = await dz('GET', `/customers/${customerId}/contacts`, { query });
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(json(res), { detail: 'Invalid cursor' });
    }
  });

  test('an unknown customer → 404 Customer not found', async () => {
    for (const id of ['0190a0a0-0000-7000-8000-000000000000', 'nope']) {
      const res = await dz('GET', `/customers/${id}/contacts`);
      assert.equal(res.statusCode, 404, res.body);
      assert.deepEqual(json(res), { detail: 'Customer not found' });
    }
  });
});

describe('get, update, delete', () => {
  test('GET one; a contact of another customer, or none → 404 Contact not found', async () => {
    const c = await customer();
    const other = await customer();
    const contact = await created(c.id, { name: 'Gil', role: 'Technical' });
    const res = await dz('GET', `/customers/${c.id}/contacts/${contact.id}`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), contact);
    for (const path of [
      `/customers/${other.id}/contacts/${contact.id}`,
      `/customers/${c.id}/contacts/0190a0a0-0000-7000-8000-000000000000`,
      `/customers/${c.id}/contacts/nope`,
    ]) {
      const miss = await dz('GET', path);
      assert.equal(miss.statusCode, 404, miss.body);
      assert.deepEqual(json(miss), { detail: 'Contact not found' });
    }
    const noCustomer = await dz(
      'GET',
      `/customers/0190a0a0-0000-7000-8000-000000000000/contacts/${contact.id}`,
    );
    assert.deepEqual(json(noCustomer), { detail: 'Customer not found' });
  });

  test('PUT is partial: the fields not sent keep their values', async () => {
    const c = await customer();
    const contact = await created(c.id, {
      name: 'Hal',
      email: 'hal@x.example',
      phone: '+12025550175',
      notes: 'n',
    });
    const res = await dz('PUT', `/customers/${c.id}/contacts/${contact.id}`, {
      payload: { role: 'Billing' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Obj>(res);
    assert.deepEqual(Object.keys(body).sort(), FIELDS);
    assert.deepEqual({ ...body, updated_at: null }, { ...contact, role: 'Billing', updated_at: null });
    const unchanged = await dz('PUT', `/customers/${c.id}/contacts/${contact.id}`, { payload: {} });
    assert.equal(unchanged.statusCode, 200, unchanged.body);
    assert.equal(json(unchanged).role, 'Billing');
  });

  test('PUT null clears an optional field; name and is_primary cannot be null', async () => {
    const c = await customer();
    const contact = await created(c.id, { name: 'Ike', email: 'ike@x.example', notes: 'n' });
    const cleared = await dz('PUT', `/customers/${c.id}/contacts/${contact.id}`, {
      payload: { email: null, notes: null },
    });
    assert.equal(cleared.statusCode, 200, cleared.body);
    assert.deepEqual([json(cleared).email, json(cleared).notes, json(cleared).name], [null, null, 'Ike']);
    const res = await dz('PUT', `/customers/${c.id}/contacts/${contact.id}`, {
      payload: { name: null, is_primary: null, email: 'bad' },
    });
    assert.deepEqual(detail(res), [
      { type: 'string_type', loc: ['body', 'name'], msg: 'Input should be a valid string', input: null },
      {
        type: 'value_error',
        loc: ['body', 'email'],
        msg: 'value is not a valid email address: An email address must have an @-sign.',
        input: 'bad',
        ctx: { reason: 'An email address must have an @-sign.' },
      },
      { type: 'bool_type', loc: ['body', 'is_primary'], msg: 'Input should be a valid boolean', input: null },
    ]);
    assert.equal(json(await dz('GET', `/customers/${c.id}/contacts/${contact.id}`)).name, 'Ike');
  });

  test('PUT is_primary=true demotes the customer’s previous primary', async () => {
    const c = await customer();
    const old = await created(c.id, { name: 'Old', is_primary: true });
    const next = await created(c.id, { name: 'New' });
    const res = await dz('PUT', `/customers/${c.id}/contacts/${next.id}`, { payload: { is_primary: true } });
    assert.equal(json(res).is_primary, true);
    assert.equal(json(await dz('GET', `/customers/${c.id}/contacts/${old.id}`)).is_primary, false);
    const list = json<List>(await dz('GET', `/customers/${c.id}/contacts`));
    assert.deepEqual(
      list.items.filter((i) => i.is_primary).map((i) => i.id),
      [next.id],
    );
  });

  test('PUT without a body → 422; on a missing contact → 404 after validation', async () => {
    const c = await customer();
    const contact = await created(c.id, { name: 'Jo' });
    const noBody = await env.app.inject({
      method: 'PUT',
      url: `${BASE}/customers/${c.id}/contacts/${contact.id}`,
      headers: headers(a),
    });
    assert.deepEqual(detail(noBody), [
      { type: 'missing', loc: ['body'], msg: 'Field required', input: null },
    ]);
    const missing = await dz('PUT', `/customers/${c.id}/contacts/0190a0a0-0000-7000-8000-000000000000`, {
      payload: { name: 'X' },
    });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(json(missing), { detail: 'Contact not found' });
    const invalidFirst = await dz('PUT', `/customers/${c.id}/contacts/0190a0a0-0000-7000-8000-000000000000`, {
      payload: { name: 1 },
    });
    assert.equal(invalidFirst.statusCode, 422);
  });

  test('DELETE → {success, message, code}; then 404, and gone from the native API', async () => {
    const c = await customer();
    const contact = await created(c.id, { name: 'Kim' });
    const res = await dz('DELETE', `/customers/${c.id}/contacts/${contact.id}`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { success: true, message: 'Contact deleted successfully', code: 'SUCCESS' });
    for (const method of ['GET', 'DELETE', 'PUT'] as const) {
      const again = await dz(method, `/customers/${c.id}/contacts/${contact.id}`, {
        ...(method === 'PUT' ? { payload: { name: 'X' } } : {}),
      });
      assert.equal(again.statusCode, 404, again.body);
      assert.deepEqual(json(again), { detail: 'Contact not found' });
    }
    const native = await env.app.inject({
      method: 'GET',
      url: `/v1/contacts/${contact.id}`,
      headers: a.auth,
    });
    assert.equal(native.statusCode, 404);
    assert.deepEqual(json<List>(await dz('GET', `/customers/${c.id}/contacts`)).items, []);
  });

  test('DELETE of a designated contact → 409 {detail}, nothing deleted', async () => {
    const c = await customer();
    const contact = await created(c.id, { name: 'Lee' });
    const patch = await env.app.inject({
      method: 'PATCH',
      url: `/v1/customers/${c.id}`,
      headers: a.auth,
      payload: { billing_contact_id: contact.id },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    const res = await dz('DELETE', `/customers/${c.id}/contacts/${contact.id}`);
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(typeof json(res).detail, 'string');
    assert.equal((await dz('GET', `/customers/${c.id}/contacts/${contact.id}`)).statusCode, 200);
  });
});

describe('tenant isolation', () => {
  test('tenant B’s key never reaches tenant A’s customers or contacts', async () => {
    const c = await customer(a);
    const contact = await created(c.id, { name: 'Private', email: 'p@a.example' });
    const asB = { tenant: b };
    const attempts = [
      await dz('GET', `/customers/${c.id}/contacts`, asB),
      await dz('POST', `/customers/${c.id}/contacts`, { ...asB, payload: { name: 'Intruder' } }),
      await dz('GET', `/customers/${c.id}/contacts/${contact.id}`, asB),
      await dz('PUT', `/customers/${c.id}/contacts/${contact.id}`, { ...asB, payload: { name: 'Hacked' } }),
      await dz('DELETE', `/customers/${c.id}/contacts/${contact.id}`, asB),
    ];
    for (const res of attempts) {
      assert.equal(res.statusCode, 404, res.body);
      assert.deepEqual(json(res), { detail: 'Customer not found' });
    }
    // B's key with A's business id: the wrong business context.
    const crossed = await dz('GET', `/customers/${c.id}/contacts/${contact.id}`, {
      headers: { ...b.auth, 'x-business-id': a.tenant.id },
    });
    assert.equal(crossed.statusCode, 404);
    assert.deepEqual(json(crossed), { detail: 'Business not found' });
    const still = json<Obj>(await dz('GET', `/customers/${c.id}/contacts/${contact.id}`));
    assert.deepEqual(still, contact);
    assert.deepEqual(json<List>(await dz('GET', `/customers/${c.id}/contacts`)).items.length, 1);
  });
});

describe('cross-dialect visibility', () => {
  test('a contact written through DayZero is in the native API, and one written natively is in DayZero', async () => {
    const c = await customer();
    const mine = await created(c.id, {
      name: 'Via DayZero',
      role: 'Billing',
      notes: 'note',
      is_primary: true,
    });
    const native = await env.app.inject({
      method: 'GET',
      url: `/v1/contacts?customer_id=${c.id}`,
      headers: a.auth,
    });
    assert.equal(native.statusCode, 200, native.body);
    const seen = json<{ data: Obj[] }>(native).data.find((x) => x.id === mine.id);
    assert.ok(seen);
    assert.equal(seen.name, 'Via DayZero');
    assert.equal(seen.role, 'Billing');
    assert.equal(seen.notes, 'note');
    assert.equal(seen.is_primary, true);
    assert.equal(seen.customer_id, c.id);

    const made = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers: a.auth,
      payload: { first_name: 'Native', last_name: 'Made', email: 'native@x.example', is_primary: true },
    });
    assert.equal(made.statusCode, 201, made.body);
    const nativeId = json<Obj>(made).id;
    const list = json<List>(await dz('GET', `/customers/${c.id}/contacts`));
    const shown = list.items.find((x) => x.id === nativeId);
    assert.ok(shown);
    assert.equal(shown.name, 'Native Made');
    assert.equal(shown.email, 'native@x.example');
    assert.equal(shown.is_primary, true);
    assert.equal(json(await dz('GET', `/customers/${c.id}/contacts/${mine.id}`)).is_primary, false);
  });
});

describe('paths DayZero has that this service does not serve', () => {
  test('vendor contacts and unknown paths → 404 {"detail": "Not Found"}; another method → 405', async () => {
    for (const path of [
      '/vendors/0190a0a0-0000-7000-8000-000000000000/contacts',
      '/vendors/x/contacts/y',
      '/nope',
    ]) {
      const res = await dz('GET', path);
      assert.equal(res.statusCode, 404, res.body);
      assert.deepEqual(json(res), { detail: 'Not Found' });
    }
    const post = await dz('POST', '/vendors/x/contacts', { payload: { name: 'V' } });
    assert.deepEqual([post.statusCode, json(post)], [404, { detail: 'Not Found' }]);
    const patch = await dz('PATCH', '/customers/x/contacts/y', { payload: {} });
    assert.equal(patch.statusCode, 405);
    assert.deepEqual(json(patch), { detail: 'Method Not Allowed' });
    assert.equal(patch.headers.allow, 'GET, PUT, DELETE');
  });

  test('the operations are in the OpenAPI document', async () => {
    const doc = json<{ paths: Record<string, Record<string, { operationId: string }>> }>(
      await env.app.inject({ method: 'GET', url: '/openapi.json' }),
    );
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    for (const id of [
      'dayzeroCreateContact',
      'dayzeroListContacts',
      'dayzeroGetContact',
      'dayzeroUpdateContact',
      'dayzeroDeleteContact',
    ]) {
      assert.ok(ids.includes(id), id);
    }
  });
});
