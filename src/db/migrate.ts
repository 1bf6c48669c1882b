// Forward-only SQL migrations from migrations/NNNN_name.sql, each applied once in its own transaction.
// An advisory lock serialises concurrent migrators (two servers starting at once); a checksum catches an
// applied migration that was edited afterwards.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from 'postgres';

/** migrations/ of this package, found from this module up (it runs from src/db, or bundled from dist/). */
export const MIGRATIONS_DIR = findUp(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

function findUp(from: string, name: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, name);
    if (existsSync(path.join(candidate, '0001_init.sql'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${name}/ not found above ${from}`);
  }
}
const LOCK_ID = 7_213_004_101;

export interface MigrationResult {
  applied: string[];
}

export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
    await tx`create table if not exists schema_migrations (
      version text primary key, checksum text not null, applied_at timestamptz not null default now())`;
    const done = new Map<string, string>();
    for (const row of await tx<
      { version: string; checksum: string }[]
    >`select version, checksum from schema_migrations`) {
      done.set(row.version, row.checksum);
    }
    for (const file of files) {
      const text = await fs.readFile(path.join(dir, file), 'utf8');
      const checksum = createHash('sha256').update(text).digest('hex');
      const version = file.replace(/\.sql$/, '');
      const previous = done.get(version);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new Error(`migration ${file} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await tx.unsafe(text);
      await tx`insert into schema_migrations (version, checksum) values (${version}, ${checksum})`;
      applied.push(version);
    }
  });
  return { applied };
}
