// Kysely rebuilds and recompiles a query's tree on every call: for the hottest statements (a contact by id, the
// event insert of every write) that is a measurable share of a request's CPU (bench/run.ts with
// BENCH_CPU_PROF). A query whose shape does not depend on its arguments is compiled here once, with stand-ins
// for the arguments, and each call only puts the arguments in their parameter slots.
import type { Compilable, CompiledQuery } from 'kysely';
import type { Db } from './connection.ts';

class StandIn {
  constructor(readonly index: number) {}
}

export interface Prepared<A extends unknown[], R> {
  /** The compiled query with these arguments (for sendAhead). */
  compile(db: Db, ...args: A): CompiledQuery<R>;
  /** Runs it on db (or a transaction) and resolves to its rows. */
  execute(db: Db, ...args: A): Promise<R[]>;
}

/**
 * Wraps build, each of whose arguments must be used once, unchanged, as a query parameter (not transformed, and
 * not deciding the query's shape); checked when the query is first compiled.
 */
export function prepared<A extends unknown[], R>(
  build: (db: Db, ...args: A) => Compilable<R>,
): Prepared<A, R> {
  let template: CompiledQuery<R> | undefined;
  let slots: (number | undefined)[] = [];
  const compile = (db: Db, ...args: A): CompiledQuery<R> => {
    if (!template) {
      const first = build(db, ...(args.map((_, i) => new StandIn(i)) as A)).compile();
      slots = first.parameters.map((p) => (p instanceof StandIn ? p.index : undefined));
      const used = slots.filter((s) => s !== undefined);
      if (used.length !== args.length || new Set(used).size !== args.length)
        throw new Error('prepared: each argument must be used exactly once, as a parameter');
      template = first;
    }
    const t = template;
    return { ...t, parameters: slots.map((s, i) => (s === undefined ? t.parameters[i] : args[s])) };
  };
  return {
    compile,
    execute: async (db, ...args) => (await db.executeQuery(compile(db, ...args))).rows,
  };
}

/** prepared() for a query whose shape depends only on an options object: one compiled query per distinct options. */
export function preparedByOptions<O extends object, A extends unknown[], R>(
  build: (options: O) => (db: Db, ...args: A) => Compilable<R>,
): (options: O) => Prepared<A, R> {
  const variants = new Map<string, Prepared<A, R>>();
  return (options) => {
    const key = JSON.stringify(options);
    let variant = variants.get(key);
    if (!variant) {
      variant = prepared(build(options));
      variants.set(key, variant);
    }
    return variant;
  };
}
