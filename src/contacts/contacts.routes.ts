import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { CustomerIdParams } from '../customers/customers.schema.ts';
import type { App, AppDeps } from '../http/deps.ts';
import { etagOf, parseIfMatch, withEtag } from '../http/etag.ts';
import { runIdempotent, sendOutcome } from '../http/idempotency.ts';
import { IdParams, problems } from '../http/schemas.ts';
import { softDeleteRoutes } from '../http/soft-delete.routes.ts';
import {
  ContactCreate,
  ContactList,
  ContactListQuery,
  ContactPatch,
  ContactRef,
  CustomerContactCreate,
} from './contacts.schema.ts';
import {
  createContact,
  deleteContact,
  getContact,
  listContacts,
  listCustomerContacts,
  purgeContact,
  restoreContact,
  toContact,
  updateContact,
} from './contacts.service.ts';

const tags = ['contacts'];
const GetQuery = Type.Object(
  { include_deleted: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);
const ListByCustomerQuery = Type.Omit(ContactListQuery, ['customer_id'], { additionalProperties: false });

export function contactRoutes(app: App, { db, config }: AppDeps): void {
  async function create(request: FastifyRequest, reply: FastifyReply, input: ContactCreate) {
    const outcome = await runIdempotent(db, request.ctx, request, config.idempotencyTtlHours, async (trx) => {
      const row = await createContact(trx, request.ctx, input);
      return {
        status: 201,
        body: toContact(row),
        headers: { etag: etagOf(row.version), location: `/v1/contacts/${row.id}` },
      };
    });
    return sendOutcome(reply, outcome);
  }

  app.post(
    '/v1/customers/:customer_id/contacts',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'createCustomerContact',
        tags,
        summary: 'Create a contact of a customer',
        description:
          "Honours Idempotency-Key. Setting is_primary demotes the customer's previous primary contact.",
        params: CustomerIdParams,
        body: CustomerContactCreate,
        response: { 201: ContactRef, ...problems(400, 403, 404, 409, 415, 422) },
      },
    },
    async (request, reply) =>
      create(request, reply, { ...request.body, customer_id: request.params.customer_id }),
  );

  app.post(
    '/v1/contacts',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'createContact',
        tags,
        summary: 'Create a contact (of a customer, or of the tenant itself when customer_id is null)',
        body: ContactCreate,
        response: { 201: ContactRef, ...problems(400, 403, 404, 409, 415, 422) },
      },
    },
    async (request, reply) => create(request, reply, request.body),
  );

  app.get(
    '/v1/customers/:customer_id/contacts',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'listCustomerContacts',
        tags,
        summary: 'List the contacts of a customer',
        params: CustomerIdParams,
        querystring: ListByCustomerQuery,
        response: { 200: ContactList, ...problems(400, 403, 404, 422) },
      },
    },
    async (request) => listCustomerContacts(db, request.ctx, request.params.customer_id, request.query),
  );

  app.get(
    '/v1/contacts',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'listContacts',
        tags,
        summary: 'List and search all contacts of the tenant',
        querystring: ContactListQuery,
        response: { 200: ContactList, ...problems(400, 403, 422) },
      },
    },
    async (request) => listContacts(db, request.ctx, request.query),
  );

  app.get(
    '/v1/contacts/:id',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'getContact',
        tags,
        summary: 'Get a contact',
        params: IdParams,
        querystring: GetQuery,
        response: { 200: ContactRef, 304: Type.Null(), ...problems(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const row = await getContact(db, request.ctx, request.params.id, {
        includeDeleted: request.query.include_deleted ?? false,
      });
      if (withEtag(request, reply, row.version)) return reply;
      return toContact(row);
    },
  );

  app.patch(
    '/v1/contacts/:id',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'updateContact',
        tags,
        summary: 'Update a contact (partial)',
        description: 'Send only the fields to change; null clears a field. Honours If-Match.',
        params: IdParams,
        body: ContactPatch,
        response: { 200: ContactRef, ...problems(400, 403, 404, 409, 412, 415, 422) },
      },
    },
    async (request, reply) => {
      const row = await updateContact(
        db,
        request.ctx,
        request.params.id,
        request.body,
        parseIfMatch(request),
      );
      withEtag(request, reply, row.version);
      return toContact(row);
    },
  );

  softDeleteRoutes(app, db, {
    base: '/v1/contacts',
    noun: 'Contact',
    tags,
    scope: 'contacts:write',
    ref: ContactRef,
    deleteSummary: 'Delete a contact (soft; purge=true erases it, admin scope)',
    deleteDescription:
      'Soft delete sets deleted_at and returns the contact; POST /restore undoes it. 409 when the contact is a designated contact of a customer.',
    restoreSummary: 'Restore a soft-deleted contact',
    toApi: toContact,
    remove: deleteContact,
    purge: purgeContact,
    restore: restoreContact,
  });
}
