import { type Static, Type } from 'typebox';
import { allOptional, ListEnvelope, NullableString, UuidSchema } from '../http/schemas.ts';

/** Ecwid's channel types. */
export const CHANNEL_TYPES = [
  'EMAIL',
  'PHONE',
  'FACEBOOK',
  'INSTAGRAM',
  'TWITTER',
  'YOUTUBE',
  'TIKTOK',
  'PINTEREST',
  'VK',
  'FB_MESSENGER',
  'WHATSAPP',
  'TELEGRAM',
  'VIBER',
  'URL',
  'OTHER',
] as const;

const writable = {
  type: Type.String({ enum: [...CHANNEL_TYPES] }),
  value: Type.String({
    minLength: 1,
    maxLength: 500,
    description: 'Email, phone number, link or other address',
  }),
  handle: NullableString({ maxLength: 200, description: 'Handle on the network, e.g. a page slug' }),
  note: NullableString({ maxLength: 1000 }),
  is_default: Type.Boolean({
    description: 'The default channel of its type; setting it clears the previous one',
  }),
  position: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Display order, from 0' }),
  contact_id: Type.Union([UuidSchema, Type.Null()], {
    description: 'The contact this channel reaches, if any',
  }),
};

const { type, value, ...rest } = allOptional(writable);
export const ChannelCreate = Type.Object(
  { type: writable.type, value: writable.value, ...rest },
  { additionalProperties: false },
);
export type ChannelCreate = Static<typeof ChannelCreate>;

export const ChannelPatch = Type.Object(
  { type, value, ...rest },
  { additionalProperties: false, minProperties: 1 },
);
export type ChannelPatch = Static<typeof ChannelPatch>;

export const ChannelSchema = Type.Object(
  {
    id: UuidSchema,
    number: Type.Integer(),
    customer_id: UuidSchema,
    ...writable,
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Channel' },
);
export type Channel = Static<typeof ChannelSchema>;

export const ChannelRef = Type.Unsafe<Channel>(Type.Ref('Channel'));
export const ChannelList = ListEnvelope(ChannelRef);

export const ChannelListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 1000 })),
    type: Type.Optional(Type.String({ enum: [...CHANNEL_TYPES] })),
    contact_id: Type.Optional(UuidSchema),
  },
  { additionalProperties: false },
);
export type ChannelListQuery = Static<typeof ChannelListQuery>;
