// Writes openapi.json from the route schemas (npm run openapi). No database is contacted.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kysely } from 'kysely';
import postgres from 'postgres';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { PostgresJsDialect } from '../src/db/driver.ts';
import type { DB } from '../src/db/types.ts';

export async function openApiDocument(): Promise<unknown> {
  // postgres.js connects lazily; nothing here runs a query.
  const sql = postgres('postgres://offline@127.0.0.1:1/offline', { max: 1 });
  const db = new Kysely<DB>({ dialect: new PostgresJsDialect(sql) });
  const app = await buildApp({
    config: loadConfig({ DATABASE_URL: 'postgres://offline@127.0.0.1:1/offline', LOG_LEVEL: 'silent' }),
    // Routes only hold the pool; the request pool is the same offline one.
    database: { db, sql, appDb: db },
    listen: false,
    logger: false,
  });
  await app.ready();
  const doc = app.swagger();
  await app.close();
  await sql.end({ timeout: 0 });
  return doc;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = path.resolve(import.meta.dirname, '..', 'openapi.json');
  writeFileSync(out, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
}
