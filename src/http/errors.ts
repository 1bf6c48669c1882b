// One closed catalogue of errors. Services throw AppError; the native API renders RFC 9457 problem details and
// each dialect maps the same errors onto its vendor's shape.

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    message: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const ERRORS = {
  malformedJson: (detail: string) => new AppError(400, 'malformed_json', 'Malformed JSON', detail),
  badRequest: (detail: string) => new AppError(400, 'bad_request', 'Bad request', detail),
  invalidCursor: () =>
    new AppError(
      400,
      'invalid_cursor',
      'Invalid cursor',
      'The cursor is not valid for this list and sort order.',
      [{ field: 'cursor', code: 'invalid', message: 'not a cursor issued for this list and sort order' }],
    ),
  unauthenticated: (detail = 'A valid API key is required: send "Authorization: Bearer <key>".') =>
    new AppError(401, 'unauthenticated', 'Unauthenticated', detail, [], { 'www-authenticate': 'Bearer' }),
  forbidden: (scope: string) =>
    new AppError(403, 'insufficient_scope', 'Insufficient scope', `This API key lacks the "${scope}" scope.`),
  notFound: (resource: string, id?: string) =>
    new AppError(
      404,
      'not_found',
      'Not found',
      id ? `No ${resource} with id "${id}".` : `No such ${resource}.`,
    ),
  routeNotFound: (method: string, url: string) =>
    new AppError(404, 'route_not_found', 'Not found', `No route for ${method} ${url}.`),
  methodNotAllowed: (method: string, url: string) =>
    new AppError(405, 'method_not_allowed', 'Method not allowed', `${method} is not allowed on ${url}.`),
  conflict: (detail: string, code = 'conflict') => new AppError(409, code, 'Conflict', detail),
  contactInUse: (id: string) =>
    new AppError(
      409,
      'contact_in_use',
      'Contact in use',
      `Contact "${id}" is a designated billing, technical or security contact of a customer; unassign it first.`,
    ),
  idempotencyInFlight: () =>
    new AppError(
      409,
      'idempotency_key_in_use',
      'Conflict',
      'A request with this Idempotency-Key is still in progress.',
    ),
  idempotencyMismatch: () =>
    new AppError(
      422,
      'idempotency_key_reused',
      'Idempotency key reused',
      'This Idempotency-Key was already used with a different request.',
      [
        {
          field: 'Idempotency-Key',
          code: 'reused',
          message: 'already used with a different method, path or body',
        },
      ],
    ),
  preconditionFailed: () =>
    new AppError(
      412,
      'precondition_failed',
      'Precondition failed',
      'The If-Match ETag does not match the current version of the resource.',
    ),
  payloadTooLarge: () =>
    new AppError(413, 'payload_too_large', 'Payload too large', 'The request body is too large.'),
  unsupportedMediaType: (type: string) =>
    new AppError(
      415,
      'unsupported_media_type',
      'Unsupported media type',
      `Content-Type "${type}" is not supported; send application/json.`,
    ),
  validation: (errors: FieldError[]) =>
    new AppError(
      422,
      'validation_failed',
      'Validation failed',
      errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'The request is not valid.',
      errors,
    ),
  invalidField: (field: string, code: string, message: string) =>
    ERRORS.validation([{ field, code, message }]),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError(
      429,
      'rate_limited',
      'Too many requests',
      `This API key is over its rate limit; retry in ${retryAfterSeconds} s.`,
      [],
      {
        'retry-after': String(retryAfterSeconds),
      },
    ),
  unavailable: (detail = 'The database is unavailable; retry shortly.') =>
    new AppError(503, 'service_unavailable', 'Service unavailable', detail, [], { 'retry-after': '1' }),
  internal: () => new AppError(500, 'internal_error', 'Internal error', 'An unexpected error occurred.'),
};
