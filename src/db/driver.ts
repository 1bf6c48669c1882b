// A Kysely driver over postgres.js. Unlike a reserve-per-query driver, a plain query goes straight to the pool
// as a named prepared statement (parse once per connection), and only a transaction reserves a connection.
//
// A transaction's BEGIN is not awaited on its own: postgres.js writes queries on one connection in order, so it
// travels with the transaction's first statement (one round trip fewer per transaction).
//
// With a tenant scope (the request pool, which runs as contacts_app under row-level security), every statement
// runs with the current tenant in app.tenant_id ('' for none: no rows), at no extra round trip:
// - a read (a plain SELECT) goes on a read lane (src/db/read-lanes.ts), pipelined with other requests' reads and
//   preceded by a set_config only when its lane was last bound to another tenant;
// - any other statement outside a transaction goes as `begin; set_config(local); statement; commit`, written at
//   once on a reserved connection, so that it cannot run unless the tenant was set;
// - a transaction sends `set_config(local)` right behind its BEGIN, with its first statement.
//
// Inside a transaction, a statement can also be sent ahead (src/db/tx.ts, sendAhead): written at once, its answer
// awaited with the next statement's (at the latest the COMMIT's, which fails if it failed). A write's event insert
// thus travels with the COMMIT, and a lookup with the statement that depends on it.
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
import type { ReservedSql, Row, RowList, Sql } from 'postgres';
import { cancelQuietly, type ReadLanes } from './read-lanes.ts';

type Statement = ReturnType<ReservedSql['unsafe']>;

/** Where the request pool finds the tenant a query acts for; undefined: none (the policies then show no rows). */
export type TenantSource = () => string | undefined;

const SET_TENANT_LOCAL = "select set_config('app.tenant_id', $1, true)";

/**
 * Marks a compiled query to be sent ahead: the driver writes it and returns an empty result at once, handing the
 * real answer to this callback. Only honoured inside a transaction (src/db/tx.ts).
 */
export const SEND_AHEAD = Symbol('sendAhead');
export type AheadQuery = CompiledQuery & { [SEND_AHEAD]?: (answer: Promise<RowList<Row[]>>) => void };

/** A SELECT with no data-modifying CTE: it may go on a read lane. */
function isRead(compiled: CompiledQuery): boolean {
  const node = compiled.query as { kind: string; with?: unknown };
  return node.kind === 'SelectQueryNode' && node.with === undefined;
}

/** How a pool under row-level security binds its statements to the tenant. */
export interface TenantScope {
  /** The tenant the current work acts for; undefined: none. */
  readonly tenant: TenantSource;
  /** Where reads outside a transaction go. */
  readonly lanes: ReadLanes;
}

/** Raised when a query does not settle within the client-side deadline (a dead socket, a stuck reconnect). */
export class QueryDeadlineError extends Error {
  readonly code = 'QUERY_DEADLINE';
}

// A reserved connection whose socket closed has already been taken back by postgres.js (it reconnects it later);
// releasing it as well would put the dead connection among the open ones, where the next query hangs on it.
// Lost: postgres.js's CONNECTION_* and CONNECT_TIMEOUT, a socket error, or a FATAL from the server (which then
// closes the session: shutdown, idle-in-transaction timeout).
function lostConnection(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; severity?: unknown } | undefined;
  return (
    (typeof e?.code === 'string' && e.code.startsWith('CONNECT')) ||
    typeof e?.errno === 'number' ||
    e?.severity === 'FATAL' ||
    e?.severity === 'PANIC'
  );
}

class PostgresJsConnection implements DatabaseConnection {
  #reserved: ReservedSql | undefined;
  #lost: unknown;
  /** Statements sent ahead (BEGIN, set_config) whose outcome is awaited with the next statement's. */
  #pending: Promise<unknown>[] = [];

  constructor(
    readonly sql: Sql,
    private readonly deadlineMs: number,
    private readonly scope: TenantScope | undefined,
  ) {}

  async reserve(): Promise<void> {
    this.#reserved ??= await this.sql.reserve();
  }

  release(): void {
    if (!this.#lost) this.#reserved?.release();
    this.#reserved = undefined;
    this.#lost = undefined;
  }

  /** Forgets the outcomes of statements sent ahead (each already has a handler for its failure). */
  discardPending(): void {
    this.#pending = [];
  }

  /** Opens a transaction on the reserved connection; on the request pool, bound to the current tenant. */
  begin(statement: string): void {
    this.#pending = [this.#send(statement)];
    if (this.scope) this.#pending.push(this.#send(SET_TENANT_LOCAL, [this.scope.tenant() ?? '']));
    // Awaited with the next statement; a failure here must not also surface as an unhandled rejection.
    for (const p of this.#pending) p.catch(() => undefined);
  }

  async executeQuery<R>(compiled: AheadQuery): Promise<QueryResult<R>> {
    const ahead = compiled[SEND_AHEAD];
    if (ahead && this.#reserved) {
      const answer = this.#send(compiled.sql, compiled.parameters);
      // Awaited with the next statement (see #sendAfterPending); the caller may also await it.
      answer.catch(() => undefined);
      this.#pending.push(answer);
      ahead(answer);
      return { rows: [] };
    }
    const scope = this.#reserved ? undefined : this.scope;
    const result = !scope
      ? await this.#sendAfterPending(compiled.sql, compiled.parameters)
      : isRead(compiled)
        ? await scope.lanes.read(scope.tenant() ?? '', compiled.sql, compiled.parameters, (work, cancel) =>
            this.#withDeadline(Object.assign(work, { cancel })),
          )
        : await this.#executeAsTenant(compiled, scope.tenant() ?? '');
    const command = result.command;
    const affects =
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
    return {
      rows: result as unknown as R[],
      numAffectedRows: affects ? BigInt(result.count) : undefined,
    };
  }

  async #sendAfterPending(text: string, parameters: readonly unknown[]): Promise<RowList<Row[]>> {
    const pending = this.#pending;
    if (pending.length === 0) return this.#send(text, parameters);
    this.#pending = [];
    const outcomes = await Promise.allSettled([...pending, this.#send(text, parameters)]);
    // The first failure is the cause: after a failed BEGIN or set_config, a statement fails only as "current
    // transaction is aborted".
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    return (outcomes.at(-1) as PromiseFulfilledResult<RowList<Row[]>>).value;
  }

  /** One statement on the reserved connection if there is one, else on the pool. */
  async #send(text: string, parameters: readonly unknown[] = []): Promise<RowList<Row[]>> {
    if (this.#lost) throw this.#lost;
    // (postgres.js sends a statement without parameters, such as begin, as a simple query.)
    const query = (this.#reserved ?? this.sql).unsafe(text, parameters as never[], { prepare: true });
    try {
      return await this.#withDeadline(query.execute());
    } catch (err) {
      if (this.#reserved && lostConnection(err)) this.#lost = err;
      throw err;
    }
  }

  // The four statements are written at once and answered back to back: one round trip. The connection is held
  // until all four are answered (postgres.js refuses a BEGIN on a connection that is not reserved).
  async #executeAsTenant(compiled: CompiledQuery, tenant: string): Promise<Awaited<Statement>> {
    const reserved = await this.#reserveOne();
    const begin = reserved.unsafe('begin').execute();
    const set = reserved.unsafe(SET_TENANT_LOCAL, [tenant], { prepare: true }).execute();
    const query = reserved.unsafe(compiled.sql, compiled.parameters as never[], { prepare: true }).execute();
    const commit = reserved.unsafe('commit').execute();
    return this.#settle(reserved, [begin, set, query, commit], query);
  }

  async #reserveOne(): Promise<ReservedSql> {
    const reserving = this.sql.reserve();
    try {
      return await this.#withDeadline(reserving);
    } catch (err) {
      // A reservation still waiting for a connection cannot be withdrawn: give the connection back when it comes.
      void reserving.then(
        (r) => r.release(),
        () => undefined,
      );
      throw err;
    }
  }

  /** Waits for a pipeline's statements, releases the connection, and returns the query's rows or the first failure. */
  async #settle(
    reserved: ReservedSql,
    statements: Statement[],
    query: Statement,
  ): Promise<Awaited<Statement>> {
    const all = Promise.allSettled(statements);
    void all.then((outcomes) => {
      if (!outcomes.some((o) => o.status === 'rejected' && lostConnection(o.reason))) reserved.release();
    });
    try {
      const outcomes = await this.#withDeadline(all);
      // The first failure is the cause: after a failed begin or set_config the statement did not run ("current
      // transaction is aborted"). A failed commit means a write did not happen, even though its statement succeeded.
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
      return (outcomes[statements.indexOf(query)] as PromiseFulfilledResult<Awaited<Statement>>).value;
    } catch (err) {
      if (err instanceof QueryDeadlineError) cancelQuietly(query);
      throw err;
    }
  }

  // statement_timeout bounds a query the server runs; this bounds everything else (waiting for a connection
  // while PostgreSQL restarts, a socket that died silently), so no request waits on the database forever.
  async #withDeadline<T>(query: Promise<T> & { cancel?: () => unknown }): Promise<T> {
    if (this.deadlineMs <= 0) return query;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (query.cancel) cancelQuietly(query as { cancel: () => unknown });
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
    private readonly scope: TenantScope | undefined,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PostgresJsConnection(this.sql, this.deadlineMs, this.scope);
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
    // The transaction is being abandoned for an error of its own: a statement sent ahead that failed too must not
    // replace that error (PostgreSQL runs the ROLLBACK after it all the same).
    (connection as PostgresJsConnection).discardPending();
    await connection.executeQuery({ sql: 'rollback', parameters: [] } as unknown as CompiledQuery);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PostgresJsConnection).release();
  }

  async destroy(): Promise<void> {
    await Promise.all([this.sql.end({ timeout: 5 }), this.scope?.lanes.end()]);
  }
}

export class PostgresJsDialect implements Dialect {
  /** deadlineMs: client-side bound on any one query, 0 for none. scope: for a pool under row-level security. */
  constructor(
    private readonly sql: Sql,
    private readonly deadlineMs = 0,
    private readonly scope?: TenantScope,
  ) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PostgresJsDriver(this.sql, this.deadlineMs, this.scope);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's introspector accepts any database schema
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}
