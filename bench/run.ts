// npm run bench [-- read write list tenants] [--quick]
// Starts an embedded PostgreSQL on a scratch DATA_DIR, the API server (built as npm start builds it) and the floor
// server as child processes,
// loads data, drives load with autocannon from this process, and prints a table of figures with each one's
// ratio to the floor measured in the same run. Nothing here is asserted: machines are shared and noisy.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { buildServer } from '../scripts/build.ts';
import { CONTACT_SORT_COLUMNS } from '../src/contacts/contacts.repo.ts';
import { enableAppLogin } from '../src/db/connection.ts';
import { ensureEmbeddedPostgres } from '../src/db/embedded.ts';
import { encodeCursor, parseSort } from '../src/db/keyset.ts';
import { migrate } from '../src/db/migrate.ts';
import { hashToken } from '../src/keys/keys.service.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const scenarios = wanted.length ? wanted : ['read', 'write', 'list', 'tenants'];
const DURATION = quick ? 4 : 8;
// Each comparison runs this many rounds, alternating the servers compared, and keeps each server's best round
// (the most req/s): load from other work on a shared machine only ever slows a run down, and alternating exposes
// both servers to the same conditions.
const ROUNDS = quick ? 2 : 3;
const BIG = quick ? 100_000 : 1_000_000;
const TENANTS = quick ? 1_000 : 10_000;
const root = path.resolve(import.meta.dirname, '..');

interface Row {
  scenario: string;
  rps: number;
  /** CPU per request, in ms: the HTTP server's process, and PostgreSQL's (all its processes). */
  serverCpu?: number;
  pgCpu?: number;
  p50: number;
  p97_5: number;
  p99: number;
  floorRps?: number;
  target: string;
  note?: string;
}
const table: Row[] = [];
let peakRss = 0;
let serverBundle = '';

function log(message: string) {
  process.stderr.write(`[bench] ${message}\n`);
}

async function startProcess(
  script: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the API server (open it in Chrome DevTools).
  const api = script === 'api';
  const prof =
    process.env.BENCH_CPU_PROF && api ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // The API server runs as npm start runs it, from the bundle; the floor runs from source.
  const cmd = api ? [serverBundle, 'serve'] : ['--import', 'tsx', script];
  const child = spawn(process.execPath, [...prof, ...cmd], {
    cwd: root,
    // The per-key rate limit is off: the load comes from one key on purpose.
    env: {
      ...process.env,
      ...env,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${buf}`)), 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(buf);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`${script} exited ${code}: ${buf}`)));
  });
  return { child, url };
}

const CLOCK_TICKS_PER_SECOND = 100; // Linux's USER_HZ

/** CPU time (user + system) a process has used so far, in ms; 0 when it is gone. */
function cpuOf(pid: number): number {
  try {
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The postmaster and its children (backends, WAL writer, checkpointer...). */
function postgresPids(postmaster: number): number[] {
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

let postmasterPid = 0;

/** Starts counting the CPU of a server process and of PostgreSQL; the returned function reads both, in ms. */
function cpuMeter(serverPid: number | undefined): () => { server: number; pg: number } {
  const pgAt = new Map(postgresPids(postmasterPid).map((pid) => [pid, cpuOf(pid)]));
  const serverAt = serverPid ? cpuOf(serverPid) : 0;
  return () => {
    let pg = 0;
    // Backends that connected during the run count from 0.
    for (const pid of postgresPids(postmasterPid)) pg += cpuOf(pid) - (pgAt.get(pid) ?? 0);
    return { server: serverPid ? cpuOf(serverPid) - serverAt : 0, pg };
  };
}

function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

type Measured = autocannon.Result & { cpu: { server: number; pg: number } };

async function load(
  url: string,
  options: {
    connections: number;
    requests: autocannon.Request[];
    /** The server under load: its CPU is counted, and its RSS too when it is the API server. */
    serverPid: number | undefined;
    watchRss?: boolean;
  },
): Promise<Measured> {
  const sampler = setInterval(() => {
    if (options.watchRss) peakRss = Math.max(peakRss, rssOf(options.serverPid));
  }, 200);
  const meter = cpuMeter(options.serverPid);
  try {
    const result = await autocannon({
      url,
      connections: options.connections,
      duration: DURATION,
      requests: options.requests,
    });
    return Object.assign(result, { cpu: meter() });
  } finally {
    clearInterval(sampler);
  }
}

/** Runs the loads in turn, ROUNDS times, and returns each one's best round. */
async function alternate(loads: (() => Promise<Measured>)[]): Promise<Measured[]> {
  const best: (Measured | undefined)[] = loads.map(() => undefined);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, run] of loads.entries()) {
      const result = await run();
      const previous = best[i];
      if (!previous || result.requests.average > previous.requests.average) best[i] = result;
    }
  }
  return best as Measured[];
}

function record(scenario: string, result: Measured, target: string, floor?: Measured, note?: string) {
  const bad = result.non2xx + result.errors + result.timeouts;
  const requests = Math.max(1, result.requests.total);
  table.push({
    scenario,
    rps: result.requests.average,
    serverCpu: result.cpu.server / requests,
    pgCpu: result.cpu.pg / requests,
    p50: result.latency.p50,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    ...(floor ? { floorRps: floor.requests.average } : {}),
    target,
    note: [note, bad ? `${bad} non-2xx/errors` : ''].filter(Boolean).join('; ') || undefined,
  } as Row);
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)] as T;

async function main() {
  serverBundle = await buildServer();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'contacts-bench-'));
  await fs.chmod(dataDir, 0o755);
  log(`embedded PostgreSQL in ${dataDir}`);
  const cluster = await ensureEmbeddedPostgres(dataDir);
  postmasterPid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const admin = postgres(cluster.url('postgres'), { max: 1, onnotice: () => undefined });
  await admin.unsafe('create database contacts');
  await admin.end();
  const url = cluster.url('contacts');
  const sql = postgres(url, { max: 4, onnotice: () => undefined });
  await migrate(sql);
  // As the embedded PostgreSQL runs in production: the request pools log in as contacts_app.
  await enableAppLogin(sql, cluster.appPassword);
  const children: ChildProcess[] = [];
  try {
    const [pgVersion] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;

    // One tenant with a customer and BIG contacts, one key (admin).
    const tenantId = randomUUID();
    await sql`insert into tenants (id, slug, name) values (${tenantId}, 'bench', 'Bench')`;
    const token = `ck_${randomBytes(32).toString('base64url')}`;
    await sql`insert into api_keys (tenant_id, id, prefix, token_hash, scopes)
      values (${tenantId}, ${randomUUID()}, ${token.slice(0, 10)}, ${hashToken(token)}, ${['admin']})`;
    const customerId = randomUUID();
    await sql`insert into customers (tenant_id, id, name) values (${tenantId}, ${customerId}, 'Big Customer')`;
    log(`loading ${BIG.toLocaleString()} contacts`);
    await sql.unsafe(`
      insert into contacts (tenant_id, id, customer_id, name, first_name, last_name, email, phone, phone_e164, role, created_at)
      select '${tenantId}', gen_random_uuid(), '${customerId}',
        f || ' ' || l, f, l, lower(f) || '.' || lower(l) || i || '@example.com',
        '+1 202 555 ' || lpad((i % 10000)::text, 4, '0'), '+1202555' || lpad((i % 10000)::text, 4, '0'),
        (array['Billing','Technical','Security'])[1 + i % 3],
        now() - make_interval(secs => ${BIG} - i)
      from generate_series(1, ${BIG}) i,
        lateral (select (array['Ann','Bob','Carla','Dmitri','Eve','Farah','Gus','Hana','Ivan','Jade','Kofi','Lena'])[1 + i % 12] as f,
                        (array['Lee','Smith','Garcia','Okafor','Tanaka','Novak','Silva','Khan','Muller','Rossi','Dubois'])[1 + (i / 12) % 11] || (i % 997) as l) n`);
    await sql`vacuum analyze contacts`;
    const ids = (
      await sql<
        { id: string }[]
      >`select id from contacts where tenant_id = ${tenantId} order by random() limit 10000`
    ).map((r) => r.id);

    const env = { DATABASE_URL: url, DATABASE_APP_URL: cluster.appUrl('contacts') };
    const api = await startProcess('api', env);
    const floor = await startProcess('bench/floor.ts', env);
    children.push(api.child, floor.child);
    const auth = { authorization: `Bearer ${token}` };

    if (scenarios.includes('read')) {
      log('read: GET /v1/contacts/{id} vs floor, 50 connections');
      const floorRead = () =>
        load(floor.url, {
          connections: 50,
          serverPid: floor.child.pid,
          requests: [{ setupRequest: (r) => ({ ...r, path: `/floor/${tenantId}/contacts/${pick(ids)}` }) }],
        });
      const apiRead = () =>
        load(api.url, {
          connections: 50,
          serverPid: api.child.pid,
          watchRss: true,
          requests: [{ headers: auth, setupRequest: (r) => ({ ...r, path: `/v1/contacts/${pick(ids)}` }) }],
        });
      const [floorBest, apiBest] = (await alternate([floorRead, apiRead])) as [Measured, Measured];
      record('floor: GET contact by id', floorBest, '—');
      record('GET /v1/contacts/{id}', apiBest, '≥ 0.8× floor', floorBest);
    }

    if (scenarios.includes('write')) {
      log('write: POST contacts vs floor insert, 50 connections');
      const body = () =>
        JSON.stringify({
          name: `Bench ${randomBytes(4).toString('hex')}`,
          email: `b${randomBytes(4).toString('hex')}@example.com`,
          phone: '+1 202 555 0175',
        });
      const floorPost = (suffix: string) =>
        load(floor.url, {
          connections: 50,
          serverPid: floor.child.pid,
          requests: [
            {
              method: 'POST',
              path: `/floor/${tenantId}/customers/${customerId}/contacts${suffix}`,
              headers: { 'content-type': 'application/json' },
              setupRequest: (r) => ({ ...r, body: body() }),
            },
          ],
        });

      const w = await sql<
        { id: string }[]
      >`insert into customers (tenant_id, id, name) values (${tenantId}, ${randomUUID()}, 'Writes') returning id`;
      const apiPost = () =>
        load(api.url, {
          connections: 50,
          serverPid: api.child.pid,
          watchRss: true,
          requests: [
            {
              method: 'POST',
              path: `/v1/customers/${w[0]?.id}/contacts`,
              headers: { ...auth, 'content-type': 'application/json' },
              setupRequest: (r) => ({ ...r, body: body() }),
            },
          ],
        });
      const [floorWrite, bareInsert, apiWrite] = (await alternate([
        () => floorPost(''),
        () => floorPost('/bare'),
        apiPost,
      ])) as [Measured, Measured, Measured];
      record(
        "floor: create (the API's statements: transaction, customer check, insert, event)",
        floorWrite,
        '—',
      );
      record('reference: one autocommitted INSERT, no transaction or event', bareInsert, '—');
      record(
        'POST /v1/customers/{id}/contacts',
        apiWrite,
        '≥ 0.6× floor',
        floorWrite,
        `${(apiWrite.requests.average / bareInsert.requests.average).toFixed(2)}× the bare INSERT`,
      );
    }

    if (scenarios.includes('list')) {
      const sort = parseSort('created_at', CONTACT_SORT_COLUMNS, 'created_at');
      const [at] = await sql<{ v: string; id: string }[]>`select created_at::text as v, id from contacts
        where tenant_id = ${tenantId} and deleted_at is null order by created_at, id offset ${50 * 999} limit 1`;
      const page1000 = encodeCursor(sort, at?.v ?? '', at?.id ?? '');
      const cases: [string, string][] = [
        ['list: first page', '/v1/contacts?limit=50'],
        ['list: page 1,000 by cursor', `/v1/contacts?limit=50&cursor=${page1000}`],
        ['search: q=ann (common)', '/v1/contacts?q=ann&limit=50'],
        ['search: q=okafor42 (rare)', '/v1/contacts?q=okafor42&limit=50'],
        ['search: q=555 0175 (phone digits)', `/v1/contacts?q=${encodeURIComponent('555 0175')}&limit=50`],
        ['filter: email=…', `/v1/contacts?email=${encodeURIComponent('ann.lee0@example.com')}`],
      ];
      for (const [label, p] of cases) {
        log(`${label}, 10 connections`);
        const [r] = (await alternate([
          () =>
            load(api.url, {
              connections: 10,
              serverPid: api.child.pid,
              watchRss: true,
              requests: [{ headers: auth, path: p }],
            }),
        ])) as [Measured];
        record(`${label} (${BIG.toLocaleString()} contacts)`, r, 'p95 < 25 ms');
      }
    }

    if (scenarios.includes('tenants')) {
      log(`tenants: ${TENANTS.toLocaleString()} tenants × 100 contacts`);
      const tokens: { token: string; ids: string[] }[] = [];
      const keyRows: Record<string, unknown>[] = [];
      const tenantRows: Record<string, unknown>[] = [];
      for (let i = 0; i < TENANTS; i++) {
        const id = randomUUID();
        const t = `ck_${randomBytes(32).toString('base64url')}`;
        tenantRows.push({ id, slug: `t${i}`, name: `Tenant ${i}` });
        keyRows.push({
          tenant_id: id,
          id: randomUUID(),
          prefix: t.slice(0, 10),
          token_hash: hashToken(t),
          scopes: ['admin'],
        });
        tokens.push({ token: t, ids: [] });
      }
      for (let i = 0; i < tenantRows.length; i += 1000) {
        await sql`insert into tenants ${sql(tenantRows.slice(i, i + 1000))}`;
        await sql`insert into api_keys ${sql(keyRows.slice(i, i + 1000) as never)}`;
      }
      await sql`insert into contacts (tenant_id, id, name, email)
        select t.id, gen_random_uuid(), 'Person ' || g, 'p' || g || '@example.com'
        from tenants t, generate_series(1, 100) g where t.slug ~ '^t[0-9]+$'`;
      await sql`analyze contacts`;
      const sample = await sql<{ tenant_id: string; id: string }[]>`
        select c.tenant_id, c.id from contacts c join tenants t on t.id = c.tenant_id
        where t.slug ~ '^t[0-9]+$' order by random() limit 20000`;
      const byTenant = new Map(
        tenantRows.map((t, i) => [t.id as string, tokens[i] as { token: string; ids: string[] }]),
      );
      for (const s of sample) byTenant.get(s.tenant_id)?.ids.push(s.id);
      const pairs = [...byTenant.values()].flatMap((t) => t.ids.map((id) => ({ token: t.token, id })));
      const apiGet = () =>
        load(api.url, {
          connections: 50,
          serverPid: api.child.pid,
          watchRss: true,
          requests: [
            {
              setupRequest: (req) => {
                const p = pick(pairs);
                return {
                  ...req,
                  path: `/v1/contacts/${p.id}`,
                  headers: { authorization: `Bearer ${p.token}` },
                };
              },
            },
          ],
        });
      const floorGet = () =>
        load(floor.url, {
          connections: 50,
          serverPid: floor.child.pid,
          requests: [
            {
              setupRequest: (req) => {
                const p = pick(sample);
                return { ...req, path: `/floor/${p.tenant_id}/contacts/${p.id}` };
              },
            },
          ],
        });
      const [floorR, r] = (await alternate([floorGet, apiGet])) as [Measured, Measured];
      record(`GET contact, random of ${TENANTS.toLocaleString()} tenants`, r, '≥ 0.8× floor', floorR);
    }

    const cpus = os.cpus();
    process.stdout.write(
      `\nmachine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; PostgreSQL ${pgVersion?.v}; best of ${ROUNDS} alternating ${DURATION}s runs${quick ? ' (--quick)' : ''}\n\n`,
    );
    process.stdout.write(
      '| scenario | req/s | p50 ms | p97.5 ms | p99 ms | × floor | CPU ms/req: server + PostgreSQL | target | note |\n|---|---:|---:|---:|---:|---:|---:|---|---|\n',
    );
    for (const r of table) {
      const ratio = r.floorRps ? `${(r.rps / r.floorRps).toFixed(2)}×` : '';
      process.stdout.write(
        `| ${r.scenario} | ${Math.round(r.rps)} | ${r.p50} | ${r.p97_5} | ${r.p99} | ${ratio} | ${r.serverCpu?.toFixed(2)} + ${r.pgCpu?.toFixed(2)} | ${r.target} | ${r.note ?? ''} |\n`,
      );
    }
    process.stdout.write(
      `\nserver peak RSS under load: ${(peakRss / 2 ** 20).toFixed(0)} MB (target < 200 MB)\n`,
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    );
    await sql.end();
    await cluster.stop().catch(() => undefined);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
