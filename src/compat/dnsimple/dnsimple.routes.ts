// DNSimple dialect: the contacts API of developer.dnsimple.com/v2 under /compat/dnsimple/v2, over the core services.
// Account contacts are the tenant's own contacts (customer_id null); the account id is the tenant number.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  createContact,
  deleteContact,
  getContactByNumber,
  queryContacts,
  updateContact,
} from '../../contacts/contacts.service.ts';
import { inTx } from '../../db/tx.ts';
import type { ContactRow } from '../../db/types.ts';
import type { TenantContext } from '../../http/context.ts';
import type { App, AppDeps } from '../../http/deps.ts';
import { AppError } from '../../http/errors.ts';
import {
  accountNotFound,
  contactNotFound,
  dnsimpleError,
  pageWindow,
  parseSort,
  readContactInput,
  toDnsimpleContact,
} from './dnsimple.mapping.ts';
import {
  AccountParams,
  ContactCreateBody,
  ContactEnvelope,
  ContactListEnvelope,
  ContactParams,
  ContactUpdateBody,
  errorResponses,
  ListQuery,
} from './dnsimple.schema.ts';

const tags = ['DNSimple dialect'];

// DNSimple's documented hourly quota for authenticated requests. This service enforces no per-key quota, so the
// whole quota always remains; the headers are sent because DNSimple clients may read them to pace themselves.
const RATE_LIMIT = '2400';

function requireAccount(ctx: TenantContext, account: string): void {
  if (!/^\d{1,15}$/.test(account) || Number(account) !== ctx.tenantNumber) throw accountNotFound(account);
}

export async function dnsimpleDialect(app: App, { db }: AppDeps): Promise<void> {
  const prefix = app.prefix;
  const collection = new RegExp(`^${prefix}/v2/[^/]+/contacts/?$`);
  const item = new RegExp(`^${prefix}/v2/[^/]+/contacts/[^/]+/?$`);

  // DNSimple's clients send Content-Type: application/json on every request, bodyless DELETEs included: an empty
  // body is an empty object here, where the core's parser would refuse it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, {});
    return parseJson(request, body as string, done);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.ctx) {
      const reset = Math.ceil((Date.now() + 1) / 3_600_000) * 3600;
      reply.header('x-ratelimit-limit', RATE_LIMIT);
      reply.header('x-ratelimit-remaining', RATE_LIMIT);
      reply.header('x-ratelimit-reset', String(reset));
    }
    const ok = reply.statusCode >= 200 && reply.statusCode < 300 && reply.statusCode !== 204;
    reply.header('cache-control', ok ? 'max-age=0, private, must-revalidate' : 'no-cache');
    return payload;
  });

  app.setErrorHandler((error, request, reply) => {
    const { error: appError, status, body } = dnsimpleError(error, request.routeOptions.config.scope);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply
      .code(status)
      .headers(appError.headers)
      .type('application/json; charset=utf-8')
      .serializer(JSON.stringify)
      .send(body);
  });

  // Fastify answers a known path with an unknown method as "not found"; DNSimple answers 405 with Allow and no body.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allow = collection.test(path)
      ? 'GET, HEAD, POST'
      : item.test(path)
        ? 'DELETE, GET, HEAD, PATCH'
        : '';
    if (allow) return reply.code(405).header('allow', allow).send();
    return reply
      .code(404)
      .type('application/json; charset=utf-8')
      .serializer(JSON.stringify)
      .send({ message: 'Not Found' });
  });

  /** The account contact behind `:contact`: another tenant's, a customer's or a deleted one is "not found". */
  async function accountContact(
    dbOrTrx: typeof db,
    ctx: TenantContext,
    contact: string,
  ): Promise<ContactRow> {
    let row: ContactRow | undefined;
    if (/^\d{1,15}$/.test(contact)) {
      row = await getContactByNumber(dbOrTrx, ctx, Number(contact)).catch((err: unknown) => {
        if (err instanceof AppError && err.status === 404) return undefined;
        throw err;
      });
    }
    if (!row || row.customer_id !== null) throw contactNotFound(contact);
    return row;
  }

  const send = (request: FastifyRequest, reply: FastifyReply, status: number, row: ContactRow) =>
    reply.code(status).send({ data: toDnsimpleContact(row, request.ctx.tenantNumber) });

  app.get(
    '/v2/:account/contacts',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'dnsimpleListContacts',
        tags,
        summary: 'List contacts in the account (DNSimple listContacts)',
        description:
          'Offset pages: page (default 1), per_page (default 30, at most 100), sort over id, label, email with :asc or :desc, comma-separated (default id:asc).',
        params: AccountParams,
        querystring: ListQuery,
        response: { 200: ContactListEnvelope, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      requireAccount(request.ctx, request.params.account);
      const orderBy = parseSort(request.query.sort);
      const { page, perPage, offset } = pageWindow(request.query.page, request.query.per_page);
      const { rows, total } = await queryContacts(db, request.ctx, {
        customerId: null,
        orderBy,
        offset,
        limit: perPage,
      });
      return {
        data: rows.map((row) => toDnsimpleContact(row, request.ctx.tenantNumber)),
        pagination: {
          current_page: page,
          per_page: perPage,
          total_entries: total,
          total_pages: Math.ceil(total / perPage),
        },
      };
    },
  );

  app.post(
    '/v2/:account/contacts',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'dnsimpleCreateContact',
        tags,
        summary: 'Create a contact (DNSimple createContact)',
        params: AccountParams,
        body: ContactCreateBody,
        response: { 201: ContactEnvelope, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      requireAccount(request.ctx, request.params.account);
      const input = readContactInput(request.ctx, request.body as Record<string, unknown>);
      const row = await createContact(db, request.ctx, { ...input, customer_id: null });
      return send(request, reply, 201, row);
    },
  );

  app.get(
    '/v2/:account/contacts/:contact',
    {
      config: { scope: 'contacts:read' },
      schema: {
        operationId: 'dnsimpleGetContact',
        tags,
        summary: 'Retrieve a contact (DNSimple getContact)',
        params: ContactParams,
        response: { 200: ContactEnvelope, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      requireAccount(request.ctx, request.params.account);
      const row = await accountContact(db, request.ctx, request.params.contact);
      return send(request, reply, 200, row);
    },
  );

  app.patch(
    '/v2/:account/contacts/:contact',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'dnsimpleUpdateContact',
        tags,
        summary: 'Update a contact (DNSimple updateContact)',
        params: ContactParams,
        body: ContactUpdateBody,
        response: { 200: ContactEnvelope, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      requireAccount(request.ctx, request.params.account);
      const row = await inTx(db, async (trx) => {
        const current = await accountContact(trx, request.ctx, request.params.contact);
        const input = readContactInput(request.ctx, request.body as Record<string, unknown>, current);
        return updateContact(trx, request.ctx, current.id, input);
      });
      return send(request, reply, 200, row);
    },
  );

  app.delete(
    '/v2/:account/contacts/:contact',
    {
      config: { scope: 'contacts:write' },
      schema: {
        operationId: 'dnsimpleDeleteContact',
        tags,
        summary: 'Delete a contact (DNSimple deleteContact)',
        description:
          "400 when the contact is in use (a customer's billing, technical or security contact). The delete is the core's soft delete: the native API can restore it.",
        params: ContactParams,
        response: { 204: Type.Null(), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      requireAccount(request.ctx, request.params.account);
      const row = await accountContact(db, request.ctx, request.params.contact);
      await deleteContact(db, request.ctx, row.id);
      return reply.code(204).send(null);
    },
  );
}
