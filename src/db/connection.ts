// Opens the database: DATABASE_URL when set, otherwise the embedded PostgreSQL in DATA_DIR.
//
// Two pools. The request pool (appDb) runs as contacts_app, under row-level security, with each query bound to
// the tenant of the request it serves (src/db/tenant-scope.ts). The owner pool (db) acts as the tables' owner,
// which the policies do not restrict: migrations, bootstrap, the CLI and the API-key lookup (it runs before the
// tenant is known) use it.
//
// The request pool logs in as contacts_app itself (the embedded PostgreSQL's default; DATABASE_APP_URL for
// another), so not even an injected statement could leave the role: it is no member of the owner. Without its own
// login (DATABASE_URL alone) it logs in as the owner and switches to contacts_app at connect time, which guards
// against a forgotten tenant filter but not against SQL injection (the session could RESET ROLE).
import { Kysely, type Transaction } from 'kysely';
import postgres, { type Sql } from 'postgres';
import type { Config } from '../config.ts';
import { PostgresJsDialect } from './driver.ts';
import { type EmbeddedCluster, ensureEmbeddedPostgres } from './embedded.ts';
import { migrate } from './migrate.ts';
import { ReadLanes } from './read-lanes.ts';
import { currentTenant } from './tenant-scope.ts';
import type { DB } from './types.ts';

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
/** Either the database or an open transaction: services accept both, so callers choose the transaction edge. */
export type Queryable = Kysely<DB>;

export const APPLICATION_NAME = 'contacts';
const applicationName = `${APPLICATION_NAME}/${process.pid}`;

/** The role the request pool runs as (migrations/0002_row_level_security.sql). */
export const APP_ROLE = 'contacts_app';

export interface Pools {
  /** Owner pool: not restricted by row-level security. */
  readonly db: Db;
  readonly sql: Sql;
  /** Request pool: contacts_app, each query bound to the current tenant. */
  readonly appDb: Db;
  readonly appSql: Sql;
}

export interface Database extends Pools {
  readonly url: string;
  readonly embedded: EmbeddedCluster | undefined;
  /** Closes the pool; stops the embedded PostgreSQL when no other process of ours is using it. */
  close(): Promise<void>;
}

export function createSql(
  url: string,
  options: {
    max: number;
    statementTimeoutMs: number;
    role?: string | undefined;
    onclose?: (() => void) | undefined;
  },
): Sql {
  return postgres(url, {
    max: options.max,
    ...(options.onclose ? { onclose: options.onclose } : {}),
    idle_timeout: 60,
    connect_timeout: 5,
    max_lifetime: 60 * 30,
    prepare: true,
    onnotice: () => undefined,
    connection: {
      application_name: applicationName,
      statement_timeout: options.statementTimeoutMs,
      idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs * 2, 10_000),
      // A startup parameter, so the switch costs no statement: from its first query the session acts as this role.
      // The login can switch back (SET ROLE NONE); the wall is against a query that forgets its tenant filter, and
      // the application never issues SET ROLE.
      ...(options.role ? { role: options.role } : {}),
    },
    // int8 columns here (number, ids of events) stay far below 2^53.
    types: {
      bigint: { to: 20, from: [20], serialize: (v: number) => String(v), parse: (v: string) => Number(v) },
    },
  });
}

/**
 * The pools on url. poolSize bounds the request pool's transactions; a quarter as many read lanes (one connection
 * each, pipelined) serve its reads. The owner pool serves API-key cache misses and start-up work, and postgres.js
 * pipelines its queries, so a few connections suffice. Connections open only when needed and close when idle.
 */
export function createPools(
  url: string,
  options: {
    poolSize: number;
    statementTimeoutMs: number;
    deadlineMs?: number;
    /** The request pool's own login as contacts_app; without it, the owner's login switches role. */
    appUrl?: string | undefined;
  },
): Pools {
  const { poolSize, statementTimeoutMs, appUrl } = options;
  const sql = createSql(url, { max: Math.max(2, Math.ceil(poolSize / 4)), statementTimeoutMs });
  const app = { url: appUrl ?? url, role: appUrl ? undefined : APP_ROLE };
  const appSql = createSql(app.url, { max: poolSize, statementTimeoutMs, role: app.role });
  // Few lanes, deeply pipelined, read faster than many shallow ones (fewer backends contending for the CPUs).
  const lanes = new ReadLanes(Math.max(2, Math.ceil(poolSize / 4)), (onclose) =>
    createSql(app.url, { max: 1, statementTimeoutMs, role: app.role, onclose }),
  );
  const deadlineMs = options.deadlineMs ?? 0;
  return {
    sql,
    db: new Kysely<DB>({ dialect: new PostgresJsDialect(sql, deadlineMs) }),
    appSql,
    appDb: new Kysely<DB>({
      dialect: new PostgresJsDialect(appSql, deadlineMs, { tenant: currentTenant, lanes }),
    }),
  };
}

async function ensureDatabase(cluster: EmbeddedCluster, name: string): Promise<void> {
  const admin = postgres(cluster.url('postgres'), { max: 1, onnotice: () => undefined });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) {
      await admin
        .unsafe(`create database "${name.replaceAll('"', '""')}"`)
        .catch((err: { code?: string }) => {
          if (err.code !== '42P04') throw err; // created concurrently by another process
        });
    }
  } finally {
    await admin.end();
  }
}

/**
 * Lets contacts_app log in with this password (the embedded PostgreSQL's request pool). Idempotent; run by the
 * owner after the migrations have created the role.
 */
export async function enableAppLogin(sql: Sql, password: string): Promise<void> {
  const [role] = await sql<{ login: boolean }[]>`
    select rolcanlogin as login from pg_roles where rolname = ${APP_ROLE}`;
  if (role?.login) return;
  // ALTER ROLE takes no parameters; the password is base64url (src/db/embedded.ts), quoted all the same.
  const literal = `'${password.replaceAll("'", "''")}'`;
  await sql
    .unsafe(`alter role ${APP_ROLE} with login password ${literal}`)
    .catch((err: { code?: string }) => {
      // Another process starting on the same DATA_DIR did it at the same moment ("tuple concurrently updated").
      if (err.code !== 'XX000') throw err;
    });
}

/** Opens the pools, applying pending migrations first; `applied` lists those this call applied. */
export async function openDatabase(
  config: Config,
  options: { log?: (message: string) => void; poolSize?: number } = {},
): Promise<Database & { applied: string[] }> {
  let embedded: EmbeddedCluster | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await ensureEmbeddedPostgres(config.dataDir, {
      port: config.embeddedPgPort,
      ...(options.log ? { log: options.log } : {}),
    });
    await ensureDatabase(embedded, 'contacts');
    url = embedded.url('contacts');
  }
  const pools = createPools(url, {
    poolSize: options.poolSize ?? config.poolSize,
    statementTimeoutMs: config.statementTimeoutMs,
    // A query may legitimately run for statement_timeout; past that plus connect_timeout something is wrong.
    deadlineMs: config.statementTimeoutMs + 6000,
    appUrl: config.databaseAppUrl ?? embedded?.appUrl('contacts'),
  });
  const { db, sql, appDb } = pools;
  // Before any request: the pools connect on first use.
  const { applied } = await migrate(sql);
  if (embedded) await enableAppLogin(sql, embedded.appPassword);
  const cluster = embedded;
  return {
    ...pools,
    applied,
    url,
    embedded,
    close: async () => {
      // Another server or CLI on the same DATA_DIR may share this PostgreSQL: the last process to leave stops it
      // (including one that adopted a postmaster orphaned by a killed server).
      let othersConnected = true;
      if (cluster) {
        const rows = await sql`
          select count(*)::int as n from pg_stat_activity
          where application_name like ${`${APPLICATION_NAME}/%`} and application_name <> ${applicationName}
        `.catch(() => [{ n: 1 }]);
        othersConnected = Number(rows[0]?.n ?? 1) > 0;
      }
      await Promise.all([db.destroy(), appDb.destroy()]);
      if (cluster && !othersConnected) await cluster.stop().catch(() => undefined);
    },
  };
}
