// Vendors' error bodies quote the offending input back (pydantic's `input`, OData's literal). A client can send
// JSON nested thousands of levels deep: quoting it verbatim overflows the serializer's stack and turns a 4xx into
// a 500. Length needs no bound here: the body limit already bounds it.

const MAX_DEPTH = 32;

/** A copy of `value` safe to echo in an error: nesting beyond MAX_DEPTH levels is replaced by "…". */
export function echoable(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) return value.map((v) => echoable(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, echoable(v, depth + 1)]),
  );
}

/** `value` as JSON text for an error message (strings as they are). */
export function echoText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(echoable(value)) ?? String(value);
}
