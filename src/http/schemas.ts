// Schemas shared by every resource: problem details, ids, list envelopes and list query parameters.
import { type Static, type TOptional, type TSchema, Type } from 'typebox';

/** A string-or-null field (JSON Schema type array, so validators and serializers stay on the fast path). */
export function NullableString(
  options: {
    maxLength?: number;
    minLength?: number;
    format?: string;
    pattern?: string;
    description?: string;
    enum?: readonly string[];
  } = {},
) {
  const { enum: values, ...rest } = options;
  return Type.Unsafe<string | null>({
    type: ['string', 'null'],
    ...rest,
    ...(values ? { enum: [...values, null] } : {}),
  });
}

export const FieldErrorSchema = Type.Object({
  field: Type.String(),
  code: Type.String(),
  message: Type.String(),
});

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

const problemRef = Type.Unsafe<Static<typeof ProblemSchema>>(Type.Ref('Problem'));

const STATUS_TEXT: Record<number, string> = {
  400: 'Malformed request (bad JSON, bad cursor)',
  401: 'Missing or invalid API key',
  403: 'The API key lacks the required scope',
  404: 'Not found, or belongs to another tenant',
  409: 'Conflicts with the current state',
  412: 'If-Match does not match the current ETag',
  415: 'Unsupported Content-Type',
  422: 'Validation failed; errors[] names each field',
  429: 'Rate limited',
  503: 'Database unavailable; retry after Retry-After seconds',
};

/** Error responses for a route, all in the one problem envelope. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const status of [401, 429, 503, ...statuses]) {
    // Keyed by media type, so the OpenAPI document says application/problem+json, as the responses are served.
    out[status] = Type.Unsafe({
      description: STATUS_TEXT[status] ?? 'Error',
      content: { 'application/problem+json': { schema: problemRef } },
    });
  }
  return out;
}

export const UuidSchema = Type.String({ format: 'uuid', description: 'UUID' });

export const IdParams = Type.Object({ id: UuidSchema }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

export const PageQueryFields = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Page size, 1..200' }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 1000, description: 'Opaque cursor from next_cursor' })),
  include_deleted: Type.Optional(
    Type.Boolean({ default: false, description: 'Include soft-deleted objects' }),
  ),
  updated_since: Type.Optional(
    Type.String({ format: 'date-time', description: 'Only objects updated at or after this time' }),
  ),
};

export function ListEnvelope<T extends TSchema>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    has_more: Type.Boolean(),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  });
}

export const DeleteQuery = Type.Object(
  { purge: Type.Optional(Type.Boolean({ default: false, description: 'Erase for real (admin scope)' })) },
  { additionalProperties: false },
);

export const Metadata = Type.Record(
  Type.String({ maxLength: 40 }),
  Type.Unsafe<string | number | boolean | null>({
    type: ['string', 'number', 'boolean', 'null'],
    maxLength: 500,
  }),
  // propertyNames: a Record's key schema becomes a pattern, which does not bound the key's length by itself.
  {
    maxProperties: 50,
    propertyNames: { maxLength: 40 },
    description: 'Your own key/value data: at most 50 keys (≤ 40 chars) of scalar values',
  },
);

/** The same properties, each optional (for create-with-defaults and PATCH bodies). */
export function allOptional<P extends Record<string, TSchema>>(
  props: P,
): { [K in keyof P]: TOptional<P[K]> } {
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, Type.Optional(v)])) as {
    [K in keyof P]: TOptional<P[K]>;
  };
}
