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
  const cases: [string, string, string, unknown][] = [
    ['POST', '/v1/contacts', 'name', { name: 'a\u0000b' }],
    ['POST', '/v1/customers', 'meta', { name: 'x', metadata: { k: 'a\u0000b' } }],
    ['POST', '/v1/customers', 'metakey', { name: 'x', metadata: { 'a\u0000': 'b' } }],
    ['POST', '/v1/customers', 'name', { name: 'a\u0000b' }],
    ['GET', '/v1/customers?external_ref=a%00b', '', undefined],
    ['GET', '/v1/customers?q=a%00b', '', undefined],
    ['GET', '/v1/contacts?q=a%00b', '', undefined],
    ['GET', '/v1/contacts?email=a%00b', '', undefined],
    ['GET', '/v1/contacts?role=a%00b', '', undefined],
    ['GET', `/v1/contacts?cursor=a%00b`, '', undefined],
    ['PATCH', `/v1/contacts/${k.id}`, 'notes', { notes: 'a\u0000b' }],
    ['POST', `/v1/api_keys`, 'keyname', { name: 'a\u0000b' }],
    ['POST', `/v1/customers/${c.id}/channels`, 'chan', { type: 'OTHER', value: 'a\u0000b' }],
    ['GET', `/compat/businesscentral/v2.0/companies(${a.tenant.id})/customerContacts?$filter=email eq 'a%00b'`, '', undefined],
    ['GET', `/compat/dnsimple/v2/${a.tenant.number}/contacts?sort=a%00b`, '', undefined],
  ];
  for (const [method, url, label, payload] of cases) {
    const r = await app.inject({ method: method as 'GET', url, headers: a.auth, ...(payload ? { payload: payload as object } : {}) });
    console.log(method, url.slice(0, 90), label, r.statusCode, r.body.slice(0, 160));
  }
  await app.close();
  await db.destroy();
  await database.drop();
});
