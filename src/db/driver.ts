// A Kysely driver over postgres.js. Unlike a reserve-per-query driver, a plain query goes straight to the pool
// as a named prepared statement (parse once per connection), and only a transaction reserves a connection.
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { ReservedSql, Sql } from 'postgres';

/** Raised when a query does not settle within the client-side deadline (a dead socket, a stuck reconnect). */
export class QueryDeadlineError extends Error {
  readonly code = 'QUERY_DEADLINE';
}

class PostgresJsConnection implements DatabaseConnection {
  #reserved: ReservedSql | undefined;

  constructor(
    readonly sql: Sql,
    private readonly deadlineMs: number,
  ) {}

  get target(): Sql | ReservedSql {
    return this.#reserved ?? this.sql;
  }

  async reserve(): Promise<void> {
    this.#reserved ??= await this.sql.reserve();
  }

  release(): void {
    this.#reserved?.release();
    this.#reserved = undefined;
  }

  #pendingBegin: Promise<unknown> | undefined;

  /**
   * Sends BEGIN without waiting for its answer: postgres.js writes queries on one connection in order, so BEGIN
   * travels with the transaction's first statement (one round trip fewer per transaction). Its outcome is awaited
   * with that statement's.
   */
  begin(statement: string): void {
    this.#pendingBegin = this.#withDeadline(this.target.unsafe(statement));
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const query = this.#withDeadline(
      this.target.unsafe(compiled.sql, compiled.parameters as never[], { prepare: true }),
    );
    const begin = this.#pendingBegin;
    this.#pendingBegin = undefined;
    const result = begin ? (await Promise.all([begin, query]))[1] : await query;
    const command = result.command;
    const affects =
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
    return {
      rows: result as unknown as R[],
      numAffectedRows: affects ? BigInt(result.count) : undefined,
    };
  }

  // statement_timeout bounds a query the server runs; this bounds everything else (waiting for a connection
  // while PostgreSQL restarts, a socket that died silently), so no request waits on the database forever.
  async #withDeadline<T>(query: Promise<T> & { cancel?: () => unknown }): Promise<T> {
    if (this.deadlineMs <= 0) return query;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        query.cancel?.();
        reject(new QueryDeadlineError(`query did not complete within ${this.deadlineMs} ms`));
      }, this.deadlineMs);
    });
    try {
      return await Promise.race([query, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  // biome-ignore lint/correctness/useYield: streaming is not used by this service
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by this driver');
  }
}

class PostgresJsDriver implements Driver {
  constructor(
    private readonly sql: Sql,
    private readonly deadlineMs: number,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PostgresJsConnection(this.sql, this.deadlineMs);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const conn = connection as PostgresJsConnection;
    await conn.reserve();
    const isolation = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : '';
    conn.begin(`begin${isolation}`);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery({ sql: 'commit', parameters: [] } as unknown as CompiledQuery);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery({ sql: 'rollback', parameters: [] } as unknown as CompiledQuery);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PostgresJsConnection).release();
  }

  async destroy(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

export class PostgresJsDialect implements Dialect {
  /** deadlineMs: client-side bound on any one query, 0 for none. */
  constructor(
    private readonly sql: Sql,
    private readonly deadlineMs = 0,
  ) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PostgresJsDriver(this.sql, this.deadlineMs);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's introspector accepts any database schema
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}
