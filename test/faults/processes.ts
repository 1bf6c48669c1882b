// Real server processes for the fault suites: started from the same entry point as `npm start`.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SERVER_BUNDLE } from '../../scripts/build.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** The admin key printed on first start, when this start printed one. */
  bootstrapKey: string | undefined;
  stderr(): string;
  /** stdout: the request log (pino) and the first-start banner. */
  stdout(): string;
  exited: Promise<number | null>;
}

export async function scratchDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  // The embedded PostgreSQL runs as the `postgres` OS user when we are root: it must reach the directory.
  await fs.chmod(dir, 0o755);
  return dir;
}

export async function startServer(env: Record<string, string>, timeoutMs = 90_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SERVER_BUNDLE, 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${err}`)), timeoutMs);
    const check = () => {
      const m = /listening on (https?:\/\/[\d.]+:\d+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${err}`));
    });
  });
  // The key is printed before the "listening" line.
  const key = /^\s+(ck_\S+)$/m.exec(out)?.[1];
  return { child, url, bootstrapKey: key, stderr: () => err, stdout: () => out, exited };
}

export interface Reply {
  /** 0 when no response came (timeout, refused). */
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  error?: string;
}

export async function request(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Reply> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 15_000) });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { text };
    }
    return { status: res.status, headers: res.headers, body };
  } catch (e) {
    return { status: 0, headers: new Headers(), body: {}, error: (e as Error).name };
  }
}

export async function waitFor(
  predicate: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}
