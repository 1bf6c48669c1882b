// Dynamics 365 Business Central dialect: API v2.0 customerContacts (OData v4) over the core contacts. A company is
// the key's tenant; a customerContact is a core contact that belongs to a customer.
import type { SwaggerTransform } from '@fastify/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ContactCondition } from '../../contacts/contacts.repo.ts';
import { deleteContact, getContact, queryContacts, updateContact } from '../../contacts/contacts.service.ts';
import { getCustomer, getCustomersByIds } from '../../customers/customers.service.ts';
import type { ContactRow } from '../../db/types.ts';
import type { App, AppDeps } from '../../http/deps.ts';
import { toAppError } from '../../http/error-handler.ts';
import { AppError } from '../../http/errors.ts';
import {
  BcError,
  type CustomerContactPatchBody,
  customerDoesNotExist,
  errorBody,
  etagOf,
  ifMatchOf,
  isCustomerContact,
  methodNotAllowed,
  notFound,
  selectProperties,
  toBcError,
  toContactPatch,
  toCustomerContact,
  toPdfDocument,
} from './businesscentral.mapping.ts';
import { DEFAULT_PAGE_SIZE, maxPageSize, type ODataQuery, parseODataQuery } from './businesscentral.odata.ts';
import { contactCardPdf } from './businesscentral.pdf.ts';
import {
  bcErrors,
  CollectionQuery,
  CompanyCollection,
  CompanyParams,
  CompanySchema,
  ContactParams,
  CustomerContactCollection,
  CustomerContactParams,
  CustomerContactPatch,
  CustomerContactSchema,
  CustomerParams,
  EntityQuery,
  ODataErrorSchema,
  PdfDocumentSchema,
} from './businesscentral.schema.ts';

const tags = ['Business Central dialect'];
const JSON_TYPE = 'application/json; odata.metadata=minimal';

// OData keys sit in parentheses inside a path segment: a regex parameter, then the closing parenthesis.
const key = (name: string) => `(:${name}([^/()]+))`;
const COMPANY = `/v2.0/companies${key('company_id')}`;
const CONTACTS = `${COMPANY}/customerContacts`;
const CONTACT = `${CONTACTS}${key('id')}`;
const CUSTOMER_CONTACTS = `${COMPANY}/customers${key('customer_id')}/customerContacts`;
const CUSTOMER_CONTACT = `${CUSTOMER_CONTACTS}${key('id')}`;

/**
 * The OpenAPI generator reads any '(' in a path as the start of a route regex, so these paths would come out as
 * `companies{regexp1}`. Each route hands it `companies:company_id(x)` (documented as `companies{company_id}`) and
 * every transform restores the parentheses on the paths already emitted; the last routes registered have no key,
 * so by the end every path reads `companies({company_id})`.
 */
function openApiUrl(url: string): string {
  return url.replace(/\(:(\w+)\(\[\^\/\(\)\]\+\)\)/g, ':$1(x)');
}

function restoreParentheses(paths: Record<string, unknown> | undefined): void {
  if (!paths) return;
  for (const path of Object.keys(paths)) {
    if (!path.includes('/v2.0/')) continue;
    const fixed = path.replace(/(companies|customers|customerContacts)\{(\w+)\}/g, '$1({$2})');
    if (fixed !== path) {
      // Several methods share a path: each arrives under the generator's spelling and joins the others.
      paths[fixed] = { ...(paths[fixed] as object | undefined), ...(paths[path] as object) };
      delete paths[path];
    }
  }
}

const swaggerTransform: SwaggerTransform = ({ schema, url, ...document }) => {
  if ('openapiObject' in document)
    restoreParentheses(document.openapiObject.paths as Record<string, unknown>);
  return { schema, url: openApiUrl(url) };
};

type Params = { company_id: string; customer_id?: string; id?: string };

export async function businesscentralDialect(app: App, { db }: AppDeps): Promise<void> {
  // ---- plumbing -------------------------------------------------------------------------------------------------

  function sendError(reply: FastifyReply, request: FastifyRequest, error: BcError) {
    return reply
      .code(error.status)
      .headers(error.headers)
      .header('odata-version', '4.0')
      .type(JSON_TYPE)
      .serializer(JSON.stringify)
      .send(errorBody(error, request.id));
  }

  app.setErrorHandler((error, request, reply) => {
    const bcError = toBcError(error, request.body, toAppError);
    if (bcError.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, request, bcError);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const segment = (path.split('/').filter(Boolean).at(-1) ?? '').replace(/\(.*$/, '');
    return sendError(
      reply,
      request,
      new BcError(
        404,
        'BadRequest_ResourceNotFound',
        `Resource not found for the segment '${decodeSafe(segment)}'.`,
      ),
    );
  });

  function sendJson(reply: FastifyReply, body: unknown) {
    return reply
      .code(200)
      .header('odata-version', '4.0')
      .type(JSON_TYPE)
      .serializer(JSON.stringify)
      .send(body);
  }

  /** The service root as the client addressed it: scheme, host and path up to and including /v2.0. */
  function serviceRoot(request: FastifyRequest): string {
    const path = request.url.split('?')[0] ?? '';
    const at = path.indexOf('/v2.0');
    return `${request.protocol}://${request.host}${path.slice(0, at + '/v2.0'.length)}`;
  }

  /** A company is the key's tenant; any other company id names nothing this key can see. */
  function requireCompany(request: FastifyRequest, companyId: string): string {
    const id = companyId.toLowerCase();
    if (id !== request.ctx.tenantId) throw notFound(`The company '${companyId}' does not exist.`);
    return id;
  }

  async function loadContact(
    request: FastifyRequest,
    params: Params,
  ): Promise<ContactRow & { customer_id: string }> {
    requireCompany(request, params.company_id);
    const id = (params.id as string).toLowerCase();
    const customerId = params.customer_id?.toLowerCase();
    const row = await getContact(db, request.ctx, id).catch((error: unknown) => {
      throw error instanceof AppError && error.status === 404
        ? notFound('The customerContact does not exist.')
        : error;
    });
    if (!isCustomerContact(row, customerId)) throw notFound('The customerContact does not exist.');
    return row;
  }

  async function customerNames(request: FastifyRequest, rows: ContactRow[]): Promise<Map<string, string>> {
    const ids = rows.flatMap((r) => (r.customer_id ? [r.customer_id] : []));
    const customers = await getCustomersByIds(db, request.ctx, ids);
    return new Map([...customers].map(([id, c]) => [id, c.name]));
  }

  function contentUrl(root: string, companyId: string, contactId: string): string {
    return `${root}/companies(${companyId})/customerContacts(${contactId})/pdfDocument/pdfDocumentContent`;
  }

  function entityOf(
    request: FastifyRequest,
    row: ContactRow,
    names: Map<string, string>,
    query: Pick<ODataQuery, 'select' | 'expandPdf'>,
  ): Record<string, unknown> {
    const entity = selectProperties(
      toCustomerContact(row, names.get(row.customer_id ?? '') ?? ''),
      query.select,
    );
    if (query.expandPdf) {
      entity.pdfDocument = toPdfDocument(
        row.id,
        contentUrl(serviceRoot(request), request.ctx.tenantId, row.id),
      );
    }
    return entity;
  }

  function entitySetPath(companyId: string, customerId: string | undefined): string {
    return customerId
      ? `companies(${companyId})/customers(${customerId})/customerContacts`
      : `companies(${companyId})/customerContacts`;
  }

  function contextUrl(
    request: FastifyRequest,
    path: string,
    select: string[] | undefined,
    suffix = '',
  ): string {
    return `${serviceRoot(request)}/$metadata#${path}${select ? `(${select.join(',')})` : ''}${suffix}`;
  }

  // ---- handlers -------------------------------------------------------------------------------------------------

  async function list(request: FastifyRequest, reply: FastifyReply, params: Params) {
    const companyId = requireCompany(request, params.company_id);
    const customerId = params.customer_id?.toLowerCase();
    const query = parseODataQuery(request.query as Record<string, unknown>, { single: false });
    const preferred = maxPageSize(request.headers.prefer);
    const pageSize = preferred ?? DEFAULT_PAGE_SIZE;
    const limit = query.top === undefined ? pageSize : Math.min(pageSize, query.top);
    const customerContact: ContactCondition = { column: 'customer_id', op: 'ne', value: null };
    const { rows: fetched, total } = await queryContacts(db, request.ctx, {
      where: query.where ? { and: [customerContact, query.where] } : customerContact,
      customerId,
      orderBy: query.orderBy.length ? query.orderBy : [{ column: 'number' }],
      offset: query.skip,
      // One row even for $top=0, so the total ($count) still comes back.
      limit: Math.max(limit, 1),
    }).catch((error: unknown) => {
      throw error instanceof AppError && error.status === 404
        ? notFound('The customer does not exist.')
        : error;
    });
    const rows = fetched.slice(0, limit);
    const names = await customerNames(request, rows);
    const consumed = query.skip + rows.length;
    const remainingTop = query.top === undefined ? undefined : query.top - rows.length;
    const more = rows.length > 0 && consumed < total && (remainingTop === undefined || remainingTop > 0);
    if (preferred !== undefined) reply.header('preference-applied', `odata.maxpagesize=${preferred}`);
    return sendJson(reply, {
      '@odata.context': contextUrl(request, entitySetPath(companyId, customerId), query.select),
      ...(query.count ? { '@odata.count': total } : {}),
      value: rows.map((row) => entityOf(request, row, names, query)),
      ...(more ? { '@odata.nextLink': nextLink(request, consumed, remainingTop) } : {}),
    });
  }

  async function getOne(request: FastifyRequest, reply: FastifyReply, params: Params) {
    const query = parseODataQuery(request.query as Record<string, unknown>, { single: true });
    const row = await loadContact(request, params);
    const names = await customerNames(request, [row]);
    reply.header('etag', etagOf(row.version));
    return sendJson(reply, {
      '@odata.context': contextUrl(
        request,
        entitySetPath(request.ctx.tenantId, params.customer_id?.toLowerCase()),
        query.select,
        '/$entity',
      ),
      ...entityOf(request, row, names, query),
    });
  }

  async function patch(request: FastifyRequest, reply: FastifyReply, params: Params) {
    const row = await loadContact(request, params);
    const ifMatch = ifMatchOf(request.headers['if-match']);
    const names = await customerNames(request, [row]);
    const { patch: changes, newCustomerId } = toContactPatch(request.body as CustomerContactPatchBody, {
      id: row.id,
      customerId: row.customer_id,
      customerName: names.get(row.customer_id) ?? '',
    });
    if (newCustomerId !== undefined) {
      // The AL page answers an unknown customerId with its own dialog error, not a not-found.
      const exists = /^[0-9a-f-]{36}$/.test(newCustomerId)
        ? await getCustomer(db, request.ctx, newCustomerId).then(
            () => true,
            (error: unknown) => {
              if (error instanceof AppError && error.status === 404) return false;
              throw error;
            },
          )
        : false;
      if (!exists) throw customerDoesNotExist();
      changes.customer_id = newCustomerId;
    }
    const updated = await updateContact(db, request.ctx, row.id, changes, ifMatch).catch((error: unknown) => {
      // The contact was just read, so a not-found here is the customer it moves to, deleted meanwhile.
      if (error instanceof AppError && error.status === 404 && newCustomerId !== undefined) {
        throw customerDoesNotExist();
      }
      throw error;
    });
    const updatedNames = await customerNames(request, [updated]);
    reply.header('etag', etagOf(updated.version));
    return sendJson(reply, {
      '@odata.context': contextUrl(
        request,
        entitySetPath(request.ctx.tenantId, params.customer_id?.toLowerCase()),
        undefined,
        '/$entity',
      ),
      ...entityOf(request, updated, updatedNames, { select: undefined, expandPdf: false }),
    });
  }

  async function remove(request: FastifyRequest, reply: FastifyReply, params: Params) {
    const row = await loadContact(request, params);
    const ifMatch = ifMatchOf(request.headers['if-match']);
    await deleteContact(db, request.ctx, row.id, ifMatch);
    return reply.code(204).header('odata-version', '4.0').send();
  }

  async function pdfDocument(request: FastifyRequest, reply: FastifyReply, params: Params) {
    const row = await loadContact(request, params);
    const path = `${entitySetPath(request.ctx.tenantId, params.customer_id?.toLowerCase())}(${row.id})/pdfDocument`;
    return sendJson(reply, {
      '@odata.context': contextUrl(request, path, undefined, '/$entity'),
      ...toPdfDocument(row.id, contentUrl(serviceRoot(request), request.ctx.tenantId, row.id)),
    });
  }

  async function pdfContent(request: FastifyRequest, reply: FastifyReply, params: Params) {
    const row = await loadContact(request, params);
    const names = await customerNames(request, [row]);
    const name =
      [row.first_name, row.last_name].filter((p) => p?.trim()).join(' ') ||
      row.name?.trim() ||
      row.email ||
      '';
    const pdf = contactCardPdf({
      id: row.id,
      name,
      title: row.job_title ?? '',
      email: row.email ?? '',
      phone: row.phone ?? '',
      customerName: names.get(row.customer_id) ?? '',
      updatedAt: row.updated_at,
    });
    return reply
      .code(200)
      .type('application/pdf')
      .header('content-disposition', `attachment; filename="contact-${row.id}.pdf"`)
      .header('etag', etagOf(row.version))
      .send(pdf);
  }

  // ---- routes ---------------------------------------------------------------------------------------------------

  const read = { scope: 'contacts:read', swaggerTransform } as const;
  const write = { scope: 'contacts:write', swaggerTransform } as const;

  for (const scoped of [false, true]) {
    const collection = scoped ? CUSTOMER_CONTACTS : CONTACTS;
    const entity = scoped ? CUSTOMER_CONTACT : CONTACT;
    // Operation ids: businesscentralGetCustomerContact, and for the customer-scoped paths ...CustomerCustomerContact.
    const op = (name: string) =>
      `businesscentral${scoped ? name.replace('CustomerContact', 'CustomerCustomerContact') : name}`;
    const of = scoped ? ' of one customer (customers({customer_id})/customerContacts)' : '';
    const collectionParams = scoped ? CustomerParams : CompanyParams;
    const entityParams = scoped ? CustomerContactParams : ContactParams;

    app.get(
      collection,
      {
        config: read,
        schema: {
          operationId: op('ListCustomerContacts'),
          tags,
          summary: `List customer contacts${of}`,
          description:
            'OData v4 collection with $filter, $orderby, $select, $expand=pdfDocument, $top, $skip and $count. Pages hold 100 entities (Prefer: odata.maxpagesize=N up to 1000); @odata.nextLink carries the rest of the query with $skip.',
          params: collectionParams,
          querystring: CollectionQuery,
          response: { 200: CustomerContactCollection, ...bcErrors(400, 404) },
        },
      },
      async (request, reply) => list(request, reply, request.params),
    );

    app.get(
      entity,
      {
        config: read,
        schema: {
          operationId: op('GetCustomerContact'),
          tags,
          summary: `Get a customer contact${of}`,
          params: entityParams,
          querystring: EntityQuery,
          response: { 200: CustomerContactSchema, ...bcErrors(400, 404) },
        },
      },
      async (request, reply) => getOne(request, reply, request.params),
    );

    app.patch(
      entity,
      {
        config: write,
        schema: {
          operationId: op('UpdateCustomerContact'),
          tags,
          summary: `Update a customer contact${of}`,
          description:
            'Partial update; returns the full entity. If-Match is required: an @odata.etag from a GET, or *. A missing or unreadable tag is 400 BadRequest_InvalidToken, a stale one 412 Request_EntityChanged. id and customerName are read-only; customerId moves the contact to another customer.',
          params: entityParams,
          body: CustomerContactPatch,
          response: { 200: CustomerContactSchema, ...bcErrors(400, 404, 409, 412, 413, 415) },
        },
      },
      async (request, reply) => patch(request, reply, request.params),
    );

    app.delete(
      entity,
      {
        config: write,
        schema: {
          operationId: op('DeleteCustomerContact'),
          tags,
          summary: `Delete a customer contact${of}`,
          description: 'If-Match is required (an @odata.etag, or *). 204 No Content.',
          params: entityParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...bcErrors(400, 404, 409, 412) },
        },
      },
      async (request, reply) => remove(request, reply, request.params),
    );

    app.get(
      `${entity}/pdfDocument`,
      {
        config: read,
        schema: {
          operationId: op('GetCustomerContactPdfDocument'),
          tags,
          summary: `Get the pdfDocument of a customer contact${of}`,
          params: entityParams,
          response: { 200: PdfDocumentSchema, ...bcErrors(404) },
        },
      },
      async (request, reply) => pdfDocument(request, reply, request.params),
    );

    app.get(
      `${entity}/pdfDocument/pdfDocumentContent`,
      {
        config: read,
        schema: {
          operationId: op('GetCustomerContactPdfDocumentContent'),
          tags,
          summary: `Download the contact card PDF of a customer contact${of}`,
          params: entityParams,
          response: {
            200: Type.Unsafe({ description: 'application/pdf: a one-page contact card', type: 'string' }),
            ...bcErrors(404),
          },
        },
      },
      async (request, reply) => pdfContent(request, reply, request.params),
    );

    // Customer contacts cannot be created (the AL page has InsertAllowed = false), nor replaced or bulk-changed:
    // Business Central answers such requests 405 BadRequest_MethodNotAllowed.
    const refuse = (
      url: string,
      method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      edmType: 'Entity' | 'EntitySet',
    ) =>
      app.route({
        method,
        url,
        config: read,
        schema: {
          operationId: op(
            method === 'POST' && edmType === 'EntitySet'
              ? 'CreateCustomerContact'
              : `Refuse${method[0]}${method.slice(1).toLowerCase()}CustomerContact${edmType === 'EntitySet' ? 's' : ''}`,
          ),
          tags,
          summary:
            method === 'POST' && edmType === 'EntitySet'
              ? `Not supported: creating a customer contact${of} (405, as in Business Central)`
              : `Not supported (405)`,
          hide: !(method === 'POST' && edmType === 'EntitySet' && !scoped),
          response: { 405: ODataErrorSchema, ...bcErrors() },
        },
        handler: async (request) => {
          throw methodNotAllowed(request.method, 'customerContacts', edmType);
        },
      });
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) refuse(collection, method, 'EntitySet');
    for (const method of ['POST', 'PUT'] as const) refuse(entity, method, 'Entity');
  }

  app.get(
    COMPANY,
    {
      config: read,
      schema: {
        operationId: 'businesscentralGetCompany',
        tags,
        summary: 'Get the company (your tenant)',
        params: CompanyParams,
        response: { 200: CompanySchema, ...bcErrors(404) },
      },
    },
    async (request, reply) => {
      const id = requireCompany(request, request.params.company_id);
      return sendJson(reply, {
        '@odata.context': `${serviceRoot(request)}/$metadata#companies/$entity`,
        ...company(id, request.ctx.tenantSlug),
      });
    },
  );

  // Keyless routes last: see restoreParentheses.
  app.get(
    '/v2.0/companies',
    {
      config: read,
      schema: {
        operationId: 'businesscentralListCompanies',
        tags,
        summary: 'List companies: the one company, your tenant, whose id goes in companies({id})',
        response: { 200: CompanyCollection, ...bcErrors() },
      },
    },
    async (request, reply) =>
      sendJson(reply, {
        '@odata.context': `${serviceRoot(request)}/$metadata#companies`,
        value: [company(request.ctx.tenantId, request.ctx.tenantSlug)],
      }),
  );

  app.get(
    '/v2.0/$metadata',
    {
      config: read,
      schema: {
        operationId: 'businesscentralMetadata',
        tags,
        summary: 'OData CSDL of the entities served here',
        response: { 200: Type.Unsafe({ type: 'string', description: 'application/xml (CSDL 4.0)' }) },
      },
    },
    async (_request, reply) =>
      reply.code(200).header('odata-version', '4.0').type('application/xml; charset=utf-8').send(METADATA),
  );
}

function company(id: string, name: string) {
  return { id, systemVersion: '1', name, displayName: name, businessProfileId: '' };
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The same request with $skip moved past this page and $top reduced by it; every other option as sent. */
function nextLink(request: FastifyRequest, skip: number, top: number | undefined): string {
  const [path, search = ''] = request.url.split('?') as [string, string?];
  const kept = search.split('&').filter((part) => {
    if (!part) return false;
    const name = decodeSafe((part.split('=')[0] ?? '').replace(/\+/g, ' '));
    return name !== '$skip' && name !== '$top';
  });
  if (top !== undefined) kept.push(`$top=${top}`);
  kept.push(`$skip=${skip}`);
  return `${request.protocol}://${request.host}${path}?${kept.join('&')}`;
}

const METADATA = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Microsoft.NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="company">
        <Key><PropertyRef Name="id"/></Key>
        <Property Name="id" Type="Edm.Guid" Nullable="false"/>
        <Property Name="systemVersion" Type="Edm.String"/>
        <Property Name="name" Type="Edm.String"/>
        <Property Name="displayName" Type="Edm.String"/>
        <Property Name="businessProfileId" Type="Edm.String"/>
        <NavigationProperty Name="customerContacts" Type="Collection(Microsoft.NAV.customerContact)" ContainsTarget="true"/>
      </EntityType>
      <EntityType Name="customerContact">
        <Key><PropertyRef Name="id"/></Key>
        <Property Name="id" Type="Edm.Guid" Nullable="false"/>
        <Property Name="email" Type="Edm.String" MaxLength="254"/>
        <Property Name="firstName" Type="Edm.String" MaxLength="100"/>
        <Property Name="lastName" Type="Edm.String" MaxLength="100"/>
        <Property Name="professionalTitle" Type="Edm.String" MaxLength="200"/>
        <Property Name="customerId" Type="Edm.Guid"/>
        <Property Name="customerName" Type="Edm.String"/>
        <Property Name="primaryPhoneNumber" Type="Edm.String" MaxLength="40"/>
        <NavigationProperty Name="pdfDocument" Type="Microsoft.NAV.pdfDocument" ContainsTarget="true"/>
      </EntityType>
      <EntityType Name="pdfDocument">
        <Key><PropertyRef Name="id"/></Key>
        <Property Name="id" Type="Edm.Guid" Nullable="false"/>
        <Property Name="parentId" Type="Edm.Guid"/>
        <Property Name="parentType" Type="Edm.String"/>
        <Property Name="pdfDocumentContent" Type="Edm.Stream"/>
      </EntityType>
      <EntityContainer Name="NAV">
        <EntitySet Name="companies" EntityType="Microsoft.NAV.company"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`;
