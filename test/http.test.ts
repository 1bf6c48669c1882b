// Cross-cutting HTTP behaviour of the native API: health, the OpenAPI document and its committed copy, the
// reference page, body parsing limits, request ids and the one problem-details envelope for every error.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openApiDocument } from '../scripts/openapi.ts';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createPools } from '../src/db/connection.ts';
import type { App } from '../src/http/deps.ts';
import {
  count,
  createTestTenant,
  json,
  keyFor,
  setupTestEnv,
  type TestEnv,
  type TestTenant,
} from './helpers.ts';

const BODY_LIMIT = 2048;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  errors?: { field: string; code: string; message: string }[];
}
interface Response {
  statusCode: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: Record<string, string[]>[];
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

let env: TestEnv;
let t: TestTenant;

before(async () => {
  // The body limit is lowered so the 413 case needs no megabyte of payload; every other body here is tiny.
  env = await setupTestEnv({ BODY_LIMIT_BYTES: String(BODY_LIMIT) });
  t = await createTestTenant(env);
});
after(() => env.close());

/** Asserts the problem-details envelope and returns it. */
function problem(res: Response, status: number, code: string): Problem {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = json<Problem>(res);
  assert.equal(typeof body.type, 'string');
  assert.ok(body.type.length > 0, 'type');
  assert.equal(typeof body.title, 'string');
  assert.ok(body.title.length > 0, 'title');
  assert.equal(body.status, status);
  assert.equal(typeof body.detail, 'string');
  assert.ok(body.detail.length > 0, 'detail');
  assert.equal(body.code, code);
  assert.equal(typeof body.request_id, 'string');
  assert.equal(body.request_id, res.headers['x-request-id'], 'request_id is the x-request-id header');
  for (const e of body.errors ?? []) {
    assert.deepEqual(Object.keys(e).sort(), ['code', 'field', 'message']);
  }
  return body;
}

function operations(doc: OpenApi): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([p, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method, path: p, op })),
  );
}

/** An app whose database is a closed port: every query fails to connect. */
async function appWithoutDatabase(): Promise<{ app: App; close(): Promise<void> }> {
  const url = 'postgres://contacts@127.0.0.1:1/contacts';
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' });
  const { db, sql, appDb, appSql } = createPools(url, {
    poolSize: 2,
    statementTimeoutMs: config.statementTimeoutMs,
  });
  const app = await buildApp({ config, database: { db, sql, appDb }, listen: false, logger: false });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await Promise.all([sql.end({ timeout: 0 }), appSql.end({ timeout: 0 })]);
    },
  };
}

describe('health', () => {
  test('GET /healthz 200', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { status: 'ok' });
  });

  test('GET /readyz 200 when the database answers', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { status: 'ok' });
  });

  describe('database unreachable', () => {
    let down: Awaited<ReturnType<typeof appWithoutDatabase>>;
    before(async () => {
      down = await appWithoutDatabase();
    });
    after(() => down.close());

    test('GET /readyz 503 with Retry-After', async () => {
      const res = await down.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503, res.body);
      assert.ok(Number(res.headers['retry-after']) > 0, 'retry-after');
      assert.deepEqual(json(res), { status: 'unavailable' });
    });

    test('GET /healthz is still 200 (liveness does not depend on the database)', async () => {
      const res = await down.app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(res.statusCode, 200, res.body);
    });

    test('an API call answers 503 service_unavailable with Retry-After, leaking nothing internal', async () => {
      const token = `ck_${randomBytes(32).toString('base64url')}`;
      const res = await down.app.inject({
        method: 'GET',
        url: '/v1/customers',
        headers: { authorization: `Bearer ${token}` },
      });
      const body = problem(res, 503, 'service_unavailable');
      assert.ok(Number(res.headers['retry-after']) > 0, 'retry-after');
      for (const secret of ['ECONNREFUSED', '127.0.0.1', 'connect', 'postgres', 'stack']) {
        assert.ok(
          !res.body.toLowerCase().includes(secret.toLowerCase()),
          `the body mentions "${secret}": ${res.body}`,
        );
      }
      assert.ok(!body.detail.includes('ECONNREFUSED'));
    });
  });
});

describe('OpenAPI document', () => {
  let doc: OpenApi;
  before(async () => {
    const res = await env.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    doc = json<OpenApi>(res);
  });

  test('is OpenAPI 3.1.0 with operations', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(operations(doc).length > 0);
  });

  test('every operation has a unique operationId, tags and a summary', () => {
    const seen = new Set<string>();
    for (const { method, path: p, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${p}`;
      assert.ok(typeof op.operationId === 'string' && op.operationId.length > 0, `${where}: operationId`);
      assert.ok(!seen.has(op.operationId), `${where}: operationId ${op.operationId} is not unique`);
      seen.add(op.operationId);
      assert.ok(Array.isArray(op.tags) && op.tags.length > 0, `${where}: tags`);
      assert.ok(typeof op.summary === 'string' && op.summary.length > 0, `${where}: summary`);
    }
  });

  test('every declared status has a response schema (none for 204 and 304)', () => {
    for (const { method, path: p, op } of operations(doc)) {
      const responses = Object.entries(op.responses ?? {});
      assert.ok(responses.length > 0, `${method.toUpperCase()} ${p}: no responses`);
      for (const [status, response] of responses) {
        const where = `${method.toUpperCase()} ${p} ${status}`;
        assert.match(status, /^[1-5]\d\d$/, where);
        if (status === '204' || status === '304') {
          assert.equal(response.content, undefined, `${where} has no body`);
          continue;
        }
        const schemas = Object.values(response.content ?? {}).map((c) => c.schema);
        assert.ok(schemas.length > 0 && schemas.every(Boolean), `${where}: no response schema`);
      }
    }
  });

  test('every secured native operation documents 401 and its errors as problem details', () => {
    let secured = 0;
    for (const { method, path: p, op } of operations(doc)) {
      // Dialects answer errors in their vendor's shapes.
      if (!op.security?.length || p.startsWith('/compat/')) continue;
      secured++;
      assert.ok(op.responses?.['401'], `${method.toUpperCase()} ${p}: 401`);
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (Number(status) < 400) continue;
        const schema = Object.values(response.content ?? {})[0]?.schema as { $ref?: string } | undefined;
        assert.equal(schema?.$ref, '#/components/schemas/Problem', `${method.toUpperCase()} ${p} ${status}`);
      }
    }
    assert.ok(secured > 0);
  });

  test('the committed openapi.json is the generated document', async () => {
    const generated = await openApiDocument();
    assert.deepEqual(doc, generated, 'GET /openapi.json serves the document the export script generates');
    const committed: unknown = JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '..', 'openapi.json'), 'utf8'),
    );
    assert.deepEqual(
      committed,
      generated,
      'openapi.json is out of date with the route schemas: run `npm run openapi` and commit the result',
    );
  });

  test('GET /docs is HTML that mentions every operation path', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/docs' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /^<!doctype html>/i);
    for (const { method, path: p, op } of operations(doc)) {
      assert.ok(res.body.includes(`<code>${p}</code>`), `/docs lacks ${method.toUpperCase()} ${p}`);
      assert.ok(res.body.includes(`id="${op.operationId}"`), `/docs lacks ${op.operationId}`);
    }
  });
});

describe('request parsing', () => {
  test('unknown route: 404 route_not_found', async () => {
    const body = problem(
      await env.app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' }),
      404,
      'route_not_found',
    );
    assert.ok(!body.detail.includes('x=1'), 'the query string is not echoed');
  });

  test('malformed JSON: 400 malformed_json, nothing written', async () => {
    const before = await count(env, 'customers');
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: '{"name": "Acme",',
    });
    problem(res, 400, 'malformed_json');
    assert.equal(await count(env, 'customers'), before);
  });

  test('empty JSON body: 400 malformed_json', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: '',
    });
    problem(res, 400, 'malformed_json');
  });

  test('text/plain body: 415 unsupported_media_type', async () => {
    const before = await count(env, 'customers');
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: { ...t.auth, 'content-type': 'text/plain' },
      payload: '{"name":"Acme"}',
    });
    problem(res, 415, 'unsupported_media_type');
    assert.equal(await count(env, 'customers'), before);
  });

  test(`a body over BODY_LIMIT_BYTES (${BODY_LIMIT}): 413 payload_too_large; just under it is accepted`, async () => {
    const before = await count(env, 'customers');
    const big = JSON.stringify({ name: 'Acme', metadata: { blob: 'x'.repeat(BODY_LIMIT) } });
    assert.ok(Buffer.byteLength(big) > BODY_LIMIT);
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: big,
    });
    problem(res, 413, 'payload_too_large');
    assert.equal(await count(env, 'customers'), before);

    const small = JSON.stringify({ name: 'Acme', metadata: { blob: 'x'.repeat(400) } });
    assert.ok(Buffer.byteLength(small) < BODY_LIMIT);
    const ok = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: small,
    });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  const poisoned: [string, string][] = [
    ['__proto__', '{"name":"Acme","__proto__":{"admin":true}}'],
    ['nested __proto__', '{"name":"Acme","metadata":{"__proto__":{"admin":true}}}'],
    ['constructor.prototype', '{"name":"Acme","constructor":{"prototype":{"admin":true}}}'],
  ];
  for (const [label, payload] of poisoned) {
    test(`${label} in a JSON body: 400, nothing written`, async () => {
      const before = await count(env, 'customers');
      const res = await env.app.inject({
        method: 'POST',
        url: '/v1/customers',
        headers: { ...t.auth, 'content-type': 'application/json' },
        payload,
      });
      problem(res, 400, 'malformed_json');
      assert.equal(await count(env, 'customers'), before);
      assert.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype untouched');
    });
  }

  test('__proto__ in a merge-patch body: 400', async () => {
    const created = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: t.auth,
      payload: { name: 'Acme' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const res = await env.app.inject({
      method: 'PATCH',
      url: `/v1/customers/${json(created).id}`,
      headers: { ...t.auth, 'content-type': 'application/merge-patch+json' },
      payload: '{"name":"Evil","__proto__":{"admin":true}}',
    });
    problem(res, 400, 'malformed_json');
    const got = await env.app.inject({
      method: 'GET',
      url: `/v1/customers/${json(created).id}`,
      headers: t.auth,
    });
    assert.equal(json(got).name, 'Acme');
  });
});

describe('x-request-id', () => {
  for (const given of ['req-123', 'a.b:c_d-9', 'x'.repeat(128)]) {
    test(`a sane id is echoed: ${given.slice(0, 20)}`, async () => {
      const res = await env.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-request-id': given },
      });
      assert.equal(res.headers['x-request-id'], given);
      const err = await env.app.inject({
        method: 'GET',
        url: '/v1/customers',
        headers: { 'x-request-id': given },
      });
      assert.equal(problem(err, 401, 'unauthenticated').request_id, given);
    });
  }

  for (const [label, given] of [
    ['too long', 'x'.repeat(129)],
    ['spaces', 'two words'],
    ['markup', '<script>'],
    ['header injection attempt', 'a%0d%0aset-cookie:x'],
    ['empty', ''],
  ] as const) {
    test(`an insane id (${label}) is replaced by a generated one`, async () => {
      const res = await env.app.inject({
        method: 'GET',
        url: '/v1/customers',
        headers: { 'x-request-id': given },
      });
      const id = res.headers['x-request-id'];
      assert.equal(typeof id, 'string');
      assert.notEqual(id, given);
      assert.match(String(id), UUID);
      assert.equal(problem(res, 401, 'unauthenticated').request_id, id);
    });
  }

  test('generated when absent, different on each request, and equal to the problem request_id', async () => {
    const a = await env.app.inject({ method: 'GET', url: '/v1/customers' });
    const b = await env.app.inject({ method: 'GET', url: '/v1/customers' });
    assert.match(String(a.headers['x-request-id']), UUID);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
    assert.equal(problem(a, 401, 'unauthenticated').request_id, a.headers['x-request-id']);
    const ok = await env.app.inject({ method: 'GET', url: '/v1/customers', headers: t.auth });
    assert.equal(ok.statusCode, 200);
    assert.match(String(ok.headers['x-request-id']), UUID);
  });
});

describe('every error is a problem document', () => {
  let customerId: string;
  before(async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: t.auth,
      payload: { name: 'Envelope', external_ref: 'envelope-1' },
    });
    assert.equal(res.statusCode, 201, res.body);
    customerId = json(res).id as string;
  });

  type Case = [string, () => Promise<Response>, number, string];
  const cases: Case[] = [
    ['no key', () => env.app.inject({ method: 'GET', url: '/v1/customers' }), 401, 'unauthenticated'],
    [
      'bad key',
      () =>
        env.app.inject({ method: 'GET', url: '/v1/customers', headers: { authorization: 'Bearer ck_nope' } }),
      401,
      'unauthenticated',
    ],
    [
      'missing scope',
      async () =>
        env.app.inject({
          method: 'GET',
          url: '/v1/customers',
          headers: await keyFor(env, t.tenant, ['contacts:read']),
        }),
      403,
      'insufficient_scope',
    ],
    ['unknown route', () => env.app.inject({ method: 'GET', url: '/nope' }), 404, 'route_not_found'],
    [
      'unknown method on a known path',
      () => env.app.inject({ method: 'PUT', url: '/v1/customers', headers: t.auth, payload: {} }),
      404,
      'route_not_found',
    ],
    [
      'unknown object',
      () =>
        env.app.inject({
          method: 'GET',
          url: '/v1/customers/0190d6a4-8c1e-7000-8000-000000000000',
          headers: t.auth,
        }),
      404,
      'not_found',
    ],
    [
      'malformed id',
      () => env.app.inject({ method: 'GET', url: '/v1/customers/not-a-uuid', headers: t.auth }),
      404,
      'not_found',
    ],
    [
      'malformed JSON',
      () =>
        env.app.inject({
          method: 'POST',
          url: '/v1/customers',
          headers: { ...t.auth, 'content-type': 'application/json' },
          payload: '[',
        }),
      400,
      'malformed_json',
    ],
    [
      'bad If-Match',
      () =>
        env.app.inject({
          method: 'PATCH',
          url: `/v1/customers/${customerId}`,
          headers: { ...t.auth, 'if-match': 'v1' },
          payload: { name: 'x' },
        }),
      400,
      'bad_request',
    ],
    [
      'bad cursor',
      () => env.app.inject({ method: 'GET', url: '/v1/customers?cursor=garbage', headers: t.auth }),
      400,
      'invalid_cursor',
    ],
    [
      'stale If-Match',
      () =>
        env.app.inject({
          method: 'PATCH',
          url: `/v1/customers/${customerId}`,
          headers: { ...t.auth, 'if-match': '"v999"' },
          payload: { name: 'x' },
        }),
      412,
      'precondition_failed',
    ],
    [
      'conflict',
      () =>
        env.app.inject({
          method: 'POST',
          url: '/v1/customers',
          headers: t.auth,
          payload: { name: 'Twin', external_ref: 'envelope-1' },
        }),
      409,
      'external_ref_taken',
    ],
    [
      'unsupported media type',
      () =>
        env.app.inject({
          method: 'POST',
          url: '/v1/customers',
          headers: { ...t.auth, 'content-type': 'application/xml' },
          payload: '<customer/>',
        }),
      415,
      'unsupported_media_type',
    ],
    [
      'too large',
      () =>
        env.app.inject({
          method: 'POST',
          url: '/v1/customers',
          headers: t.auth,
          payload: { name: 'x'.repeat(BODY_LIMIT) },
        }),
      413,
      'payload_too_large',
    ],
    [
      'validation',
      () => env.app.inject({ method: 'POST', url: '/v1/customers', headers: t.auth, payload: { name: 42 } }),
      422,
      'validation_failed',
    ],
    [
      'query validation',
      () => env.app.inject({ method: 'GET', url: '/v1/customers?limit=0', headers: t.auth }),
      422,
      'validation_failed',
    ],
  ];
  for (const [label, send, status, code] of cases) {
    test(`${status} ${code}: ${label}`, async () => {
      const body = problem(await send(), status, code);
      if (status === 422) assert.ok(body.errors && body.errors.length > 0, 'errors[] names the fields');
    });
  }
});
