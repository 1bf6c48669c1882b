// Ecwid dialect: Ecwid's REST API v3 customer contacts (/api/v3/{storeId}/customers/{customerId}/contacts) over
// the core's channels. Integer ids: store = tenant number, customer = customer number, contact = channel number.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Channel } from '../../channels/channels.schema.ts';
import {
  createChannel,
  deleteChannel,
  getChannelByNumber,
  listChannels,
  toChannel,
  updateChannel,
} from '../../channels/channels.service.ts';
import { getCustomerByNumber } from '../../customers/customers.service.ts';
import type { Db } from '../../db/connection.ts';
import type { CustomerRow } from '../../db/types.ts';
import type { TenantContext } from '../../http/context.ts';
import type { App, AppDeps } from '../../http/deps.ts';
import {
  ECWID_ERRORS,
  ECWID_SCOPES,
  fromEcwidCreate,
  fromEcwidUpdate,
  orNotFound,
  toEcwidContact,
  toEcwidError,
} from './ecwid.mapping.ts';
import {
  EcwidContactCreate,
  EcwidContactList,
  EcwidContactParams,
  EcwidContactSchema,
  EcwidContactUpdate,
  EcwidCreateStatus,
  EcwidDeleteStatus,
  EcwidPathParams,
  EcwidUpdateStatus,
  ecwidErrors,
} from './ecwid.schema.ts';

const tags = ['Ecwid dialect'];
const CONTACTS = '/api/v3/:storeId/customers/:customerId/contacts';
const CONTACT = `${CONTACTS}/:contactId`;
const LIST_PATH = /^\/compat\/ecwid\/api\/v3\/[^/]+\/customers\/[^/]+\/contacts\/?$/;
const ITEM_PATH = /^\/compat\/ecwid\/api\/v3\/[^/]+\/customers\/[^/]+\/contacts\/[^/]+\/?$/;
// Ecwid returns every contact of the customer in one answer; the core lists in pages.
const PAGE = 200;

/** The customer in the path, after checking the store id is the key's own tenant. */
async function customerIn(db: Db, ctx: TenantContext, params: EcwidPathParams): Promise<CustomerRow> {
  // Another tenant's store is "not found", like a store that does not exist: nothing about it leaks.
  if (params.storeId !== ctx.tenantNumber) throw ECWID_ERRORS.storeNotFound();
  return orNotFound(getCustomerByNumber(db, ctx, params.customerId), ECWID_ERRORS.customerNotFound);
}

/** The contact in the path, which must be one of the path's customer's. */
async function contactIn(db: Db, ctx: TenantContext, params: EcwidContactParams) {
  const customer = await customerIn(db, ctx, params);
  const row = await orNotFound(getChannelByNumber(db, ctx, params.contactId), ECWID_ERRORS.contactNotFound);
  if (row.customer_id !== customer.id) throw ECWID_ERRORS.contactNotFound();
  return row;
}

function sendEcwidError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  const e = toEcwidError(error, request.method);
  if (e.status >= 500) request.log.error({ err: error }, 'request failed');
  return reply
    .code(e.status)
    .headers(e.headers)
    .type('application/json; charset=utf-8')
    .serializer(JSON.stringify)
    .send({ errorMessage: e.message, errorCode: e.errorCode });
}

export async function ecwidDialect(app: App, { db }: AppDeps): Promise<void> {
  app.setErrorHandler((error, request, reply) => sendEcwidError(request, reply, error));
  // Ecwid's examples send `Content-Type: application/json` on every call, so a DELETE may carry the header with
  // no body: an empty body is "no body" here (a POST or PUT without one still fails its schema).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allow = LIST_PATH.test(path) ? 'GET, POST' : ITEM_PATH.test(path) ? 'GET, PUT, DELETE' : undefined;
    const error = allow
      ? ECWID_ERRORS.methodNotAllowed(request.method, allow)
      : ECWID_ERRORS.routeNotFound(request.method, path);
    return sendEcwidError(request, reply, error);
  });

  app.get(
    CONTACTS,
    {
      config: { scope: ECWID_SCOPES.read_customers },
      schema: {
        operationId: 'ecwidSearchCustomerContacts',
        tags,
        summary: "Search customer contacts: all of a customer's contacts, by orderBy",
        description: 'Ecwid scope read_customers (served by contacts:read).',
        params: EcwidPathParams,
        response: { 200: EcwidContactList, ...ecwidErrors() },
      },
    },
    async (request) => {
      const customer = await customerIn(db, request.ctx, request.params);
      const items: Channel[] = [];
      let cursor: string | undefined;
      do {
        const page = await orNotFound(
          listChannels(db, request.ctx, customer.id, { limit: PAGE, ...(cursor ? { cursor } : {}) }),
          ECWID_ERRORS.customerNotFound,
        );
        items.push(...page.data);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return { items: items.map(toEcwidContact) };
    },
  );

  app.get(
    CONTACT,
    {
      config: { scope: ECWID_SCOPES.read_customers },
      schema: {
        operationId: 'ecwidGetCustomerContact',
        tags,
        summary: 'Get customer contact',
        description: 'Ecwid scope read_customers (served by contacts:read).',
        params: EcwidContactParams,
        response: { 200: EcwidContactSchema, ...ecwidErrors() },
      },
    },
    async (request) => toEcwidContact(toChannel(await contactIn(db, request.ctx, request.params))),
  );

  app.post(
    CONTACTS,
    {
      config: { scope: ECWID_SCOPES.create_customers },
      schema: {
        operationId: 'ecwidCreateCustomerContact',
        tags,
        summary: 'Create customer contact',
        description:
          'Ecwid scope create_customers (served by contacts:write). default=true clears the previous default ' +
          'contact of the same type. Answers 200 { createCount: 1, id }.',
        params: EcwidPathParams,
        body: EcwidContactCreate,
        response: { 200: EcwidCreateStatus, ...ecwidErrors(400, 409, 413, 415) },
      },
    },
    async (request) => {
      const customer = await customerIn(db, request.ctx, request.params);
      const row = await orNotFound(
        createChannel(db, request.ctx, customer.id, fromEcwidCreate(request.body)),
        ECWID_ERRORS.customerNotFound,
      );
      return { createCount: 1, id: row.number };
    },
  );

  app.put(
    CONTACT,
    {
      config: { scope: ECWID_SCOPES.update_customers },
      schema: {
        operationId: 'ecwidUpdateCustomerContact',
        tags,
        summary: 'Update customer contact (only the fields sent change)',
        description:
          'Ecwid scope update_customers (served by contacts:write). default=true clears the previous default ' +
          'contact of the same type.',
        params: EcwidContactParams,
        body: EcwidContactUpdate,
        response: { 200: EcwidUpdateStatus, ...ecwidErrors(400, 409, 413, 415) },
      },
    },
    async (request) => {
      const row = await contactIn(db, request.ctx, request.params);
      const patch = fromEcwidUpdate(request.body);
      // Nothing to change (e.g. only the read-only id/timestamp were sent): no write, no change event.
      if (Object.keys(patch).length > 0) {
        await orNotFound(updateChannel(db, request.ctx, row.id, patch), ECWID_ERRORS.contactNotFound);
      }
      return { updateCount: 1 };
    },
  );

  app.delete(
    CONTACT,
    {
      config: { scope: ECWID_SCOPES.update_customers },
      schema: {
        operationId: 'ecwidDeleteCustomerContact',
        tags,
        summary: 'Delete customer contact',
        description: 'Ecwid scope update_customers (served by contacts:write).',
        params: EcwidContactParams,
        response: { 200: EcwidDeleteStatus, ...ecwidErrors() },
      },
    },
    async (request) => {
      const row = await contactIn(db, request.ctx, request.params);
      await orNotFound(deleteChannel(db, request.ctx, row.id), ECWID_ERRORS.contactNotFound);
      return { deleteCount: 1 };
    },
  );
}
