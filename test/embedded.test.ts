// The embedded PostgreSQL in a DATA_DIR that its OS user cannot reach: as root, a clone under /root (mode 700 on
// Debian) or a DATA_DIR made with `mkdir -m 700`. The cluster is kept elsewhere and found again; the user's
// folders are never loosened.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import postgres from 'postgres';
import { ensureEmbeddedPostgres, RELOCATED_BASE } from '../src/db/embedded.ts';
import { startServer } from './faults/processes.ts';

const asRoot = process.getuid?.() === 0;
const skip = asRoot ? false : 'only as root does PostgreSQL run as another OS user (postgres)';

describe('a DATA_DIR closed to the postgres OS user', { skip }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  test('the cluster is kept in a folder of its own, linked from DATA_DIR/pg, and found again', async () => {
    // mkdtemp makes the folder with mode 700, as /root is.
    const closed = await fs.mkdtemp(path.join(os.tmpdir(), 'contacts-700-'));
    cleanups.push(() => fs.rm(closed, { recursive: true, force: true }));
    assert.equal((await fs.stat(closed)).mode & 0o777, 0o700);
    const dataDir = path.join(closed, 'data');
    const messages: string[] = [];
    const first = await ensureEmbeddedPostgres(dataDir, { log: (m) => messages.push(m) });
    cleanups.push(() => fs.rm(first.location, { recursive: true, force: true }));
    cleanups.push(() => first.stop());

    assert.ok(first.location.startsWith(`${RELOCATED_BASE}/`), first.location);
    assert.ok((await fs.lstat(path.join(dataDir, 'pg'))).isSymbolicLink());
    assert.equal(await fs.realpath(path.join(dataDir, 'pg')), path.join(first.location, 'pg'));
    assert.ok(
      messages.some((m) => m.includes(first.location) && m.includes(closed)),
      `the start-up says where, and why: ${messages.join(' | ')}`,
    );
    assert.equal((await fs.stat(closed)).mode & 0o777, 0o700, 'the user folder keeps its mode');

    const sql = postgres(first.url('postgres'), { max: 1, onnotice: () => undefined });
    await sql`create table kept (v text)`;
    await sql`insert into kept values ('still here')`;
    await sql.end();
    await first.stop();

    const again = await ensureEmbeddedPostgres(dataDir);
    assert.equal(again.location, first.location);
    assert.equal(again.startedByUs, true);
    const sql2 = postgres(again.url('postgres'), { max: 1, onnotice: () => undefined });
    assert.deepEqual([...(await sql2`select v from kept`)], [{ v: 'still here' }]);
    await sql2.end();
    await again.stop();

    // The server, as `npm start` runs it, on the same DATA_DIR: it says where the database is.
    const server = await startServer({ DATA_DIR: dataDir });
    try {
      assert.match(server.stderr(), new RegExp(`embedded PostgreSQL in ${first.location}\\)`));
      const res = await fetch(`${server.url}/v1/customers`, {
        headers: { authorization: `Bearer ${server.bootstrapKey}` },
      });
      assert.equal(res.status, 200);
    } finally {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });

  test('an existing cluster behind a closed folder: stops at once, naming the folder and the fix', async () => {
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'contacts-700-'));
    cleanups.push(() => fs.rm(parent, { recursive: true, force: true }));
    await fs.mkdir(path.join(parent, 'data', 'pg'), { recursive: true });
    await assert.rejects(ensureEmbeddedPostgres(path.join(parent, 'data')), (err: Error) => {
      assert.match(err.message, new RegExp(`cannot enter ${parent}\\.`));
      assert.match(err.message, /set DATA_DIR/);
      return true;
    });
  });
});
