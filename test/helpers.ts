import assert from 'node:assert/strict';
// Shared test helpers: a fresh database per test file (cloned from the migrated template), the production app
// built on it, and tenants with API keys.
import { randomBytes } from 'node:crypto';
import type { Sql } from 'postgres';
import postgres from 'postgres';
import { buildApp } from '../src/app.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { createPools, type Db } from '../src/db/connection.ts';
import type { Scope } from '../src/http/context.ts';
import type { App } from '../src/http/deps.ts';
import { createApiKey } from '../src/keys/keys.service.ts';
import { createTenant, type Tenant } from '../src/tenants/tenants.service.ts';

export interface TestEnv {
  app: App;
  /** The owner pool: not restricted by row-level security, for setting up and inspecting any tenant's data. */
  db: Db;
  sql: Sql;
  /** The app's request pool: contacts_app under row-level security (see test/rls.test.ts). */
  appDb: Db;
  url: string;
  config: Config;
  close(): Promise<void>;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with "npm test"`);
  return value;
}

export function databaseUrl(name: string): string {
  const u = new URL(requireEnv('TEST_ADMIN_URL'));
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * url, logged in as contacts_app: the request pool's own login, as the embedded PostgreSQL gives it in production
 * (scripts/test.ts lets the role log in for the run).
 */
export function appDatabaseUrl(url: string): string {
  const u = new URL(url);
  u.username = 'contacts_app';
  u.password = requireEnv('TEST_APP_PASSWORD');
  return u.toString();
}

/** Creates an empty, migrated database of its own and returns its URL. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ct_${process.ppid}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(requireEnv('TEST_ADMIN_URL'), { max: 1, onnotice: () => undefined });
  // Cloning a template needs no other session on it; retry briefly if a parallel file is cloning too.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`create database "${name}" template "${requireEnv('TEST_TEMPLATE_DB')}"`);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  return {
    url: databaseUrl(name),
    drop: async () => {
      const a = postgres(requireEnv('TEST_ADMIN_URL'), { max: 1, onnotice: () => undefined });
      await a.unsafe(`drop database if exists "${name}" with (force)`).catch(() => undefined);
      await a.end();
    },
  };
}

export async function setupTestEnv(
  env: Record<string, string> = {},
  options: {
    /** Adds routes to the app before it is ready, with the request pool the app's own routes use. */
    routes?: (app: App, appDb: Db) => void;
  } = {},
): Promise<TestEnv> {
  const database = await createTestDatabase();
  // The production configuration, except the per-key rate limit: suites send bursts from one key on purpose
  // (test/limits.test.ts covers the limit itself).
  const config = loadConfig({
    DATABASE_URL: database.url,
    DATABASE_APP_URL: appDatabaseUrl(database.url),
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '0',
    ...env,
  });
  const { db, sql, appDb } = createPools(database.url, {
    poolSize: config.poolSize,
    statementTimeoutMs: config.statementTimeoutMs,
    appUrl: config.databaseAppUrl,
  });
  const app = await buildApp({ config, database: { db, sql, appDb }, logger: false });
  options.routes?.(app, appDb);
  await app.ready();
  return {
    app,
    db,
    sql,
    appDb,
    url: database.url,
    config,
    close: async () => {
      await app.close();
      await Promise.all([db.destroy(), appDb.destroy()]);
      await database.drop();
    },
  };
}

export interface TestTenant {
  tenant: Tenant;
  token: string;
  /** Authorization header for the tenant's key. */
  auth: { authorization: string };
}

let tenantCounter = 0;

export async function createTestTenant(
  env: TestEnv,
  options: { slug?: string; scopes?: Scope[]; region?: string } = {},
): Promise<TestTenant> {
  const slug = options.slug ?? `t${process.pid}-${++tenantCounter}`;
  const tenant = await createTenant(env.db, { slug, default_region: options.region });
  const { token } = await createApiKey(env.db, tenant.id, { scopes: options.scopes });
  return { tenant, token, auth: { authorization: `Bearer ${token}` } };
}

export async function keyFor(
  env: TestEnv,
  tenant: Tenant,
  scopes: Scope[],
): Promise<{ authorization: string }> {
  const { token } = await createApiKey(env.db, tenant.id, { scopes });
  return { authorization: `Bearer ${token}` };
}

/** JSON body of an inject() response. */
export function json<T = Record<string, unknown>>(res: { body: string }): T {
  return JSON.parse(res.body) as T;
}

export async function count(
  env: TestEnv,
  table: 'customers' | 'contacts' | 'channels' | 'events',
): Promise<number> {
  const rows = await env.sql.unsafe(`select count(*)::int as n from ${table}`);
  return Number(rows[0]?.n);
}

/**
 * A second app on an existing TestEnv's database, with its own pool, key cache and LISTEN connection, as another
 * server of the same deployment would be.
 */
export async function buildAppOn(
  env: TestEnv,
  overrides: Record<string, string> = {},
): Promise<{ app: App; close(): Promise<void> }> {
  const config = loadConfig({
    DATABASE_URL: env.url,
    DATABASE_APP_URL: appDatabaseUrl(env.url),
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  const { db, sql, appDb } = createPools(env.url, {
    poolSize: config.poolSize,
    statementTimeoutMs: config.statementTimeoutMs,
    appUrl: config.databaseAppUrl,
  });
  const app = await buildApp({ config, database: { db, sql, appDb }, logger: false });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await Promise.all([db.destroy(), appDb.destroy()]);
    },
  };
}

/** Creates a customer through the native API, asserting the 201, and returns it. */
export async function createCustomer<T = Obj>(
  env: TestEnv,
  tenant: TestTenant,
  payload: Record<string, unknown> = { name: 'Acme' },
): Promise<T> {
  const res = await env.app.inject({ method: 'POST', url: '/v1/customers', headers: tenant.auth, payload });
  assert.equal(res.statusCode, 201, res.body);
  return json<T>(res);
}

/** A JSON object from the API, with its id. */
export type Obj = Record<string, unknown> & { id: string };

/** The native API's list envelope. */
export interface Page {
  data: Obj[];
  has_more: boolean;
  next_cursor: string | null;
}

/** The native API's problem details (the fields the tests read). */
export interface Problem {
  status: number;
  code: string;
  errors?: { field: string; code: string }[];
}

/** Asserts an RFC 9457 problem with this status and code (and, when given, an error naming this field). */
export function assertProblem(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
  field?: { field: string; code?: string },
): Problem {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  const body = json<Problem>(res);
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  if (field) {
    assert.ok(
      body.errors?.some((e) => e.field === field.field && (!field.code || e.code === field.code)),
      `expected ${field.field}/${field.code ?? '*'} in ${JSON.stringify(body.errors)}`,
    );
  }
  return body;
}
