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

async function customer(payload: Record<string, unknown> = { name: 'Acme' }, tenant = t): Promise<Obj> {
  return createCustomer(env, tenant, payload);
}

async function contactOf(customerId: string | null, name: string, tenant = t): Promise<Obj> {
  const url = customerId ? `/v1/customers/${customerId}/contacts` : '/v1/contacts';
  const res = await call('POST', url, {
    headers: tenant.auth,
    payload: { name, email: `${name}@x.example` },
  });
  assert.equal(res.statusCode, 201, res.body);
  return json<Obj>(res);
}

async function channelOf(customerId: string, payload: Record<string, unknown>): Promise<Obj> {
  const res = await call('POST', `/v1/customers/${customerId}/channels`, { payload });
  assert.equal(res.statusCode, 201, res.body);
  return json<Obj>(res);
}

/** Row counts of every table a customer write can touch, to prove a refused request wrote nothing. */
async function snapshot() {
  return {
    customers: await count(env, 'customers'),
    contacts: await count(env, 'contacts'),
    channels: await count(env, 'channels'),
    events: await count(env, 'events'),
  };
}

async function eventTypes(resourceId: string): Promise<string[]> {
  const rows = await env.sql`select type from events where resource_id = ${resourceId} order by id`;
  return rows.map((r) => r.type as string);
}

before(async () => {
  env = await setupTestEnv();
  t = await createTestTenant(env);
});
after(() => env.close());

describe('create', () => {
  test('201 with every field, ETag, Location; GET returns the same object', async () => {
    const tenantContact = await contactOf(null, 'owner');
    const res = await call('POST', '/v1/customers', {
      payload: {
        name: 'Initech',
        external_ref: 'crm-1',
        metadata: { tier: 'gold', seats: 3, active: true, note: null },
        billing_contact_id: tenantContact.id,
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = json<Obj>(res);
    assert.equal(res.headers.etag, '"v1"');
    assert.equal(res.headers.location, `/v1/customers/${body.id}`);
    assert.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(typeof body.number, 'number');
    assert.equal(body.name, 'Initech');
    assert.equal(body.external_ref, 'crm-1');
    assert.deepEqual(body.metadata, { tier: 'gold', seats: 3, active: true, note: null });
    assert.equal(body.billing_contact_id, tenantContact.id);
    assert.equal(body.technical_contact_id, null);
    assert.equal(body.security_contact_id, null);
    assert.equal(body.deleted_at, null);
    const got = await call('GET', `/v1/customers/${body.id}`);
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers.etag, '"v1"');
    assert.deepEqual(json(got), body);
  });

  test('defaults: only a name, 200 characters at most, 50 metadata keys at most', async () => {
    const minimal = await customer({ name: 'x' });
    assert.equal(minimal.external_ref, null);
    assert.deepEqual(minimal.metadata, {});
    const longest = await customer({
      name: 'n'.repeat(200),
      external_ref: 'r'.repeat(200),
      metadata: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i])),
    });
    assert.equal(Object.keys(longest.metadata as object).length, 50);
  });

  describe('validation', () => {
    interface Fixtures {
      tenantContact: Obj;
      deletedContact: Obj;
      otherCustomersContact: Obj;
      otherTenantsContact: Obj;
    }
    let f: Fixtures;
    before(async () => {
      const other = await customer({ name: 'Other' });
      const deleted = await contactOf(null, 'deleted');
      assert.equal((await call('DELETE', `/v1/contacts/${deleted.id}`)).statusCode, 200);
      const stranger = await createTestTenant(env);
      f = {
        tenantContact: await contactOf(null, 'tenantlevel'),
        deletedContact: deleted,
        otherCustomersContact: await contactOf(other.id, 'theirs'),
        otherTenantsContact: await contactOf(null, 'stranger', stranger),
      };
    });

    const fiftyOne = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    const cases: [string, (f: Fixtures) => Record<string, unknown>, string, string][] = [
      ['name missing', () => ({ external_ref: 'a' }), 'name', 'required'],
      ['name empty', () => ({ name: '' }), 'name', 'too_short'],
      ['name too long', () => ({ name: 'x'.repeat(201) }), 'name', 'too_long'],
      ['name not a string', () => ({ name: 42 }), 'name', 'invalid_type'],
      ['name null', () => ({ name: null }), 'name', 'invalid_type'],
      ['external_ref empty', () => ({ name: 'x', external_ref: '' }), 'external_ref', 'too_short'],
      [
        'external_ref too long',
        () => ({ name: 'x', external_ref: 'r'.repeat(201) }),
        'external_ref',
        'too_long',
      ],
      ['external_ref a number', () => ({ name: 'x', external_ref: 7 }), 'external_ref', 'invalid_type'],
      ['metadata not an object', () => ({ name: 'x', metadata: 'gold' }), 'metadata', 'invalid_type'],
      ['metadata an array', () => ({ name: 'x', metadata: ['gold'] }), 'metadata', 'invalid_type'],
      [
        'metadata nested object',
        () => ({ name: 'x', metadata: { a: { b: 1 } } }),
        'metadata.a',
        'invalid_type',
      ],
      ['metadata array value', () => ({ name: 'x', metadata: { a: [1] } }), 'metadata.a', 'invalid_type'],
      [
        'metadata value too long',
        () => ({ name: 'x', metadata: { a: 'v'.repeat(501) } }),
        'metadata.a',
        'too_long',
      ],
      ['metadata with 51 keys', () => ({ name: 'x', metadata: fiftyOne }), 'metadata', 'too_long'],
      ['unknown field', () => ({ name: 'x', nickname: 'y' }), 'nickname', 'unknown_field'],
      ['read-only id', () => ({ name: 'x', id: UNKNOWN_ID }), 'id', 'unknown_field'],
      ['read-only number', () => ({ name: 'x', number: 5 }), 'number', 'unknown_field'],
      [
        'designation not a uuid',
        () => ({ name: 'x', billing_contact_id: 'ann' }),
        'billing_contact_id',
        'invalid_format',
      ],
      [
        'designation a number',
        () => ({ name: 'x', technical_contact_id: 5 }),
        'technical_contact_id',
        'invalid_type',
      ],
      [
        'billing contact of another customer',
        (f) => ({ name: 'x', billing_contact_id: f.otherCustomersContact.id }),
        'billing_contact_id',
        'invalid_reference',
      ],
      [
        'technical contact of another customer',
        (f) => ({ name: 'x', technical_contact_id: f.otherCustomersContact.id }),
        'technical_contact_id',
        'invalid_reference',
      ],
      [
        'security contact of another customer',
        (f) => ({ name: 'x', security_contact_id: f.otherCustomersContact.id }),
        'security_contact_id',
        'invalid_reference',
      ],
      [
        'deleted contact',
        (f) => ({ name: 'x', billing_contact_id: f.deletedContact.id }),
        'billing_contact_id',
        'invalid_reference',
      ],
      [
        'unknown contact',
        () => ({ name: 'x', security_contact_id: UNKNOWN_ID }),
        'security_contact_id',
        'invalid_reference',
      ],
      [
        "another tenant's contact",
        (f) => ({ name: 'x', technical_contact_id: f.otherTenantsContact.id }),
        'technical_contact_id',
        'invalid_reference',
      ],
      [
        'one good designation does not save a bad one',
        (f) => ({
          name: 'x',
          billing_contact_id: f.tenantContact.id,
          security_contact_id: f.otherCustomersContact.id,
        }),
        'security_contact_id',
        'invalid_reference',
      ],
    ];
    for (const [label, payload, field, code] of cases) {
      test(`422 ${label}: names ${field}, writes nothing`, async () => {
        const before = await snapshot();
        const res = await call('POST', '/v1/customers', { payload: payload(f) });
        assertProblem(res, 422, 'validation_failed', { field, code });
        assert.deepEqual(await snapshot(), before);
      });
    }

    test('every bad designation is named at once', async () => {
      const res = await call('POST', '/v1/customers', {
        payload: {
          name: 'x',
          billing_contact_id: f.otherCustomersContact.id,
          technical_contact_id: f.deletedContact.id,
          security_contact_id: UNKNOWN_ID,
        },
      });
      const body = assertProblem(res, 422, 'validation_failed');
      assert.deepEqual(body.errors?.map((e) => e.field).sort(), [
        'billing_contact_id',
        'security_contact_id',
        'technical_contact_id',
      ]);
    });

    test('metadata keys longer than 40 characters are refused', async () => {
      const before = await snapshot();
      const res = await call('POST', '/v1/customers', {
        payload: { name: 'x', metadata: { ['k'.repeat(41)]: 1 } },
      });
      assertProblem(res, 422, 'validation_failed', { field: 'metadata' });
      assert.deepEqual(await snapshot(), before);
    });

    test('400 for malformed JSON and 415 for other content types, writing nothing', async () => {
      const before = await snapshot();
      const bad = await env.app.inject({
        method: 'POST',
        url: '/v1/customers',
        headers: { ...t.auth, 'content-type': 'application/json' },
        payload: '{"name": ',
      });
      assertProblem(bad, 400, 'malformed_json');
      const text = await env.app.inject({
        method: 'POST',
        url: '/v1/customers',
        headers: { ...t.auth, 'content-type': 'text/plain' },
        payload: 'name=x',
      });
      assertProblem(text, 415, 'unsupported_media_type');
      assert.deepEqual(await snapshot(), before);
    });
  });
});

describe('external_ref uniqueness', () => {
  test('409 among live customers; free again once the holder is deleted; restore then conflicts', async () => {
    const first = await customer({ name: 'First', external_ref: 'dup-1' });
    const before = await snapshot();
    const dup = await call('POST', '/v1/customers', { payload: { name: 'Second', external_ref: 'dup-1' } });
    assertProblem(dup, 409, 'external_ref_taken');
    assert.deepEqual(await snapshot(), before);

    const second = await customer({ name: 'Second', external_ref: 'dup-2' });
    const patched = await call('PATCH', `/v1/customers/${second.id}`, { payload: { external_ref: 'dup-1' } });
    assertProblem(patched, 409, 'external_ref_taken');
    assert.equal(
      json(await call('GET', `/v1/customers/${second.id}`)).external_ref,
      'dup-2',
      'a refused PATCH changes nothing',
    );

    assert.equal((await call('DELETE', `/v1/customers/${first.id}`)).statusCode, 200);
    const again = await call('POST', '/v1/customers', { payload: { name: 'Third', external_ref: 'dup-1' } });
    assert.equal(again.statusCode, 201, again.body);

    const restore = await call('POST', `/v1/customers/${first.id}/restore`);
    assertProblem(restore, 409, 'external_ref_taken');
    const stillDeleted = await call('GET', `/v1/customers/${first.id}?include_deleted=true`);
    assert.ok(json(stillDeleted).deleted_at, 'the refused restore left the customer deleted');
  });

  test('the same external_ref in another tenant is fine, and the filter does not cross tenants', async () => {
    await customer({ name: 'Mine', external_ref: 'shared-ref' });
    const other = await createTestTenant(env);
    await customer({ name: 'Theirs', external_ref: 'shared-ref' }, other);
    const res = await call('GET', '/v1/customers?external_ref=shared-ref');
    assert.deepEqual(
      json<Page>(res).data.map((c) => c.name),
      ['Mine'],
    );
  });
});

describe('update', () => {
  test('PATCH is partial, null clears, metadata is replaced, ETag advances', async () => {
    const c = await customer({ name: 'Old', external_ref: 'upd-1', metadata: { a: 1, b: 2 } });
    const res = await call('PATCH', `/v1/customers/${c.id}`, {
      payload: { name: 'New', external_ref: null, metadata: { c: 'x' } },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers.etag, '"v2"');
    const body = json<Obj>(res);
    assert.equal(body.name, 'New');
    assert.equal(body.external_ref, null);
    assert.deepEqual(body.metadata, { c: 'x' });
    assert.equal(body.created_at, c.created_at);
    assert.ok(String(body.updated_at) >= String(c.updated_at));
    assert.deepEqual(json(await call('GET', `/v1/customers/${c.id}`)), body);
  });

  test('designating contacts of this customer and of the tenant, then clearing them', async () => {
    const c = await customer({ name: 'Designates' });
    const own = await contactOf(c.id, 'own');
    const tenantLevel = await contactOf(null, 'shared');
    const res = await call('PATCH', `/v1/customers/${c.id}`, {
      payload: {
        billing_contact_id: own.id,
        technical_contact_id: tenantLevel.id,
        security_contact_id: own.id,
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Obj>(res);
    assert.equal(body.billing_contact_id, own.id);
    assert.equal(body.technical_contact_id, tenantLevel.id);
    assert.equal(body.security_contact_id, own.id);
    const cleared = await call('PATCH', `/v1/customers/${c.id}`, {
      payload: { billing_contact_id: null, technical_contact_id: null },
    });
    assert.equal(cleared.statusCode, 200);
    assert.equal(json(cleared).billing_contact_id, null);
    assert.equal(json(cleared).technical_contact_id, null);
    assert.equal(json(cleared).security_contact_id, own.id);
  });

  const invalid: [string, Record<string, unknown>, string, string][] = [
    ['empty body', {}, 'body', 'invalid'],
    ['name null', { name: null }, 'name', 'invalid_type'],
    ['name empty', { name: '' }, 'name', 'too_short'],
    ['name too long', { name: 'x'.repeat(201) }, 'name', 'too_long'],
    ['external_ref too long', { external_ref: 'r'.repeat(201) }, 'external_ref', 'too_long'],
    ['metadata nested', { metadata: { a: { b: 1 } } }, 'metadata.a', 'invalid_type'],
    [
      'metadata with 51 keys',
      { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) },
      'metadata',
      'too_long',
    ],
    ['unknown field', { colour: 'red' }, 'colour', 'unknown_field'],
    ['read-only deleted_at', { deleted_at: null }, 'deleted_at', 'unknown_field'],
    ['designation not a uuid', { security_contact_id: 'x' }, 'security_contact_id', 'invalid_format'],
  ];
  for (const [label, payload, field, code] of invalid) {
    test(`PATCH 422 ${label}: names ${field}, writes nothing`, async () => {
      const c = await customer({ name: 'Unchanged' });
      const before = await snapshot();
      const res = await call('PATCH', `/v1/customers/${c.id}`, { payload });
      assertProblem(res, 422, 'validation_failed', { field, code });
      assert.deepEqual(await snapshot(), before);
      const got = await call('GET', `/v1/customers/${c.id}`);
      assert.equal(got.headers.etag, '"v1"');
      assert.equal(json(got).name, 'Unchanged');
    });
  }

  test("PATCH 422 for another customer's contact, on each designation, writes nothing", async () => {
    const c = await customer({ name: 'Mine' });
    const other = await customer({ name: 'Theirs' });
    const theirs = await contactOf(other.id, 'theirs');
    for (const field of ['billing_contact_id', 'technical_contact_id', 'security_contact_id']) {
      const before = await snapshot();
      const res = await call('PATCH', `/v1/customers/${c.id}`, { payload: { [field]: theirs.id } });
      assertProblem(res, 422, 'validation_failed', { field, code: 'invalid_reference' });
      assert.deepEqual(await snapshot(), before);
    }
    assert.equal((await call('GET', `/v1/customers/${c.id}`)).headers.etag, '"v1"');
  });

  test('If-Match on PATCH: current passes, stale is 412 and changes nothing, "*" passes', async () => {
    const c = await customer({ name: 'Etag' });
    const ok = await call('PATCH', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-match': '"v1"' },
      payload: { name: 'Etag 2' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.headers.etag, '"v2"');
    const events = await count(env, 'events');
    const stale = await call('PATCH', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-match': '"v1"' },
      payload: { name: 'Lost update' },
    });
    assertProblem(stale, 412, 'precondition_failed');
    const weak = await call('PATCH', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-match': 'W/"v2"' },
      payload: { name: 'Lost update' },
    });
    assertProblem(weak, 412, 'precondition_failed');
    assert.equal(await count(env, 'events'), events);
    assert.equal(json(await call('GET', `/v1/customers/${c.id}`)).name, 'Etag 2');
    const listed = await call('PATCH', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-match': '"v9", "v2"' },
      payload: { name: 'Etag 3' },
    });
    assert.equal(listed.statusCode, 200, listed.body);
    const star = await call('PATCH', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-match': '*' },
      payload: { name: 'Etag 4' },
    });
    assert.equal(star.statusCode, 200);
    assert.equal(star.headers.etag, '"v4"');
    const garbage = await call('PATCH', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-match': 'v4' },
      payload: { name: 'x' },
    });
    assertProblem(garbage, 400, 'bad_request');
  });

  test('If-Match on DELETE: stale is 412 and deletes nothing, current deletes', async () => {
    const c = await customer({ name: 'Etag delete' });
    await call('PATCH', `/v1/customers/${c.id}`, { payload: { name: 'v2 now' } });
    const stale = await call('DELETE', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-match': '"v1"' },
    });
    assertProblem(stale, 412, 'precondition_failed');
    assert.equal((await call('GET', `/v1/customers/${c.id}`)).statusCode, 200);
    const ok = await call('DELETE', `/v1/customers/${c.id}`, { headers: { ...t.auth, 'if-match': '"v2"' } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.headers.etag, '"v3"');
    const star = await customer({ name: 'Star delete' });
    const starDel = await call('DELETE', `/v1/customers/${star.id}`, {
      headers: { ...t.auth, 'if-match': '*' },
    });
    assert.equal(starDel.statusCode, 200);
  });

  test('If-None-Match: the current ETag or "*" is 304 with no body, a stale one is 200', async () => {
    const c = await customer({ name: 'Cached' });
    const hit = await call('GET', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-none-match': '"v1"' },
    });
    assert.equal(hit.statusCode, 304);
    assert.equal(hit.body, '');
    assert.equal(hit.headers.etag, '"v1"');
    const any = await call('GET', `/v1/customers/${c.id}`, { headers: { ...t.auth, 'if-none-match': '*' } });
    assert.equal(any.statusCode, 304);
    await call('PATCH', `/v1/customers/${c.id}`, { payload: { name: 'Changed' } });
    const miss = await call('GET', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-none-match': '"v1"' },
    });
    assert.equal(miss.statusCode, 200);
    assert.equal(miss.headers.etag, '"v2"');
    assert.equal(json(miss).name, 'Changed');
  });
});

describe('idempotency', () => {
  test('same key and body replays the first response; another body is 422', async () => {
    const headers = { ...t.auth, 'idempotency-key': `cust-${Date.now()}` };
    const payload = { name: 'Idem Ltd', external_ref: `idem-${Date.now()}` };
    const first = await call('POST', '/v1/customers', { headers, payload });
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    // Without the key this body would be a 409 (external_ref taken): the replay never reaches the service.
    const second = await call('POST', '/v1/customers', { headers, payload });
    assert.equal(second.statusCode, 201, second.body);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.deepEqual(json(second), json(first));
    assert.equal(second.headers.etag, first.headers.etag);
    assert.equal(second.headers.location, first.headers.location);
    const rows = await env.sql`select count(*)::int as n from customers where name = 'Idem Ltd'`;
    assert.equal(rows[0]?.n, 1);
    assert.deepEqual(await eventTypes(json<Obj>(first).id), ['customer.created']);
    const before = await snapshot();
    const other = await call('POST', '/v1/customers', { headers, payload: { name: 'Other Ltd' } });
    assertProblem(other, 422, 'idempotency_key_reused', { field: 'Idempotency-Key' });
    assert.deepEqual(await snapshot(), before);
  });

  test('concurrent requests with one key create one customer', async () => {
    const headers = { ...t.auth, 'idempotency-key': `cust-race-${Date.now()}` };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => call('POST', '/v1/customers', { headers, payload: { name: 'Racer' } })),
    );
    for (const r of results) assert.equal(r.statusCode, 201, r.body);
    assert.equal(new Set(results.map((r) => json(r).id)).size, 1);
    const rows = await env.sql`select count(*)::int as n from customers where name = 'Racer'`;
    assert.equal(rows[0]?.n, 1);
  });
});

describe('soft delete and restore', () => {
  test('delete hides the customer and its contacts; restore brings back exactly those contacts', async () => {
    const c = await customer({ name: 'Cascade' });
    const a = await contactOf(c.id, 'alpha');
    const b = await contactOf(c.id, 'bravo');
    const early = await contactOf(c.id, 'early');
    const tenantLevel = await contactOf(null, 'bystander');
    assert.equal((await call('DELETE', `/v1/contacts/${early.id}`)).statusCode, 200);
    const earlyDeletedAt = json(
      await call('GET', `/v1/contacts/${early.id}?include_deleted=true`),
    ).deleted_at;
    assert.ok(earlyDeletedAt);

    const del = await call('DELETE', `/v1/customers/${c.id}`);
    assert.equal(del.statusCode, 200, del.body);
    const deletedAt = json(del).deleted_at;
    assert.ok(deletedAt);

    assertProblem(await call('GET', `/v1/customers/${c.id}`), 404, 'not_found');
    assert.equal(json(await call('GET', `/v1/customers/${c.id}?include_deleted=true`)).deleted_at, deletedAt);
    const listed = json<Page>(await call('GET', '/v1/customers?limit=200')).data.map((x) => x.id);
    assert.ok(!listed.includes(c.id));
    const listedAll = json<Page>(await call('GET', '/v1/customers?limit=200&include_deleted=true')).data;
    assert.ok(listedAll.some((x) => x.id === c.id));

    for (const x of [a, b]) {
      assertProblem(await call('GET', `/v1/contacts/${x.id}`), 404, 'not_found');
      const shown = await call('GET', `/v1/contacts/${x.id}?include_deleted=true`);
      assert.equal(shown.statusCode, 200);
      assert.ok(json(shown).deleted_at);
    }
    assert.equal(json<Page>(await call('GET', `/v1/contacts?customer_id=${c.id}`)).data.length, 0);
    const contactsAll = json<Page>(
      await call('GET', `/v1/contacts?customer_id=${c.id}&include_deleted=true`),
    );
    assert.deepEqual(contactsAll.data.map((x) => x.id).sort(), [a.id, b.id, early.id].sort());
    assertProblem(await call('GET', `/v1/customers/${c.id}/contacts`), 404, 'not_found');
    assert.equal((await call('GET', `/v1/contacts/${tenantLevel.id}`)).statusCode, 200);

    assertProblem(await call('DELETE', `/v1/customers/${c.id}`), 404, 'not_found');
    assertProblem(
      await call('PATCH', `/v1/customers/${c.id}`, { payload: { name: 'ghost' } }),
      404,
      'not_found',
    );

    const restored = await call('POST', `/v1/customers/${c.id}/restore`);
    assert.equal(restored.statusCode, 200, restored.body);
    assert.equal(json(restored).deleted_at, null);
    assert.equal(restored.headers.etag, '"v3"');
    assert.equal((await call('GET', `/v1/customers/${c.id}`)).statusCode, 200);
    for (const x of [a, b]) {
      const got = await call('GET', `/v1/contacts/${x.id}`);
      assert.equal(got.statusCode, 200);
      assert.equal(json(got).deleted_at, null);
    }
    assertProblem(await call('GET', `/v1/contacts/${early.id}`), 404, 'not_found');
    const earlyNow = json(await call('GET', `/v1/contacts/${early.id}?include_deleted=true`));
    assert.equal(earlyNow.deleted_at, earlyDeletedAt, 'the earlier deletion is untouched');
    const live = json<Page>(await call('GET', `/v1/customers/${c.id}/contacts`));
    assert.deepEqual(live.data.map((x) => x.id).sort(), [a.id, b.id].sort());

    assert.deepEqual(await eventTypes(a.id), ['contact.created', 'contact.deleted', 'contact.restored']);
    assert.deepEqual(await eventTypes(early.id), ['contact.created', 'contact.deleted']);
  });

  test('restoring a live customer changes nothing; restore honours If-Match', async () => {
    const c = await customer({ name: 'Alive' });
    const res = await call('POST', `/v1/customers/${c.id}/restore`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.etag, '"v1"');
    assert.deepEqual(await eventTypes(c.id), ['customer.created']);
    await call('DELETE', `/v1/customers/${c.id}`);
    const stale = await call('POST', `/v1/customers/${c.id}/restore`, {
      headers: { ...t.auth, 'if-match': '"v1"' },
    });
    assertProblem(stale, 412, 'precondition_failed');
    const ok = await call('POST', `/v1/customers/${c.id}/restore`, {
      headers: { ...t.auth, 'if-match': '"v2"' },
    });
    assert.equal(ok.statusCode, 200);
    assert.equal(json(ok).deleted_at, null);
  });
});

describe('purge', () => {
  test('needs the admin scope; erases the customer, its contacts and channels; scrubs their events', async () => {
    const c = await customer({ name: 'Purge Me Inc', external_ref: 'purge-me' });
    const a = await contactOf(c.id, 'purgealpha');
    const b = await contactOf(c.id, 'purgebravo');
    const shared = await contactOf(null, 'purgeshared');
    assert.equal(
      (
        await call('PATCH', `/v1/customers/${c.id}`, {
          payload: { billing_contact_id: a.id, technical_contact_id: shared.id },
        })
      ).statusCode,
      200,
    );
    assert.equal((await call('DELETE', `/v1/contacts/${b.id}`)).statusCode, 200);
    const ch1 = await channelOf(c.id, { type: 'EMAIL', value: 'purge@x.example', contact_id: a.id });
    const ch2 = await channelOf(c.id, { type: 'URL', value: 'https://purge.example' });
    const bystander = await customer({ name: 'Bystander' });
    const kept = await contactOf(bystander.id, 'kept');

    const before = await snapshot();
    for (const scopes of [['customers:write'], ['customers:write', 'contacts:write']] as const) {
      const writer = await keyFor(env, t.tenant, [...scopes]);
      const denied = await call('DELETE', `/v1/customers/${c.id}?purge=true`, { headers: writer });
      assertProblem(denied, 403, 'insufficient_scope');
    }
    assert.deepEqual(await snapshot(), before);

    const purged = await call('DELETE', `/v1/customers/${c.id}?purge=true`);
    assert.equal(purged.statusCode, 204, purged.body);
    assert.equal(purged.body, '');

    const ids = [c.id, a.id, b.id, ch1.id, ch2.id];
    assert.equal((await env.sql`select count(*)::int as n from customers where id = ${c.id}`)[0]?.n, 0);
    assert.equal(
      (await env.sql`select count(*)::int as n from contacts where customer_id = ${c.id}`)[0]?.n,
      0,
    );
    assert.equal(
      (await env.sql`select count(*)::int as n from channels where customer_id = ${c.id}`)[0]?.n,
      0,
    );
    for (const id of ids) {
      const history =
        await env.sql`select data from events where resource_id = ${id} and type <> 'customer.purged'`;
      assert.ok(history.length > 0, `${id} had events`);
      for (const e of history) assert.deepEqual(e.data, { redacted: true });
    }
    const leaks = await env.sql`select count(*)::int as n from events
      where tenant_id = ${t.tenant.id} and (data::text like '%Purge Me%' or data::text like '%purgealpha%'
        or data::text like '%purge@x.example%' or data::text like '%purgebravo%')`;
    assert.equal(leaks[0]?.n, 0);
    const tombstone =
      await env.sql`select data from events where resource_id = ${c.id} and type = 'customer.purged'`;
    assert.equal(tombstone.length, 1);

    assertProblem(await call('GET', `/v1/customers/${c.id}?include_deleted=true`), 404, 'not_found');
    assertProblem(await call('GET', `/v1/contacts/${a.id}?include_deleted=true`), 404, 'not_found');
    assertProblem(await call('GET', `/v1/channels/${ch1.id}`), 404, 'not_found');

    // Only what belonged to the purged customer is gone or scrubbed.
    assert.equal((await call('GET', `/v1/contacts/${shared.id}`)).statusCode, 200);
    assert.equal((await call('GET', `/v1/contacts/${kept.id}`)).statusCode, 200);
    const untouched =
      await env.sql`select data from events where resource_id in ${env.sql([shared.id, kept.id, bystander.id])}`;
    assert.ok(untouched.length >= 3);
    for (const e of untouched) assert.notDeepEqual(e.data, { redacted: true });
    // The external_ref is free again.
    await customer({ name: 'Successor', external_ref: 'purge-me' });
  });

  test('a soft-deleted customer can be purged; If-Match is honoured; unknown is 404', async () => {
    const c = await customer({ name: 'Deleted then purged' });
    await call('DELETE', `/v1/customers/${c.id}`);
    const stale = await call('DELETE', `/v1/customers/${c.id}?purge=true`, {
      headers: { ...t.auth, 'if-match': '"v1"' },
    });
    assertProblem(stale, 412, 'precondition_failed');
    const ok = await call('DELETE', `/v1/customers/${c.id}?purge=true`, {
      headers: { ...t.auth, 'if-match': '"v2"' },
    });
    assert.equal(ok.statusCode, 204, ok.body);
    assertProblem(await call('DELETE', `/v1/customers/${UNKNOWN_ID}?purge=true`), 404, 'not_found');
    assertProblem(await call('DELETE', `/v1/customers/${c.id}?purge=maybe`), 422, 'validation_failed', {
      field: 'purge',
    });
  });
});

describe('events', () => {
  test('every write records one event, with the object, the key and the request id', async () => {
    const created = await call('POST', '/v1/customers', { payload: { name: 'Evented' } });
    const c = json<Obj>(created);
    const updated = await call('PATCH', `/v1/customers/${c.id}`, { payload: { name: 'Evented 2' } });
    const deleted = await call('DELETE', `/v1/customers/${c.id}`);
    const restored = await call('POST', `/v1/customers/${c.id}/restore`);
    const rows = await env.sql`select type, resource_type, data, api_key_id, request_id
      from events where resource_id = ${c.id} order by id`;
    assert.deepEqual(
      rows.map((r) => r.type),
      ['customer.created', 'customer.updated', 'customer.deleted', 'customer.restored'],
    );
    const responses = [created, updated, deleted, restored];
    rows.forEach((row, i) => {
      const res = responses[i];
      assert.ok(res);
      assert.equal(row.resource_type, 'customer');
      assert.deepEqual(row.data.object, json(res), `${row.type} carries the object as returned`);
      assert.equal(row.request_id, res.headers['x-request-id']);
      assert.ok(row.api_key_id);
    });
    assert.deepEqual(rows[1]?.data.previous_attributes, { name: 'Evented' });
  });

  test('refused writes record no event', async () => {
    const c = await customer({ name: 'Quiet' });
    const before = await count(env, 'events');
    await call('PATCH', `/v1/customers/${c.id}`, {
      headers: { ...t.auth, 'if-match': '"v7"' },
      payload: { name: 'x' },
    });
    await call('PATCH', `/v1/customers/${c.id}`, { payload: { name: '' } });
    await call('DELETE', `/v1/customers/${c.id}`, { headers: { ...t.auth, 'if-match': '"v7"' } });
    await call('POST', '/v1/customers', { payload: { name: 'x', bogus: 1 } });
    assert.equal(await count(env, 'events'), before);
  });
});

describe('list, filter, search', () => {
  let lt: TestTenant;
  const made: Record<string, Obj> = {};
  before(async () => {
    lt = await createTestTenant(env);
    const specs = [
      { name: 'Acme Corp', external_ref: 'ext-1' },
      { name: 'ACME Labs', external_ref: 'ext-2' },
      { name: 'Globex' },
      { name: '100%_off' },
      { name: 'Under_score' },
      { name: 'Dup' },
      { name: 'Dup' },
      { name: 'Dup' },
      { name: 'Zeta Gone', external_ref: 'ext-3' },
    ];
    for (const [i, spec] of specs.entries()) made[`${spec.name}#${i}`] = await customer(spec, lt);
    const gone = made['Zeta Gone#8'];
    assert.ok(gone);
    assert.equal((await call('DELETE', `/v1/customers/${gone.id}`, { headers: lt.auth })).statusCode, 200);
  });
  const get = async (qs: string) => {
    const res = await call('GET', `/v1/customers?${qs}`, { headers: lt.auth });
    assert.equal(res.statusCode, 200, res.body);
    return json<Page>(res);
  };
  const names = async (qs: string) => (await get(qs)).data.map((x) => x.name);

  test('default order is creation order; deleted customers only with include_deleted', async () => {
    assert.deepEqual(await names(''), [
      'Acme Corp',
      'ACME Labs',
      'Globex',
      '100%_off',
      'Under_score',
      'Dup',
      'Dup',
      'Dup',
    ]);
    assert.deepEqual(await names('sort=-created_at&limit=2'), ['Dup', 'Dup']);
    const all = await names('include_deleted=true');
    assert.equal(all.length, 9);
    assert.equal(all.at(-1), 'Zeta Gone');
    assert.deepEqual(await names('external_ref=ext-3'), []);
    assert.deepEqual(await names('external_ref=ext-3&include_deleted=true'), ['Zeta Gone']);
  });

  test('sort by name both ways, case-insensitively, ties broken by id', async () => {
    const asc = (await get('sort=name')).data;
    assert.deepEqual(
      asc.map((x) => x.name),
      ['100%_off', 'Acme Corp', 'ACME Labs', 'Dup', 'Dup', 'Dup', 'Globex', 'Under_score'],
    );
    const dups = asc.filter((x) => x.name === 'Dup').map((x) => x.id);
    assert.deepEqual(dups, [...dups].sort());
    const desc = (await get('sort=-name')).data;
    assert.deepEqual(
      desc.map((x) => x.id),
      asc.map((x) => x.id).reverse(),
    );
  });

  test('sort by updated_at follows the last write', async () => {
    const globex = made['Globex#2'];
    assert.ok(globex);
    const res = await call('PATCH', `/v1/customers/${globex.id}`, {
      headers: lt.auth,
      payload: { metadata: { touched: true } },
    });
    assert.equal(res.statusCode, 200);
    assert.equal((await names('sort=updated_at')).at(-1), 'Globex');
    assert.equal((await names('sort=-updated_at'))[0], 'Globex');
    const since = encodeURIComponent(String(json(res).updated_at));
    assert.deepEqual(await names(`updated_since=${since}`), ['Globex']);
    const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
    assert.deepEqual(await names(`updated_since=${future}`), []);
    assert.equal((await names('updated_since=2000-01-01T00:00:00Z')).length, 8);
  });

  test('cursor pagination sees every customer exactly once, in every sort', async () => {
    for (const sort of ['created_at', '-created_at', 'name', '-name', 'updated_at', '-updated_at']) {
      const full = (await get(`sort=${sort}&limit=200`)).data.map((x) => x.id);
      assert.equal(full.length, 8);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Page = await get(`sort=${sort}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        pages++;
        seen.push(...page.data.map((x) => x.id));
        assert.equal(page.has_more, page.next_cursor !== null);
        cursor = page.next_cursor;
      } while (cursor);
      assert.equal(pages, 3, sort);
      assert.deepEqual(seen, full, `${sort}: pages concatenate to the full list`);
    }
  });

  test('q searches the name case-insensitively with LIKE wildcards taken literally', async () => {
    assert.deepEqual(await names('q=acme'), ['Acme Corp', 'ACME Labs']);
    assert.deepEqual(await names('q=LABS'), ['ACME Labs']);
    assert.deepEqual(await names(`q=${encodeURIComponent('%')}`), ['100%_off']);
    assert.deepEqual(await names('q=_'), ['100%_off', 'Under_score']);
    assert.deepEqual(await names(`q=${encodeURIComponent('%_')}`), ['100%_off']);
    assert.deepEqual(await names(`q=${encodeURIComponent('a%e')}`), []);
    assert.deepEqual(await names(`q=${encodeURIComponent('\\')}`), []);
    assert.deepEqual(await names('q=zeta'), []);
    assert.deepEqual(await names('q=zeta&include_deleted=true'), ['Zeta Gone']);
    assert.deepEqual(await names('q=acme&external_ref=ext-2'), ['ACME Labs']);
  });

  test('bad list parameters are 422 naming the parameter, bad cursors 400', async () => {
    for (const [qs, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['sort=email', 'sort'],
      ['sort=--name', 'sort'],
      ['updated_since=yesterday', 'updated_since'],
      ['include_deleted=maybe', 'include_deleted'],
      ['q=', 'q'],
      [`external_ref=${'r'.repeat(201)}`, 'external_ref'],
      ['colour=red', 'colour'],
    ]) {
      const res = await call('GET', `/v1/customers?${qs}`, { headers: lt.auth });
      assertProblem(res, 422, 'validation_failed', { field: String(field) });
    }
    assertProblem(
      await call('GET', '/v1/customers?cursor=garbage', { headers: lt.auth }),
      400,
      'invalid_cursor',
    );
    const first = await get('sort=name&limit=1');
    assert.ok(first.next_cursor);
    assertProblem(
      await call('GET', `/v1/customers?sort=created_at&cursor=${first.next_cursor}`, { headers: lt.auth }),
      400,
      'invalid_cursor',
    );
  });
});

describe('not found and cross-tenant', () => {
  test('unknown and malformed ids are 404 on every route', async () => {
    for (const id of [UNKNOWN_ID, 'not-a-uuid', '12345']) {
      for (const [method, url, payload] of [
        ['GET', `/v1/customers/${id}`],
        ['PATCH', `/v1/customers/${id}`, { name: 'x' }],
        ['DELETE', `/v1/customers/${id}`],
        ['POST', `/v1/customers/${id}/restore`],
      ] as [Method, string, Record<string, unknown>?][]) {
        const res = await call(method, url, payload ? { payload } : {});
        assertProblem(res, 404, 'not_found');
      }
    }
  });

  test("another tenant's customer is 404 everywhere and never listed", async () => {
    const other = await createTestTenant(env);
    const theirs = await customer({ name: 'Not yours', external_ref: 'private' }, other);
    const before = await snapshot();
    for (const [method, url, payload] of [
      ['GET', `/v1/customers/${theirs.id}`],
      ['GET', `/v1/customers/${theirs.id}?include_deleted=true`],
      ['PATCH', `/v1/customers/${theirs.id}`, { name: 'mine now' }],
      ['DELETE', `/v1/customers/${theirs.id}`],
      ['DELETE', `/v1/customers/${theirs.id}?purge=true`],
      ['POST', `/v1/customers/${theirs.id}/restore`],
      ['GET', `/v1/customers/${theirs.id}/contacts`],
      ['GET', `/v1/customers/${theirs.id}/channels`],
    ] as [Method, string, Record<string, unknown>?][]) {
      assertProblem(await call(method, url, payload ? { payload } : {}), 404, 'not_found');
    }
    assert.deepEqual(await snapshot(), before);
    const list = json<Page>(await call('GET', '/v1/customers?limit=200&include_deleted=true&q=yours'));
    assert.equal(list.data.length, 0);
    const got = await call('GET', `/v1/customers/${theirs.id}`, { headers: other.auth });
    assert.equal(json(got).name, 'Not yours');
  });
});

describe('authentication and scopes', () => {
  let c: Obj;
  before(async () => {
    c = await customer({ name: 'Guarded' });
  });
  const routes = (): [Method, string, Record<string, unknown>?][] => [
    ['POST', '/v1/customers', { name: 'x' }],
    ['GET', '/v1/customers'],
    ['GET', `/v1/customers/${c.id}`],
    ['PATCH', `/v1/customers/${c.id}`, { name: 'x' }],
    ['DELETE', `/v1/customers/${c.id}`],
    ['POST', `/v1/customers/${c.id}/restore`],
  ];

  test('401 with no key, a malformed header or an unknown key; nothing written', async () => {
    const before = await snapshot();
    const anonymous: Record<string, string>[] = [
      {},
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer ct_not_a_real_key' },
    ];
    for (const headers of anonymous) {
      for (const [method, url, payload] of routes()) {
        const res = await call(method, url, { headers, ...(payload ? { payload } : {}) });
        assertProblem(res, 401, 'unauthenticated');
        assert.equal(res.headers['www-authenticate'], 'Bearer');
      }
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('403 with a key lacking the scope, checked before the body is validated', async () => {
    const reader = await keyFor(env, t.tenant, ['customers:read']);
    const contactsOnly = await keyFor(env, t.tenant, ['contacts:read', 'contacts:write']);
    const before = await snapshot();
    for (const [method, url, payload] of routes()) {
      const write = method !== 'GET';
      if (write) {
        assertProblem(
          await call(method, url, { headers: reader, ...(payload ? { payload } : {}) }),
          403,
          'insufficient_scope',
        );
        assertProblem(
          await call(method, url, { headers: reader, payload: { bogus: true } }),
          403,
          'insufficient_scope',
        );
      } else {
        assert.equal((await call(method, url, { headers: reader })).statusCode, 200);
      }
      assertProblem(
        await call(method, url, { headers: contactsOnly, ...(payload ? { payload } : {}) }),
        403,
        'insufficient_scope',
      );
    }
    assert.deepEqual(await snapshot(), before);
    const writer = await keyFor(env, t.tenant, ['customers:write']);
    const created = await call('POST', '/v1/customers', { headers: writer, payload: { name: 'By writer' } });
    assert.equal(created.statusCode, 201);
    assertProblem(await call('GET', `/v1/customers/${c.id}`, { headers: writer }), 403, 'insufficient_scope');
  });
});
