import { Type } from 'typebox';
import type { App, AppDeps } from '../http/deps.ts';
import { etagOf, parseIfMatch, withEtag } from '../http/etag.ts';
import { runIdempotent, sendOutcome } from '../http/idempotency.ts';
import { IdParams, problems } from '../http/schemas.ts';
import { softDeleteRoutes } from '../http/soft-delete.routes.ts';
import {
  CustomerCreate,
  CustomerList,
  CustomerListQuery,
  CustomerPatch,
  CustomerRef,
} from './customers.schema.ts';
import {
  createCustomer,
  deleteCustomer,
  getCustomer,
  listCustomers,
  purgeCustomer,
  restoreCustomer,
  toCustomer,
  updateCustomer,
} from './customers.service.ts';

const tags = ['customers'];
const GetQuery = Type.Object(
  { include_deleted: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);

export function customerRoutes(app: App, { db, config }: AppDeps): void {
  app.post(
    '/v1/customers',
    {
      config: { scope: 'customers:write' },
      schema: {
        operationId: 'createCustomer',
        tags,
        summary: 'Create a customer',
        description: 'Honours Idempotency-Key.',
        body: CustomerCreate,
        response: { 201: CustomerRef, ...problems(400, 403, 409, 415, 422) },
      },
    },
    async (request, reply) => {
      const outcome = await runIdempotent(
        db,
        request.ctx,
        request,
        config.idempotencyTtlHours,
        async (trx) => {
          const row = await createCustomer(trx, request.ctx, request.body);
          return {
            status: 201,
            body: toCustomer(row),
            headers: { etag: etagOf(row.version), location: `/v1/customers/${row.id}` },
          };
        },
      );
      return sendOutcome(reply, outcome);
    },
  );

  app.get(
    '/v1/customers',
    {
      config: { scope: 'customers:read' },
      schema: {
        operationId: 'listCustomers',
        tags,
        summary: 'List and search customers',
        querystring: CustomerListQuery,
        response: { 200: CustomerList, ...problems(400, 403, 422) },
      },
    },
    async (request) => listCustomers(db, request.ctx, request.query),
  );

  app.get(
    '/v1/customers/:id',
    {
      config: { scope: 'customers:read' },
      schema: {
        operationId: 'getCustomer',
        tags,
        summary: 'Get a customer',
        params: IdParams,
        querystring: GetQuery,
        response: { 200: CustomerRef, 304: Type.Null(), ...problems(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const row = await getCustomer(db, request.ctx, request.params.id, {
        includeDeleted: request.query.include_deleted ?? false,
      });
      if (withEtag(request, reply, row.version)) return reply;
      return toCustomer(row);
    },
  );

  app.patch(
    '/v1/customers/:id',
    {
      config: { scope: 'customers:write' },
      schema: {
        operationId: 'updateCustomer',
        tags,
        summary: 'Update a customer (partial)',
        description: 'Send only the fields to change; null clears a field. Honours If-Match.',
        params: IdParams,
        body: CustomerPatch,
        response: { 200: CustomerRef, ...problems(400, 403, 404, 409, 412, 415, 422) },
      },
    },
    async (request, reply) => {
      const row = await updateCustomer(
        db,
        request.ctx,
        request.params.id,
        request.body,
        parseIfMatch(request),
      );
      withEtag(request, reply, row.version);
      return toCustomer(row);
    },
  );

  softDeleteRoutes(app, db, {
    base: '/v1/customers',
    noun: 'Customer',
    tags,
    scope: 'customers:write',
    ref: CustomerRef,
    deleteSummary: 'Delete a customer and its contacts (soft; purge=true erases them, admin scope)',
    restoreSummary: 'Restore a soft-deleted customer with the contacts its deletion removed',
    toApi: toCustomer,
    remove: deleteCustomer,
    purge: purgeCustomer,
    restore: restoreCustomer,
  });
}
