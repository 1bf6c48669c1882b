// PostgreSQL errors mapped by SQLSTATE (never by message text) onto the error catalogue.
import { AppError, ERRORS } from '../http/errors.ts';

interface PgError {
  code?: string;
  constraint_name?: string;
  constraint?: string;
  column_name?: string;
}

// Unique indexes that encode a business rule, and the error a client sees when one is hit.
const UNIQUE_RULES: Record<string, () => AppError> = {
  customers_external_ref: () =>
    ERRORS.conflict('Another customer already has this external_ref.', 'external_ref_taken'),
  tenants_slug_key: () => ERRORS.conflict('A tenant with this slug already exists.', 'slug_taken'),
};

const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '53300']);
const NODE_CONNECTION_CODES = new Set([
  'QUERY_DEADLINE',
  // A read could not be bound to its tenant across a reconnect (src/db/read-lanes.ts).
  'TENANT_BINDING',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/** Maps a database error to an AppError, or returns undefined when it is a genuine internal error. */
export function mapDatabaseError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const e = err as PgError;
  const code = e?.code;
  if (!code) return undefined;
  if (NODE_CONNECTION_CODES.has(code) || CONNECTION_CODES.has(code)) return ERRORS.unavailable();
  const constraint = e.constraint_name ?? e.constraint ?? '';
  switch (code) {
    case '23505':
      return UNIQUE_RULES[constraint]?.() ?? ERRORS.conflict('The request conflicts with existing data.');
    case '23503':
      return ERRORS.conflict('The object is referenced by another object.', 'referenced');
    case '23514':
      return ERRORS.validation([
        {
          field: constraint.replace(/_check$/, '').replace(/^[a-z]+_/, ''),
          code: 'invalid',
          message: 'violates a constraint',
        },
      ]);
    case '22001':
      return ERRORS.validation([
        { field: e.column_name ?? 'body', code: 'too_long', message: 'value too long' },
      ]);
    // No text or jsonb value can hold U+0000: text refuses the byte 0x00 (22021), jsonb the \u0000 escape (22P05).
    // Schemas bound types and lengths, not characters, so a client's value is what hits this.
    case '22021':
    case '22P05':
      return ERRORS.badRequest('Text values cannot contain the NUL character (U+0000).');
    case '57014':
      return ERRORS.unavailable('The query took too long; retry shortly.');
    case '40001':
    case '40P01':
      return ERRORS.conflict(
        'A concurrent update conflicted with this request; retry it.',
        'concurrent_update',
      );
    default:
      return undefined;
  }
}
