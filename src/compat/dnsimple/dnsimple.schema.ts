// DNSimple's request and response shapes (developer.dnsimple.com/v2/contacts), for validation and /openapi.json.
import { Type } from 'typebox';
import { DEFAULT_PER_PAGE, MAX_PER_PAGE, REQUIRED_FIELDS, SORT_FIELDS } from './dnsimple.mapping.ts';

const Text = (description?: string) =>
  Type.Optional(
    Type.Unsafe<string | null>({ type: ['string', 'null'], ...(description ? { description } : {}) }),
  );

export const AccountParams = Type.Object(
  { account: Type.String({ description: 'The account id: the tenant number' }) },
  { additionalProperties: false },
);

export const ContactParams = Type.Object(
  {
    account: Type.String({ description: 'The account id: the tenant number' }),
    contact: Type.String({ description: 'The contact id (integer)' }),
  },
  { additionalProperties: false },
);

// Unknown query parameters are ignored, as DNSimple does.
export const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ description: 'The page to return (default 1)' })),
  per_page: Type.Optional(
    Type.Integer({
      description: `Entries per page (default ${DEFAULT_PER_PAGE}, capped at ${MAX_PER_PAGE})`,
    }),
  ),
  sort: Type.Optional(
    Type.String({
      description: `Comma-separated field:direction pairs over ${SORT_FIELDS.join(', ')} with asc or desc, e.g. "label:asc,id:desc". Default id:asc.`,
    }),
  ),
});

// Permissive on purpose: required attributes and lengths are checked in the handler so that every failing
// attribute is reported in one DNSimple "Validation failed" body. Unknown attributes are ignored.
const attributes = {
  label: Text(),
  first_name: Text('Required on create'),
  last_name: Text('Required on create'),
  job_title: Text('Required when organization_name is set'),
  organization_name: Text('The company name; requires job_title'),
  email: Text('Required on create'),
  phone: Text('Required on create; national numbers are read in the tenant region'),
  fax: Text(),
  address1: Text('Required on create'),
  address2: Text(),
  city: Text('Required on create'),
  state_province: Text('Required on create'),
  postal_code: Text('Required on create'),
  country: Text('Required on create: ISO 3166-1 alpha-2 code, e.g. DE'),
};

export const ContactCreateBody = Type.Object(attributes, {
  description: `Required: ${REQUIRED_FIELDS.join(', ')}; job_title when organization_name is set.`,
});

export const ContactUpdateBody = Type.Object(attributes, {
  description: 'Any subset of the create attributes; required attributes cannot be blanked.',
});

export const DnsimpleContactSchema = Type.Object(
  {
    id: Type.Integer(),
    account_id: Type.Integer(),
    label: Type.String(),
    first_name: Type.String(),
    last_name: Type.String(),
    job_title: Type.String(),
    organization_name: Type.String(),
    email: Type.String(),
    phone: Type.String({ description: 'EPP format: "+<country calling code>.<number>", e.g. +1.8001234567' }),
    fax: Type.String({ description: 'EPP format, or "" when none' }),
    address1: Type.String(),
    address2: Type.String(),
    city: Type.String(),
    state_province: Type.String(),
    postal_code: Type.String(),
    country: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { description: 'A DNSimple contact; empty attributes are "" (never null)' },
);

export const ContactEnvelope = Type.Object({ data: DnsimpleContactSchema });

export const ContactListEnvelope = Type.Object({
  data: Type.Array(DnsimpleContactSchema),
  pagination: Type.Object({
    current_page: Type.Integer(),
    per_page: Type.Integer(),
    total_entries: Type.Integer(),
    total_pages: Type.Integer(),
  }),
});

export const ErrorBody = Type.Object(
  {
    message: Type.String(),
    errors: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
  },
  { description: 'DNSimple error: message, and for validation errors {attribute: [messages]}' },
);

export function errorResponses(...statuses: number[]) {
  return Object.fromEntries([401, 403, ...statuses].map((s) => [s, ErrorBody]));
}
