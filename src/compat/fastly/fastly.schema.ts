// TypeBox schemas of the Fastly dialect: fastly-js 13's Contact / SchemasContactResponse / InlineResponse200
// models, the JSON:API envelope of the recorded responses, and Fastly's error shape.
import { Type } from 'typebox';
import { CONTACT_TYPES } from '../../contacts/contacts.schema.ts';
import { allOptional, NullableString } from '../../http/schemas.ts';
import { JSON_API_TYPE } from './fastly.mapping.ts';

const CustomerId = Type.String({
  format: 'uuid',
  description: "Alphanumeric string identifying the customer (the core customer's UUID).",
});
const ContactId = Type.String({
  format: 'uuid',
  description: "An alphanumeric string identifying the customer contact (the core contact's UUID).",
});

export const CustomerParams = Type.Object({ customer_id: CustomerId }, { additionalProperties: false });
export const ContactParams = Type.Object(
  { customer_id: CustomerId, contact_id: ContactId },
  { additionalProperties: false },
);

// Bounds are the core's column limits, so an over-long value is a 400 naming the field, not a database error.
const writable = {
  user_id: NullableString({
    maxLength: 100,
    description: 'The alphanumeric string representing the user for this customer contact.',
  }),
  name: NullableString({
    maxLength: 200,
    description: 'The name of this contact, when user_id is not provided.',
  }),
  email: NullableString({
    maxLength: 254,
    description: 'The email of this contact, when a user_id is not provided.',
  }),
  phone: NullableString({
    maxLength: 40,
    description:
      'The phone number for this contact. Required for primary, technical, and security contact types.',
  }),
  customer_id: NullableString({
    maxLength: 100,
    description:
      'The customer for this contact (fastly-js option customer_id2); when given, must equal the path.',
  }),
};

const ContactType = Type.String({ enum: [...CONTACT_TYPES], description: 'The type of contact.' });

/** The create body as a form (what fastly-js sends) or a JSON object. */
export const ContactBody = Type.Object(
  { contact_type: ContactType, ...allOptional(writable) },
  { additionalProperties: false },
);

export const JsonApiContactBody = Type.Object(
  {
    data: Type.Object(
      {
        type: Type.Literal(JSON_API_TYPE),
        attributes: ContactBody,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'JSON:API, as go-fastly sends it' },
);

const Timestamp = Type.String({ format: 'date-time', description: 'Date and time in ISO 8601 format.' });

export const FastlyContactSchema = Type.Object({
  id: Type.String(),
  customer_id: NullableString(),
  user_id: NullableString(),
  contact_type: NullableString(),
  name: NullableString(),
  email: NullableString(),
  phone: NullableString(),
  created_at: Timestamp,
  updated_at: Timestamp,
  deleted_at: NullableString({ format: 'date-time' }),
});

const JsonApiResource = Type.Object({
  id: Type.String(),
  type: Type.Literal(JSON_API_TYPE),
  attributes: Type.Object({
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: NullableString({ format: 'date-time' }),
    contact_type: NullableString(),
    phone: NullableString(),
    name: NullableString(),
    email: NullableString(),
    user_id: NullableString(),
  }),
});

export const JsonApiList = Type.Object({ data: Type.Array(JsonApiResource) });
export const JsonApiSingle = Type.Object({ data: JsonApiResource });

export const StatusOk = Type.Object({ status: Type.Literal('ok') });

export const FastlyErrorSchema = Type.Object(
  { msg: Type.String(), detail: Type.Optional(Type.String()) },
  { description: 'Fastly error' },
);
