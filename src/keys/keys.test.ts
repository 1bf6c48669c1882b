import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  buildAppOn,
  createTestTenant,
  json,
  keyFor,
  setupTestEnv,
  type TestEnv,
  type TestTenant,
} from '../../test/helpers.ts';
import type { App } from '../http/deps.ts';

interface ApiKey {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
interface Problem {
  code: string;
  detail: string;
  errors?: { field: string; code: string; message: string }[];
}

const ALL_SCOPES = ['customers:read', 'customers:write', 'contacts:read', 'contacts:write', 'admin'];

let env: TestEnv;
let t: TestTenant;

before(async () => {
  env = await setupTestEnv();
  t = await createTestTenant(env);
});
after(() => env.close());

async function createKey(
  payload: Record<string, unknown> = {},
  tenant: TestTenant = t,
): Promise<{ api_key: ApiKey; token: string }> {
  const res = await env.app.inject({ method: 'POST', url: '/v1/api_keys', headers: tenant.auth, payload });
  assert.equal(res.statusCode, 201, res.body);
  return json<{ api_key: ApiKey; token: string }>(res);
}

async function listKeys(tenant: TestTenant = t): Promise<{ raw: string; data: ApiKey[] }> {
  const res = await env.app.inject({ method: 'GET', url: '/v1/api_keys', headers: tenant.auth });
  assert.equal(res.statusCode, 200, res.body);
  return { raw: res.body, data: json<{ data: ApiKey[] }>(res).data };
}

/** A request that needs a key (customers:read) and touches nothing. */
function probe(app: App, token: string) {
  return app.inject({ method: 'GET', url: '/v1/customers', headers: { authorization: `Bearer ${token}` } });
}

function sha256(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

describe('create', () => {
  test('201 with the token once; ck_ prefix; all scopes by default', async () => {
    const { api_key, token } = await createKey({ name: 'ci' });
    assert.match(token, /^ck_[A-Za-z0-9_-]{40,}$/);
    assert.equal(api_key.name, 'ci');
    assert.equal(api_key.tenant_id, t.tenant.id);
    assert.ok(token.startsWith(api_key.prefix) && api_key.prefix.length < token.length, api_key.prefix);
    assert.deepEqual([...api_key.scopes].sort(), [...ALL_SCOPES].sort());
    assert.equal(api_key.last_used_at, null);
    assert.equal(api_key.revoked_at, null);
    assert.equal((await probe(env.app, token)).statusCode, 200);
  });

  test('every created key has its own token', async () => {
    const a = await createKey();
    const b = await createKey();
    assert.notEqual(a.token, b.token);
    assert.notEqual(a.api_key.id, b.api_key.id);
  });

  test('a key gets exactly the scopes asked for', async () => {
    const { api_key, token } = await createKey({ scopes: ['customers:read'] });
    assert.deepEqual(api_key.scopes, ['customers:read']);
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await probe(env.app, token)).statusCode, 200);
    const write = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: auth,
      payload: { name: 'x' },
    });
    assert.equal(write.statusCode, 403, write.body);
    assert.equal(json<Problem>(write).code, 'insufficient_scope');
    const admin = await env.app.inject({ method: 'GET', url: '/v1/api_keys', headers: auth });
    assert.equal(admin.statusCode, 403, admin.body);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['unknown scope', { scopes: ['customers:read', 'superuser'] }, 'scopes'],
    ['empty scopes', { scopes: [] }, 'scopes'],
    ['duplicate scopes', { scopes: ['admin', 'admin'] }, 'scopes'],
    ['scopes not an array', { scopes: 'admin' }, 'scopes'],
    ['name too long', { name: 'x'.repeat(201) }, 'name'],
    ['unknown field', { name: 'x', tenant_id: '0190d6a4-8c1e-7000-8000-000000000001' }, 'tenant_id'],
  ];
  for (const [label, payload, field] of invalid) {
    test(`422 ${label}, names ${field}, creates nothing`, async () => {
      const before = (await listKeys()).data.length;
      const res = await env.app.inject({ method: 'POST', url: '/v1/api_keys', headers: t.auth, payload });
      assert.equal(res.statusCode, 422, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const body = json<Problem>(res);
      assert.equal(body.code, 'validation_failed');
      assert.ok(
        body.errors?.some((e) => e.field === field || e.field.startsWith(`${field}.`)),
        `expected an error naming ${field}: ${res.body}`,
      );
      assert.equal((await listKeys()).data.length, before);
    });
  }

  test('an unknown scope is pointed at by its position, with the valid scopes listed', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/api_keys',
      headers: t.auth,
      payload: { scopes: ['customers:read', 'superuser'] },
    });
    assert.equal(res.statusCode, 422, res.body);
    const error = json<Problem>(res).errors?.find((e) => e.field === 'scopes.1');
    assert.ok(error, res.body);
    assert.equal(error.code, 'invalid_value');
    for (const scope of ALL_SCOPES) assert.ok(error.message.includes(scope), error.message);
  });
});

describe('list', () => {
  test("lists the tenant's keys, never a token or a hash", async () => {
    const { api_key, token } = await createKey({ name: 'listed' });
    const { raw, data } = await listKeys();
    const listed = data.find((k) => k.id === api_key.id);
    assert.ok(listed, 'the new key is listed');
    assert.equal(listed.name, 'listed');
    assert.ok(!raw.includes(token), 'the token is not in the list');
    assert.ok(!raw.includes(token.slice(10)), 'no part of the secret beyond the prefix is in the list');
    const hash = sha256(token);
    for (const encoded of [hash.toString('hex'), hash.toString('base64'), hash.toString('base64url')]) {
      assert.ok(!raw.includes(encoded), `the hash (${encoded}) is not in the list`);
    }
    for (const k of data) {
      assert.deepEqual(Object.keys(k).sort(), [
        'created_at',
        'id',
        'last_used_at',
        'name',
        'prefix',
        'revoked_at',
        'scopes',
        'tenant_id',
      ]);
    }
    assert.ok(!/token/i.test(raw), 'no token or token_hash field');
  });

  test("another tenant's keys are not listed", async () => {
    const other = await createTestTenant(env);
    const theirs = await createKey({ name: 'theirs' }, other);
    const { raw, data } = await listKeys();
    assert.ok(data.every((k) => k.tenant_id === t.tenant.id));
    assert.ok(!raw.includes(theirs.api_key.id));
    assert.ok(!raw.includes(other.tenant.id));
  });

  test('admin scope is required', async () => {
    const auth = await keyFor(env, t.tenant, [
      'customers:read',
      'customers:write',
      'contacts:read',
      'contacts:write',
    ]);
    for (const [method, url] of [
      ['GET', '/v1/api_keys'],
      ['POST', '/v1/api_keys'],
      ['DELETE', `/v1/api_keys/${(await createKey()).api_key.id}`],
    ] as const) {
      const res = await env.app.inject({
        method,
        url,
        headers: auth,
        ...(method === 'POST' ? { payload: {} } : {}),
      });
      assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
      assert.equal(json<Problem>(res).code, 'insufficient_scope');
    }
  });
});

describe('storage', () => {
  test('only the SHA-256 of the token is stored', async () => {
    const { api_key, token } = await createKey();
    const rows = await env.sql`select * from api_keys where id = ${api_key.id}`;
    assert.equal(rows.length, 1);
    const row = rows[0] as Record<string, unknown> & { token_hash: Buffer };
    assert.ok(Buffer.isBuffer(row.token_hash));
    assert.ok(!row.token_hash.equals(Buffer.from(token)), 'the hash is not the token');
    assert.ok(row.token_hash.equals(sha256(token)), 'the hash is sha256(token)');
    const text = JSON.stringify(row, (_k, v: unknown) =>
      v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? 'buffer' : v,
    );
    assert.ok(!text.includes(token.slice(10)), 'no column holds the secret');
  });

  test('last_used_at is set once the key is used', async () => {
    const { api_key, token } = await createKey();
    assert.equal(api_key.last_used_at, null);
    assert.equal((await probe(env.app, token)).statusCode, 200);
    // Written off the request path: poll.
    let listed: ApiKey | undefined;
    for (let i = 0; i < 50; i++) {
      listed = (await listKeys()).data.find((k) => k.id === api_key.id);
      if (listed?.last_used_at) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(listed?.last_used_at, 'last_used_at was set');
    assert.ok(Date.parse(listed.last_used_at) >= Date.parse(api_key.created_at));
  });

  test('keys used together are all touched (one batched update), and only they', async () => {
    const used = [await createKey(), await createKey(), await createKey()];
    const unused = await createKey();
    for (const k of used) assert.equal((await probe(env.app, k.token)).statusCode, 200);
    let listed: ApiKey[] = [];
    for (let i = 0; i < 50; i++) {
      listed = (await listKeys()).data;
      if (used.every((k) => listed.find((l) => l.id === k.api_key.id)?.last_used_at)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const k of used) assert.ok(listed.find((l) => l.id === k.api_key.id)?.last_used_at, k.api_key.id);
    assert.equal(listed.find((l) => l.id === unused.api_key.id)?.last_used_at, null);
  });
});

describe('revoke', () => {
  test('200 with revoked_at; revoking again keeps the first revoked_at', async () => {
    const { api_key } = await createKey();
    const res = await env.app.inject({
      method: 'DELETE',
      url: `/v1/api_keys/${api_key.id}`,
      headers: t.auth,
    });
    assert.equal(res.statusCode, 200, res.body);
    const revoked = json<ApiKey>(res);
    assert.equal(revoked.id, api_key.id);
    assert.ok(revoked.revoked_at);
    const again = await env.app.inject({
      method: 'DELETE',
      url: `/v1/api_keys/${api_key.id}`,
      headers: t.auth,
    });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(json<ApiKey>(again).revoked_at, revoked.revoked_at);
    const listed = (await listKeys()).data.find((k) => k.id === api_key.id);
    assert.equal(listed?.revoked_at, revoked.revoked_at);
  });

  test('a revoked key is refused at once by the app that revoked it', async () => {
    const { api_key, token } = await createKey({ scopes: ['customers:read'] });
    // Used first, so the key sits in this app's cache.
    assert.equal((await probe(env.app, token)).statusCode, 200);
    const res = await env.app.inject({
      method: 'DELETE',
      url: `/v1/api_keys/${api_key.id}`,
      headers: t.auth,
    });
    assert.equal(res.statusCode, 200, res.body);
    const after = await probe(env.app, token);
    assert.equal(after.statusCode, 401, after.body);
    assert.equal(json<Problem>(after).code, 'unauthenticated');
    assert.equal(after.headers['www-authenticate'], 'Bearer');
  });

  test('a revoked key is refused by another server on the same database (LISTEN/NOTIFY)', async () => {
    const second = await buildAppOn(env);
    try {
      const { api_key, token } = await createKey({ scopes: ['customers:read'] });
      // Cached on the second server; its cache would keep the key for KEY_CACHE_TTL_SECONDS (60) without NOTIFY.
      assert.equal((await probe(second.app, token)).statusCode, 200);
      const res = await env.app.inject({
        method: 'DELETE',
        url: `/v1/api_keys/${api_key.id}`,
        headers: t.auth,
      });
      assert.equal(res.statusCode, 200, res.body);
      // The notification arrives asynchronously: poll for a few seconds, well under the cache TTL.
      let status = 0;
      for (let i = 0; i < 50; i++) {
        status = (await probe(second.app, token)).statusCode;
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 401, 'the second server still accepts the revoked key');
    } finally {
      await second.close();
    }
  });

  test('404 for a key of another tenant, which stays usable', async () => {
    const other = await createTestTenant(env);
    const theirs = await createKey({}, other);
    const res = await env.app.inject({
      method: 'DELETE',
      url: `/v1/api_keys/${theirs.api_key.id}`,
      headers: t.auth,
    });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(json<Problem>(res).code, 'not_found');
    assert.equal((await probe(env.app, theirs.token)).statusCode, 200);
  });

  for (const [label, id] of [
    ['unknown id', '0190d6a4-8c1e-7000-8000-000000000000'],
    ['not a uuid', 'not-a-uuid'],
  ]) {
    test(`404 for ${label}`, async () => {
      const res = await env.app.inject({ method: 'DELETE', url: `/v1/api_keys/${id}`, headers: t.auth });
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(json<Problem>(res).code, 'not_found');
    });
  }
});

describe('Authorization header', () => {
  let token: string;
  before(async () => {
    token = (await createKey({ scopes: ['customers:read'] })).token;
  });

  const accepted: [string, (token: string) => string][] = [
    ['Bearer', (k) => `Bearer ${k}`],
    ['lower-case bearer', (k) => `bearer ${k}`],
    ['upper-case BEARER', (k) => `BEARER ${k}`],
    ['several spaces', (k) => `Bearer   ${k}`],
  ];
  for (const [label, header] of accepted) {
    test(`accepted: ${label}`, async () => {
      const res = await env.app.inject({
        method: 'GET',
        url: '/v1/customers',
        headers: { authorization: header(token) },
      });
      assert.equal(res.statusCode, 200, res.body);
    });
  }

  const refused: [string, (token: string) => string][] = [
    ['missing scheme', (k) => k],
    ['Basic', (k) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`],
    ['Basic with the raw token', (k) => `Basic ${k}`],
    ['scheme only', () => 'Bearer'],
    ['empty token', () => 'Bearer '],
    ['two tokens', (k) => `Bearer ${k} ${k}`],
    ['other scheme name', (k) => `Token ${k}`],
    ['token altered', (k) => `Bearer ${k.slice(0, -1)}${k.endsWith('A') ? 'B' : 'A'}`],
    ['not a ck_ token', () => 'Bearer sk_live_0123456789abcdef'],
  ];
  for (const [label, header] of refused) {
    test(`401 with WWW-Authenticate: Bearer: ${label}`, async () => {
      const res = await env.app.inject({
        method: 'GET',
        url: '/v1/customers',
        headers: { authorization: header(token) },
      });
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(json<Problem>(res).code, 'unauthenticated');
    });
  }

  test('401 with WWW-Authenticate: Bearer when the header is missing', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/v1/customers' });
    assert.equal(res.statusCode, 401, res.body);
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.equal(json<Problem>(res).code, 'unauthenticated');
  });
});
