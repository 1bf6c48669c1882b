// Keyset (seek) pagination: a page is "the next N rows after (sort value, id)", so page 1,000 costs what page 1
// costs, and rows inserted while a client walks a list cause neither gaps nor duplicates.
import { type RawBuilder, sql } from 'kysely';
import { ERRORS } from '../http/errors.ts';

export interface SortColumn {
  /** SQL expression of the sort key (a column or an indexed expression); from a fixed list, never from input. */
  readonly expr: string;
  readonly type: 'timestamptz' | 'text' | 'bigint';
}

export interface Sort {
  readonly key: string;
  readonly desc: boolean;
  readonly column: SortColumn;
}

interface CursorPayload {
  s: string;
  v: string;
  id: string;
}

export function parseSort(
  raw: string | undefined,
  columns: Record<string, SortColumn>,
  fallback: string,
): Sort {
  const text = raw ?? fallback;
  const desc = text.startsWith('-');
  const key = desc ? text.slice(1) : text;
  const column = columns[key];
  if (!column) {
    throw ERRORS.invalidField(
      'sort',
      'invalid_value',
      `must be one of: ${Object.keys(columns)
        .flatMap((k) => [k, `-${k}`])
        .join(', ')}`,
    );
  }
  return { key, desc, column };
}

export function encodeCursor(sort: Sort, value: string, id: string): string {
  const payload: CursorPayload = { s: `${sort.desc ? '-' : ''}${sort.key}`, v: value, id };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

export function decodeCursor(raw: string, sort: Sort): CursorPayload {
  try {
    const payload = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as CursorPayload;
    if (
      payload &&
      payload.s === `${sort.desc ? '-' : ''}${sort.key}` &&
      typeof payload.v === 'string' &&
      typeof payload.id === 'string' &&
      /^[0-9a-f-]{36}$/.test(payload.id) &&
      (sort.column.type !== 'timestamptz' || !Number.isNaN(Date.parse(payload.v))) &&
      (sort.column.type !== 'bigint' || /^-?\d{1,18}$/.test(payload.v))
    ) {
      return payload;
    }
  } catch {
    // fall through: any undecodable cursor is the same client error
  }
  throw ERRORS.invalidCursor();
}

/** The seek predicate `(sort, id) > (cursor)` (or `<` when descending), table-qualified by `alias`. */
export function seekPredicate(alias: string, sort: Sort, cursor: CursorPayload): RawBuilder<boolean> {
  const expr = sql.raw(sort.column.expr.replaceAll('$.', `${alias}.`));
  const op = sql.raw(sort.desc ? '<' : '>');
  const cast = sql.raw(sort.column.type);
  // The value goes in as text and is cast by PostgreSQL: a timestamptz parameter would be parsed by the driver
  // into a JS Date and lose its microseconds, and the seek would skip rows that tie within a millisecond.
  return sql<boolean>`(${expr}, ${sql.raw(`${alias}.id`)}) ${op} (${cursor.v}::text::${cast}, ${cursor.id}::uuid)`;
}

/** ORDER BY for the sort, with id as the tie-breaker in the same direction. */
export function orderBy(alias: string, sort: Sort): RawBuilder<unknown> {
  const dir = sort.desc ? 'desc' : 'asc';
  return sql.raw(`${sort.column.expr.replaceAll('$.', `${alias}.`)} ${dir}, ${alias}.id ${dir}`);
}

/** The sort key as text with full precision (timestamps keep their microseconds), for the next cursor. */
export function cursorValue(alias: string, sort: Sort): RawBuilder<string> {
  return sql<string>`(${sql.raw(sort.column.expr.replaceAll('$.', `${alias}.`))})::text`;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

/** Cuts the limit+1 rows a query fetched into a page and the cursor to the next one. */
export function toPage<R extends { id: string; cursor_value: string }, T>(
  rows: R[],
  limit: number,
  sort: Sort,
  map: (row: R) => T,
): Page<T> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return {
    data: pageRows.map(map),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor(sort, last.cursor_value, last.id) : null,
  };
}
