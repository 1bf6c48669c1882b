// DELETE /{base}/:id (soft, or ?purge=true for real) and POST /{base}/:id/restore, declared once for every
// resource with soft delete.
import type { TSchema } from 'typebox';
import { Type } from 'typebox';
import type { Db } from '../db/connection.ts';
import type { Scope, TenantContext } from './context.ts';
import type { App } from './deps.ts';
import { type IfMatch, parseIfMatch, withEtag } from './etag.ts';
import { DeleteQuery, IdParams, problems } from './schemas.ts';

export interface SoftDeleteSpec<Row extends { version: number }> {
  /** Collection path, e.g. /v1/contacts. */
  base: string;
  /** Resource name for operationIds, e.g. Contact → deleteContact, restoreContact. */
  noun: string;
  tags: string[];
  scope: Scope;
  ref: TSchema;
  deleteSummary: string;
  deleteDescription?: string;
  restoreSummary: string;
  toApi: (row: Row) => unknown;
  remove: (db: Db, ctx: TenantContext, id: string, ifMatch: IfMatch) => Promise<Row>;
  purge: (db: Db, ctx: TenantContext, id: string, ifMatch: IfMatch) => Promise<void>;
  restore: (db: Db, ctx: TenantContext, id: string, ifMatch: IfMatch) => Promise<Row>;
}

export function softDeleteRoutes<Row extends { version: number }>(
  app: App,
  db: Db,
  spec: SoftDeleteSpec<Row>,
): void {
  app.delete(
    `${spec.base}/:id`,
    {
      config: { scope: spec.scope },
      schema: {
        operationId: `delete${spec.noun}`,
        tags: spec.tags,
        summary: spec.deleteSummary,
        ...(spec.deleteDescription ? { description: spec.deleteDescription } : {}),
        params: IdParams,
        querystring: DeleteQuery,
        response: { 200: spec.ref, 204: Type.Null(), ...problems(400, 403, 404, 409, 412, 422) },
      },
    },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request);
      if (request.query.purge) {
        await spec.purge(db, request.ctx, request.params.id, ifMatch);
        return reply.code(204).send(null);
      }
      const row = await spec.remove(db, request.ctx, request.params.id, ifMatch);
      withEtag(request, reply, row.version);
      return spec.toApi(row);
    },
  );

  app.post(
    `${spec.base}/:id/restore`,
    {
      config: { scope: spec.scope },
      schema: {
        operationId: `restore${spec.noun}`,
        tags: spec.tags,
        summary: spec.restoreSummary,
        params: IdParams,
        response: { 200: spec.ref, ...problems(400, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const row = await spec.restore(db, request.ctx, request.params.id, parseIfMatch(request));
      withEtag(request, reply, row.version);
      return spec.toApi(row);
    },
  );
}
