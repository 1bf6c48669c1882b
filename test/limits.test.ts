import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestTenant, json, setupTestEnv, type TestEnv, type TestTenant } from './helpers.ts';

describe('rate limit per API key', () => {
  let env: TestEnv;
  let a: TestTenant;
  let b: TestTenant;
  before(async () => {
    env = await setupTestEnv({ RATE_LIMIT_PER_MINUTE: '5' });
    a = await createTestTenant(env);
    b = await createTestTenant(env);
  });
  after(() => env.close());

  test('RateLimit headers count down; past the limit 429 with Retry-After; other keys unaffected', async () => {
    for (let i = 1; i <= 5; i++) {
      const res = await env.app.inject({ method: 'GET', url: '/v1/customers', headers: a.auth });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-policy'], '5;w=60');
      assert.match(String(res.headers.ratelimit), new RegExp(`^limit=5, remaining=${5 - i}, reset=\\d+$`));
    }
    const limited = await env.app.inject({ method: 'GET', url: '/v1/customers', headers: a.auth });
    assert.equal(limited.statusCode, 429);
    assert.equal(json(limited).code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.match(String(limited.headers['content-type']), /problem\+json/);
    const other = await env.app.inject({ method: 'GET', url: '/v1/customers', headers: b.auth });
    assert.equal(other.statusCode, 200);
  });

  test('requests without a valid key are not counted against anyone', async () => {
    const res = await env.app.inject({
      method: 'GET',
      url: '/v1/customers',
      headers: { authorization: 'Bearer ck_nope' },
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers.ratelimit, undefined);
  });
});

describe('security headers and CORS', () => {
  let env: TestEnv;
  let t: TestTenant;
  before(async () => {
    env = await setupTestEnv({ CORS_ORIGINS: 'https://console.example.com' });
    t = await createTestTenant(env);
  });
  after(() => env.close());

  test('API responses: nosniff and no-store; the HTML reference gets a strict CSP', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/v1/customers', headers: t.auth });
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-store');
    const docs = await env.app.inject({ method: 'GET', url: '/docs' });
    assert.match(String(docs.headers['content-security-policy']), /default-src 'none'/);
    assert.equal(docs.headers['x-frame-options'], 'DENY');
    assert.match(docs.body, /<script/i.test(docs.body) ? /never/ : /<html/);
  });

  test('an allowed origin gets CORS headers and a preflight; others get none', async () => {
    const ok = await env.app.inject({
      method: 'GET',
      url: '/v1/customers',
      headers: { ...t.auth, origin: 'https://console.example.com' },
    });
    assert.equal(ok.headers['access-control-allow-origin'], 'https://console.example.com');
    assert.match(String(ok.headers['access-control-expose-headers']), /etag/);
    const pre = await env.app.inject({
      method: 'OPTIONS',
      url: '/v1/customers',
      headers: { origin: 'https://console.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.statusCode, 204);
    assert.match(String(pre.headers['access-control-allow-headers']), /idempotency-key/);
    const evil = await env.app.inject({
      method: 'GET',
      url: '/v1/customers',
      headers: { ...t.auth, origin: 'https://evil.example.com' },
    });
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
  });

  test('CORS is off by default', async () => {
    const plain = await setupTestEnv();
    try {
      const tt = await createTestTenant(plain);
      const res = await plain.app.inject({
        method: 'GET',
        url: '/v1/customers',
        headers: { ...tt.auth, origin: 'https://console.example.com' },
      });
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const pre = await plain.app.inject({
        method: 'OPTIONS',
        url: '/v1/customers',
        headers: { origin: 'https://x.example' },
      });
      assert.equal(pre.statusCode, 404);
    } finally {
      await plain.close();
    }
  });
});
