import { type Compilable, type CompiledQuery, isCompilable } from 'kysely';
import type { Db } from './connection.ts';
import { type AheadQuery, SEND_AHEAD } from './driver.ts';

/** Runs fn in a transaction, joining the caller's when there is one (Kysely has no nested transactions). */
export async function inTx<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db);
  return db.transaction().execute((trx) => fn(trx));
}

/**
 * Sends a statement of a transaction without waiting for its answer: it travels to PostgreSQL with the next one,
 * saving a round trip. Its rows are in the returned promise; if it fails, the next statement (at the latest the
 * COMMIT) fails with its error, so a transaction never commits past a failed statement sent ahead. Outside a
 * transaction the statement simply runs.
 */
export async function sendAhead<R>(
  db: Db,
  query: Compilable<R> | CompiledQuery<R>,
): Promise<{ rows: Promise<R[]> }> {
  const compiled = isCompilable(query) ? (query.compile() as CompiledQuery<R>) : query;
  if (!db.isTransaction) {
    const rows = (await db.executeQuery(compiled)).rows;
    return { rows: Promise.resolve(rows) };
  }
  let rows: Promise<R[]> | undefined;
  const ahead: AheadQuery = {
    ...compiled,
    [SEND_AHEAD]: (answer) => {
      rows = answer as unknown as Promise<R[]>;
    },
  };
  await db.executeQuery(ahead);
  if (!rows) throw new Error('sendAhead: the driver ran the statement instead of sending it ahead');
  return { rows };
}
