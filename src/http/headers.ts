// Response headers every client gets: content sniffing off, no caching of tenant data by shared caches, a strict
// policy for HTML pages; and CORS, off unless CORS_ORIGINS lists the browser origins allowed to call the API.
import type { FastifyInstance } from 'fastify';

const HTML_POLICY = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** isDraining: while the server drains, responses also ask clients to close their keep-alive connections. */
export function registerSecurityHeaders(app: FastifyInstance, isDraining: () => boolean): void {
  // Callback style: this runs on every response of the hot path.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    if (request.headers.authorization || request.headers['fastly-key'])
      reply.header('cache-control', 'no-store');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) reply.headers(HTML_POLICY);
    if (isDraining()) reply.header('connection', 'close');
    done(null, payload);
  });
}

const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'if-match',
  'if-none-match',
  'idempotency-key',
  'x-request-id',
  'fastly-key',
  'x-business-id',
].join(', ');
const EXPOSED_HEADERS = [
  'etag',
  'location',
  'x-request-id',
  'idempotent-replayed',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
].join(', ');

export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const any = origins.includes('*');
  const allowed = (origin: string | undefined) => Boolean(origin && (any || origins.includes(origin)));
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (!allowed(origin)) return;
    reply.header('access-control-allow-origin', any ? '*' : (origin as string));
    reply.header('access-control-expose-headers', EXPOSED_HEADERS);
  });
  app.options('/*', { schema: { hide: true } }, async (request, reply) => {
    if (!allowed(request.headers.origin)) return reply.code(404).send();
    return reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE')
      .header('access-control-allow-headers', ALLOWED_HEADERS)
      .header('access-control-max-age', '600')
      .send();
  });
}
