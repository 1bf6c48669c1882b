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
} from '../../test/helpers.ts';

type Obj = Record<string, unknown> & { id: string };
interface Page {
  data: Obj[];
  has_more: boolean;
  next_cursor: string | null;
}

let env: TestEnv;
let t: TestTenant;

async function customer(tenant: TestTenant = t, name = 'Acme'): Promise<Obj> {
  return createCustomer(env, tenant, { name });
}

async function contact(customerId: string, payload: Record<string, unknown>, tenant: TestTenant = t) {
  return env.app.inject({
    method: 'POST',
    url: `/v1/customers/${customerId}/contacts`,
    headers: tenant.auth,
    payload,
  });
}

before(async () => {
  env = await setupTestEnv();
  t = await createTestTenant(env);
});
after(() => env.close());

describe('create', () => {
  test('201 with every field, ETag, Location, and E.164 phone', async () => {
    const c = await customer();
    const res = await contact(c.id, {
      name: 'Ann Lee',
      first_name: 'Ann',
      last_name: 'Lee',
      job_title: 'CFO',
      organization_name: 'Acme',
      label: 'Default',
      email: 'ann@acme.example.com',
      phone: '(202) 555-0175',
      fax: '+44 20 7946 0958',
      address1: '1 Main St',
      address2: 'Suite 2',
      city: 'Springfield',
      state_province: 'IL',
      postal_code: '62701',
      country: 'us',
      contact_type: 'general compliance',
      role: 'Billing',
      is_primary: true,
      notes: 'prefers email',
      user_id: 'u_123',
      metadata: { tier: 'gold', seats: 3 },
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = json<Obj>(res);
    assert.equal(res.headers.etag, '"v1"');
    assert.equal(res.headers.location, `/v1/contacts/${body.id}`);
    assert.equal(body.phone, '(202) 555-0175');
    assert.equal(body.phone_e164, '+12025550175');
    assert.equal(body.fax_e164, '+442079460958');
    assert.equal(body.country, 'US');
    assert.equal(body.customer_id, c.id);
    assert.equal(body.contact_type, 'general compliance');
    assert.deepEqual(body.metadata, { tier: 'gold', seats: 3 });
    assert.equal(typeof body.number, 'number');
    assert.equal(body.deleted_at, null);
    const got = await env.app.inject({ method: 'GET', url: `/v1/contacts/${body.id}`, headers: t.auth });
    assert.equal(got.statusCode, 200);
    assert.deepEqual(json(got), body);
    assert.equal(got.headers.etag, '"v1"');
  });

  test('tenant-level contact with POST /v1/contacts and customer_id null', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/contacts',
      headers: t.auth,
      payload: { first_name: 'Own', last_name: 'Contact', email: 'own@example.com' },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(json(res).customer_id, null);
  });

  test('national numbers use the tenant default region', async () => {
    const fr = await createTestTenant(env, { region: 'FR' });
    const c = await customer(fr);
    const res = await contact(c.id, { name: 'Jean', phone: '01 23 45 67 89' }, fr);
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(json(res).phone_e164, '+33123456789');
  });

  const invalid: [string, Record<string, unknown>, string, string][] = [
    ['email syntax', { name: 'x', email: 'not-an-email' }, 'email', 'invalid_format'],
    ['email without domain dot', { name: 'x', email: 'a@localhost' }, 'email', 'invalid_format'],
    ['phone garbage', { name: 'x', phone: 'call me' }, 'phone', 'invalid_phone'],
    ['phone too short', { name: 'x', phone: '12' }, 'phone', 'invalid_phone'],
    ['fax invalid', { name: 'x', fax: '+1 000' }, 'fax', 'invalid_phone'],
    ['country unknown', { name: 'x', country: 'XX' }, 'country', 'invalid_value'],
    ['country too long', { name: 'x', country: 'USA' }, 'country', 'too_long'],
    ['contact_type not in list', { name: 'x', contact_type: 'sales' }, 'contact_type', 'invalid_value'],
    ['unknown field', { name: 'x', nickname: 'y' }, 'nickname', 'unknown_field'],
    ['name too long', { name: 'x'.repeat(201) }, 'name', 'too_long'],
    ['notes too long', { name: 'x', notes: 'x'.repeat(5001) }, 'notes', 'too_long'],
    ['wrong type', { name: 42 }, 'name', 'invalid_type'],
    ['is_primary as string', { name: 'x', is_primary: 'true' }, 'is_primary', 'invalid_type'],
    ['metadata nested', { name: 'x', metadata: { a: { b: 1 } } }, 'metadata.a', 'invalid_type'],
    ['no identifying field', { notes: 'who?' }, 'name', 'required'],
    [
      'customer_id not accepted on nested route',
      { name: 'x', customer_id: null },
      'customer_id',
      'unknown_field',
    ],
  ];
  for (const [label, payload, field, code] of invalid) {
    test(`422 ${label}, names ${field}, writes nothing`, async () => {
      const c = await customer();
      const before = await count(env, 'contacts');
      const res = await contact(c.id, payload);
      assert.equal(res.statusCode, 422, res.body);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      const body = json<{ code: string; errors: { field: string; code: string }[] }>(res);
      assert.equal(body.code, 'validation_failed');
      assert.ok(
        body.errors.some((e) => e.field === field && e.code === code),
        `expected ${field}/${code} in ${JSON.stringify(body.errors)}`,
      );
      assert.equal(await count(env, 'contacts'), before);
    });
  }

  test('404 for an unknown or soft-deleted customer, with or without is_primary, writing nothing', async () => {
    const gone = await customer(t, 'Gone');
    assert.equal(
      (await env.app.inject({ method: 'DELETE', url: `/v1/customers/${gone.id}`, headers: t.auth }))
        .statusCode,
      200,
    );
    const contactsBefore = await count(env, 'contacts');
    const eventsBefore = await count(env, 'events');
    for (const id of ['01900000-0000-7000-8000-000000000000', gone.id]) {
      for (const payload of [{ name: 'x' }, { name: 'x', is_primary: true }]) {
        const res = await contact(id, payload);
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(json(res).code, 'not_found');
        assert.match(json<{ detail: string }>(res).detail, /customer/);
      }
    }
    assert.equal(await count(env, 'contacts'), contactsBefore);
    assert.equal(await count(env, 'events'), eventsBefore);
  });

  test('400 for malformed JSON, 415 for other content types', async () => {
    const c = await customer();
    const bad = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(json(bad).code, 'malformed_json');
    const text = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers: { ...t.auth, 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    assert.equal(text.statusCode, 415);
    assert.equal(json(text).code, 'unsupported_media_type');
  });
});

describe('primary contact', () => {
  test('setting a new primary demotes the old one, on create and on patch', async () => {
    const c = await customer();
    const a = json<Obj>(await contact(c.id, { name: 'A', is_primary: true }));
    const b = json<Obj>(await contact(c.id, { name: 'B', is_primary: true }));
    const aNow = json<Obj>(
      await env.app.inject({ method: 'GET', url: `/v1/contacts/${a.id}`, headers: t.auth }),
    );
    assert.equal(aNow.is_primary, false);
    assert.equal(b.is_primary, true);
    const patched = await env.app.inject({
      method: 'PATCH',
      url: `/v1/contacts/${a.id}`,
      headers: t.auth,
      payload: { is_primary: true },
    });
    assert.equal(patched.statusCode, 200);
    const list = json<Page>(
      await env.app.inject({
        method: 'GET',
        url: `/v1/customers/${c.id}/contacts?is_primary=true`,
        headers: t.auth,
      }),
    );
    assert.deepEqual(
      list.data.map((x) => x.id),
      [a.id],
    );
  });

  test('concurrent promotions leave exactly one primary', async () => {
    const c = await customer();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(json<Obj>(await contact(c.id, { name: `P${i}` })).id);
    const results = await Promise.all(
      ids.map((id) =>
        env.app.inject({
          method: 'PATCH',
          url: `/v1/contacts/${id}`,
          headers: t.auth,
          payload: { is_primary: true },
        }),
      ),
    );
    for (const r of results) assert.ok([200, 409].includes(r.statusCode), r.body);
    const rows =
      await env.sql`select count(*)::int as n from contacts where customer_id = ${c.id} and is_primary and deleted_at is null`;
    assert.equal(rows[0]?.n, 1);
  });

  test('the database itself refuses two primaries', async () => {
    const c = await customer();
    await contact(c.id, { name: 'A', is_primary: true });
    await assert.rejects(
      env.sql`insert into contacts (tenant_id, id, customer_id, name, is_primary)
              values (${t.tenant.id}, gen_random_uuid(), ${c.id}, 'B', true)`,
      (err: { code?: string }) => err.code === '23505',
    );
  });
});

describe('update', () => {
  test('PATCH is partial, null clears, ETag advances, If-Match is honoured', async () => {
    const c = await customer();
    const created = json<Obj>(
      await contact(c.id, { name: 'Ann', email: 'ann@example.com', phone: '+1 202 555 0175' }),
    );
    const res = await env.app.inject({
      method: 'PATCH',
      url: `/v1/contacts/${created.id}`,
      headers: { ...t.auth, 'if-match': '"v1"' },
      payload: { phone: null, job_title: 'CTO' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Obj>(res);
    assert.equal(body.phone, null);
    assert.equal(body.phone_e164, null);
    assert.equal(body.job_title, 'CTO');
    assert.equal(body.email, 'ann@example.com');
    assert.equal(res.headers.etag, '"v2"');
    const stale = await env.app.inject({
      method: 'PATCH',
      url: `/v1/contacts/${created.id}`,
      headers: { ...t.auth, 'if-match': '"v1"' },
      payload: { job_title: 'CEO' },
    });
    assert.equal(stale.statusCode, 412);
    assert.equal(json(stale).code, 'precondition_failed');
    const star = await env.app.inject({
      method: 'PATCH',
      url: `/v1/contacts/${created.id}`,
      headers: { ...t.auth, 'if-match': '*' },
      payload: { job_title: 'CEO' },
    });
    assert.equal(star.statusCode, 200);
    const staleDelete = await env.app.inject({
      method: 'DELETE',
      url: `/v1/contacts/${created.id}`,
      headers: { ...t.auth, 'if-match': '"v2"' },
    });
    assert.equal(staleDelete.statusCode, 412);
  });

  test('If-None-Match answers 304', async () => {
    const c = await customer();
    const created = json<Obj>(await contact(c.id, { name: 'Ann' }));
    const res = await env.app.inject({
      method: 'GET',
      url: `/v1/contacts/${created.id}`,
      headers: { ...t.auth, 'if-none-match': '"v1"' },
    });
    assert.equal(res.statusCode, 304);
  });

  test('PATCH validation: bad email, clearing every identifying field, empty body', async () => {
    const c = await customer();
    const created = json<Obj>(await contact(c.id, { name: 'Ann' }));
    for (const [payload, field] of [
      [{ email: 'x@' }, 'email'],
      [{ name: null }, 'name'],
      [{}, 'body'],
    ] as const) {
      const res = await env.app.inject({
        method: 'PATCH',
        url: `/v1/contacts/${created.id}`,
        headers: t.auth,
        payload,
      });
      assert.equal(res.statusCode, 422, res.body);
      assert.ok(
        json<{ errors: { field: string }[] }>(res).errors.some((e) => e.field === field),
        res.body,
      );
    }
  });

  test('moving a contact to another customer', async () => {
    const c1 = await customer();
    const c2 = await customer();
    const created = json<Obj>(await contact(c1.id, { name: 'Mover' }));
    const res = await env.app.inject({
      method: 'PATCH',
      url: `/v1/contacts/${created.id}`,
      headers: t.auth,
      payload: { customer_id: c2.id },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(json(res).customer_id, c2.id);
  });
});

describe('idempotency', () => {
  test('same key and body replays the first response; other body is 422', async () => {
    const c = await customer();
    const headers = { ...t.auth, 'idempotency-key': `k-${Date.now()}` };
    const first = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers,
      payload: { name: 'Once' },
    });
    const second = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers,
      payload: { name: 'Once' },
    });
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.deepEqual(json(second), json(first));
    assert.equal(second.headers.etag, first.headers.etag);
    const rows = await env.sql`select count(*)::int as n from contacts where customer_id = ${c.id}`;
    assert.equal(rows[0]?.n, 1);
    const other = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers,
      payload: { name: 'Twice' },
    });
    assert.equal(other.statusCode, 422);
    assert.equal(json(other).code, 'idempotency_key_reused');
  });

  test('concurrent requests with one key create one contact', async () => {
    const c = await customer();
    const headers = { ...t.auth, 'idempotency-key': `race-${Date.now()}` };
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        env.app.inject({
          method: 'POST',
          url: `/v1/customers/${c.id}/contacts`,
          headers,
          payload: { name: 'Race' },
        }),
      ),
    );
    for (const r of results) assert.equal(r.statusCode, 201, r.body);
    assert.equal(new Set(results.map((r) => json(r).id)).size, 1);
    const rows = await env.sql`select count(*)::int as n from contacts where customer_id = ${c.id}`;
    assert.equal(rows[0]?.n, 1);
  });

  test('a failed request stores nothing: the key can be retried with a fixed body', async () => {
    const c = await customer();
    const headers = { ...t.auth, 'idempotency-key': `fix-${Date.now()}` };
    const bad = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers,
      payload: { name: 'x', email: 'bad' },
    });
    assert.equal(bad.statusCode, 422);
    const good = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers,
      payload: { name: 'x', email: 'bad' },
    });
    assert.equal(good.statusCode, 422);
  });

  test('malformed key is a 422 naming the header', async () => {
    const c = await customer();
    const res = await env.app.inject({
      method: 'POST',
      url: `/v1/customers/${c.id}/contacts`,
      headers: { ...t.auth, 'idempotency-key': 'x'.repeat(300) },
      payload: { name: 'x' },
    });
    assert.equal(res.statusCode, 422);
    assert.equal(json<{ errors: { field: string }[] }>(res).errors[0]?.field, 'Idempotency-Key');
  });
});

describe('soft delete, restore, purge', () => {
  test('delete hides, include_deleted shows, restore undoes, purge erases', async () => {
    const c = await customer();
    const created = json<Obj>(await contact(c.id, { name: 'Gone', email: 'gone@example.com' }));
    const del = await env.app.inject({
      method: 'DELETE',
      url: `/v1/contacts/${created.id}`,
      headers: t.auth,
    });
    assert.equal(del.statusCode, 200);
    assert.ok(json(del).deleted_at);
    assert.equal(
      (await env.app.inject({ method: 'GET', url: `/v1/contacts/${created.id}`, headers: t.auth }))
        .statusCode,
      404,
    );
    const shown = await env.app.inject({
      method: 'GET',
      url: `/v1/contacts/${created.id}?include_deleted=true`,
      headers: t.auth,
    });
    assert.equal(shown.statusCode, 200);
    const list = json<Page>(
      await env.app.inject({ method: 'GET', url: `/v1/customers/${c.id}/contacts`, headers: t.auth }),
    );
    assert.equal(list.data.length, 0);
    const listAll = json<Page>(
      await env.app.inject({
        method: 'GET',
        url: `/v1/customers/${c.id}/contacts?include_deleted=true`,
        headers: t.auth,
      }),
    );
    assert.equal(listAll.data.length, 1);
    const again = await env.app.inject({
      method: 'DELETE',
      url: `/v1/contacts/${created.id}`,
      headers: t.auth,
    });
    assert.equal(again.statusCode, 404);
    const restored = await env.app.inject({
      method: 'POST',
      url: `/v1/contacts/${created.id}/restore`,
      headers: t.auth,
    });
    assert.equal(restored.statusCode, 200);
    assert.equal(json(restored).deleted_at, null);

    const writer = await keyFor(env, t.tenant, ['contacts:write']);
    const denied = await env.app.inject({
      method: 'DELETE',
      url: `/v1/contacts/${created.id}?purge=true`,
      headers: writer,
    });
    assert.equal(denied.statusCode, 403);
    const purged = await env.app.inject({
      method: 'DELETE',
      url: `/v1/contacts/${created.id}?purge=true`,
      headers: t.auth,
    });
    assert.equal(purged.statusCode, 204);
    const rows = await env.sql`select count(*)::int as n from contacts where id = ${created.id}`;
    assert.equal(rows[0]?.n, 0);
    const history =
      await env.sql`select data from events where resource_id = ${created.id} and type <> 'contact.purged'`;
    assert.ok(history.length > 0);
    for (const e of history) assert.deepEqual(e.data, { redacted: true });
    assert.equal(
      (
        await env.app.inject({
          method: 'GET',
          url: `/v1/contacts/${created.id}?include_deleted=true`,
          headers: t.auth,
        })
      ).statusCode,
      404,
    );
  });

  test('restoring a primary when another primary exists restores it as non-primary', async () => {
    const c = await customer();
    const a = json<Obj>(await contact(c.id, { name: 'A', is_primary: true }));
    await env.app.inject({ method: 'DELETE', url: `/v1/contacts/${a.id}`, headers: t.auth });
    await contact(c.id, { name: 'B', is_primary: true });
    const restored = await env.app.inject({
      method: 'POST',
      url: `/v1/contacts/${a.id}/restore`,
      headers: t.auth,
    });
    assert.equal(restored.statusCode, 200);
    assert.equal(json(restored).is_primary, false);
  });

  test('a designated contact is in use: delete is 409 until unassigned', async () => {
    const c = await customer();
    const a = json<Obj>(await contact(c.id, { name: 'Billing person' }));
    const patch = await env.app.inject({
      method: 'PATCH',
      url: `/v1/customers/${c.id}`,
      headers: t.auth,
      payload: { billing_contact_id: a.id },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    const del = await env.app.inject({ method: 'DELETE', url: `/v1/contacts/${a.id}`, headers: t.auth });
    assert.equal(del.statusCode, 409);
    assert.equal(json(del).code, 'contact_in_use');
    await env.app.inject({
      method: 'PATCH',
      url: `/v1/customers/${c.id}`,
      headers: t.auth,
      payload: { billing_contact_id: null },
    });
    assert.equal(
      (await env.app.inject({ method: 'DELETE', url: `/v1/contacts/${a.id}`, headers: t.auth })).statusCode,
      200,
    );
  });
});

describe('list, filter, search', () => {
  let c: Obj;
  let tenant: TestTenant;
  before(async () => {
    tenant = await createTestTenant(env);
    c = await customer(tenant);
    const people = [
      {
        name: 'Zoe Zimmer',
        email: 'Zoe@Example.com',
        phone: '+1 202 555 0101',
        role: 'Billing',
        contact_type: 'billing',
      },
      {
        name: 'Adam Ant',
        email: 'adam@example.com',
        phone: '+1 202 555 0102',
        role: 'Technical',
        contact_type: 'technical',
        is_primary: true,
      },
      {
        first_name: 'Maria',
        last_name: 'Garcia',
        email: 'maria@example.org',
        phone: '+44 20 7946 0000',
        role: 'billing',
      },
      { name: '100%_match', email: 'pct@example.com' },
    ];
    for (const p of people) assert.equal((await contact(c.id, p, tenant)).statusCode, 201);
  });
  const get = async (qs: string) => {
    const res = await env.app.inject({ method: 'GET', url: `/v1/contacts?${qs}`, headers: tenant.auth });
    assert.equal(res.statusCode, 200, res.body);
    return json<Page>(res).data;
  };

  test('filters', async () => {
    assert.equal((await get('role=BILLING')).length, 2);
    assert.equal((await get('contact_type=technical')).length, 1);
    assert.equal((await get('email=zoe@example.COM'))[0]?.name, 'Zoe Zimmer');
    assert.equal((await get('phone=(202) 555-0102'))[0]?.name, 'Adam Ant');
    assert.equal((await get(`phone=${encodeURIComponent('+12025550102')}`))[0]?.name, 'Adam Ant');
    assert.equal((await get('is_primary=true')).length, 1);
    assert.equal((await get(`customer_id=${c.id}`)).length, 4);
    assert.equal(
      (await get(`updated_since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length,
      0,
    );
  });

  test('q searches name, email and phone, case-insensitively, with literal wildcards', async () => {
    assert.deepEqual(
      (await get('q=zIMM')).map((x) => x.name),
      ['Zoe Zimmer'],
    );
    assert.deepEqual(
      (await get('q=garcia')).map((x) => x.first_name),
      ['Maria'],
    );
    assert.deepEqual(
      (await get('q=example.org')).map((x) => x.first_name),
      ['Maria'],
    );
    assert.deepEqual(
      (await get(`q=${encodeURIComponent('555-0102')}`)).map((x) => x.name),
      ['Adam Ant'],
    );
    assert.deepEqual(
      (await get(`q=${encodeURIComponent('%_')}`)).map((x) => x.name),
      ['100%_match'],
    );
  });

  test('sort by name and email, both directions', async () => {
    const names = (await get('sort=name')).map((x) => x.name ?? x.first_name);
    assert.deepEqual(names, ['100%_match', 'Adam Ant', 'Maria', 'Zoe Zimmer']);
    const desc = (await get('sort=-email')).map((x) => x.email);
    assert.deepEqual(desc, ['Zoe@Example.com', 'pct@example.com', 'maria@example.org', 'adam@example.com']);
  });

  test('bad list parameters are 4xx naming the parameter', async () => {
    for (const [qs, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['sort=shoe_size', 'sort'],
      ['phone=hello', 'phone'],
      ['is_primary=maybe', 'is_primary'],
      ['updated_since=yesterday', 'updated_since'],
      ['colour=red', 'colour'],
    ]) {
      const res = await env.app.inject({ method: 'GET', url: `/v1/contacts?${qs}`, headers: tenant.auth });
      assert.equal(res.statusCode, 422, `${qs}: ${res.body}`);
      assert.ok(
        json<{ errors: { field: string }[] }>(res).errors.some((e) => e.field === field),
        res.body,
      );
    }
    const cursor = await env.app.inject({
      method: 'GET',
      url: '/v1/contacts?cursor=garbage',
      headers: tenant.auth,
    });
    assert.equal(cursor.statusCode, 400);
    assert.equal(json(cursor).code, 'invalid_cursor');
    const first = json<Page>(
      await env.app.inject({ method: 'GET', url: '/v1/contacts?limit=1', headers: tenant.auth }),
    );
    const mismatch = await env.app.inject({
      method: 'GET',
      url: `/v1/contacts?sort=name&cursor=${first.next_cursor}`,
      headers: tenant.auth,
    });
    assert.equal(mismatch.statusCode, 400);
  });
});

describe('pagination', () => {
  test('walking 1,000 contacts while rows are inserted: no gap, no duplicate', async () => {
    const tenant = await createTestTenant(env);
    const c = await customer(tenant);
    await env.sql`
      insert into contacts (tenant_id, id, customer_id, name, created_at)
      select ${tenant.tenant.id}, gen_random_uuid(), ${c.id}, 'seed ' || i,
             now() - make_interval(secs => 1000 - i) + (case when i % 3 = 0 then interval '0' else interval '0' end)
      from generate_series(1, 1000) i`;
    // Ties on created_at must be broken by id, so give a block of rows the same timestamp too.
    await env.sql`update contacts set created_at = date_trunc('second', created_at) where tenant_id = ${tenant.tenant.id}`;
    const original = new Set(
      (await env.sql`select id from contacts where tenant_id = ${tenant.tenant.id}`).map(
        (r) => r.id as string,
      ),
    );
    for (const sort of ['created_at', '-created_at', 'name', '-updated_at']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let inserted = 0;
      do {
        const url: string = `/v1/contacts?limit=37&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`;
        const [res] = await Promise.all([
          env.app.inject({ method: 'GET', url, headers: tenant.auth }),
          contact(c.id, { name: `concurrent ${sort} ${inserted++}` }, tenant),
        ]);
        assert.equal(res.statusCode, 200, res.body);
        const page = json<Page>(res);
        for (const row of page.data) seen.push(row.id);
        cursor = page.next_cursor;
        assert.equal(page.has_more, cursor !== null);
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, `${sort}: duplicates`);
      for (const id of original) assert.ok(seen.includes(id), `${sort}: gap, missing ${id}`);
    }
  });
});

describe('search on a large tenant', () => {
  // Enough rows for every way a search page is found (src/contacts/contacts.repo.ts, listContactRows): a dense
  // term fills the page within the probe, a medium one needs the longer walk, a rare one the search of every match,
  // and a clustered one starts dense and then runs out. Every page must be what a plain filter and sort gives.
  test('every page of every term, sort and filter is the filtered, sorted list', async () => {
    const tenant = await createTestTenant(env);
    const c = await customer(tenant);
    await env.sql`
      insert into contacts (tenant_id, id, customer_id, name, email, role, created_at, deleted_at)
      select ${tenant.tenant.id}, gen_random_uuid(), ${c.id},
        'person ' || i
          || case when i % 5 = 0 then ' common' else '' end
          || case when i % 100 = 0 then ' medium' else '' end
          || case when i % 1000 = 0 then ' rare' else '' end
          || case when i <= 60 or i between 11000 and 11040 then ' cluster' else '' end,
        'p' || i || '@example.com', (array['Billing', 'Technical'])[1 + i % 2],
        now() - make_interval(secs => 20000 - i), case when i % 997 = 0 then now() end
      from generate_series(1, 12000) i`;
    const orders: Record<string, string> = {
      created_at: 'created_at, id',
      '-created_at': 'created_at desc, id desc',
      name: 'sort_name, id',
      '-email': 'sort_email desc, id desc',
    };
    const cases: [string, number, string?][] = [
      ['common', 100],
      ['medium', 50],
      ['rare', 50],
      ['cluster', 50],
      ['cluster', 10, 'billing'],
      ['medium', 50, 'billing'],
      ['common', 200, 'technical'],
      ['nothing', 50],
    ];
    for (const [term, limit, role] of cases) {
      for (const [sort, order] of Object.entries(orders)) {
        const expected = (
          await env.sql.unsafe(
            `select id from contacts where tenant_id = $1 and deleted_at is null and search like $2
               and ($3::text is null or lower(role) = $3) order by ${order}`,
            [tenant.tenant.id, `%${term}%`, role ?? null],
          )
        ).map((r) => r.id as string);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const url: string = `/v1/contacts?q=${term}&limit=${limit}&sort=${sort}${role ? `&role=${role}` : ''}${cursor ? `&cursor=${cursor}` : ''}`;
          const res = await env.app.inject({ method: 'GET', url, headers: tenant.auth });
          assert.equal(res.statusCode, 200, res.body);
          const page = json<Page>(res);
          assert.ok(page.data.length <= limit);
          for (const row of page.data) seen.push(row.id);
          cursor = page.next_cursor;
          assert.equal(page.has_more, cursor !== null);
        } while (cursor);
        assert.deepEqual(seen, expected, `q=${term} sort=${sort} limit=${limit} role=${role}`);
      }
    }
  });
});
