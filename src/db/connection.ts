// Opens the database: DATABASE_URL when set, otherwise the embedded PostgreSQL in DATA_DIR.
import { Kysely, type Transaction } from 'kysely';
import postgres, { type Sql } from 'postgres';
import type { Config } from '../config.ts';
import { PostgresJsDialect } from './driver.ts';
import { type EmbeddedCluster, ensureEmbeddedPostgres } from './embedded.ts';
import type { DB } from './types.ts';

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
/** Either the database or an open transaction: services accept both, so callers choose the transaction edge. */
export type Queryable = Kysely<DB>;

export const APPLICATION_NAME = 'contacts';
const applicationName = `${APPLICATION_NAME}/${process.pid}`;

export interface Database {
  readonly db: Db;
  readonly sql: Sql;
  readonly url: string;
  readonly embedded: EmbeddedCluster | undefined;
  /** Closes the pool; stops the embedded PostgreSQL when no other process of ours is using it. */
  close(): Promise<void>;
}

export function createSql(url: string, options: { max: number; statementTimeoutMs: number }): Sql {
  return postgres(url, {
    max: options.max,
    idle_timeout: 60,
    connect_timeout: 5,
    max_lifetime: 60 * 30,
    prepare: true,
    onnotice: () => undefined,
    connection: {
      application_name: applicationName,
      statement_timeout: options.statementTimeoutMs,
      idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs * 2, 10_000),
    },
    // int8 columns here (number, ids of events) stay far below 2^53.
    types: {
      bigint: { to: 20, from: [20], serialize: (v: number) => String(v), parse: (v: string) => Number(v) },
    },
  });
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

export async function openDatabase(
  config: Config,
  options: { log?: (message: string) => void; poolSize?: number } = {},
): Promise<Database> {
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
  const sql = createSql(url, {
    max: options.poolSize ?? config.poolSize,
    statementTimeoutMs: config.statementTimeoutMs,
  });
  // A query may legitimately run for statement_timeout; past that plus connect_timeout something is wrong.
  const db = new Kysely<DB>({ dialect: new PostgresJsDialect(sql, config.statementTimeoutMs + 6000) });
  const cluster = embedded;
  return {
    db,
    sql,
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
      await db.destroy();
      if (cluster && !othersConnected) await cluster.stop().catch(() => undefined);
    },
  };
}
