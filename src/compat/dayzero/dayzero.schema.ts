// DayZero's request and response shapes, as its reference pages name them, for the OpenAPI document and the
// success responses' serialisation. Requests are validated in the handlers (dayzero.mapping.ts), not by these
// schemas: FastAPI reports a bad header together with a bad body in one 422 list, in pydantic v2's words.
import { type Static, Type } from 'typebox';
import { NullableString } from '../../http/schemas.ts';

export const BusinessHeaders = Type.Object({
  'x-business-id': Type.String({
    format: 'uuid',
    description: "The business (tenant) UUID; must be the API key's own tenant",
  }),
});

export const CustomerParams = Type.Object({
  customer_id: Type.String({ description: 'Customer UUID' }),
});

export const ContactParams = Type.Object({
  customer_id: Type.String({ description: 'Customer UUID' }),
  contact_id: Type.String({ description: 'Contact UUID' }),
});

export const SORT_BY = ['created_at', 'updated_at', 'name', 'email'] as const;

export const ListQuery = Type.Object({
  cursor: Type.Optional(
    Type.String({ description: 'Cursor for pagination (next_cursor of a previous page)' }),
  ),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, description: 'Pagination limit, 1..1000; default 50' }),
  ),
  direction: Type.Optional(
    Type.String({
      enum: ['next', 'prev'],
      default: 'next',
      description:
        "Pagination direction: 'next' reads the rows after the cursor, 'prev' the rows before it (still returned in sort order)",
    }),
  ),
  include_total_count: Type.Optional(
    Type.Boolean({ default: false, description: 'Whether to include total_count' }),
  ),
  sort_by: Type.Optional(
    Type.String({ enum: [...SORT_BY], default: 'created_at', description: 'Column to sort by' }),
  ),
  descending: Type.Optional(
    Type.Boolean({ default: true, description: 'Sort direction: true for newest/largest first' }),
  ),
});

export const EntityContactCreateRequest = Type.Object(
  {
    name: Type.String({ maxLength: 200, description: 'Contact name.' }),
    email: Type.Optional(
      NullableString({ format: 'email', maxLength: 254, description: 'Contact email address.' }),
    ),
    phone: Type.Optional(NullableString({ maxLength: 40, description: 'Contact phone number.' })),
    role: Type.Optional(
      NullableString({ maxLength: 100, description: "Contact role (e.g., 'Billing', 'Technical')." }),
    ),
    is_primary: Type.Optional(Type.Boolean({ description: 'Set as primary contact.' })),
    notes: Type.Optional(NullableString({ maxLength: 5000, description: 'Notes about this contact.' })),
  },
  { description: 'Unknown fields are ignored.' },
);

export const EntityContactUpdateRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Updated contact name.' })),
    email: Type.Optional(
      NullableString({
        format: 'email',
        maxLength: 254,
        description: 'Updated email address; null clears it.',
      }),
    ),
    phone: Type.Optional(
      NullableString({ maxLength: 40, description: 'Updated phone number; null clears it.' }),
    ),
    role: Type.Optional(NullableString({ maxLength: 100, description: 'Updated role; null clears it.' })),
    is_primary: Type.Optional(
      Type.Boolean({ description: "Set as primary contact (demotes the customer's previous primary)." }),
    ),
    notes: Type.Optional(
      NullableString({ maxLength: 5000, description: 'Updated notes; null clears them.' }),
    ),
  },
  { description: 'Partial update: fields not sent are left unchanged. Unknown fields are ignored.' },
);

export const EntityContactResponse = Type.Object({
  id: Type.String({ description: 'Contact UUID.' }),
  entity_type: Type.String({ description: 'Type of parent entity ("customer").' }),
  entity_id: Type.String({ description: 'Parent entity UUID.' }),
  name: Type.String({ description: 'Contact name.' }),
  email: NullableString({ description: 'Contact email.' }),
  phone: NullableString({ description: 'Contact phone.' }),
  role: NullableString({ description: 'Contact role.' }),
  is_primary: Type.Boolean({ description: 'Whether this is the primary contact.' }),
  notes: NullableString({ description: 'Notes about this contact.' }),
  created_at: Type.String({ format: 'date-time', description: 'Creation timestamp.' }),
  updated_at: Type.String({ format: 'date-time', description: 'Last update timestamp.' }),
});
export type EntityContactResponse = Static<typeof EntityContactResponse>;

export const EntityContactList = Type.Object({
  items: Type.Array(EntityContactResponse),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
  total_count: Type.Optional(Type.Integer({ description: 'Only when include_total_count=true' })),
});

export const DeleteResponse = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  code: Type.String(),
});

export const HTTPError = Type.Object(
  { detail: Type.String() },
  { description: "FastAPI's HTTPException body" },
);

export const HTTPValidationError = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        type: Type.String(),
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        input: Type.Unsafe({ description: 'The offending value (any JSON)' }),
        ctx: Type.Optional(Type.Unsafe({ type: 'object', additionalProperties: true })),
      }),
    ),
  },
  { description: "FastAPI's 422 body, in pydantic v2's types and messages" },
);

/** Error responses of a route: DayZero's FastAPI bodies. */
export function errors(...statuses: number[]) {
  const out: Record<number, typeof HTTPError | typeof HTTPValidationError> = {};
  for (const status of [401, 403, 404, ...statuses])
    out[status] = status === 422 ? HTTPValidationError : HTTPError;
  return out;
}
