// Real server processes (what `npm start` runs) on the embedded PostgreSQL in a fresh DATA_DIR: first-start
// bootstrap, durability of acknowledged writes across a `kill -9` of the server, two servers sharing one DATA_DIR,
// and graceful shutdown stopping the cluster. The steps build on each other, in order.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { SERVER_BUNDLE } from '../scripts/build.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIRST_START_TIMEOUT_MS = 60_000; // initdb included, on a busy two-core machine
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 30_000;
const HTTP_TIMEOUT_MS = 10_000;

interface Server {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly base: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly hasExited: () => boolean;
}

let dataDir: string;
let adminToken: string;
const servers: Server[] = [];

/** Polls `check` until it returns a value; fails after timeoutMs, or at once when `server` has exited. */
async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  server?: Server,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (server?.hasExited()) {
      throw new Error(`server ${server.pid} exited while waiting for ${what}\n${server.stderr()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${server ? `\n${server.stderr()}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
  };
  // Without DATABASE_URL the server runs the embedded PostgreSQL, which is what these tests are about.
  delete env.DATABASE_URL;
  delete env.EMBEDDED_PG_PORT;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Starts `contacts serve` (node itself, so a signal reaches the server, not a wrapper) and waits until it listens. */
async function startServer(timeoutMs = START_TIMEOUT_MS): Promise<Server> {
  const child = spawn(process.execPath, [SERVER_BUNDLE, 'serve'], {
    cwd: ROOT,
    env: serverEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let done = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  assert.ok(child.pid, 'server spawned');
  const partial: Server = {
    child,
    pid: child.pid,
    base: '',
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => done,
  };
  servers.push(partial);
  const base = await until(
    'the "listening on" line',
    () => /contacts listening on (http:\/\/[\d.]+:\d+)/.exec(err)?.[1],
    timeoutMs,
    partial,
  );
  const server = { ...partial, base };
  servers[servers.indexOf(partial)] = server;
  return server;
}

async function stopServer(server: Server, signal: NodeJS.Signals) {
  server.child.kill(signal);
  return until('the server to exit', () => (server.hasExited() ? server.exited : undefined), EXIT_TIMEOUT_MS);
}

async function http(
  server: Server,
  method: string,
  url: string,
  body?: unknown,
  token = adminToken,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.base}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const pgdata = () => path.join(dataDir, 'pg');

function postmasterPid(): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(pgdata(), 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    // A dead postmaster nobody has reaped yet is a zombie: not running.
    if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
  } catch {
    // No /proc (not Linux), or the process is gone: ask kill(0).
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function postmasterRunning(): boolean {
  const pid = postmasterPid();
  return pid !== undefined && pidAlive(pid);
}

/** An admin connection to the embedded cluster, to see which server processes still hold sessions. */
function clusterSql() {
  const { password } = JSON.parse(readFileSync(path.join(pgdata(), 'contacts-credentials.json'), 'utf8')) as {
    password: string;
  };
  const port = Number(readFileSync(path.join(pgdata(), 'postmaster.pid'), 'utf8').split('\n')[3]);
  return postgres({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', max: 1 });
}

// A server decides whether to stop the cluster from the sessions of other servers; a session of a server that
// has just exited can outlive it for a moment. Wait for those to go so the outcome does not depend on timing.
async function waitForSessionsOnlyOf(alive: Server[]): Promise<void> {
  const sql = clusterSql();
  try {
    const mine = alive.map((s) => `contacts/${s.pid}`);
    await until(
      `sessions of exited servers to end (keeping ${mine.join(', ')})`,
      async () => {
        const rows = await sql<{ name: string }[]>`
          select application_name as name from pg_stat_activity where application_name like 'contacts/%'`;
        return rows.every((r) => mine.includes(r.name)) ? true : undefined;
      },
      10_000,
    );
  } finally {
    await sql.end();
  }
}

const TOKEN_LINE = /^ {2}(ck_[\w-]+)$/m;

before(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'contacts-restart-'));
  // As root the embedded PostgreSQL runs as the `postgres` OS user, which must be able to enter DATA_DIR.
  await fs.chmod(dataDir, 0o755);
});

after(async () => {
  for (const server of servers) {
    if (!server.hasExited()) {
      server.child.kill('SIGKILL');
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
  }
  const pid = postmasterPid();
  if (pid !== undefined && pidAlive(pid)) {
    // SIGQUIT is PostgreSQL's immediate shutdown; SIGKILL if it does not go.
    try {
      process.kill(pid, 'SIGQUIT');
      await until('the postmaster to stop', () => (pidAlive(pid) ? undefined : true), 10_000);
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await fs.rm(dataDir, { recursive: true, force: true });
});

let s1: Server;
let s3: Server;
let s4: Server;
const acknowledged = new Map<string, Record<string, unknown>>();

test('(a) first start initialises PostgreSQL and prints an admin key once; a second start prints none', {
  timeout: FIRST_START_TIMEOUT_MS + 30_000,
}, async () => {
  s1 = await startServer(FIRST_START_TIMEOUT_MS);
  assert.match(s1.stderr(), /initialising embedded PostgreSQL in /);
  assert.match(s1.stderr(), /started embedded PostgreSQL \(pid \d+, port \d+\)/);
  assert.match(
    s1.stderr(),
    new RegExp(`\\(embedded PostgreSQL in ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`),
  );
  // The key is written to stdout just before the "listening" line goes to stderr; the pipes may deliver apart.
  const curl = await until(
    'the curl line on stdout',
    () => /^Try it: {2}curl .*$/m.exec(s1.stdout())?.[0],
    5_000,
    s1,
  );
  adminToken = TOKEN_LINE.exec(s1.stdout())?.[1] ?? '';
  assert.ok(adminToken, s1.stdout());
  assert.match(s1.stdout(), /Created tenant "default" \(number \d+\) with an admin API key/);
  assert.equal(curl, `Try it:  curl -H "Authorization: Bearer ${adminToken}" ${s1.base}/v1/customers`);

  const ok = await http(s1, 'GET', '/v1/customers');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal((await http(s1, 'GET', '/v1/customers', undefined, 'ck_not-a-key')).status, 401);
  const keys = await http(s1, 'GET', '/v1/api_keys');
  assert.equal(keys.status, 200, 'the bootstrap key is an admin key');

  // A second server on the same DATA_DIR adopts the running PostgreSQL and bootstraps nothing.
  const s2 = await startServer();
  assert.match(s2.stderr(), /adopting running embedded PostgreSQL/);
  assert.equal((await http(s2, 'GET', '/v1/customers')).status, 200);
  const exit = await stopServer(s2, 'SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, s2.stderr());
  assert.doesNotMatch(s2.stdout(), /ck_|Created tenant/, 'no new key on a second start');
  // s1 still holds sessions, so s2 leaving must not have stopped the cluster.
  assert.ok(postmasterRunning(), 'PostgreSQL still running for s1');
  assert.equal((await http(s1, 'GET', '/v1/customers')).status, 200);
});

test('(b) every acknowledged write survives a kill -9 of the server', { timeout: 90_000 }, async (t) => {
  const CLIENTS = 10;
  const PER_CLIENT = 5;
  const KILL_AFTER = 30;
  let killed = false;
  const failures: string[] = [];
  // Ten clients write 50 contacts; the server is killed while the last ones are in flight.
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; i < PER_CLIENT; i++) {
        const n = client * PER_CLIENT + i;
        const payload = {
          name: `Person ${n}`,
          email: `person${n}@example.com`,
          phone: `+1 202 555 ${String(100 + n).padStart(4, '0')}`,
          city: `City ${client}`,
          country: 'US',
          metadata: { client, i },
        };
        try {
          const res = await http(s1, 'POST', '/v1/contacts', payload);
          if (res.status >= 200 && res.status < 300) {
            acknowledged.set(String(res.body.id), res.body);
            if (acknowledged.size >= KILL_AFTER && !killed) {
              killed = true;
              s1.child.kill('SIGKILL');
            }
          } else if (!killed) {
            failures.push(`${res.status} ${JSON.stringify(res.body)}`);
          }
        } catch (err) {
          if (!killed) failures.push(String(err));
        }
      }
    }),
  );
  assert.deepEqual(failures, [], 'no write failed before the kill');
  assert.ok(killed && acknowledged.size >= KILL_AFTER, `acknowledged ${acknowledged.size}`);
  t.diagnostic(`${acknowledged.size} of ${CLIENTS * PER_CLIENT} writes acknowledged before the kill`);
  const exit = await until('s1 to die', () => (s1.hasExited() ? s1.exited : undefined), EXIT_TIMEOUT_MS);
  assert.equal(exit.signal, 'SIGKILL');
  // The postmaster is detached from the server: it outlives the kill, and the next start adopts it.
  assert.ok(postmasterRunning(), 'PostgreSQL survived the kill -9 of the server');

  s3 = await startServer();
  assert.match(s3.stderr(), /adopting running embedded PostgreSQL/);
  for (const [id, written] of acknowledged) {
    const res = await http(s3, 'GET', `/v1/contacts/${id}`);
    assert.equal(res.status, 200, `acknowledged contact ${id} is missing`);
    assert.deepEqual(res.body, written);
  }
});

test('(c) two servers on one DATA_DIR serve the same data', { timeout: 60_000 }, async () => {
  s4 = await startServer();
  assert.match(s4.stderr(), /adopting running embedded PostgreSQL/);

  const customer = await http(s3, 'POST', '/v1/customers', { name: 'Shared Co' });
  assert.equal(customer.status, 201, JSON.stringify(customer.body));
  const seen = await http(s4, 'GET', `/v1/customers/${customer.body.id}`);
  assert.equal(seen.status, 200);
  assert.deepEqual(seen.body, customer.body);

  const contact = await http(s4, 'POST', `/v1/customers/${customer.body.id}/contacts`, { name: 'Via s4' });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  const back = await http(s3, 'GET', `/v1/contacts/${contact.body.id}`);
  assert.equal(back.status, 200);
  assert.deepEqual(back.body, contact.body);

  // A key made through one server works on the other, and revoking it through one is felt by the other.
  const made = await http(s3, 'POST', '/v1/api_keys', { name: 'shared', scopes: ['contacts:read'] });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const token = String(made.body.token);
  const keyId = String((made.body.api_key as { id: string }).id);
  assert.equal((await http(s4, 'GET', `/v1/contacts/${contact.body.id}`, undefined, token)).status, 200);
  assert.equal((await http(s3, 'DELETE', `/v1/api_keys/${keyId}`)).status < 300, true);
  const status = await until(
    'the revocation to reach the other server',
    async () => {
      const res = await http(s4, 'GET', `/v1/contacts/${contact.body.id}`, undefined, token);
      return res.status === 200 ? undefined : res.status;
    },
    10_000,
  );
  assert.equal(status, 401);
});

test('(d) SIGTERM: the last server out stops PostgreSQL; the next start brings everything back', {
  timeout: 90_000,
}, async () => {
  assert.deepEqual(await stopServer(s4, 'SIGTERM'), { code: 0, signal: null }, s4.stderr());
  assert.ok(postmasterRunning(), 'PostgreSQL keeps running while s3 uses it');
  assert.equal((await http(s3, 'GET', '/v1/customers')).status, 200);

  await waitForSessionsOnlyOf([s3]);
  assert.deepEqual(await stopServer(s3, 'SIGTERM'), { code: 0, signal: null }, s3.stderr());
  assert.match(s3.stderr(), /SIGTERM: draining requests and shutting down/);
  assert.ok(!postmasterRunning(), 'no postmaster left for this DATA_DIR');

  const s5 = await startServer();
  assert.match(s5.stderr(), /started embedded PostgreSQL/);
  assert.doesNotMatch(s5.stderr(), /initialising/);
  for (const [id, written] of acknowledged) {
    const res = await http(s5, 'GET', `/v1/contacts/${id}`);
    assert.equal(res.status, 200, `contact ${id} is missing after a restart`);
    assert.deepEqual(res.body, written);
  }
  assert.deepEqual(await stopServer(s5, 'SIGTERM'), { code: 0, signal: null }, s5.stderr());
  assert.doesNotMatch(s5.stdout(), /ck_|Created tenant/, 'no new key after a restart');
  assert.ok(!postmasterRunning(), 'the restarted server stopped PostgreSQL too');
});
