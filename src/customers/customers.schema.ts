import { type Static, Type } from 'typebox';
import {
  allOptional,
  ListEnvelope,
  Metadata,
  NullableString,
  PageQueryFields,
  UuidSchema,
} from '../http/schemas.ts';

const NullableUuid = Type.Union([UuidSchema, Type.Null()]);

const writable = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  external_ref: NullableString({
    minLength: 1,
    maxLength: 200,
    description: 'Your id for this customer; unique among live customers',
  }),
  metadata: Metadata,
  billing_contact_id: NullableUuid,
  technical_contact_id: NullableUuid,
  security_contact_id: NullableUuid,
};

export const CustomerCreate = Type.Object(
  {
    name: writable.name,
    external_ref: Type.Optional(writable.external_ref),
    metadata: Type.Optional(writable.metadata),
    billing_contact_id: Type.Optional(writable.billing_contact_id),
    technical_contact_id: Type.Optional(writable.technical_contact_id),
    security_contact_id: Type.Optional(writable.security_contact_id),
  },
  { additionalProperties: false },
);
export type CustomerCreate = Static<typeof CustomerCreate>;

export const CustomerPatch = Type.Object(allOptional(writable), {
  additionalProperties: false,
  minProperties: 1,
});
export type CustomerPatch = Static<typeof CustomerPatch>;

export const CustomerSchema = Type.Object(
  {
    id: UuidSchema,
    number: Type.Integer({ description: 'Integer id, unique in the tenant' }),
    ...writable,
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    deleted_at: NullableString({ format: 'date-time' }),
  },
  { $id: 'Customer' },
);
export type Customer = Static<typeof CustomerSchema>;

export const CustomerRef = Type.Unsafe<Customer>(Type.Ref('Customer'));
export const CustomerList = ListEnvelope(CustomerRef);

export const CustomerListQuery = Type.Object(
  {
    ...PageQueryFields,
    sort: Type.Optional(
      Type.String({ description: 'created_at, updated_at or name; prefix "-" for descending' }),
    ),
    external_ref: Type.Optional(Type.String({ maxLength: 200 })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Search the name' })),
  },
  { additionalProperties: false },
);
export type CustomerListQuery = Static<typeof CustomerListQuery>;

export const CustomerIdParams = Type.Object({ customer_id: UuidSchema }, { additionalProperties: false });
export type CustomerIdParams = Static<typeof CustomerIdParams>;
