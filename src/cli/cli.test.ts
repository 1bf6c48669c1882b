// The `contacts` command as users run it: a child process (bin/contacts.js) on a database of its own, checked by
// exit code, stdout and stderr, and by what the keys it prints can do against the app on the same database.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { json, setupTestEnv, type TestEnv } from '../../test/helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'contacts.js');
const RUN_TIMEOUT_MS = 30_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let env: TestEnv;

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: env.url,
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`contacts ${args.join(' ')} did not finish in ${RUN_TIMEOUT_MS} ms\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function show(args: string[], run: Run): string {
  return `contacts ${args.join(' ')} → ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
}

async function ok(args: string[]): Promise<Run> {
  const run = await cli(args);
  assert.equal(run.code, 0, show(args, run));
  assert.equal(run.stderr, '', show(args, run));
  return run;
}

/** A domain error: exit 1, nothing on stdout, a one-line reason on stderr (no stack trace). */
async function fails(args: string[], reason: RegExp): Promise<Run> {
  const run = await cli(args);
  assert.equal(run.code, 1, show(args, run));
  assert.equal(run.stdout, '', show(args, run));
  assert.match(run.stderr, /^contacts: /, show(args, run));
  assert.match(run.stderr, reason, show(args, run));
  assert.doesNotMatch(run.stderr, /\n\s+at /, `no stack trace expected\n${show(args, run)}`);
  return run;
}

interface CliKey {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  revoked_at: string | null;
}

/** `key create` prints the key as JSON, then the token alone on the last line. */
function parseKeyCreate(stdout: string): { key: CliKey; token: string } {
  const lines = stdout.trimEnd().split('\n');
  const token = lines.pop() ?? '';
  return { key: JSON.parse(lines.join('\n')) as CliKey, token };
}

async function rows(table: 'tenants' | 'api_keys'): Promise<number> {
  const [row] = await env.sql`select count(*)::int as n from ${env.sql(table)}`;
  return Number(row?.n);
}

async function get(url: string, token: string) {
  return env.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}

before(async () => {
  // A long key cache: a revoked key can then only stop working through the LISTEN/NOTIFY push.
  env = await setupTestEnv({ KEY_CACHE_TTL_SECONDS: '3600' });
});
after(() => env.close());

// Usage errors need no database: run them side by side (bounded, the machine may have two cores).
describe('usage', { concurrency: 3 }, () => {
  for (const args of [['--help'], ['key', 'create', '-h']]) {
    test(`${args.join(' ')} prints usage on stdout and exits 0`, async () => {
      const run = await cli(args);
      assert.equal(run.code, 0, show(args, run));
      assert.equal(run.stderr, '');
      assert.match(run.stdout, /^usage: contacts <command>/);
      for (const command of [
        'serve',
        'migrate',
        'tenant create',
        'tenant list',
        'key create',
        'key list',
        'key revoke',
      ]) {
        assert.ok(run.stdout.includes(command), `usage mentions ${command}`);
      }
    });
  }

  const usageErrors: [string[], RegExp][] = [
    [[], /a command is required/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['tenant', 'list', '--bogus'], /unknown option '--bogus'/i],
    [['tenant', 'create'], /tenant create needs a <slug>/],
    [['key', 'create', '--scopes', 'admin'], /--tenant <slug> is required/],
    [['key', 'list', '--tenant'], /'--tenant <value>' argument missing/],
    [['key', 'revoke', '--tenant', 'acme', 'not-a-uuid'], /key revoke needs a <key-id>/],
  ];
  for (const [args, reason] of usageErrors) {
    test(`usage error: contacts ${args.join(' ') || '(nothing)'} exits 2`, async () => {
      const run = await cli(args);
      assert.equal(run.code, 2, show(args, run));
      assert.equal(run.stdout, '', show(args, run));
      assert.match(run.stderr, /^contacts: /, show(args, run));
      assert.match(run.stderr, reason, show(args, run));
      assert.match(run.stderr, /usage: contacts <command>/, 'the usage follows the error');
    });
  }

  test('a bad environment variable is a usage error naming the variable', async () => {
    const run = await cli(['tenant', 'list'], { DATABASE_URL: 'mysql://localhost/contacts' });
    assert.equal(run.code, 2, show(['tenant', 'list'], run));
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^contacts: configuration error: DATABASE_URL must be/);
  });

  test('an unreachable database is a one-line error, exit 1', async () => {
    const run = await cli(['tenant', 'list'], { DATABASE_URL: 'postgres://postgres:x@127.0.0.1:1/contacts' });
    assert.equal(run.code, 1, show(['tenant', 'list'], run));
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^contacts: The database is unavailable/);
  });
});

describe('migrate', () => {
  // The test database is cloned from a migrated template, so this is also the "nothing to do" run.
  test('reports every applied migration', async () => {
    const run = await ok(['migrate']);
    const body = JSON.parse(run.stdout) as { applied: string[] };
    assert.ok(body.applied.includes('0001_init'), run.stdout);
    const rows = await env.sql<{ version: string }[]>`select version from schema_migrations order by version`;
    assert.deepEqual(
      body.applied,
      rows.map((r) => r.version),
    );
  });
});

describe('tenants', () => {
  let acme: { id: string; number: number; slug: string; name: string; default_region: string };

  test('tenant create prints the tenant as JSON', async () => {
    const run = await ok(['tenant', 'create', 'acme', '--name', 'Acme Inc', '--region', 'DE']);
    acme = JSON.parse(run.stdout);
    assert.equal(acme.slug, 'acme');
    assert.equal(acme.name, 'Acme Inc');
    assert.equal(acme.default_region, 'DE');
    assert.ok(Number.isInteger(acme.number));
    const [row] = await env.sql`select slug, name, default_region from tenants where id = ${acme.id}`;
    assert.deepEqual({ ...row }, { slug: 'acme', name: 'Acme Inc', default_region: 'DE' });
  });

  test('defaults: name is the slug, region US', async () => {
    const run = await ok(['tenant', 'create', 'bolt']);
    const bolt = JSON.parse(run.stdout);
    assert.equal(bolt.name, 'bolt');
    assert.equal(bolt.default_region, 'US');
  });

  test('a duplicate slug is a domain error, exit 1', async () => {
    await fails(['tenant', 'create', 'acme'], /A tenant with this slug already exists/);
    assert.equal(await rows('tenants'), 2, 'acme and bolt only');
  });

  test('an invalid slug and region are a domain error naming each field once', async () => {
    const run = await fails(
      ['tenant', 'create', 'Bad_Slug', '--region', 'ZZ'],
      /^contacts: Validation failed\n/,
    );
    assert.deepEqual(run.stderr.trimEnd().split('\n').slice(1), [
      '  slug: must be 1-63 lowercase letters, digits or dashes',
      '  default_region: must be an ISO 3166-1 alpha-2 code',
    ]);
    assert.equal(await rows('tenants'), 2);
  });

  test('tenant list prints every tenant in number order', async () => {
    const run = await ok(['tenant', 'list']);
    const list = JSON.parse(run.stdout) as { slug: string; number: number }[];
    assert.deepEqual(
      list.map((t) => t.slug),
      ['acme', 'bolt'],
    );
    assert.ok(list[0] && list[1] && list[0].number < list[1].number);
  });
});

describe('keys', () => {
  let readKey: { key: CliKey; token: string };
  let adminKey: { key: CliKey; token: string };

  test('key create prints the key, then the token alone on the last line; the token authenticates', async () => {
    const run = await ok(['key', 'create', '--tenant', 'acme', '--scopes', 'contacts:read', '--name', 'ci']);
    readKey = parseKeyCreate(run.stdout);
    const { key, token } = readKey;
    assert.match(token, /^ck_[\w-]{40,}$/);
    assert.equal(key.name, 'ci');
    assert.deepEqual(key.scopes, ['contacts:read']);
    assert.equal(key.prefix, token.slice(0, 10));
    assert.equal(key.revoked_at, null);
    assert.ok(!run.stdout.slice(0, run.stdout.lastIndexOf(token)).includes(token), 'token printed once');
    assert.ok(!('token_hash' in key));
    const [tenant] = await env.sql`select id from tenants where slug = 'acme'`;
    assert.equal(key.tenant_id, tenant?.id);

    const res = await get('/v1/contacts', token);
    assert.equal(res.statusCode, 200, res.body);
    // Scopes are enforced: a contacts:read key cannot write customers.
    const denied = await env.app.inject({
      method: 'POST',
      url: '/v1/customers',
      headers: { authorization: `Bearer ${token}` },
      payload: { name: 'X' },
    });
    assert.equal(denied.statusCode, 403, denied.body);
  });

  test('without --scopes the key has every scope, admin included', async () => {
    const run = await ok(['key', 'create', '--tenant', 'acme']);
    adminKey = parseKeyCreate(run.stdout);
    assert.ok(adminKey.key.scopes.includes('admin'), run.stdout);
    const res = await get('/v1/api_keys', adminKey.token);
    assert.equal(res.statusCode, 200, res.body);
    const ids = json<{ data: { id: string }[] }>(res).data.map((k) => k.id);
    assert.deepEqual(ids.sort(), [readKey.key.id, adminKey.key.id].sort());
  });

  test('an unknown tenant, an invalid scope or an empty scope list is a domain error; no key is made', async () => {
    const before = await rows('api_keys');
    await Promise.all([
      fails(['key', 'create', '--tenant', 'nope'], /No tenant with slug "nope"/),
      fails(
        ['key', 'create', '--tenant', 'acme', '--scopes', 'contacts:read,bogus'],
        /scopes: unknown scope\(s\) bogus/,
      ),
      fails(['key', 'create', '--tenant', 'acme', '--scopes', ','], /scopes: at least one scope is required/),
    ]);
    assert.equal(await rows('api_keys'), before);
  });

  test('key list shows the tenant’s keys only, without secrets', async () => {
    await ok(['key', 'create', '--tenant', 'bolt', '--name', 'bolt key']);
    const run = await ok(['key', 'list', '--tenant', 'acme']);
    const list = JSON.parse(run.stdout) as CliKey[];
    assert.deepEqual(
      list.map((k) => k.id),
      [readKey.key.id, adminKey.key.id],
    );
    assert.ok(!run.stdout.includes(readKey.token) && !run.stdout.includes(adminKey.token));
    assert.ok(list.every((k) => !('token_hash' in k)));
  });

  test("key revoke of another tenant's key or an unknown id is a domain error; the key still works", async () => {
    await Promise.all([
      fails(['key', 'revoke', '--tenant', 'bolt', readKey.key.id], /No api key with id/),
      fails(['key', 'revoke', '--tenant', 'acme', randomUUID()], /No api key with id/),
    ]);
    const res = await get('/v1/contacts', readKey.token);
    assert.equal(res.statusCode, 200, res.body);
  });

  test('key revoke makes the key fail with 401 on an already-running app (LISTEN/NOTIFY)', async () => {
    // Cached by this request; with a one-hour cache TTL only the notification can evict it.
    assert.equal((await get('/v1/contacts', readKey.token)).statusCode, 200);

    const run = await ok(['key', 'revoke', '--tenant', 'acme', readKey.key.id]);
    const revoked = JSON.parse(run.stdout) as CliKey;
    assert.equal(revoked.id, readKey.key.id);
    assert.ok(revoked.revoked_at, run.stdout);

    // The notification is asynchronous: poll, bounded.
    const deadline = Date.now() + 10_000;
    let res = await get('/v1/contacts', readKey.token);
    while (res.statusCode === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      res = await get('/v1/contacts', readKey.token);
    }
    assert.equal(res.statusCode, 401, res.body);
    assert.equal(json(res).code, 'unauthenticated');
    // The other key of the tenant is untouched.
    assert.equal((await get('/v1/api_keys', adminKey.token)).statusCode, 200);

    const listed = JSON.parse((await ok(['key', 'list', '--tenant', 'acme'])).stdout) as CliKey[];
    assert.equal(listed.find((k) => k.id === readKey.key.id)?.revoked_at, revoked.revoked_at);
    assert.equal(listed.find((k) => k.id === adminKey.key.id)?.revoked_at, null);
  });

  test('revoking again succeeds and keeps the first revocation time', async () => {
    const first = (await env.sql`select revoked_at from api_keys where id = ${readKey.key.id}`)[0]
      ?.revoked_at;
    const run = await ok(['key', 'revoke', '--tenant', 'acme', readKey.key.id]);
    assert.equal((JSON.parse(run.stdout) as CliKey).revoked_at, (first as Date).toISOString());
  });
});
