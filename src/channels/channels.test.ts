import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertProblem,
  count,
  createCustomer,
  createTestTenant,
  json,
  keyFor,
  type Obj,
  type Page,
  setupTestEnv,
  type TestEnv,
  type TestTenant,
} from '../../test/helpers.ts';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

let env: TestEnv;
let t: TestTenant;

const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';

function call(
  method: Method,
  url: string,
  options: { headers?: Record<string, string>; payload?: Record<string, unknown> } = {},
) {
  return env.app.inject({
    method,
    url,
    headers: options.headers ?? t.auth,
    ...(options.payload !== undefined ? { payload: options.payload } : {}),
  });
}

async function customer(tenant = t, name = 'Acme'): Promise<Obj> {
  return createCustomer(env, tenant, { name });
}

async function contactOf(customerId: string | null, name: string, tenant = t): Promise<Obj> {
  const url = customerId ? `/v1/customers/${customerId}/contacts` : '/v1/contacts';
  const res = await call('POST', url, { headers: tenant.auth, payload: { name } });
  assert.equal(res.statusCode, 201, res.body);
  return json<Obj>(res);
}

function postChannel(customerId: string, payload: Record<string, unknown>, tenant = t) {
  return call('POST', `/v1/customers/${customerId}/channels`, { headers: tenant.auth, payload });
}

async function channel(customerId: string, payload: Record<string, unknown>, tenant = t): Promise<Obj> {
  const res = await postChannel(customerId, payload, tenant);
  assert.equal(res.statusCode, 201, res.body);
  return json<Obj>(res);
}

async function getChannel(id: string): Promise<Obj> {
  const res = await call('GET', `/v1/channels/${id}`);
  assert.equal(res.statusCode, 200, res.body);
  return json<Obj>(res);
}

async function snapshot() {
  return { channels: await count(env, 'channels'), events: await count(env, 'events') };
}

async function defaultsOf(customerId: string, type: string): Promise<string[]> {
  const rows = await env.sql`select id from channels
    where customer_id = ${customerId} and type = ${type} and is_default order by id`;
  return rows.map((r) => r.id as string);
}

/** A valid value for each of the 15 channel types. */
const VALUES: Record<string, string> = {
  EMAIL: 'ann@acme.example.com',
  PHONE: '+1 202 555 0175',
  FACEBOOK: 'acme.page',
  INSTAGRAM: '@acme',
  TWITTER: '@acme',
  YOUTUBE: 'https://youtube.com/@acme',
  TIKTOK: '@acme',
  PINTEREST: 'acme',
  VK: 'id123',
  FB_MESSENGER: 'acme',
  WHATSAPP: '+12025550175',
  TELEGRAM: '@acme_bot',
  VIBER: '+12025550175',
  URL: 'https://acme.example.com/contact',
  OTHER: 'pigeon post',
};

before(async () => {
  env = await setupTestEnv();
  t = await createTestTenant(env);
});
after(() => env.close());

describe('create', () => {
  test('201 with every field, ETag and Location; GET returns the same object', async () => {
    const c = await customer();
    const ann = await contactOf(c.id, 'Ann');
    const res = await postChannel(c.id, {
      type: 'EMAIL',
      value: 'ann@acme.example.com',
      handle: 'ann',
      note: 'work address',
      is_default: true,
      position: 4,
      contact_id: ann.id,
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers.etag, '"v1"');
    const body = json<Obj>(res);
    assert.equal(res.headers.location, `/v1/channels/${body.id}`);
    assert.equal(typeof body.number, 'number');
    assert.equal(body.customer_id, c.id);
    assert.equal(body.contact_id, ann.id);
    assert.equal(body.type, 'EMAIL');
    assert.equal(body.value, 'ann@acme.example.com');
    assert.equal(body.handle, 'ann');
    assert.equal(body.note, 'work address');
    assert.equal(body.is_default, true);
    assert.equal(body.position, 4);
    const got = await call('GET', `/v1/channels/${body.id}`);
    assert.equal(got.headers.etag, '"v1"');
    assert.deepEqual(json(got), body);
  });

  test('a few types with their defaults: PHONE, URL, WHATSAPP, OTHER', async () => {
    const c = await customer();
    for (const [type, value] of [
      ['PHONE', '(202) 555-0175'],
      ['URL', 'http://acme.example.com'],
      ['WHATSAPP', '+44 20 7946 0958'],
      ['OTHER', 'ask at the front desk'],
    ]) {
      const ch = await channel(c.id, { type, value });
      assert.equal(ch.type, type);
      assert.equal(ch.value, value, 'the value is stored as given');
      assert.equal(ch.is_default, false);
      assert.equal(ch.contact_id, null);
      assert.equal(ch.handle, null);
      assert.equal(ch.note, null);
    }
  });

  test('each of the 15 types is accepted', async () => {
    const c = await customer();
    for (const [type, value] of Object.entries(VALUES)) await channel(c.id, { type, value });
    const listed = json<Page>(await call('GET', `/v1/customers/${c.id}/channels?limit=50`)).data;
    assert.deepEqual(
      listed.map((x) => x.type),
      Object.keys(VALUES),
    );
  });

  describe('validation', () => {
    interface Fixtures {
      c: Obj;
      own: Obj;
      otherCustomers: Obj;
      tenantLevel: Obj;
      deleted: Obj;
      otherTenants: Obj;
    }
    let f: Fixtures;
    before(async () => {
      const c = await customer();
      const other = await customer(t, 'Other');
      const deleted = await contactOf(c.id, 'Deleted');
      assert.equal((await call('DELETE', `/v1/contacts/${deleted.id}`)).statusCode, 200);
      const stranger = await createTestTenant(env);
      f = {
        c,
        own: await contactOf(c.id, 'Own'),
        otherCustomers: await contactOf(other.id, 'Theirs'),
        tenantLevel: await contactOf(null, 'Tenant level'),
        deleted,
        otherTenants: await contactOf(null, 'Stranger', stranger),
      };
    });

    const email = { type: 'EMAIL', value: 'ok@example.com' };
    const cases: [string, (f: Fixtures) => Record<string, unknown>, string, string][] = [
      ['type missing', () => ({ value: 'x' }), 'type', 'required'],
      ['value missing', () => ({ type: 'OTHER' }), 'value', 'required'],
      ['type outside the list', () => ({ type: 'SMS', value: 'x' }), 'type', 'invalid_value'],
      ['type in lower case', () => ({ type: 'email', value: 'a@example.com' }), 'type', 'invalid_value'],
      ['type not a string', () => ({ type: 3, value: 'x' }), 'type', 'invalid_type'],
      ['value empty', () => ({ type: 'OTHER', value: '' }), 'value', 'too_short'],
      ['value too long', () => ({ type: 'OTHER', value: 'v'.repeat(501) }), 'value', 'too_long'],
      ['value not a string', () => ({ type: 'OTHER', value: 5 }), 'value', 'invalid_type'],
      ['EMAIL not an email', () => ({ type: 'EMAIL', value: 'not-an-email' }), 'value', 'invalid_format'],
      [
        'EMAIL without a dotted domain',
        () => ({ type: 'EMAIL', value: 'a@localhost' }),
        'value',
        'invalid_format',
      ],
      ['EMAIL given a phone', () => ({ type: 'EMAIL', value: '+1 202 555 0175' }), 'value', 'invalid_format'],
      ['PHONE words', () => ({ type: 'PHONE', value: 'call me' }), 'value', 'invalid_phone'],
      ['PHONE not a valid number', () => ({ type: 'PHONE', value: '+1 000' }), 'value', 'invalid_phone'],
      ['PHONE given an email', () => ({ type: 'PHONE', value: 'a@example.com' }), 'value', 'invalid_phone'],
      ['URL without scheme', () => ({ type: 'URL', value: 'acme.example.com' }), 'value', 'invalid_format'],
      [
        'URL with ftp scheme',
        () => ({ type: 'URL', value: 'ftp://acme.example.com' }),
        'value',
        'invalid_format',
      ],
      [
        'URL with javascript scheme',
        () => ({ type: 'URL', value: 'javascript:alert(1)' }),
        'value',
        'invalid_format',
      ],
      [
        'URL with a space',
        () => ({ type: 'URL', value: 'https://acme .example.com' }),
        'value',
        'invalid_format',
      ],
      ['handle too long', () => ({ ...email, handle: 'h'.repeat(201) }), 'handle', 'too_long'],
      ['note too long', () => ({ ...email, note: 'n'.repeat(1001) }), 'note', 'too_long'],
      ['is_default as a string', () => ({ ...email, is_default: 'true' }), 'is_default', 'invalid_type'],
      ['position negative', () => ({ ...email, position: -1 }), 'position', 'out_of_range'],
      ['position too large', () => ({ ...email, position: 1_000_001 }), 'position', 'out_of_range'],
      ['position fractional', () => ({ ...email, position: 1.5 }), 'position', 'invalid_type'],
      ['unknown field', () => ({ ...email, label: 'work' }), 'label', 'unknown_field'],
      ['customer_id in the body', (f) => ({ ...email, customer_id: f.c.id }), 'customer_id', 'unknown_field'],
      ['read-only id', () => ({ ...email, id: UNKNOWN_ID }), 'id', 'unknown_field'],
      ['contact_id not a uuid', () => ({ ...email, contact_id: 'ann' }), 'contact_id', 'invalid_format'],
      [
        "another customer's contact",
        (f) => ({ ...email, contact_id: f.otherCustomers.id }),
        'contact_id',
        'invalid_reference',
      ],
      [
        'a tenant-level contact',
        (f) => ({ ...email, contact_id: f.tenantLevel.id }),
        'contact_id',
        'invalid_reference',
      ],
      [
        'a deleted contact',
        (f) => ({ ...email, contact_id: f.deleted.id }),
        'contact_id',
        'invalid_reference',
      ],
      ['an unknown contact', () => ({ ...email, contact_id: UNKNOWN_ID }), 'contact_id', 'invalid_reference'],
      [
        "another tenant's contact",
        (f) => ({ ...email, contact_id: f.otherTenants.id }),
        'contact_id',
        'invalid_reference',
      ],
    ];
    for (const [label, payload, field, code] of cases) {
      test(`422 ${label}: names ${field}, writes nothing`, async () => {
        const before = await snapshot();
        const res = await postChannel(f.c.id, payload(f));
        assertProblem(res, 422, 'validation_failed', { field, code });
        assert.deepEqual(await snapshot(), before);
      });
    }

    test('a live contact of the same customer is accepted', async () => {
      const ch = await channel(f.c.id, { ...email, contact_id: f.own.id });
      assert.equal(ch.contact_id, f.own.id);
    });

    test('400 for malformed JSON and 415 for other content types', async () => {
      const bad = await env.app.inject({
        method: 'POST',
        url: `/v1/customers/${f.c.id}/channels`,
        headers: { ...t.auth, 'content-type': 'application/json' },
        payload: '{"type": ',
      });
      assertProblem(bad, 400, 'malformed_json');
      const text = await env.app.inject({
        method: 'POST',
        url: `/v1/customers/${f.c.id}/channels`,
        headers: { ...t.auth, 'content-type': 'text/plain' },
        payload: 'type=EMAIL',
      });
      assertProblem(text, 415, 'unsupported_media_type');
    });
  });

  test('404 for an unknown, malformed or soft-deleted customer, creating nothing', async () => {
    const gone = await customer(t, 'Gone');
    assert.equal((await call('DELETE', `/v1/customers/${gone.id}`)).statusCode, 200);
    const before = await snapshot();
    for (const id of [UNKNOWN_ID, 'not-a-uuid', gone.id]) {
      assertProblem(await postChannel(id, { type: 'OTHER', value: 'x' }), 404, 'not_found');
      assertProblem(await call('GET', `/v1/customers/${id}/channels`), 404, 'not_found');
    }
    assert.deepEqual(await snapshot(), before);
  });
});

describe('one default per type per customer', () => {
  test('a new default clears the old one, on create and on PATCH; other types and customers keep theirs', async () => {
    const c = await customer();
    const other = await customer(t, 'Other');
    const e1 = await channel(c.id, { type: 'EMAIL', value: 'one@example.com', is_default: true });
    const p1 = await channel(c.id, { type: 'PHONE', value: '+1 202 555 0101', is_default: true });
    const theirs = await channel(other.id, { type: 'EMAIL', value: 'their@example.com', is_default: true });

    const e2 = await channel(c.id, { type: 'EMAIL', value: 'two@example.com', is_default: true });
    assert.equal(e2.is_default, true);
    const e1Now = await call('GET', `/v1/channels/${e1.id}`);
    assert.equal(json(e1Now).is_default, false);
    assert.equal(e1Now.headers.etag, '"v2"', 'clearing the default is a write: the ETag advances');
    assert.deepEqual(await defaultsOf(c.id, 'EMAIL'), [e2.id]);
    assert.deepEqual(await defaultsOf(c.id, 'PHONE'), [p1.id]);
    assert.deepEqual(await defaultsOf(other.id, 'EMAIL'), [theirs.id]);

    const patched = await call('PATCH', `/v1/channels/${e1.id}`, { payload: { is_default: true } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(json(patched).is_default, true);
    assert.equal((await getChannel(e2.id)).is_default, false);
    assert.deepEqual(await defaultsOf(c.id, 'EMAIL'), [e1.id]);
    assert.deepEqual(await defaultsOf(c.id, 'PHONE'), [p1.id]);
    assert.deepEqual(await defaultsOf(other.id, 'EMAIL'), [theirs.id]);

    const cleared = await call('PATCH', `/v1/channels/${e1.id}`, { payload: { is_default: false } });
    assert.equal(cleared.statusCode, 200);
    assert.deepEqual(await defaultsOf(c.id, 'EMAIL'), []);
    assert.equal((await getChannel(e2.id)).is_default, false, 'unsetting promotes nothing');

    const types = await env.sql`select type, resource_id from events
      where resource_id = ${e2.id} order by id`;
    assert.deepEqual(
      types.map((r) => r.type),
      ['channel.created', 'channel.updated'],
    );
  });

  test('moving a default channel to another type takes over that type’s default', async () => {
    const c = await customer();
    const url = await channel(c.id, { type: 'URL', value: 'https://a.example.com', is_default: true });
    const other = await channel(c.id, { type: 'OTHER', value: 'https://b.example.com', is_default: true });
    const res = await call('PATCH', `/v1/channels/${other.id}`, { payload: { type: 'URL' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json(res).is_default, true);
    assert.deepEqual(await defaultsOf(c.id, 'URL'), [other.id]);
    assert.equal((await getChannel(url.id)).is_default, false);
    assert.deepEqual(await defaultsOf(c.id, 'OTHER'), []);
  });

  test('concurrent "set default" requests leave exactly one default', async () => {
    const c = await customer();
    const phone = await channel(c.id, { type: 'PHONE', value: '+1 202 555 0199', is_default: true });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      ids.push((await channel(c.id, { type: 'EMAIL', value: `p${i}@example.com`, is_default: i === 0 })).id);
    }
    const results = await Promise.all(
      ids.map((id) => call('PATCH', `/v1/channels/${id}`, { payload: { is_default: true } })),
    );
    for (const r of results) assert.equal(r.statusCode, 200, r.body);
    const rows = await env.sql`select count(*)::int as n from channels
      where customer_id = ${c.id} and type = 'EMAIL' and is_default`;
    assert.equal(rows[0]?.n, 1);
    assert.deepEqual(await defaultsOf(c.id, 'PHONE'), [phone.id]);
  });

  test('concurrent creates of a default leave exactly one default', async () => {
    const c = await customer();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        postChannel(c.id, { type: 'TELEGRAM', value: `@bot${i}`, is_default: true }),
      ),
    );
    for (const r of results) assert.equal(r.statusCode, 201, r.body);
    const rows = await env.sql`select count(*)::int as n, count(*) filter (where is_default)::int as d
      from channels where customer_id = ${c.id}`;
    assert.equal(rows[0]?.n, 8);
    assert.equal(rows[0]?.d, 1);
  });

  test('the database itself refuses a second default of a type', async () => {
    const c = await customer();
    await channel(c.id, { type: 'EMAIL', value: 'one@example.com', is_default: true });
    await assert.rejects(
      env.sql`insert into channels (tenant_id, id, customer_id, type, value, is_default)
              values (${t.tenant.id}, gen_random_uuid(), ${c.id}, 'EMAIL', 'two@example.com', true)`,
      (err: { code?: string; constraint_name?: string }) =>
        err.code === '23505' && err.constraint_name === 'channels_one_default',
    );
    await env.sql`insert into channels (tenant_id, id, customer_id, type, value, is_default)
                  values (${t.tenant.id}, gen_random_uuid(), ${c.id}, 'PHONE', '+12025550175', true)`;
  });
});

describe('position, order and pagination', () => {
  test('position defaults to the next one and lists are in position order', async () => {
    const c = await customer();
    const a = await channel(c.id, { type: 'OTHER', value: 'a' });
    const b = await channel(c.id, { type: 'OTHER', value: 'b' });
    assert.deepEqual([a.position, b.position], [0, 1]);
    const z = await channel(c.id, { type: 'OTHER', value: 'z', position: 10 });
    const next = await channel(c.id, { type: 'OTHER', value: 'next' });
    assert.equal(next.position, 11);
    const first = await channel(c.id, { type: 'OTHER', value: 'first', position: 0 });
    const moved = await call('PATCH', `/v1/channels/${a.id}`, { payload: { position: 5 } });
    assert.equal(moved.statusCode, 200);
    const listed = json<Page>(await call('GET', `/v1/customers/${c.id}/channels`)).data;
    assert.deepEqual(
      listed.map((x) => x.value),
      ['first', 'b', 'a', 'z', 'next'],
    );
    assert.deepEqual(
      listed.map((x) => x.id),
      [first.id, b.id, a.id, z.id, next.id],
    );
    const other = await customer(t, 'Fresh');
    assert.equal(
      (await channel(other.id, { type: 'OTHER', value: 'x' })).position,
      0,
      'positions are per customer',
    );
  });

  test('walking 120 channels with limit=50 sees each exactly once, in order', async () => {
    const c = await customer();
    // Three channels share each position, so the walk must break ties by id.
    await env.sql`insert into channels (tenant_id, id, customer_id, type, value, position)
      select ${t.tenant.id}, gen_random_uuid(), ${c.id}, 'OTHER', 'seed ' || i, i / 3
      from generate_series(0, 119) i`;
    const seen: Obj[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/customers/${c.id}/channels?limit=50${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await call('GET', url);
      assert.equal(res.statusCode, 200, res.body);
      const page = json<Page>(res);
      seen.push(...page.data);
      sizes.push(page.data.length);
      assert.equal(page.has_more, page.next_cursor !== null);
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(sizes, [50, 50, 20]);
    assert.equal(new Set(seen.map((x) => x.id)).size, 120);
    const all = await env.sql`select id from channels where customer_id = ${c.id} order by position, id`;
    assert.deepEqual(
      seen.map((x) => x.id),
      all.map((r) => r.id),
    );
  });

  test('type and contact_id filters', async () => {
    const c = await customer();
    const ann = await contactOf(c.id, 'Ann');
    const bob = await contactOf(c.id, 'Bob');
    const annMail = await channel(c.id, { type: 'EMAIL', value: 'ann@example.com', contact_id: ann.id });
    const annPhone = await channel(c.id, { type: 'PHONE', value: '+1 202 555 0110', contact_id: ann.id });
    const bobMail = await channel(c.id, { type: 'EMAIL', value: 'bob@example.com', contact_id: bob.id });
    const shared = await channel(c.id, { type: 'EMAIL', value: 'team@example.com' });
    const ids = async (qs: string) => {
      const res = await call('GET', `/v1/customers/${c.id}/channels?${qs}`);
      assert.equal(res.statusCode, 200, res.body);
      return json<Page>(res).data.map((x) => x.id);
    };
    assert.deepEqual(await ids('type=EMAIL'), [annMail.id, bobMail.id, shared.id]);
    assert.deepEqual(await ids('type=PHONE'), [annPhone.id]);
    assert.deepEqual(await ids('type=URL'), []);
    assert.deepEqual(await ids(`contact_id=${ann.id}`), [annMail.id, annPhone.id]);
    assert.deepEqual(await ids(`contact_id=${bob.id}&type=EMAIL`), [bobMail.id]);
    assert.deepEqual(await ids(`contact_id=${bob.id}&type=PHONE`), []);
    assert.deepEqual(await ids('type=EMAIL&limit=2'), [annMail.id, bobMail.id]);
  });

  test('bad list parameters are 422 naming the parameter, bad cursors 400', async () => {
    const c = await customer();
    for (const [qs, field] of [
      ['type=SMS', 'type'],
      ['type=email', 'type'],
      ['contact_id=ann', 'contact_id'],
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['sort=position', 'sort'],
      ['include_deleted=true', 'include_deleted'],
    ]) {
      const res = await call('GET', `/v1/customers/${c.id}/channels?${qs}`);
      assertProblem(res, 422, 'validation_failed', { field: String(field) });
    }
    assertProblem(await call('GET', `/v1/customers/${c.id}/channels?cursor=garbage`), 400, 'invalid_cursor');
  });
});

describe('update and delete', () => {
  test('PATCH is partial, null clears, ETag advances; If-Match: stale 412, "*" passes', async () => {
    const c = await customer();
    const ch = await channel(c.id, { type: 'EMAIL', value: 'a@example.com', handle: 'a', note: 'n' });
    const res = await call('PATCH', `/v1/channels/${ch.id}`, {
      headers: { ...t.auth, 'if-match': '"v1"' },
      payload: { handle: null, value: 'b@example.com' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers.etag, '"v2"');
    const body = json<Obj>(res);
    assert.equal(body.handle, null);
    assert.equal(body.value, 'b@example.com');
    assert.equal(body.note, 'n');
    assert.equal(body.type, 'EMAIL');
    assert.deepEqual(await getChannel(ch.id), body);

    const before = await snapshot();
    const stale = await call('PATCH', `/v1/channels/${ch.id}`, {
      headers: { ...t.auth, 'if-match': '"v1"' },
      payload: { note: 'lost' },
    });
    assertProblem(stale, 412, 'precondition_failed');
    assert.deepEqual(await snapshot(), before);
    assert.equal((await getChannel(ch.id)).note, 'n');
    const star = await call('PATCH', `/v1/channels/${ch.id}`, {
      headers: { ...t.auth, 'if-match': '*' },
      payload: { note: 'kept' },
    });
    assert.equal(star.statusCode, 200);
    assert.equal(star.headers.etag, '"v3"');
  });

  test('If-None-Match answers 304', async () => {
    const c = await customer();
    const ch = await channel(c.id, { type: 'OTHER', value: 'x' });
    const res = await call('GET', `/v1/channels/${ch.id}`, {
      headers: { ...t.auth, 'if-none-match': '"v1"' },
    });
    assert.equal(res.statusCode, 304);
    assert.equal(res.body, '');
    const miss = await call('GET', `/v1/channels/${ch.id}`, {
      headers: { ...t.auth, 'if-none-match': '"v0"' },
    });
    assert.equal(miss.statusCode, 200);
  });

  describe('PATCH validation', () => {
    let c: Obj;
    let other: Obj;
    before(async () => {
      c = await customer();
      other = await customer(t, 'Other');
    });
    const cases: [
      string,
      Record<string, unknown> | ((theirs: Obj) => Record<string, unknown>),
      string,
      string,
    ][] = [
      ['empty body', {}, 'body', 'invalid'],
      ['value not an email', { value: 'nope' }, 'value', 'invalid_format'],
      ['type change the value does not fit', { type: 'PHONE' }, 'value', 'invalid_phone'],
      ['type change to URL', { type: 'URL' }, 'value', 'invalid_format'],
      ['type outside the list', { type: 'FAX' }, 'type', 'invalid_value'],
      ['value null', { value: null }, 'value', 'invalid_type'],
      ['is_default null', { is_default: null }, 'is_default', 'invalid_type'],
      ['unknown field', { customer_id: UNKNOWN_ID }, 'customer_id', 'unknown_field'],
      [
        "another customer's contact",
        (theirs) => ({ contact_id: theirs.id }),
        'contact_id',
        'invalid_reference',
      ],
    ];
    for (const [label, payload, field, code] of cases) {
      test(`422 ${label}: names ${field}, writes nothing`, async () => {
        const ch = await channel(c.id, { type: 'EMAIL', value: 'keep@example.com' });
        const theirs = await contactOf(other.id, 'Theirs');
        const before = await snapshot();
        const res = await call('PATCH', `/v1/channels/${ch.id}`, {
          payload: typeof payload === 'function' ? payload(theirs) : payload,
        });
        assertProblem(res, 422, 'validation_failed', { field, code });
        assert.deepEqual(await snapshot(), before);
        const got = await call('GET', `/v1/channels/${ch.id}`);
        assert.equal(got.headers.etag, '"v1"');
        assert.equal(json(got).value, 'keep@example.com');
      });
    }

    test('contact_id can be set to a contact of the same customer and cleared', async () => {
      const ch = await channel(c.id, { type: 'OTHER', value: 'x' });
      const own = await contactOf(c.id, 'Own');
      const set = await call('PATCH', `/v1/channels/${ch.id}`, { payload: { contact_id: own.id } });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal(json(set).contact_id, own.id);
      const cleared = await call('PATCH', `/v1/channels/${ch.id}`, { payload: { contact_id: null } });
      assert.equal(cleared.statusCode, 200);
      assert.equal(json(cleared).contact_id, null);
    });
  });

  test('DELETE honours If-Match, is 204, then the channel is 404 everywhere', async () => {
    const c = await customer();
    const ch = await channel(c.id, { type: 'OTHER', value: 'bye' });
    await call('PATCH', `/v1/channels/${ch.id}`, { payload: { note: 'v2' } });
    const stale = await call('DELETE', `/v1/channels/${ch.id}`, {
      headers: { ...t.auth, 'if-match': '"v1"' },
    });
    assertProblem(stale, 412, 'precondition_failed');
    assert.equal((await call('GET', `/v1/channels/${ch.id}`)).statusCode, 200);
    const del = await call('DELETE', `/v1/channels/${ch.id}`, { headers: { ...t.auth, 'if-match': '"v2"' } });
    assert.equal(del.statusCode, 204, del.body);
    assert.equal(del.body, '');
    assertProblem(await call('GET', `/v1/channels/${ch.id}`), 404, 'not_found');
    assertProblem(await call('DELETE', `/v1/channels/${ch.id}`), 404, 'not_found');
    assertProblem(await call('PATCH', `/v1/channels/${ch.id}`, { payload: { note: 'x' } }), 404, 'not_found');
    assert.equal(json<Page>(await call('GET', `/v1/customers/${c.id}/channels`)).data.length, 0);
    const starred = await channel(c.id, { type: 'OTHER', value: 'star' });
    const star = await call('DELETE', `/v1/channels/${starred.id}`, {
      headers: { ...t.auth, 'if-match': '*' },
    });
    assert.equal(star.statusCode, 204);
    const events = await env.sql`select type from events where resource_id = ${ch.id} order by id`;
    assert.deepEqual(
      events.map((r) => r.type),
      ['channel.created', 'channel.updated', 'channel.deleted'],
    );
  });
});

describe('idempotency', () => {
  test('same key and body replays the first response; another body is 422', async () => {
    const c = await customer();
    const headers = { ...t.auth, 'idempotency-key': `chan-${Date.now()}` };
    const url = `/v1/customers/${c.id}/channels`;
    const first = await call('POST', url, { headers, payload: { type: 'EMAIL', value: 'once@example.com' } });
    const second = await call('POST', url, {
      headers,
      payload: { value: 'once@example.com', type: 'EMAIL' },
    });
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(second.statusCode, 201, second.body);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.deepEqual(json(second), json(first));
    assert.equal(second.headers.etag, first.headers.etag);
    assert.equal(second.headers.location, first.headers.location);
    const rows = await env.sql`select count(*)::int as n from channels where customer_id = ${c.id}`;
    assert.equal(rows[0]?.n, 1);
    const other = await call('POST', url, {
      headers,
      payload: { type: 'EMAIL', value: 'twice@example.com' },
    });
    assertProblem(other, 422, 'idempotency_key_reused');
    const otherCustomer = await customer(t, 'Other');
    const elsewhere = await call('POST', `/v1/customers/${otherCustomer.id}/channels`, {
      headers,
      payload: { type: 'EMAIL', value: 'once@example.com' },
    });
    assertProblem(elsewhere, 422, 'idempotency_key_reused');
  });
});

describe('not found and cross-tenant', () => {
  test('unknown and malformed channel ids are 404', async () => {
    for (const id of [UNKNOWN_ID, 'not-a-uuid']) {
      assertProblem(await call('GET', `/v1/channels/${id}`), 404, 'not_found');
      assertProblem(await call('PATCH', `/v1/channels/${id}`, { payload: { note: 'x' } }), 404, 'not_found');
      assertProblem(await call('DELETE', `/v1/channels/${id}`), 404, 'not_found');
    }
  });

  test("another tenant's channel and customer are 404 and untouched", async () => {
    const stranger = await createTestTenant(env);
    const theirCustomer = await customer(stranger, 'Theirs');
    const theirs = await channel(theirCustomer.id, { type: 'OTHER', value: 'private' }, stranger);
    const before = await snapshot();
    assertProblem(await call('GET', `/v1/channels/${theirs.id}`), 404, 'not_found');
    assertProblem(
      await call('PATCH', `/v1/channels/${theirs.id}`, { payload: { note: 'x' } }),
      404,
      'not_found',
    );
    assertProblem(await call('DELETE', `/v1/channels/${theirs.id}`), 404, 'not_found');
    assertProblem(await call('GET', `/v1/customers/${theirCustomer.id}/channels`), 404, 'not_found');
    assertProblem(await postChannel(theirCustomer.id, { type: 'OTHER', value: 'x' }), 404, 'not_found');
    assert.deepEqual(await snapshot(), before);
    const still = await call('GET', `/v1/channels/${theirs.id}`, { headers: stranger.auth });
    assert.equal(json(still).value, 'private');
  });
});

describe('authentication and scopes', () => {
  let c: Obj;
  let ch: Obj;
  before(async () => {
    c = await customer();
    ch = await channel(c.id, { type: 'OTHER', value: 'guarded' });
  });
  const routes = (): [Method, string, Record<string, unknown>?][] => [
    ['POST', `/v1/customers/${c.id}/channels`, { type: 'OTHER', value: 'x' }],
    ['GET', `/v1/customers/${c.id}/channels`],
    ['GET', `/v1/channels/${ch.id}`],
    ['PATCH', `/v1/channels/${ch.id}`, { note: 'x' }],
    ['DELETE', `/v1/channels/${ch.id}`],
  ];

  test('401 with no key or an unknown key', async () => {
    const before = await snapshot();
    const anonymous: Record<string, string>[] = [{}, { authorization: 'Bearer ct_not_a_real_key' }];
    for (const headers of anonymous) {
      for (const [method, url, payload] of routes()) {
        const res = await call(method, url, { headers, ...(payload ? { payload } : {}) });
        assertProblem(res, 401, 'unauthenticated');
      }
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('channels need the contacts scopes: customers scopes are not enough, read cannot write', async () => {
    const customersOnly = await keyFor(env, t.tenant, ['customers:read', 'customers:write']);
    const reader = await keyFor(env, t.tenant, ['contacts:read']);
    const before = await snapshot();
    for (const [method, url, payload] of routes()) {
      assertProblem(
        await call(method, url, { headers: customersOnly, ...(payload ? { payload } : {}) }),
        403,
        'insufficient_scope',
      );
      const asReader = await call(method, url, { headers: reader, ...(payload ? { payload } : {}) });
      if (method === 'GET') assert.equal(asReader.statusCode, 200, asReader.body);
      else assertProblem(asReader, 403, 'insufficient_scope');
    }
    assert.deepEqual(await snapshot(), before);
    const writer = await keyFor(env, t.tenant, ['contacts:write']);
    const created = await call('POST', `/v1/customers/${c.id}/channels`, {
      headers: writer,
      payload: { type: 'OTHER', value: 'by writer' },
    });
    assert.equal(created.statusCode, 201, created.body);
  });
});
