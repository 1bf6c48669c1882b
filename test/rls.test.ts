// Row-level security, the second wall behind every query's tenant filter (migrations/0002): the request pool runs
// as contacts_app, and a query that forgets its tenant filter sees and writes only the current tenant's rows, or
// nothing when no tenant is set.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Sql } from 'postgres';
import { APP_ROLE, createSql, type Db } from '../src/db/connection.ts';
import { runAsTenant } from '../src/db/tenant-scope.ts';
import { newId } from '../src/lib/ids.ts';
import {
  appDatabaseUrl,
  createTestTenant,
  json,
  setupTestEnv,
  type TestEnv,
  type TestTenant,
} from './helpers.ts';

const TENANT_TABLES = [
  'customers',
  'contacts',
  'channels',
  'events',
  'idempotency_keys',
  'api_keys',
] as const;

let env: TestEnv;
let a: TestTenant;
let b: TestTenant;
/** A direct connection of the request pool's kind: logged in as contacts_app. */
let app: Sql;
/** The request pool's fallback without a login of its own: the owner's login, switched to contacts_app at connect. */
let switched: Sql;

interface Probe {
  role: string;
  login: string;
  tenant: string | null;
  tenants: string[];
  body?: unknown;
}

// What a route's query sees, run through the same request pool as every route, with no tenant filter at all.
async function probe(appDb: Db): Promise<Omit<Probe, 'body'>> {
  const who = await sql<{
    role: string;
    login: string;
    tenant: string | null;
  }>`select current_user as role, session_user as login, current_setting('app.tenant_id', true) as tenant`.execute(
    appDb,
  );
  const rows = await appDb.selectFrom('contacts').select('tenant_id').execute();
  const row = who.rows[0];
  assert.ok(row);
  return { ...row, tenants: [...new Set(rows.map((r) => r.tenant_id))] };
}

async function seed(t: TestTenant): Promise<void> {
  const customer = await env.app.inject({
    method: 'POST',
    url: '/v1/customers',
    headers: { ...t.auth, 'idempotency-key': `seed-${t.tenant.id}` },
    payload: { name: `Customer of ${t.tenant.slug}` },
  });
  assert.equal(customer.statusCode, 201, customer.body);
  const customerId = json<{ id: string }>(customer).id;
  const contact = await env.app.inject({
    method: 'POST',
    url: `/v1/customers/${customerId}/contacts`,
    headers: t.auth,
    payload: { name: 'Ann Lee', email: `ann@${t.tenant.slug}.example.com` },
  });
  assert.equal(contact.statusCode, 201, contact.body);
  const channel = await env.app.inject({
    method: 'POST',
    url: `/v1/customers/${customerId}/channels`,
    headers: t.auth,
    payload: { type: 'EMAIL', value: `hello@${t.tenant.slug}.example.com` },
  });
  assert.equal(channel.statusCode, 201, channel.body);
}

/** Runs fn as contacts_app in a transaction with app.tenant_id set to tenantId (none: not set at all). */
async function asApp<T>(tenantId: string | undefined, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return app.begin(async (tx) => {
    if (tenantId) await tx`select set_config('app.tenant_id', ${tenantId}, true)`;
    return fn(tx as unknown as Sql);
  }) as Promise<T>;
}

/** Like asApp, but rolls the transaction back: for writes the tests look at and then undo. */
async function asAppRolledBack<T>(tenantId: string, fn: (tx: Sql) => Promise<T>): Promise<T> {
  const undo = new Error('roll back');
  let result: T | undefined;
  await asApp(tenantId, async (tx) => {
    result = await fn(tx);
    throw undo;
  }).catch((err: unknown) => {
    if (err !== undo) throw err;
  });
  return result as T;
}

before(async () => {
  env = await setupTestEnv(
    {},
    {
      routes: (server, appDb) => {
        server.get('/test/rls-probe', { config: { scope: 'contacts:read' } }, async () => probe(appDb));
        // A body is parsed from the socket's events before the handler runs: the tenant must survive that.
        server.post('/test/rls-probe', { config: { scope: 'contacts:read' } }, async (request) => ({
          ...(await probe(appDb)),
          body: request.body,
        }));
        server.post('/test/rls-probe-tx', { config: { scope: 'contacts:read' } }, async () =>
          appDb.transaction().execute(async (trx) => probe(trx)),
        );
      },
    },
  );
  a = await createTestTenant(env);
  b = await createTestTenant(env);
  await seed(a);
  await seed(b);
  app = createSql(appDatabaseUrl(env.url), { max: 1, statementTimeoutMs: 5000 });
  switched = createSql(env.url, { max: 1, statementTimeoutMs: 5000, role: APP_ROLE });
});

after(async () => {
  await app?.end();
  await switched?.end();
  await env.close();
});

describe('the role', () => {
  test('contacts_app cannot bypass the policies: no superuser, no BYPASSRLS, owns no table, inherits no owner', async () => {
    const [role] = await env.sql<{ rolsuper: boolean; rolbypassrls: boolean }[]>`
      select rolsuper, rolbypassrls from pg_roles where rolname = ${APP_ROLE}`;
    assert.deepEqual({ ...role }, { rolsuper: false, rolbypassrls: false });
    const owned = await env.sql`select relname from pg_class where relowner = ${APP_ROLE}::regrole`;
    assert.deepEqual([...owned], []);
    const [inherits] = await env.sql<{ owner: boolean }[]>`
      select bool_or(pg_has_role(${APP_ROLE}, c.relowner, 'USAGE')) as owner
      from pg_class c where c.relname = any(${[...TENANT_TABLES, 'tenants']})`;
    assert.equal(inherits?.owner, false);
  });

  test('every table with a tenant_id column has row-level security and a policy for contacts_app', async () => {
    const tables = await env.sql<{ relname: string; relrowsecurity: boolean; policies: number }[]>`
      select c.relname, c.relrowsecurity,
        (select count(*)::int from pg_policy p where p.polrelid = c.oid
           and ${APP_ROLE}::regrole = any(p.polroles)) as policies
      from pg_class c join pg_attribute a on a.attrelid = c.oid
      where a.attname = 'tenant_id' and c.relkind in ('r', 'p') and c.relnamespace = current_schema()::regnamespace
      order by 1`;
    assert.deepEqual(
      tables.map((t) => t.relname),
      [...TENANT_TABLES].sort(),
    );
    for (const t of tables) {
      assert.equal(t.relrowsecurity, true, `${t.relname} has row-level security`);
      assert.equal(t.policies, 1, `${t.relname} has a policy for ${APP_ROLE}`);
    }
  });

  test('the request pool logs in as contacts_app, the owner pool as the owner', async () => {
    const [viaApp] = await app`select current_user as role, session_user as login`;
    assert.deepEqual({ ...viaApp }, { role: APP_ROLE, login: APP_ROLE });
    const [viaOwner] = await env.sql`select current_user as role`;
    assert.notEqual(viaOwner?.role, APP_ROLE);
  });

  test('a statement on the request pool cannot leave contacts_app, even an injected SET ROLE', async () => {
    const [owner] = await env.sql<{ name: string }[]>`select current_user as name`;
    const reserved = await app.reserve();
    try {
      await assert.rejects(
        reserved.unsafe(`set role "${owner?.name}"`),
        (err: { code?: string }) => err.code === '42501',
      );
      await reserved.unsafe('reset role');
      await reserved.unsafe('set session authorization default');
      const [who] = await reserved`select current_user as role`;
      assert.equal(who?.role, APP_ROLE);
      assert.equal((await reserved`select tenant_id from contacts`).length, 0);
    } finally {
      reserved.release();
    }
  });

  test('without a login of its own, the owner login switches to contacts_app (a forgotten filter still sees nothing)', async () => {
    const [who] = await switched`select current_user as role`;
    assert.equal(who?.role, APP_ROLE);
    assert.equal((await switched`select tenant_id from contacts`).length, 0);
  });
});

describe('a query with no tenant filter, as contacts_app', () => {
  for (const table of TENANT_TABLES) {
    test(`${table}: only the rows of the tenant in app.tenant_id`, async () => {
      const [all] = await env.sql.unsafe(
        `select count(*) filter (where tenant_id = $1)::int as a, count(*) filter (where tenant_id = $2)::int as b from ${table}`,
        [a.tenant.id, b.tenant.id],
      );
      assert.ok(all && all.a > 0 && all.b > 0, `${table} holds rows of both tenants`);
      const rows = await asApp(a.tenant.id, (tx) => tx.unsafe(`select tenant_id from ${table}`));
      assert.equal(rows.length, all.a);
      assert.ok(rows.every((r) => r.tenant_id === a.tenant.id));
    });

    test(`${table}: nothing when app.tenant_id is not set`, async () => {
      const rows = await asApp(undefined, (tx) => tx.unsafe(`select tenant_id from ${table}`));
      assert.equal(rows.length, 0);
    });
  }

  test('tenants: only the current tenant', async () => {
    const rows = await asApp(a.tenant.id, (tx) => tx`select id from tenants`);
    assert.deepEqual(
      rows.map((r) => r.id),
      [a.tenant.id],
    );
    assert.equal((await asApp(undefined, (tx) => tx`select id from tenants`)).length, 0);
  });

  test('nothing either once the setting has been used and ended with its transaction', async () => {
    // PostgreSQL then reports the setting as '' rather than NULL; the policy must read that as "no tenant".
    await asApp(a.tenant.id, async () => undefined);
    const rows = await app`select tenant_id from contacts`;
    assert.equal(rows.length, 0);
  });

  test("writing another tenant's row is refused (WITH CHECK), and its rows cannot be changed", async () => {
    await assert.rejects(
      asApp(
        a.tenant.id,
        (tx) => tx`insert into customers (tenant_id, id, name) values (${b.tenant.id}, ${newId()}, 'X')`,
      ),
      (err: { code?: string }) => err.code === '42501',
    );
    await assert.rejects(
      asApp(
        a.tenant.id,
        (tx) => tx`update customers set tenant_id = ${b.tenant.id} where tenant_id = ${a.tenant.id}`,
      ),
      (err: { code?: string }) => err.code === '42501',
    );
    const updated = await asAppRolledBack(
      a.tenant.id,
      (tx) => tx`update contacts set name = 'Mallory' where tenant_id = ${b.tenant.id}`,
    );
    assert.equal(updated.count, 0);
    const counts = await asAppRolledBack(a.tenant.id, async (tx) => {
      const deleted = await tx`delete from channels`;
      const [left] = await tx`select count(*)::int as n from channels`;
      return { deleted: deleted.count, left: Number(left?.n) };
    });
    const [own] = await env.sql`select count(*)::int as n from channels where tenant_id = ${a.tenant.id}`;
    assert.deepEqual(counts, { deleted: Number(own?.n), left: 0 });
    const [other] = await env.sql`select count(*)::int as n from channels where tenant_id = ${b.tenant.id}`;
    assert.ok(Number(other?.n) > 0, "B's channels are untouched");
  });

  test('with no tenant, nothing can be written', async () => {
    await assert.rejects(
      asApp(
        undefined,
        (tx) => tx`insert into customers (tenant_id, id, name) values (${a.tenant.id}, ${newId()}, 'X')`,
      ),
      (err: { code?: string }) => err.code === '42501',
    );
  });
});

describe("through the app's request pool (src/db/driver.ts)", () => {
  test('a query outside any tenant sees nothing', async () => {
    const rows = await env.appDb.selectFrom('customers').select('tenant_id').execute();
    assert.equal(rows.length, 0);
  });

  test("a query without a tenant filter sees only the current tenant's rows, in and out of a transaction", async () => {
    for (const t of [a, b]) {
      const plain = await runAsTenant(t.tenant.id, () =>
        env.appDb.selectFrom('customers').select('tenant_id').execute(),
      );
      assert.ok(plain.length > 0);
      assert.ok(plain.every((r) => r.tenant_id === t.tenant.id));
      const inTx = await runAsTenant(t.tenant.id, () =>
        env.appDb.transaction().execute((trx) => trx.selectFrom('customers').select('tenant_id').execute()),
      );
      assert.deepEqual(inTx, plain);
    }
  });

  test('concurrent queries for different tenants each see their own rows', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const t = i % 2 ? a : b;
        return runAsTenant(t.tenant.id, async () => ({
          tenant: t.tenant.id,
          rows: await env.appDb.selectFrom('customers').select('tenant_id').execute(),
        }));
      }),
    );
    for (const r of results) {
      assert.ok(r.rows.length > 0);
      assert.ok(r.rows.every((row) => row.tenant_id === r.tenant));
    }
  });

  test("inserting another tenant's row is refused", async () => {
    await assert.rejects(
      runAsTenant(a.tenant.id, () =>
        env.appDb
          .insertInto('customers')
          .values({ tenant_id: b.tenant.id, id: newId(), name: 'X' })
          .execute(),
      ),
      (err: { code?: string }) => err.code === '42501',
    );
    await assert.rejects(
      runAsTenant(a.tenant.id, () =>
        env.appDb
          .transaction()
          .execute((trx) =>
            trx.insertInto('customers').values({ tenant_id: b.tenant.id, id: newId(), name: 'X' }).execute(),
          ),
      ),
      (err: { code?: string }) => err.code === '42501',
    );
  });

  test('a failed query leaves the connection clean for the next one', async () => {
    const max = env.config.poolSize;
    await Promise.all(
      Array.from({ length: max * 2 }, () =>
        assert.rejects(runAsTenant(a.tenant.id, () => sql`select 1 / 0`.execute(env.appDb))),
      ),
    );
    const rows = await runAsTenant(b.tenant.id, () =>
      env.appDb.selectFrom('customers').select('tenant_id').execute(),
    );
    assert.ok(rows.length > 0 && rows.every((r) => r.tenant_id === b.tenant.id));
    assert.equal((await env.appDb.selectFrom('customers').select('tenant_id').execute()).length, 0);
  });
});

describe('reads across reconnects', () => {
  // Reads go on lanes that remember which tenant their session was set to. A reconnect gives a fresh session with
  // no tenant: a read must then fail or be bound again, never return another tenant's rows, nor no rows.
  const readAs = (t: TestTenant) =>
    runAsTenant(t.tenant.id, () => env.appDb.selectFrom('customers').select('tenant_id').execute()).then(
      (rows) => ({ t, rows }),
    );

  test('after every session of the database is terminated, reads see their own tenant or fail', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => readAs(i % 2 ? a : b)));
    await env.sql`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid()`;
    let failures = 0;
    for (let round = 0; round < 50; round++) {
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => readAs(i % 2 ? a : b)));
      failures = 0;
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          failures++;
          continue;
        }
        assert.ok(o.value.rows.length > 0, 'a bound read finds its rows');
        assert.ok(o.value.rows.every((r) => r.tenant_id === o.value.t.tenant.id));
      }
      if (failures === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(failures, 0, 'reads recover once the lanes have reconnected');
  });
});

describe('the request path', () => {
  for (const method of ['GET', 'POST'] as const) {
    test(`${method}: a route's queries run as contacts_app for the key's tenant`, async () => {
      for (const t of [a, b]) {
        const res = await env.app.inject({
          method,
          url: '/test/rls-probe',
          headers: t.auth,
          ...(method === 'POST' ? { payload: { hello: 'world' } } : {}),
        });
        assert.equal(res.statusCode, 200, res.body);
        const body = json<Probe>(res);
        assert.equal(body.role, APP_ROLE);
        assert.equal(body.login, APP_ROLE);
        assert.equal(body.tenant, t.tenant.id);
        assert.deepEqual(body.tenants, [t.tenant.id]);
        if (method === 'POST') assert.deepEqual(body.body, { hello: 'world' });
      }
    });
  }

  test("a route's transaction runs as contacts_app for the key's tenant", async () => {
    const res = await env.app.inject({ method: 'POST', url: '/test/rls-probe-tx', headers: b.auth });
    assert.equal(res.statusCode, 200, res.body);
    const body = json<Probe>(res);
    assert.equal(body.role, APP_ROLE);
    assert.equal(body.tenant, b.tenant.id);
    assert.deepEqual(body.tenants, [b.tenant.id]);
  });
});

describe('indexes under row-level security', () => {
  // PostgreSQL evaluates a query's non-LEAKPROOF conditions after the policy, so they cannot be index conditions:
  // the migration marks textlike and lower(text) LEAKPROOF (as a superuser) so searches keep their trigram indexes.
  // Checked on a scratch table whose only indexes are the trigram ones, in a transaction that is rolled back.
  const cases = [
    { table: 'rls_probe_search', column: 'search', where: "search like '%zqxj%'" },
    { table: 'rls_probe_name', column: 'lower(name)', where: "lower(name) like '%zqxj%'" },
  ];

  async function plans(leakproof: boolean): Promise<string[]> {
    const undo = new Error('roll back');
    const out: string[] = [];
    await env.sql
      .begin(async (tx) => {
        const [policy] =
          await tx`select qual from pg_policies where tablename = 'contacts' and policyname = 'tenant_isolation'`;
        for (const c of cases) {
          // Its trigram index is the table's only index, so the plan shows which conditions it can take.
          await tx.unsafe(`
            create table ${c.table} (tenant_id uuid not null, search text, name text);
            create index ${c.table}_idx on ${c.table} using gin (tenant_id, ${c.column} gin_trgm_ops);
            alter table ${c.table} enable row level security;
            create policy tenant_isolation on ${c.table} to ${APP_ROLE} using (${policy?.qual});
            grant select on ${c.table} to ${APP_ROLE};
            insert into ${c.table}
              select '${a.tenant.id}', 'person ' || i, 'Person ' || i from generate_series(1, 2000) i;
            analyze ${c.table};
          `);
        }
        if (!leakproof) {
          await tx.unsafe(
            'alter function pg_catalog.textlike(text, text) not leakproof; alter function pg_catalog.lower(text) not leakproof',
          );
        }
        await tx.unsafe(`set local role ${APP_ROLE}; set local enable_seqscan = off`);
        await tx`select set_config('app.tenant_id', ${a.tenant.id}, true)`;
        for (const c of cases) {
          const rows = await tx.unsafe(
            `explain select * from ${c.table} where tenant_id = $1 and ${c.where}`,
            [a.tenant.id],
          );
          out.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
        }
        throw undo;
      })
      .catch((err: unknown) => {
        if (err !== undo) throw err;
      });
    return out;
  }

  test('search conditions stay index conditions for contacts_app', async (t) => {
    const [fn] = await env.sql`select proleakproof from pg_proc where oid = 'pg_catalog.textlike'::regproc`;
    if (!fn?.proleakproof) {
      t.skip('textlike is not LEAKPROOF here (migrated by a non-superuser)');
      return;
    }
    const marked = await plans(true);
    cases.forEach((c, i) => {
      assert.match(
        marked[i] ?? '',
        new RegExp(`Bitmap Index Scan on ${c.table}_idx .*\\n\\s+Index Cond: .*~~`),
        marked[i],
      );
    });
    // And the check can fail: without the marking the same plans lose the condition.
    const unmarked = await plans(false);
    cases.forEach((_, i) => {
      assert.doesNotMatch(unmarked[i] ?? '', /Index Cond: .*~~/, unmarked[i]);
    });
  });
});
