import { test } from 'node:test';
import { Kysely } from 'kysely';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createSql } from '../src/db/connection.ts';
import { PostgresJsDialect } from '../src/db/driver.ts';
import { createTestDatabase, createTestTenant, json } from './helpers.ts';

test('probe', async () => {
  const database = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' });
  const sql = createSql(database.url, { max: 4, statementTimeoutMs: 5000 });
  const db = new Kysely<never>({ dialect: new PostgresJsDialect(sql) });
  const app = await buildApp({ config, database: { db, sql } as never, logger: false });
  await app.ready();
  const env = { app, db, sql } as never;
  const a = await createTestTenant(env);
  const c = json<{ id: string }>(await app.inject({ method: 'POST', url: '/v1/customers', headers: a.auth, payload: { name: 'x' } }));
  const k = json<{ id: string }>(await app.inject({ method: 'POST', url: `/v1/customers/${c.id}/contacts`, headers: a.auth, payload: { name: 'x' } }));
  for (const d of [1000, 2000, 3000, 5000, 10000, 50000]) {
    const arr = `${'['.repeat(d)}${']'.repeat(d)}`;
    const obj = `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`;
    const out: string[] = [];
    for (const [label, url, method, headers, payload] of [
      ['bc', `/compat/businesscentral/v2.0/companies(${a.tenant.id})/customerContacts(${k.id})`, 'PATCH', { ...a.auth, 'content-type': 'application/json' }, `{"email":${arr}}`],
      ['bc-obj', `/compat/businesscentral/v2.0/companies(${a.tenant.id})/customerContacts(${k.id})`, 'PATCH', { ...a.auth, 'content-type': 'application/json' }, `{"email":${obj}}`],
      ['dz-body', `/compat/dayzero/api/v1/customers/${c.id}/contacts`, 'POST', { ...a.auth, 'x-business-id': a.tenant.id, 'content-type': 'application/json' }, arr],
      ['dz-field', `/compat/dayzero/api/v1/customers/${c.id}/contacts`, 'POST', { ...a.auth, 'x-business-id': a.tenant.id, 'content-type': 'application/json' }, `{"name":${arr}}`],
      ['dz-objfield', `/compat/dayzero/api/v1/customers/${c.id}/contacts`, 'POST', { ...a.auth, 'x-business-id': a.tenant.id, 'content-type': 'application/json' }, `{"name":${obj}}`],
      ['native', `/v1/contacts`, 'POST', { ...a.auth, 'content-type': 'application/json' }, `{"name":${arr}}`],
      ['fastly', `/compat/fastly/customer/${c.id}/contacts`, 'POST', { 'fastly-key': a.token, 'content-type': 'application/json' }, `{"name":${arr}}`],
      ['dnsimple', `/compat/dnsimple/v2/${a.tenant.number}/contacts`, 'POST', { ...a.auth, 'content-type': 'application/json' }, `{"email":${arr}}`],
      ['ecwid', `/compat/ecwid/api/v3/${a.tenant.number}/customers/1/contacts`, 'POST', { ...a.auth, 'content-type': 'application/json' }, `{"contact":${arr}}`],
    ] as const) {
      const r = await app.inject({ method, url, headers, payload });
      out.push(`${label}=${r.statusCode}`);
    }
    console.log(d, out.join(' '));
  }
  await app.close();
  await db.destroy();
  await database.drop();
});
