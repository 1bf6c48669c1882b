// npm test's runner: one PostgreSQL for the whole run (DATABASE_URL when set, otherwise the embedded one in
// .test-data/), a migrated template database, then node's test runner over every *.test.ts file. Each test file
// clones the template into a database of its own (test/helpers.ts), so files run in parallel.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { ensureEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { buildServer } from './build.ts';

const root = path.resolve(import.meta.dirname, '..');
// A test cluster's only: it listens on loopback, and runs share it.
const TEST_APP_PASSWORD = 'contacts-app-test';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  // Suites that start the server as a process run it as npm start does, from the bundle.
  await buildServer();
  let adminUrl = process.env.DATABASE_URL;
  const cluster = adminUrl ? undefined : await ensureEmbeddedPostgres(path.join(root, '.test-data'));
  adminUrl = adminUrl ?? cluster?.url('postgres');
  if (!adminUrl) throw new Error('no database');

  // Names are per run, so several runs (or developers' agents) can share one cluster.
  const template = `ct_tpl_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`drop database if exists "${template}" with (force)`);
    await admin.unsafe(`create database "${template}"`);
    const tpl = postgres(withDatabase(adminUrl, template), { max: 1, onnotice: () => undefined });
    await migrate(tpl);
    await tpl.end();
    // The request pool logs in as contacts_app, as with the embedded PostgreSQL in production (src/db/connection.ts).
    await admin.unsafe(`alter role contacts_app with login password '${TEST_APP_PASSWORD}'`);
  } finally {
    await admin.end();
  }

  const files = testFiles(path.join(root, 'src'))
    .concat(testFiles(path.join(root, 'test')))
    .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
    .sort();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=3', '--test-timeout=300000', ...files],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          TEST_ADMIN_URL: adminUrl,
          TEST_TEMPLATE_DB: template,
          TEST_APP_PASSWORD,
          TEST_ROOT: root,
        },
      },
    );
    child.on('close', (c) => resolve(c ?? 1));
  });
  const cleanup = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await cleanup.unsafe(`drop database if exists "${template}" with (force)`).catch(() => undefined);
  // The embedded cluster is stopped by the last run that leaves it.
  const others = await cleanup`select count(*)::int as n from pg_stat_activity
    where backend_type = 'client backend' and pid <> pg_backend_pid()`.catch(() => [{ n: 1 }]);
  await cleanup.end();
  if (cluster && Number(others[0]?.n) === 0) await cluster.stop().catch(() => undefined);
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
