// Fault tolerance with real processes: the server is started as `npm start` starts it, against a PostgreSQL of
// this file's own that the tests stop, restart and lock. Every wait is bounded; nothing asserts on durations
// beyond "answered before the client's 15 s timeout".
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { type EmbeddedCluster, ensureEmbeddedPostgres } from '../../src/db/embedded.ts';
import { request, type ServerProcess, scratchDir, startServer, waitFor } from './processes.ts';

let dir: string;
let cluster: EmbeddedCluster;
let dbUrl: string;
const servers: ServerProcess[] = [];

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

function json(token: string, extra: Record<string, string> = {}) {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra };
}

before(async () => {
  dir = await scratchDir('contacts-faults-');
  cluster = await ensureEmbeddedPostgres(dir);
  const admin = postgres(cluster.url('postgres'), { max: 1, onnotice: () => undefined });
  await admin.unsafe('create database contacts');
  await admin.end();
  dbUrl = cluster.url('contacts');
});

after(async () => {
  for (const s of servers) s.child.kill('SIGKILL');
  await cluster.stop().catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
});

describe('against an external PostgreSQL', () => {
  let api: ServerProcess;
  let key: string;
  let customerId: string;

  before(async () => {
    api = await server({
      DATABASE_URL: dbUrl,
      DB_POOL_SIZE: '4',
      DB_STATEMENT_TIMEOUT_MS: '1000',
      MAX_INFLIGHT: '16',
    });
    key = api.bootstrapKey ?? '';
    assert.match(key, /^ck_/);
    const res = await request(`${api.url}/v1/customers`, {
      method: 'POST',
      headers: json(key),
      body: '{"name":"Faulty"}',
    });
    assert.equal(res.status, 201);
    customerId = String(res.body.id);
  });

  test('database restart under load: fast 503 with Retry-After while down, recovery without a restart', async () => {
    const statuses = new Map<number, number>();
    let sawRetryAfter = false;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const r = await request(`${api.url}/v1/customers/${customerId}`, { headers: json(key) });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 503 && r.headers.get('retry-after')) sawRetryAfter = true;
        if (r.status !== 200) await new Promise((res) => setTimeout(res, 50));
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.stop();
    await new Promise((r) => setTimeout(r, 2500));
    cluster = await ensureEmbeddedPostgres(dir);
    await waitFor(
      async () =>
        (await request(`${api.url}/v1/customers/${customerId}`, { headers: json(key) })).status === 200,
      30_000,
      'the API to recover',
    );
    stop = true;
    await Promise.all(workers);
    assert.ok((statuses.get(503) ?? 0) > 0, `expected 503s while the database was down: ${[...statuses]}`);
    assert.ok(sawRetryAfter, '503 carries Retry-After');
    assert.equal(statuses.get(0) ?? 0, 0, 'no request hung past the client timeout');
    assert.equal(statuses.get(500) ?? 0, 0, 'no 500');
    for (const status of statuses.keys())
      assert.ok([200, 503].includes(status), `unexpected status ${status}`);
  });

  test('slow queries and pool exhaustion: statement timeout and load shedding answer 503, never hang', async () => {
    const locker: Sql = postgres(dbUrl, { max: 1, onnotice: () => undefined });
    const reserved = await locker.reserve();
    await reserved`begin`;
    await reserved`select id from customers where id = ${customerId} for update`;
    try {
      const results = await Promise.all(
        Array.from({ length: 30 }, () =>
          request(`${api.url}/v1/customers/${customerId}`, {
            method: 'PATCH',
            headers: json(key),
            body: '{"name":"Blocked"}',
          }),
        ),
      );
      const health = await request(`${api.url}/healthz`);
      assert.equal(health.status, 200, 'liveness answers while the pool is exhausted');
      for (const r of results) {
        assert.equal(r.status, 503, JSON.stringify(r));
        assert.ok(r.headers.get('retry-after'));
      }
      const codes = new Set(results.map((r) => String(r.body.detail)));
      assert.ok(
        [...codes].some((d) => /overloaded/.test(d)),
        `some requests were shed: ${[...codes]}`,
      );
      assert.ok(
        [...codes].some((d) => /too long/.test(d)),
        `some hit the statement timeout: ${[...codes]}`,
      );
    } finally {
      await reserved`rollback`;
      reserved.release();
      await locker.end();
    }
    const ok = await request(`${api.url}/v1/customers/${customerId}`, {
      method: 'PATCH',
      headers: json(key),
      body: '{"name":"Free"}',
    });
    assert.equal(ok.status, 200);
  });

  test('50 concurrent PATCH with the same If-Match: exactly one succeeds', async () => {
    const current = await request(`${api.url}/v1/customers/${customerId}`, { headers: json(key) });
    assert.equal(current.status, 200, JSON.stringify(current));
    const etag = current.headers.get('etag') ?? '';
    assert.match(etag, /^(W\/)?"[^"]+"$/);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request(`${api.url}/v1/customers/${customerId}`, {
          method: 'PATCH',
          headers: json(key, { 'if-match': etag }),
          body: JSON.stringify({ name: `Writer ${i}` }),
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 200).length;
    const stale = results.filter((r) => r.status === 412).length;
    const shed = results.filter((r) => r.status === 503).length;
    assert.equal(ok, 1, `statuses: ${results.map((r) => r.status)}`);
    assert.equal(ok + stale + shed, 50);
  });

  test('secrets never reach the logs, even at trace level', async () => {
    const chatty = await server({ DATABASE_URL: dbUrl, LOG_LEVEL: 'trace' });
    const secrets = [key];
    for (let i = 0; i < 3; i++) {
      const r = await request(`${chatty.url}/v1/api_keys`, {
        method: 'POST',
        headers: json(key),
        body: '{"name":"leak?"}',
      });
      assert.equal(r.status, 201);
      secrets.push(String(r.body.token));
    }
    for (const s of secrets) {
      assert.equal((await request(`${chatty.url}/v1/customers`, { headers: json(s) })).status, 200);
      await request(`${chatty.url}/compat/fastly/customer/${customerId}/contacts`, {
        headers: { 'fastly-key': s },
      });
      // A key used wrongly (revoked, or in a query string) must not be echoed either.
      await request(`${chatty.url}/v1/customers?token=${s}`, { headers: { authorization: `Basic ${s}` } });
    }
    chatty.child.kill('SIGTERM');
    await chatty.exited;
    const log = chatty.stdout() + chatty.stderr();
    assert.ok(log.length > 1000, 'the server logged at trace level');
    for (const s of secrets) assert.ok(!log.includes(s), `a secret appeared in the logs: ${s.slice(0, 10)}…`);
    assert.ok(!log.includes(cluster.password), 'the database password appeared in the logs');
  });

  test('SIGTERM drains in-flight requests, then exits 0', async () => {
    const drain = await server({ DATABASE_URL: dbUrl, DB_STATEMENT_TIMEOUT_MS: '20000' });
    const locker: Sql = postgres(dbUrl, { max: 1, onnotice: () => undefined });
    const reserved = await locker.reserve();
    await reserved`begin`;
    await reserved`select id from customers where id = ${customerId} for update`;
    const inflight = Array.from({ length: 3 }, (_, i) =>
      request(`${drain.url}/v1/customers/${customerId}`, {
        method: 'PATCH',
        headers: json(key),
        body: JSON.stringify({ name: `Draining ${i}` }),
        timeoutMs: 30_000,
      }),
    );
    await new Promise((r) => setTimeout(r, 500));
    drain.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await reserved`rollback`;
    reserved.release();
    await locker.end();
    const results = await Promise.all(inflight);
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(await drain.exited, 0);
  });
});

describe('kill -9 of the server on the embedded PostgreSQL', () => {
  test('every acknowledged write survives, nothing half-written, restart needs no help', async () => {
    const dataDir = await scratchDir('contacts-kill-');
    try {
      const first = await server({ DATA_DIR: dataDir });
      const key = first.bootstrapKey ?? '';
      const c = await request(`${first.url}/v1/customers`, {
        method: 'POST',
        headers: json(key),
        body: '{"name":"Kill"}',
      });
      const customer = String(c.body.id);
      const acknowledged = new Map<string, string>();
      let stop = false;
      const client = async (n: number) => {
        for (let i = 0; !stop; i++) {
          const name = `c${n}-${i}`;
          const r = await request(`${first.url}/v1/customers/${customer}/contacts`, {
            method: 'POST',
            headers: json(key),
            body: JSON.stringify({ name, email: `${name}@example.com` }),
            timeoutMs: 5_000,
          });
          if (r.status === 201) acknowledged.set(String(r.body.id), name);
          if (r.status === 0) return;
        }
      };
      const clients = Array.from({ length: 20 }, (_, n) => client(n));
      await waitFor(async () => acknowledged.size >= 100, 30_000, '100 acknowledged writes');
      first.child.kill('SIGKILL');
      await first.exited;
      stop = true;
      await Promise.all(clients);

      const second = await server({ DATA_DIR: dataDir });
      assert.equal(second.bootstrapKey, undefined, 'no second bootstrap');
      assert.match(second.stderr(), /adopting running embedded PostgreSQL|started embedded PostgreSQL/);
      for (const [id, name] of acknowledged) {
        const r = await request(`${second.url}/v1/contacts/${id}`, { headers: json(key) });
        assert.equal(r.status, 200, `acknowledged contact ${id} is missing`);
        assert.equal(r.body.name, name);
      }
      // Atomicity: each contact was written with its event in one transaction, so neither exists without the other.
      const embedded = await ensureEmbeddedPostgres(dataDir);
      const sql = postgres(embedded.url('contacts'), { max: 1, onnotice: () => undefined });
      const orphans = await sql`
        select count(*)::int as n from contacts c
        where not exists (select 1 from events e where e.tenant_id = c.tenant_id and e.resource_id = c.id and e.type = 'contact.created')`;
      const ghostEvents = await sql`
        select count(*)::int as n from events e where e.type = 'contact.created'
          and not exists (select 1 from contacts c where c.tenant_id = e.tenant_id and c.id = e.resource_id)`;
      await sql.end();
      assert.equal(orphans[0]?.n, 0);
      assert.equal(ghostEvents[0]?.n, 0);
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    } finally {
      await (await ensureEmbeddedPostgres(dataDir).catch(() => undefined))?.stop().catch(() => undefined);
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
