// buildApp: the one Fastify instance used by the server, the tests, the CLI and the OpenAPI export.
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { channelRoutes } from './channels/channels.routes.ts';
import { ChannelSchema } from './channels/channels.schema.ts';
import { businesscentralDialect } from './compat/businesscentral/businesscentral.routes.ts';
import { dayzeroDialect } from './compat/dayzero/dayzero.routes.ts';
import { dnsimpleDialect } from './compat/dnsimple/dnsimple.routes.ts';
import { ecwidDialect } from './compat/ecwid/ecwid.routes.ts';
import { fastlyDialect } from './compat/fastly/fastly.routes.ts';
import type { Config } from './config.ts';
import { contactRoutes } from './contacts/contacts.routes.ts';
import { ContactSchema } from './contacts/contacts.schema.ts';
import { customerRoutes } from './customers/customers.routes.ts';
import { CustomerSchema } from './customers/customers.schema.ts';
import type { Database } from './db/connection.ts';
import { renderReference } from './docs/reference.ts';
import { KeyCache, listenForRevocations, RateLimiter, registerAuth } from './http/auth.ts';
import type { App } from './http/deps.ts';
import { registerErrorHandling, sendProblem } from './http/error-handler.ts';
import { ERRORS } from './http/errors.ts';
import { registerCors, registerSecurityHeaders } from './http/headers.ts';
import { ProblemSchema } from './http/schemas.ts';
import { validatorCompiler } from './http/validation.ts';
import { keyRoutes } from './keys/keys.routes.ts';

export interface BuildOptions {
  config: Config;
  /** Routes get appDb (row-level security, bound to the request's tenant); authentication gets db. */
  database: Pick<Database, 'db' | 'sql' | 'appDb'>;
  https?: { cert: Buffer; key: Buffer } | undefined;
  /** Subscribe to key revocations (LISTEN); off for offline uses such as exporting the OpenAPI document. */
  listen?: boolean;
  /** Overrides the logger (tests pass false or a stream). */
  logger?: FastifyServerOptions['logger'];
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const MAX_PARAM_LENGTH = 200;
const REROUTED = Symbol('rerouted');

/**
 * The URL with every path segment the router refuses made harmless: an undecodable one (a stray '%', invalid
 * UTF-8) has its '%' escaped, so it reaches the route as the literal text it is; an over-long one is cut (it was
 * longer than any id, and still is). Either way it names nothing, and the route says so in its own error shape.
 */
function reroutableUrl(url: string): string {
  const at = url.indexOf('?');
  const path = at === -1 ? url : url.slice(0, at);
  const segments = path.split('/').map((segment) => {
    const cut = segment.length > MAX_PARAM_LENGTH ? segment.slice(0, MAX_PARAM_LENGTH / 4) : segment;
    try {
      decodeURIComponent(cut);
      return cut;
    } catch {
      return cut.replaceAll('%', '%25');
    }
  });
  return segments.join('/') + (at === -1 ? '' : url.slice(at));
}

export function redactSecrets(text: string): string {
  return text.replace(/ck_[A-Za-z0-9_-]+/g, 'ck_[redacted]');
}

export async function buildApp(options: BuildOptions): Promise<App> {
  const { config, database } = options;
  let self: App | undefined;
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    logger: options.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers["fastly-key"]', 'req.headers.cookie'],
      serializers: {
        // A client that puts its key in the URL (e.g. ?token=ck_…) must not get it written to the logs.
        req: (req: { method: string; url: string; hostname?: string; ip?: string }) => ({
          method: req.method,
          url: redactSecrets(req.url),
          hostname: req.hostname,
          remoteAddress: req.ip,
        }),
      },
    },
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    connectionTimeout: 30_000,
    requestTimeout: 60_000,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router refuses a path segment that is not valid percent-encoding (FST_ERR_BAD_URL) or is longer than
    // maxParamLength (FST_ERR_MAX_PARAM_LENGTH) before any route, hook or 404 handler runs, and Fastify would answer
    // in its own JSON, neither a problem nor a dialect's error shape. Route such a request once more with those
    // segments made harmless, so the route (or the 404 handler of its prefix) answers in its own shape.
    frameworkErrors: (error, request, reply) => {
      const raw = request.raw as typeof request.raw & { [REROUTED]?: boolean };
      if (
        self &&
        !raw[REROUTED] &&
        (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH')
      ) {
        raw[REROUTED] = true;
        raw.url = reroutableUrl(raw.url ?? '/');
        self.routing(raw, reply.raw);
        return;
      }
      const appError =
        error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? ERRORS.notFound('resource')
          : ERRORS.internal();
      sendProblem(reply, request, appError);
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  self = app;

  app.setValidatorCompiler(validatorCompiler);
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/merge-patch+json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  // Load shedding: past maxInflight requests in progress, answer 503 at once rather than let the database queue
  // (and every client's latency) grow without bound. Health checks are exempt.
  let inflight = 0;
  const release = () => {
    inflight--;
  };
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (request.url === '/healthz' || request.url === '/readyz') return done();
    if (inflight >= config.maxInflight)
      return done(ERRORS.unavailable('The server is overloaded; retry shortly.'));
    inflight++;
    // 'close' fires once whether the response completed or the client went away.
    reply.raw.once('close', release);
    done();
  });
  // While draining, every response asks its client to close the connection: Node's server.close() otherwise
  // waits for keep-alive sockets that become idle after their last response.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Every route that needs a key is documented as such in the OpenAPI document.
  app.addHook('onRoute', (route) => {
    const scope = route.config?.scope;
    if (scope && route.schema) {
      const scheme = route.config?.credential === 'fastly-key' ? 'fastlyKey' : 'bearerAuth';
      (route.schema as Record<string, unknown>).security = [{ [scheme]: [] }];
      (route.schema as Record<string, unknown>)['x-required-scope'] = scope;
    }
  });
  registerErrorHandling(app as never);
  registerSecurityHeaders(app as never, () => closing);
  registerCors(app as never, config.corsOrigins);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Contacts API',
        version: '1.0.0',
        description:
          'Customer contacts: customers, their contacts and channels, with cursor pagination, search, ETags, idempotency keys and soft delete. Errors are RFC 9457 problem details.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key: ck_…' },
          fastlyKey: {
            type: 'apiKey',
            in: 'header',
            name: 'Fastly-Key',
            description: 'An API key, Fastly dialect',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  for (const schema of [ProblemSchema, CustomerSchema, ContactSchema, ChannelSchema]) app.addSchema(schema);

  const keyCache = new KeyCache(database.db, config.keyCacheTtlSeconds * 1000);
  registerAuth(
    app as never,
    keyCache,
    config.rateLimitPerMinute > 0 ? new RateLimiter(config.rateLimitPerMinute) : undefined,
  );
  const unlisten =
    options.listen === false
      ? undefined
      : await listenForRevocations(database.sql, keyCache).catch(() => undefined);
  app.addHook('onClose', async () => {
    await unlisten?.().catch(() => undefined);
    await keyCache.flushTouches();
  });

  const deps = { db: database.appDb, config };
  customerRoutes(app, deps);
  contactRoutes(app, deps);
  channelRoutes(app, deps);
  keyRoutes(app, deps, keyCache);

  // Dialects: each vendor's API as a route layer over the same services, in its own encapsulated scope (own error
  // handler and body parsers), mounted under /compat/<vendor>.
  await app.register(async (scope) => businesscentralDialect(scope as unknown as App, deps), {
    prefix: '/compat/businesscentral',
  });
  await app.register(async (scope) => dayzeroDialect(scope as unknown as App, deps), {
    prefix: '/compat/dayzero',
  });
  await app.register(async (scope) => fastlyDialect(scope as unknown as App, deps), {
    prefix: '/compat/fastly',
  });
  await app.register(async (scope) => dnsimpleDialect(scope as unknown as App, deps), {
    prefix: '/compat/dnsimple',
  });
  await app.register(async (scope) => ecwidDialect(scope as unknown as App, deps), {
    prefix: '/compat/ecwid',
  });

  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'healthz',
        tags: ['health'],
        summary: 'Liveness',
        response: { 200: Type.Object({ status: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'readyz',
        tags: ['health'],
        summary: 'Readiness: the database answers',
        response: {
          200: Type.Object({ status: Type.String() }),
          503: Type.Object({ status: Type.String() }),
        },
      },
    },
    async (_request, reply) => {
      try {
        await Promise.race([
          // Both pools: the request pool's role switch can fail where the owner's login succeeds.
          Promise.all([database.sql`select 1`, sql`select 1`.execute(database.appDb)]),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
        ]);
        return { status: 'ok' };
      } catch {
        return reply.code(503).header('retry-after', '1').send({ status: 'unavailable' });
      }
    },
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderReference(app.swagger() as never)),
  );
  return app;
}

export type { TypeBoxTypeProvider };
