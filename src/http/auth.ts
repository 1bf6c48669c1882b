// API key → tenant context, resolved once per request. Keys are cached in memory so authentication costs no
// database round trip on the hot path; a revocation reaches every server at once through LISTEN/NOTIFY, and the
// TTL bounds staleness should a notification be missed (e.g. across a database restart).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Sql } from 'postgres';
import type { Db } from '../db/connection.ts';
import { runAsTenant } from '../db/tenant-scope.ts';
import { findActiveKey, KEY_REVOKED_CHANNEL, tokenCacheKey, touchApiKeys } from '../keys/keys.service.ts';
import { isScope, type Scope, type TenantContext } from './context.ts';
import { type AppError, ERRORS } from './errors.ts';

interface Entry {
  ctx: Omit<TenantContext, 'requestId'>;
  keyId: string;
  expires: number;
}

const TOUCH_INTERVAL_MS = 60_000;
const TOUCH_FLUSH_MS = 1000;
const MAX_ENTRIES = 10_000;

export class KeyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #touched = new Map<string, number>();
  /** Keys used since the last flush: key id → tenant id. */
  #toTouch = new Map<string, string>();
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  /** Writes the pending last_used_at updates now (the server calls it when it closes). */
  async flushTouches(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#toTouch.size === 0) return;
    const batch = this.#toTouch;
    this.#toTouch = new Map();
    await touchApiKeys(
      this.db,
      [...batch].map(([keyId, tenantId]) => ({ tenantId, keyId })),
    ).catch(() => undefined);
  }

  /** The cached context for a token, without touching the database; undefined on a miss. */
  peek(token: string): Omit<TenantContext, 'requestId'> | undefined {
    const now = Date.now();
    const entry = this.#entries.get(tokenCacheKey(token));
    if (!entry || entry.expires <= now) return undefined;
    this.#touch(entry.ctx.tenantId, entry.keyId, now);
    return entry.ctx;
  }

  /** The context for a token: from the cache, or from the database (then cached); undefined when invalid. */
  async resolve(token: string): Promise<Omit<TenantContext, 'requestId'> | undefined> {
    const cached = this.peek(token);
    if (cached) return cached;
    const found = await findActiveKey(this.db, token);
    if (!found) return undefined;
    const now = Date.now();
    const entry: Entry = {
      keyId: found.key.id,
      expires: now + this.ttlMs,
      ctx: {
        tenantId: found.tenant.id,
        tenantNumber: found.tenant.number,
        tenantSlug: found.tenant.slug,
        defaultRegion: found.tenant.default_region,
        scopes: new Set(found.key.scopes.filter(isScope)),
        apiKeyId: found.key.id,
      },
    };
    const cacheKey = tokenCacheKey(token);
    // An expired entry under the same key is replaced here; the oldest entry makes room when the cache is full.
    this.#entries.delete(cacheKey);
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
    if (this.ttlMs > 0) this.#entries.set(cacheKey, entry);
    this.#touch(entry.ctx.tenantId, entry.keyId, now);
    return entry.ctx;
  }

  evictKey(keyId: string): void {
    for (const [k, entry] of this.#entries) if (entry.keyId === keyId) this.#entries.delete(k);
  }

  clear(): void {
    this.#entries.clear();
  }

  // last_used_at is advisory: written at most once a minute per key, off the request path, and for all the keys
  // used within a second in one statement (a deployment with 10,000 active keys would otherwise commit 10,000
  // single-row updates a minute).
  #touch(tenantId: string, keyId: string, now: number): void {
    const last = this.#touched.get(keyId) ?? 0;
    if (now - last < TOUCH_INTERVAL_MS) return;
    if (this.#touched.size >= MAX_ENTRIES * 2) this.#touched.clear();
    this.#touched.set(keyId, now);
    this.#toTouch.set(keyId, tenantId);
    if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => void this.flushTouches(), TOUCH_FLUSH_MS);
      this.#flushTimer.unref();
    }
  }
}

export async function listenForRevocations(sql: Sql, cache: KeyCache): Promise<() => Promise<void>> {
  const sub = await sql.listen(
    KEY_REVOKED_CHANNEL,
    (keyId) => cache.evictKey(keyId),
    // Notifications sent while the listener was reconnecting are lost: start from a clean cache.
    () => cache.clear(),
  );
  return () => sub.unlisten();
}

declare module 'fastify' {
  interface FastifyRequest {
    ctx: TenantContext;
  }
  interface FastifyContextConfig {
    /** Scope this route requires; routes without one are public. */
    scope?: Scope;
    /** Where the API key is read from: `Authorization: Bearer` (default) or Fastly's `Fastly-Key` header. */
    credential?: 'bearer' | 'fastly-key';
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function fastlyKey(request: FastifyRequest): string | undefined {
  const header = request.headers['fastly-key'];
  return typeof header === 'string' && header.trim() ? header.trim() : undefined;
}

/**
 * A fixed one-minute window per API key, in this process's memory (behind a load balancer each server allows
 * the limit; a shared store can replace this class). Answers with the IETF RateLimit headers.
 */
export class RateLimiter {
  readonly #windows = new Map<string, { start: number; used: number }>();

  constructor(private readonly perMinute: number) {}

  /** Counts one request; returns the headers to send and whether the request is over the limit. */
  take(
    keyId: string,
    now = Date.now(),
  ): { headers: Record<string, string>; limited: boolean; retryAfter: number } {
    let w = this.#windows.get(keyId);
    if (!w || now - w.start >= 60_000) {
      if (this.#windows.size > 100_000) this.#windows.clear();
      w = { start: now, used: 0 };
      this.#windows.set(keyId, w);
    }
    w.used++;
    const reset = Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
    const remaining = Math.max(0, this.perMinute - w.used);
    return {
      limited: w.used > this.perMinute,
      retryAfter: reset,
      headers: {
        'ratelimit-policy': `${this.perMinute};w=60`,
        ratelimit: `limit=${this.perMinute}, remaining=${remaining}, reset=${reset}`,
      },
    };
  }
}

/** Authenticates every route that declares a scope, before its body is read or validated. */
export function registerAuth(app: FastifyInstance, cache: KeyCache, limiter?: RateLimiter): void {
  app.decorateRequest('ctx', undefined as unknown as TenantContext);

  const admit = (
    request: FastifyRequest,
    reply: FastifyReply,
    ctx: Omit<TenantContext, 'requestId'> | undefined,
    scope: Scope,
  ): AppError | undefined => {
    if (!ctx) return ERRORS.unauthenticated('The API key is invalid or revoked.');
    if (limiter && ctx.apiKeyId) {
      const verdict = limiter.take(ctx.apiKeyId);
      reply.headers(verdict.headers);
      if (verdict.limited) return ERRORS.rateLimited(verdict.retryAfter);
    }
    if (!ctx.scopes.has('admin') && !ctx.scopes.has(scope)) return ERRORS.forbidden(scope);
    request.ctx = { ...ctx, requestId: request.id };
    return undefined;
  };

  // Callback style, synchronous when the key is cached: this hook runs on every request of the hot path.
  app.addHook('onRequest', (request, reply, done) => {
    const scope = request.routeOptions.config.scope;
    if (!scope) return done();
    const token =
      request.routeOptions.config.credential === 'fastly-key' ? fastlyKey(request) : bearerToken(request);
    if (!token) return done(ERRORS.unauthenticated());
    const cached = cache.peek(token);
    if (cached) return done(admit(request, reply, cached, scope));
    cache.resolve(token).then((ctx) => done(admit(request, reply, ctx, scope)), done);
  });
  // The handler and everything it awaits run on behalf of the key's tenant: the request pool sets it for row-level
  // security. Bound here, after the body is read, because body parsing resumes from the socket's events, outside
  // any context an onRequest hook could open; the handler is called synchronously from done().
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.ctx) runAsTenant(request.ctx.tenantId, done);
    else done();
  });
}
