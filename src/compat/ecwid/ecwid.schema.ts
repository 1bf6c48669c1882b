// Ecwid customer-contact shapes (docs.ecwid.com › REST API › Customers › Customer contacts). Value limits come
// from the core channel schema so the two APIs accept exactly the same values.
import { type Static, type TSchema, Type } from 'typebox';
import { CHANNEL_TYPES, ChannelCreate } from '../../channels/channels.schema.ts';

/** The core schema's constraints under an Ecwid description. */
function like<T extends TSchema>(schema: T, description: string) {
  return Type.Unsafe<Static<T>>({ ...(schema as object), description });
}

const core = ChannelCreate.properties;

const contactType = like(core.type, `Contact type, one of: ${CHANNEL_TYPES.join(', ')}`);
const contact = like(
  core.value,
  'Email, phone number or link to reach the contact, e.g. https://www.facebook.com/myshop_page for FACEBOOK',
);
const writable = {
  handle: Type.Optional(
    like(core.handle, 'Contact identifier on social media, e.g. the page slug myshop_page for FACEBOOK'),
  ),
  note: Type.Optional(like(core.note, "Store owner's notes on the contact")),
  default: Type.Optional(
    like(core.is_default, 'The default contact of its type; setting it clears the previous default'),
  ),
  orderBy: Type.Optional(
    like(core.position, 'Sorting order on the customer details page, from 0 (Ecwid documents it as boolean)'),
  ),
  // Read-only: accepted so an object read from the API can be sent back, and ignored.
  id: Type.Optional(Type.Integer({ description: 'Ignored: the id is the one in the path or a new one' })),
  timestamp: Type.Optional(Type.String({ description: 'Ignored: the creation time is set by the service' })),
};

export const EcwidPathParams = Type.Object(
  {
    storeId: Type.Integer({ minimum: 1, description: 'Store ID: your tenant number' }),
    customerId: Type.Integer({ minimum: 1, description: 'Customer ID: the customer `number`' }),
  },
  { additionalProperties: false },
);
export type EcwidPathParams = Static<typeof EcwidPathParams>;

export const EcwidContactParams = Type.Object(
  {
    ...EcwidPathParams.properties,
    contactId: Type.Integer({ minimum: 1, description: 'Customer contact ID: the channel `number`' }),
  },
  { additionalProperties: false },
);
export type EcwidContactParams = Static<typeof EcwidContactParams>;

export const EcwidContactCreate = Type.Object(
  { contact, type: contactType, ...writable },
  { additionalProperties: false },
);
export type EcwidContactCreate = Static<typeof EcwidContactCreate>;

export const EcwidContactUpdate = Type.Object(
  { contact: Type.Optional(contact), type: Type.Optional(contactType), ...writable },
  { additionalProperties: false },
);
export type EcwidContactUpdate = Static<typeof EcwidContactUpdate>;

export const EcwidContactSchema = Type.Object({
  id: Type.Integer({ description: 'Internal ID of the customer contact' }),
  contact: Type.String(),
  handle: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
  type: Type.String({ enum: [...CHANNEL_TYPES] }),
  default: Type.Boolean(),
  orderBy: Type.Integer(),
  timestamp: Type.String({ description: 'Creation time, e.g. 2025-03-26 11:07:12 +0000' }),
});
export type EcwidContact = Static<typeof EcwidContactSchema>;

export const EcwidContactList = Type.Object({ items: Type.Array(EcwidContactSchema) });

export const EcwidCreateStatus = Type.Object({
  createCount: Type.Integer({ description: '1 when the contact was created' }),
  id: Type.Integer({ description: 'ID of the new customer contact' }),
});
export const EcwidUpdateStatus = Type.Object({ updateCount: Type.Integer() });
export const EcwidDeleteStatus = Type.Object({ deleteCount: Type.Integer() });

export const EcwidErrorSchema = Type.Object({
  errorMessage: Type.String(),
  errorCode: Type.String({ description: 'e.g. WRONG_PARAMETER, INVALID_API_TOKEN, INSUFFICIENT_APP_SCOPE' }),
});

const ERROR_TEXT: Record<number, string> = {
  400: 'WRONG_PARAMETER: malformed JSON, unknown field or invalid value',
  403: 'INVALID_API_TOKEN (missing or unknown token) or INSUFFICIENT_APP_SCOPE',
  404: 'STORE_NOT_FOUND, CUSTOMER_NOT_FOUND or CUSTOMER_CONTACT_NOT_FOUND',
  409: 'CONSTRAINT_VIOLATION: a concurrent change conflicted; retry',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE: send application/json',
  503: 'SERVICE_UNAVAILABLE: retry after Retry-After seconds',
};

/** Error responses of a route, all `{ errorMessage, errorCode }`. */
export function ecwidErrors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const status of [403, 404, 503, ...statuses]) {
    out[status] = Type.Unsafe({ ...EcwidErrorSchema, description: ERROR_TEXT[status] ?? 'Error' });
  }
  return out;
}
