import type { Db } from './connection.ts';

/** Runs fn in a transaction, joining the caller's when there is one (Kysely has no nested transactions). */
export async function inTx<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db);
  return db.transaction().execute((trx) => fn(trx));
}
