import { Type } from 'typebox';
import type { KeyCache } from '../http/auth.ts';
import { SCOPES } from '../http/context.ts';
import type { App, AppDeps } from '../http/deps.ts';
import { IdParams, problems, UuidSchema } from '../http/schemas.ts';
import { createApiKey, listApiKeys, revokeApiKey } from './keys.service.ts';

const tags = ['api keys'];

const ApiKeySchema = Type.Object(
  {
    id: UuidSchema,
    tenant_id: UuidSchema,
    name: Type.String(),
    prefix: Type.String({ description: 'First characters of the token, to recognise it' }),
    scopes: Type.Array(Type.String({ enum: [...SCOPES] })),
    created_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'ApiKey' },
);
const ApiKeyRef = Type.Ref('ApiKey');

export function keyRoutes(app: App, { db }: AppDeps, keyCache: Pick<KeyCache, 'evictKey'>): void {
  app.addSchema(ApiKeySchema);

  app.get(
    '/v1/api_keys',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'listApiKeys',
        tags,
        summary: "List the tenant's API keys (never their secrets)",
        response: { 200: Type.Object({ data: Type.Array(ApiKeyRef) }), ...problems(403) },
      },
    },
    async (request) => ({ data: await listApiKeys(db, request.ctx.tenantId) }),
  );

  app.post(
    '/v1/api_keys',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'createApiKey',
        tags,
        summary: 'Create an API key; the token is in this response only',
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ maxLength: 200 })),
            scopes: Type.Optional(
              Type.Array(Type.String({ enum: [...SCOPES] }), { minItems: 1, maxItems: 5, uniqueItems: true }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ api_key: ApiKeyRef, token: Type.String() }),
          ...problems(400, 403, 415, 422),
        },
      },
    },
    async (request, reply) => {
      const { key, token } = await createApiKey(db, request.ctx.tenantId, request.body ?? {});
      return reply.code(201).send({ api_key: key, token });
    },
  );

  app.delete(
    '/v1/api_keys/:id',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'revokeApiKey',
        tags,
        summary: 'Revoke an API key (effective at once on every server)',
        params: IdParams,
        response: { 200: ApiKeyRef, ...problems(403, 404) },
      },
    },
    async (request) => {
      const key = await revokeApiKey(db, request.ctx.tenantId, request.params.id);
      // NOTIFY reaches this server's cache too, but asynchronously: evict here so the next request is refused.
      keyCache.evictKey(key.id);
      return key;
    },
  );
}
