// DayZero's customer contacts (https://api.ondayzero.com/api/v1/customers/{customer_id}/contacts) over the core:
// `Authorization: Bearer <key>` plus `x-business-id: <the key's tenant UUID>`, FastAPI's error bodies. Requests
// are validated in the handlers, in FastAPI's order: the business header (its issues reported together with the
// body's), then the body or query, then the customer and contact lookups.
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  createContact,
  deleteContact,
  getContact,
  listCustomerContacts,
  queryContacts,
  toContact,
  updateContact,
} from '../../contacts/contacts.service.ts';
import { getCustomer } from '../../customers/customers.service.ts';
import type { ContactRow } from '../../db/types.ts';
import type { App, AppDeps } from '../../http/deps.ts';
import { AppError } from '../../http/errors.ts';
import { isUuid } from '../../lib/ids.ts';
import {
  checkBusiness,
  coreSort,
  DELETED,
  fromCore,
  fromCoreCursor,
  type Issue,
  invalid,
  notFound,
  parseBody,
  readContactBody,
  readListQuery,
  renderError,
  toCoreCursor,
  toEntityContact,
} from './dayzero.mapping.ts';
import {
  BusinessHeaders,
  ContactParams,
  CustomerParams,
  DeleteResponse,
  EntityContactCreateRequest,
  EntityContactList,
  EntityContactResponse,
  EntityContactUpdateRequest,
  errors,
  ListQuery,
} from './dayzero.schema.ts';

const tags = ['DayZero dialect'];
const COLLECTION = /^\/api\/v1\/customers\/[^/]+\/contacts$/;
const ITEM = /^\/api\/v1\/customers\/[^/]+\/contacts\/[^/]+$/;

function send(reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}) {
  return reply.code(status).headers(headers).type('application/json').serializer(JSON.stringify).send(body);
}

export async function dayzeroDialect(app: App, { db }: AppDeps): Promise<void> {
  // The schemas document the API; the handlers validate, so a bad header and a bad body land in one 422 list.
  app.setValidatorCompiler(() => () => true);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, text, done) => {
    try {
      done(null, parseBody(request.headers['content-type'], text as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const rendered = renderError(error, request);
    if (rendered.status >= 500) request.log.error({ err: error }, 'request failed');
    return send(reply, rendered.status, rendered.body, rendered.headers);
  });

  // FastAPI's answers for paths it has no route for, and for a known path with another method. DayZero's vendor
  // contacts (/api/v1/vendors/...) land here too: the core has no vendors.
  const prefix = app.prefix;
  app.setNotFoundHandler((request, reply) => {
    const path = (request.url.split('?')[0] ?? '').slice(prefix.length);
    const allow = COLLECTION.test(path) ? 'GET, POST' : ITEM.test(path) ? 'GET, PUT, DELETE' : undefined;
    if (allow) return send(reply, 405, { detail: 'Method Not Allowed' }, { allow });
    return send(reply, 404, { detail: 'Not Found' });
  });

  async function requireCustomer(request: FastifyRequest, customerId: string): Promise<void> {
    if (!isUuid(customerId)) throw notFound('Customer');
    await getCustomer(db, request.ctx, customerId).catch((err: unknown) => {
      throw fromCore(err, 'Customer');
    });
  }

  /** The contact, if it is a live contact of this customer; otherwise DayZero's 404 for whichever is missing. */
  async function loadContact(
    request: FastifyRequest,
    customerId: string,
    contactId: string,
  ): Promise<ContactRow> {
    if (isUuid(contactId) && isUuid(customerId)) {
      const row = await getContact(db, request.ctx, contactId).catch((err: unknown) => {
        if (err instanceof AppError && err.status === 404) return undefined;
        throw err;
      });
      if (row && row.customer_id === customerId.toLowerCase()) return row;
    }
    await requireCustomer(request, customerId);
    throw notFound('Contact');
  }

  function fail(issues: Issue[]): void {
    if (issues.length) throw invalid(issues);
  }

  app.post(
    '/api/v1/customers/:customer_id/contacts',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'dayzeroCreateContact',
        tags,
        summary: 'Create customer contact',
        description:
          "Answers 201 with the bare EntityContactResponse. is_primary=true demotes the customer's previous primary contact.",
        headers: BusinessHeaders,
        params: CustomerParams,
        body: EntityContactCreateRequest,
        response: { 201: EntityContactResponse, ...errors(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const issues = checkBusiness(request.headers['x-business-id'], request.ctx.tenantId);
      const { fields, issues: bodyIssues } = readContactBody(request.body, 'create');
      fail([...issues, ...bodyIssues]);
      const { customer_id: customerId } = request.params;
      if (!isUuid(customerId)) throw notFound('Customer');
      const row = await createContact(db, request.ctx, { ...fields, customer_id: customerId }).catch(
        (err: unknown) => {
          throw fromCore(err, 'Customer', request.body);
        },
      );
      return reply.code(201).send(toEntityContact(toContact(row)));
    },
  );

  app.get(
    '/api/v1/customers/:customer_id/contacts',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'dayzeroListContacts',
        tags,
        summary: 'List customer contacts',
        description:
          'Cursor pagination: `next_cursor` marks the last row returned (direction=next) or the first (direction=prev); ' +
          'pass it back with the same sort_by to read on in the same direction.',
        headers: BusinessHeaders,
        params: CustomerParams,
        querystring: ListQuery,
        response: { 200: EntityContactList, ...errors(400, 422) },
      },
    },
    async (request) => {
      const issues = checkBusiness(request.headers['x-business-id'], request.ctx.tenantId);
      const { params, issues: queryIssues } = readListQuery(request.query);
      fail([...issues, ...queryIssues]);
      const { customer_id: customerId } = request.params;
      if (!isUuid(customerId)) throw notFound('Customer');
      // "prev" reads the sort backwards from the cursor, then turns the page round so it reads in sort order.
      const backwards = params.direction === 'prev';
      const sort = coreSort(params.sortBy, backwards ? !params.descending : params.descending);
      const cursor = params.cursor ? toCoreCursor(params.cursor, sort) : undefined;
      const page = await listCustomerContacts(db, request.ctx, customerId, {
        sort: `${sort.desc ? '-' : ''}${sort.key}`,
        cursor,
        limit: params.limit,
      }).catch((err: unknown) => {
        throw fromCore(err, 'Customer');
      });
      const items = page.data.map(toEntityContact);
      if (backwards) items.reverse();
      const body: {
        items: typeof items;
        next_cursor: string | null;
        has_more: boolean;
        total_count?: number;
      } = {
        items,
        next_cursor: page.next_cursor ? fromCoreCursor(page.next_cursor, sort) : null,
        has_more: page.has_more,
      };
      if (params.includeTotalCount) {
        const { total } = await queryContacts(db, request.ctx, {
          customerId,
          orderBy: [],
          offset: 0,
          limit: 0,
        }).catch((err: unknown) => {
          throw fromCore(err, 'Customer');
        });
        body.total_count = total;
      }
      return body;
    },
  );

  app.get(
    '/api/v1/customers/:customer_id/contacts/:contact_id',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'dayzeroGetContact',
        tags,
        summary: 'Get customer contact',
        headers: BusinessHeaders,
        params: ContactParams,
        response: { 200: EntityContactResponse, ...errors(422) },
      },
    },
    async (request) => {
      fail(checkBusiness(request.headers['x-business-id'], request.ctx.tenantId));
      const row = await loadContact(request, request.params.customer_id, request.params.contact_id);
      return toEntityContact(toContact(row));
    },
  );

  app.put(
    '/api/v1/customers/:customer_id/contacts/:contact_id',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'dayzeroUpdateContact',
        tags,
        summary: 'Update customer contact',
        description:
          "A partial update: only the fields sent change. is_primary=true demotes the customer's previous primary contact.",
        headers: BusinessHeaders,
        params: ContactParams,
        body: EntityContactUpdateRequest,
        response: { 200: EntityContactResponse, ...errors(400, 409, 422) },
      },
    },
    async (request) => {
      const issues = checkBusiness(request.headers['x-business-id'], request.ctx.tenantId);
      const { fields, issues: bodyIssues } = readContactBody(request.body, 'update');
      fail([...issues, ...bodyIssues]);
      const { customer_id: customerId, contact_id: contactId } = request.params;
      const current = await loadContact(request, customerId, contactId);
      const row = await updateContact(db, request.ctx, current.id, fields).catch((err: unknown) => {
        throw fromCore(err, 'Contact', request.body);
      });
      return toEntityContact(toContact(row));
    },
  );

  app.delete(
    '/api/v1/customers/:customer_id/contacts/:contact_id',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'dayzeroDeleteContact',
        tags,
        summary: 'Delete customer contact',
        description:
          "Soft delete (restorable through the native API). 409 while the contact is one of a customer's designated contacts.",
        headers: BusinessHeaders,
        params: ContactParams,
        response: { 200: DeleteResponse, ...errors(409, 422) },
      },
    },
    async (request) => {
      fail(checkBusiness(request.headers['x-business-id'], request.ctx.tenantId));
      const { customer_id: customerId, contact_id: contactId } = request.params;
      const current = await loadContact(request, customerId, contactId);
      await deleteContact(db, request.ctx, current.id).catch((err: unknown) => {
        throw fromCore(err, 'Contact');
      });
      return DELETED;
    },
  );
}
