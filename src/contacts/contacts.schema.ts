import { type Static, Type } from 'typebox';
import {
  allOptional,
  ListEnvelope,
  Metadata,
  NullableString,
  PageQueryFields,
  UuidSchema,
} from '../http/schemas.ts';

/** Fastly's contact types, with the space in "general compliance". */
export const CONTACT_TYPES = [
  'primary',
  'billing',
  'technical',
  'security',
  'emergency',
  'general compliance',
] as const;
export type ContactType = (typeof CONTACT_TYPES)[number];

// Writable fields and their bounds, declared once for create, patch and the response.
const writable = {
  name: NullableString({ maxLength: 200, description: 'Full name as the contact wants it shown' }),
  first_name: NullableString({ maxLength: 100 }),
  last_name: NullableString({ maxLength: 100 }),
  job_title: NullableString({ maxLength: 200 }),
  organization_name: NullableString({ maxLength: 200 }),
  label: NullableString({ maxLength: 100, description: 'A short label, e.g. "Default"' }),
  email: NullableString({ maxLength: 254, description: 'Email address (syntax checked)' }),
  phone: NullableString({
    maxLength: 40,
    description: 'Phone as given; national numbers read in the tenant region',
  }),
  fax: NullableString({ maxLength: 40 }),
  address1: NullableString({ maxLength: 200 }),
  address2: NullableString({ maxLength: 200 }),
  city: NullableString({ maxLength: 100 }),
  state_province: NullableString({ maxLength: 100 }),
  postal_code: NullableString({ maxLength: 20 }),
  country: NullableString({ maxLength: 2, description: 'ISO 3166-1 alpha-2 code' }),
  contact_type: NullableString({ enum: CONTACT_TYPES, description: "One of Fastly's contact types" }),
  role: NullableString({ maxLength: 100, description: 'Free-text role, e.g. "Billing"' }),
  is_primary: Type.Boolean({
    description: "The customer's primary contact; setting it demotes the previous one",
  }),
  notes: NullableString({ maxLength: 5000 }),
  user_id: NullableString({
    maxLength: 100,
    description: 'Id of a user in your system this contact stands for',
  }),
  metadata: Metadata,
};

const optional = allOptional(writable);

export const ContactCreate = Type.Object(
  { customer_id: Type.Optional(Type.Union([UuidSchema, Type.Null()])), ...optional },
  { additionalProperties: false },
);
export type ContactCreate = Static<typeof ContactCreate>;

export const CustomerContactCreate = Type.Object(optional, { additionalProperties: false });

export const ContactPatch = Type.Object(
  { customer_id: Type.Optional(Type.Union([UuidSchema, Type.Null()])), ...optional },
  { additionalProperties: false, minProperties: 1 },
);
export type ContactPatch = Static<typeof ContactPatch>;

export const ContactSchema = Type.Object(
  {
    id: UuidSchema,
    number: Type.Integer({ description: 'Integer id, unique in the tenant' }),
    customer_id: Type.Union([UuidSchema, Type.Null()], { description: "null for the tenant's own contacts" }),
    ...writable,
    phone_e164: NullableString({ description: 'phone in E.164' }),
    fax_e164: NullableString({ description: 'fax in E.164' }),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    deleted_at: NullableString({ format: 'date-time' }),
  },
  { $id: 'Contact' },
);
export type Contact = Static<typeof ContactSchema>;

export const ContactRef = Type.Unsafe<Contact>(Type.Ref('Contact'));
export const ContactList = ListEnvelope(ContactRef);

export const CONTACT_SORTS = ['created_at', 'updated_at', 'name', 'email'] as const;

export const ContactListQuery = Type.Object(
  {
    ...PageQueryFields,
    sort: Type.Optional(
      Type.String({
        description: `One of ${CONTACT_SORTS.join(', ')}; prefix "-" for descending. Default created_at.`,
      }),
    ),
    customer_id: Type.Optional(UuidSchema),
    role: Type.Optional(Type.String({ maxLength: 100, description: 'Role, case-insensitive' })),
    contact_type: Type.Optional(Type.String({ enum: [...CONTACT_TYPES] })),
    email: Type.Optional(Type.String({ maxLength: 254, description: 'Exact email, case-insensitive' })),
    phone: Type.Optional(
      Type.String({ maxLength: 40, description: 'Phone in any format, matched on E.164' }),
    ),
    is_primary: Type.Optional(Type.Boolean()),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Search name, email and phone' }),
    ),
  },
  { additionalProperties: false },
);
export type ContactListQuery = Static<typeof ContactListQuery>;
