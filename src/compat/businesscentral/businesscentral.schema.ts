// TypeBox schemas of the Business Central dialect: OData entities and envelopes, the PATCH body, the query options.
// Responses are written with JSON.stringify ($select makes their shape dynamic); these schemas document them.
import { type Static, Type } from 'typebox';
import { NullableString } from '../../http/schemas.ts';
import { CONTACT_PROPERTIES } from './businesscentral.mapping.ts';

const GUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const Guid = (description: string) => Type.String({ pattern: GUID_PATTERN, description });

export const CompanyParams = Type.Object(
  { company_id: Guid('The company id: your tenant id') },
  { additionalProperties: false },
);
export const ContactParams = Type.Object(
  { company_id: Guid('The company id: your tenant id'), id: Guid('The customerContact id') },
  { additionalProperties: false },
);
export const CustomerParams = Type.Object(
  { company_id: Guid('The company id: your tenant id'), customer_id: Guid('The customer id') },
  { additionalProperties: false },
);
export const CustomerContactParams = Type.Object(
  {
    company_id: Guid('The company id: your tenant id'),
    customer_id: Guid('The customer id'),
    id: Guid('The customerContact id'),
  },
  { additionalProperties: false },
);

const option = (description: string) => Type.Optional(Type.String({ maxLength: 4000, description }));

// Custom (non-$) options are allowed, as in OData; the handler rejects unknown or repeated system options.
export const CollectionQuery = Type.Object(
  {
    $filter: option(
      "OData filter over id, email, firstName, lastName, professionalTitle, customerId, primaryPhoneNumber: eq ne gt ge lt le, and or not, ( ), contains/startswith/endswith, 'strings' ('' escapes), GUIDs, null, true/false",
    ),
    $orderby: option('Comma-separated `property [asc|desc]`'),
    $select: option('Comma-separated properties to return (@odata.etag is always returned)'),
    $expand: option('pdfDocument'),
    $top: option('Return at most this many entities (a non-negative integer)'),
    $skip: option('Skip this many entities (a non-negative integer)'),
    $count: option('true: add @odata.count, the number of matching entities'),
    $format: option('json'),
    $schemaversion: option('Accepted and ignored'),
  },
  { additionalProperties: true },
);

export const EntityQuery = Type.Object(
  {
    $select: option('Comma-separated properties to return (@odata.etag is always returned)'),
    $expand: option('pdfDocument'),
    $format: option('json'),
    $schemaversion: option('Accepted and ignored'),
  },
  { additionalProperties: true },
);

const str = (description: string) => Type.String({ description });

export const PdfDocumentSchema = Type.Object(
  {
    '@odata.context': Type.Optional(Type.String()),
    id: str('Same as the customerContact id'),
    parentId: str('The customerContact id'),
    parentType: str('"Customer Statement", as the AL page links it'),
    'pdfDocumentContent@odata.mediaReadLink': str('URL of the PDF bytes'),
  },
  { description: 'pdfDocument entity' },
);

export const CustomerContactSchema = Type.Object(
  {
    '@odata.context': Type.Optional(Type.String()),
    '@odata.etag': str('Weak ETag for If-Match'),
    id: Type.Optional(str('GUID; read-only')),
    email: Type.Optional(Type.String()),
    firstName: Type.Optional(Type.String()),
    lastName: Type.Optional(Type.String()),
    professionalTitle: Type.Optional(Type.String()),
    customerId: Type.Optional(str('GUID of the customer; writable (moves the contact)')),
    customerName: Type.Optional(str("The customer's name; read-only")),
    primaryPhoneNumber: Type.Optional(Type.String()),
    pdfDocument: Type.Optional(PdfDocumentSchema),
  },
  { description: 'customerContact entity ($select returns a subset)', additionalProperties: false },
);

export const CustomerContactCollection = Type.Object({
  '@odata.context': Type.String(),
  '@odata.count': Type.Optional(Type.Integer()),
  value: Type.Array(CustomerContactSchema),
  '@odata.nextLink': Type.Optional(str('The next page: the same query with $skip (and the rest of $top)')),
});

export const CompanySchema = Type.Object({
  '@odata.context': Type.Optional(Type.String()),
  id: str('Your tenant id'),
  systemVersion: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  businessProfileId: Type.String(),
});

export const CompanyCollection = Type.Object({
  '@odata.context': Type.String(),
  value: Type.Array(CompanySchema),
});

export const ODataErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: str('e.g. BadRequest_NotFound, BadRequest_InvalidToken, Request_EntityChanged'),
      message: str('Ends with "  CorrelationId:  <request id>."'),
    }),
  },
  { description: 'OData error' },
);

// One type array rather than a union, so a bad value yields one validation error to report.
const StringOrNull = (maxLength: number) => NullableString({ maxLength });

export const CustomerContactPatch = Type.Object(
  {
    id: Type.Optional(Type.String({ description: 'Read-only: accepted only unchanged' })),
    email: Type.Optional(StringOrNull(CONTACT_PROPERTIES.email.maxLength)),
    firstName: Type.Optional(StringOrNull(CONTACT_PROPERTIES.firstName.maxLength)),
    lastName: Type.Optional(StringOrNull(CONTACT_PROPERTIES.lastName.maxLength)),
    professionalTitle: Type.Optional(StringOrNull(CONTACT_PROPERTIES.professionalTitle.maxLength)),
    customerId: Type.Optional(
      NullableString({ pattern: GUID_PATTERN, description: 'Moves the contact to this customer' }),
    ),
    customerName: Type.Optional(Type.String({ description: 'Read-only: accepted only unchanged' })),
    primaryPhoneNumber: Type.Optional(StringOrNull(CONTACT_PROPERTIES.primaryPhoneNumber.maxLength)),
  },
  {
    additionalProperties: false,
    // Instance annotations such as an echoed "@odata.etag" are allowed and ignored.
    patternProperties: { '^@': {} },
    description: 'Partial update: only the properties sent change',
  },
);
export type CustomerContactPatch = Static<typeof CustomerContactPatch>;

/** The error responses of a route, all in the OData error envelope. */
export function bcErrors(...statuses: number[]): Record<number, typeof ODataErrorSchema> {
  const out: Record<number, typeof ODataErrorSchema> = {};
  for (const status of [401, 403, 503, ...statuses]) out[status] = ODataErrorSchema;
  return out;
}
