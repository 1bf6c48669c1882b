// The Fastly dialect: Fastly's customer contacts API (fastly-js 13 ContactApi, www.fastly.com/documentation/
// reference/api/account/contact) over the core contacts service, authenticated by `Fastly-Key`.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Contact } from '../../contacts/contacts.schema.ts';
import {
  createContact,
  deleteContact,
  getContact,
  listCustomerContacts,
  toContact,
} from '../../contacts/contacts.service.ts';
import { getCustomer } from '../../customers/customers.service.ts';
import type { TenantContext } from '../../http/context.ts';
import type { App, AppDeps } from '../../http/deps.ts';
import { AppError } from '../../http/errors.ts';
import {
  type FastlyContactInput,
  FastlyError,
  recordNotFound,
  toCoreCreate,
  toFastlyContact,
  toFastlyError,
  toJsonApiResource,
} from './fastly.mapping.ts';
import {
  ContactBody,
  ContactParams,
  CustomerParams,
  FastlyContactSchema,
  FastlyErrorSchema,
  JsonApiContactBody,
  JsonApiList,
  JsonApiSingle,
  StatusOk,
} from './fastly.schema.ts';

const tags = ['Fastly dialect'];
const JSON_TYPE = 'application/json';
const JSON_API = 'application/vnd.api+json';
const FORM = 'application/x-www-form-urlencoded';
const BODY_TYPES: ReadonlySet<string | undefined> = new Set([JSON_TYPE, JSON_API, FORM]);
const PAGE = 200;

const ERROR_TEXT: Record<number, string> = {
  400: 'Validation failed; msg names the field',
  401: 'Missing or invalid Fastly-Key',
  403: 'The key lacks the required scope',
  404: 'Unknown customer or contact (or another tenant’s)',
  409: 'The contact is a designated contact of its customer',
  413: 'Body too large',
  415: 'Unsupported Content-Type',
  503: 'Unavailable; retry after Retry-After seconds',
};

function errors(...statuses: number[]) {
  return Object.fromEntries(
    [401, 403, 503, ...statuses].map((s) => [s, { ...FastlyErrorSchema, description: ERROR_TEXT[s] }]),
  );
}

function jsonOrJsonApi(description: string, plain: object, jsonApi: object) {
  return { description, content: { [JSON_TYPE]: { schema: plain }, [JSON_API]: { schema: jsonApi } } };
}

/**
 * fastly-js asks for application/json and reads plain objects; the real API answers JSON:API to a client that
 * asks for application/vnd.api+json only (go-fastly's recordings), so both are served.
 */
function wantsJsonApi(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes(JSON_API) && !accept.includes(JSON_TYPE);
}

function isNotFound(err: unknown): boolean {
  return err instanceof AppError && err.code === 'not_found';
}

/** Fastly's error body, rendered as plain JSON whatever the route's response schemas say. */
function sendFastlyError(reply: FastifyReply, error: FastlyError) {
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .serializer(JSON.stringify)
    .send(error.body);
}

export async function fastlyDialect(app: App, { db }: AppDeps): Promise<void> {
  // Exactly the three body types this dialect validates: a parser inherited from the root (merge-patch) would
  // otherwise let a body through with no schema applied to it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addContentTypeParser(JSON_API, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    // Repeated keys become arrays (and fail validation); fromEntries defines own properties, so "__proto__"
    // is just an unknown field.
    const fields = new Map<string, string | string[]>();
    for (const [key, value] of new URLSearchParams(body as string)) {
      const prev = fields.get(key);
      fields.set(key, prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value]);
    }
    done(null, Object.fromEntries(fields));
  });

  app.setErrorHandler((error, request, reply) => {
    const fastlyError = toFastlyError(error, request.params as Record<string, string | undefined>);
    if (fastlyError.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendFastlyError(reply, fastlyError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendFastlyError(
      reply,
      new FastlyError(404, 'Not found', `No route for ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  );

  async function requireCustomer(ctx: TenantContext, customerId: string): Promise<void> {
    try {
      await getCustomer(db, ctx, customerId);
    } catch (err) {
      throw isNotFound(err) ? recordNotFound('customer', customerId) : err;
    }
  }

  async function listAll(ctx: TenantContext, customerId: string): Promise<Contact[]> {
    // Fastly's list is one unpaged array: walk the core's keyset pages.
    const out: Contact[] = [];
    let cursor: string | undefined;
    do {
      const page = await listCustomerContacts(db, ctx, customerId, {
        limit: PAGE,
        cursor,
        sort: 'created_at',
      });
      out.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return out;
  }

  async function removeContact(ctx: TenantContext, customerId: string, contactId: string): Promise<void> {
    await requireCustomer(ctx, customerId);
    // The contact must be this customer's: delete only the version that was checked, so a contact moved to
    // another customer meanwhile is re-checked rather than deleted through the wrong path.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const row = await getContact(db, ctx, contactId);
        if (row.customer_id !== customerId) throw recordNotFound('customercontact', contactId);
        await deleteContact(db, ctx, contactId, new Set([row.version]));
        return;
      } catch (err) {
        if (isNotFound(err)) throw recordNotFound('customercontact', contactId);
        if (!(err instanceof AppError && err.code === 'precondition_failed')) throw err;
      }
    }
    throw new FastlyError(409, 'Conflict', 'The contact kept changing while it was being deleted; retry.');
  }

  app.get(
    '/customer/:customer_id/contacts',
    {
      config: { scope: 'contacts:read', credential: 'fastly-key' },
      schema: {
        operationId: 'fastlyListContacts',
        tags,
        summary: 'List contacts',
        description:
          'List all contacts from a specified customer ID (live contacts, oldest first; unpaged). A bare JSON array; JSON:API ({data: [...]}) when Accept asks only for application/vnd.api+json.',
        params: CustomerParams,
        response: {
          200: jsonOrJsonApi('The contacts', Type.Array(FastlyContactSchema), JsonApiList),
          ...errors(404),
        },
      },
    },
    async (request, reply) => {
      const { customer_id: customerId } = request.params;
      let contacts: Contact[];
      try {
        contacts = await listAll(request.ctx, customerId);
      } catch (err) {
        throw isNotFound(err) ? recordNotFound('customer', customerId) : err;
      }
      if (wantsJsonApi(request)) return reply.type(JSON_API).send({ data: contacts.map(toJsonApiResource) });
      return reply.type(JSON_TYPE).send(contacts.map(toFastlyContact));
    },
  );

  app.post(
    '/customer/:customer_id/contacts',
    {
      config: { scope: 'contacts:write', credential: 'fastly-key' },
      schema: {
        operationId: 'fastlyCreateContact',
        tags,
        summary: 'Add a new customer contact',
        description:
          'Form-encoded (as fastly-js sends it), JSON, or a JSON:API resource. contact_type is required; phone is required for primary, technical and security contacts; user_id and name/email may be given together (both are stored).',
        params: CustomerParams,
        body: {
          content: {
            [FORM]: { schema: ContactBody },
            [JSON_TYPE]: { schema: ContactBody },
            [JSON_API]: { schema: JsonApiContactBody },
          },
        },
        response: {
          201: jsonOrJsonApi('The contact created', FastlyContactSchema, JsonApiSingle),
          ...errors(400, 404, 413, 415),
        },
      },
      // Each body type has its own schema above and nothing else is parsed; an empty body has no media type
      // and is checked by toCoreCreate.
      preValidation: async (request) => {
        if (request.body !== undefined && !BODY_TYPES.has(request.mediaType)) {
          throw new FastlyError(415, 'Unsupported media type');
        }
      },
    },
    async (request, reply) => {
      const { customer_id: customerId } = request.params;
      const body = (request.body ?? {}) as FastlyContactInput | { data: { attributes: FastlyContactInput } };
      const input =
        request.mediaType === JSON_API
          ? (body as { data: { attributes: FastlyContactInput } }).data.attributes
          : (body as FastlyContactInput);
      let contact: Contact;
      try {
        contact = toContact(await createContact(db, request.ctx, toCoreCreate(customerId, input)));
      } catch (err) {
        throw isNotFound(err) ? recordNotFound('customer', customerId) : err;
      }
      reply.code(201);
      if (wantsJsonApi(request)) return reply.type(JSON_API).send({ data: toJsonApiResource(contact) });
      return reply.type(JSON_TYPE).send(toFastlyContact(contact));
    },
  );

  const deleteResponses = {
    200: { ...StatusOk, description: 'Deleted (soft: deleted_at is set)' },
    204: { ...Type.Null(), description: 'Deleted, for a JSON:API client' },
    ...errors(404, 409),
  };

  async function handleDelete(
    request: FastifyRequest<{ Params: { customer_id: string; contact_id: string } }>,
    reply: FastifyReply,
  ) {
    await removeContact(request.ctx, request.params.customer_id, request.params.contact_id);
    if (wantsJsonApi(request)) return reply.code(204).send();
    return reply.type(JSON_TYPE).send({ status: 'ok' });
  }

  app.delete(
    '/customer/:customer_id/contacts/:contact_id',
    {
      config: { scope: 'contacts:write', credential: 'fastly-key' },
      schema: {
        operationId: 'fastlyDeleteContact',
        tags,
        summary: 'Delete a contact',
        description:
          'Soft delete: the contact disappears from lists and its deleted_at is set. {"status":"ok"}; 204 when Accept asks only for application/vnd.api+json.',
        params: ContactParams,
        response: deleteResponses,
      },
    },
    handleDelete,
  );

  app.delete(
    '/customer/:customer_id/contact/:contact_id',
    {
      config: { scope: 'contacts:write', credential: 'fastly-key' },
      schema: {
        operationId: 'fastlyDeleteContactSingular',
        tags,
        summary: 'Delete a contact (older singular path)',
        description:
          'The path fastly-js used before v7.9.0 and fastly-py/-php/-rust docs still show; same as fastlyDeleteContact.',
        params: ContactParams,
        response: deleteResponses,
      },
    },
    handleDelete,
  );
}
