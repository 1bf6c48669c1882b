// OData v4 system query options for customerContacts: a real $filter parser (tokenizer + precedence-climbing
// parser + typed translation onto the core's filter AST), $orderby, $select, $top/$skip, $count, $expand and the
// odata.maxpagesize preference. Every problem is a BcError naming it, in the wording of Microsoft's OData library
// where Business Central passes its messages through.
import type { ContactCondition, QueryableContactColumn } from '../../contacts/contacts.repo.ts';
import { BcError, CONTACT_PROPERTIES, type ContactProperty } from './businesscentral.mapping.ts';

const ENTITY_TYPE = 'Microsoft.NAV.customerContact';
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Deeper nesting than this is no real filter; it also keeps the recursive parser far from the stack limit. */
const MAX_DEPTH = 64;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

function badRequest(message: string): BcError {
  return new BcError(400, 'BadRequest', message);
}

function unknownProperty(name: string): BcError {
  return badRequest(`Could not find a property named '${name}' on type '${ENTITY_TYPE}'.`);
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer

type Token =
  | { kind: 'lparen' | 'rparen' | 'comma' | 'end'; pos: number }
  | { kind: 'ident'; pos: number; text: string }
  | { kind: 'string'; pos: number; value: string }
  | { kind: 'guid'; pos: number; value: string }
  | { kind: 'number'; pos: number; value: number; text: string };

const GUID_AT = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/y;
const NUMBER_AT = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])/y;
const IDENT_AT = /[A-Za-z_][A-Za-z0-9_]*/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const sticky = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    return re.exec(text)?.[0];
  };
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: ch === '(' ? 'lparen' : ch === ')' ? 'rparen' : 'comma', pos: i });
      i++;
      continue;
    }
    if (ch === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length)
          throw badRequest(`Unterminated string literal at position ${start} in '${text}'.`);
        const c = text[i] as string;
        if (c === "'") {
          // '' inside a literal is one quote.
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      tokens.push({ kind: 'string', pos: start, value });
      continue;
    }
    // A GUID can start with digits or letters, so it is tried before numbers and names.
    const guid = sticky(GUID_AT);
    if (guid) {
      tokens.push({ kind: 'guid', pos: i, value: guid.toLowerCase() });
      i += guid.length;
      continue;
    }
    const number = sticky(NUMBER_AT);
    if (number) {
      tokens.push({ kind: 'number', pos: i, value: Number(number), text: number });
      i += number.length;
      continue;
    }
    const ident = sticky(IDENT_AT);
    if (ident) {
      tokens.push({ kind: 'ident', pos: i, text: ident });
      i += ident.length;
      continue;
    }
    throw badRequest(`Syntax error: character '${ch}' is not valid at position ${i} in '${text}'.`);
  }
  tokens.push({ kind: 'end', pos: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser: or < and < not < comparison < primary

type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
const COMPARE_OPS: readonly string[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];

type Literal =
  | { type: 'Edm.String'; value: string }
  | { type: 'Edm.Guid'; value: string }
  | { type: 'Edm.Int32' | 'Edm.Int64' | 'Edm.Decimal' | 'Edm.Double'; value: number }
  | { type: 'Edm.Boolean'; value: boolean }
  | { type: null; value: null };

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; op: CompareOp; left: FilterNode; right: FilterNode; pos: number }
  | { kind: 'call'; name: string; args: FilterNode[]; pos: number }
  | { kind: 'property'; name: string; pos: number }
  | { kind: 'literal'; literal: Literal; pos: number };

class Parser {
  #i = 0;
  #depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  parse(): FilterNode {
    if (this.#peek().kind === 'end') throw badRequest(`Expression expected at position 0 in '${this.text}'.`);
    const node = this.#or();
    const next = this.#peek();
    if (next.kind !== 'end') {
      throw badRequest(`Syntax error at position ${next.pos} in '${this.text}'.`);
    }
    return node;
  }

  #peek(): Token {
    return this.tokens[this.#i] as Token;
  }

  #next(): Token {
    return this.tokens[this.#i++] as Token;
  }

  #keyword(word: string): boolean {
    const t = this.#peek();
    if (t.kind === 'ident' && t.text.toLowerCase() === word) {
      this.#i++;
      return true;
    }
    return false;
  }

  #enter(): void {
    if (++this.#depth > MAX_DEPTH) {
      throw badRequest(`The $filter expression is nested more than ${MAX_DEPTH} levels deep.`);
    }
  }

  #or(): FilterNode {
    let left = this.#and();
    while (this.#keyword('or')) left = { kind: 'or', left, right: this.#and() };
    return left;
  }

  #and(): FilterNode {
    let left = this.#not();
    while (this.#keyword('and')) left = { kind: 'and', left, right: this.#not() };
    return left;
  }

  // `not` binds to the comparison that follows it (`not firstName eq 'A'` is `not (firstName eq 'A')`), the
  // reading clients mean; OData's grammar would bind it to `firstName` alone and reject the expression.
  #not(): FilterNode {
    if (this.#keyword('not')) {
      this.#enter();
      const operand = this.#not();
      this.#depth--;
      return { kind: 'not', operand };
    }
    return this.#comparison();
  }

  #comparison(): FilterNode {
    const left = this.#primary();
    const t = this.#peek();
    if (t.kind === 'ident' && COMPARE_OPS.includes(t.text.toLowerCase())) {
      this.#i++;
      const right = this.#primary();
      const after = this.#peek();
      if (after.kind === 'ident' && COMPARE_OPS.includes(after.text.toLowerCase())) {
        throw badRequest(`Syntax error at position ${after.pos} in '${this.text}'.`);
      }
      return { kind: 'compare', op: t.text.toLowerCase() as CompareOp, left, right, pos: t.pos };
    }
    return left;
  }

  #primary(): FilterNode {
    const t = this.#next();
    switch (t.kind) {
      case 'lparen': {
        this.#enter();
        const inner = this.#or();
        this.#depth--;
        const close = this.#next();
        if (close.kind !== 'rparen') {
          throw badRequest(`')' or operator expected at position ${close.pos} in '${this.text}'.`);
        }
        return inner;
      }
      case 'string':
        return { kind: 'literal', literal: { type: 'Edm.String', value: t.value }, pos: t.pos };
      case 'guid':
        return { kind: 'literal', literal: { type: 'Edm.Guid', value: t.value }, pos: t.pos };
      case 'number':
        return { kind: 'literal', literal: numberLiteral(t.value, t.text), pos: t.pos };
      case 'ident': {
        const word = t.text.toLowerCase();
        if (word === 'null') return { kind: 'literal', literal: { type: null, value: null }, pos: t.pos };
        if (word === 'true' || word === 'false') {
          return { kind: 'literal', literal: { type: 'Edm.Boolean', value: word === 'true' }, pos: t.pos };
        }
        if (this.#peek().kind === 'lparen') {
          this.#i++;
          this.#enter();
          const args: FilterNode[] = [];
          if (this.#peek().kind !== 'rparen') {
            for (;;) {
              args.push(this.#or());
              if (this.#peek().kind !== 'comma') break;
              this.#i++;
            }
          }
          this.#depth--;
          const close = this.#next();
          if (close.kind !== 'rparen') {
            throw badRequest(`')' or ',' expected at position ${close.pos} in '${this.text}'.`);
          }
          return { kind: 'call', name: t.text, args, pos: t.pos };
        }
        if (['and', 'or', 'not', ...COMPARE_OPS].includes(word)) {
          throw badRequest(`Expression expected at position ${t.pos} in '${this.text}'.`);
        }
        return { kind: 'property', name: t.text, pos: t.pos };
      }
      default:
        throw badRequest(`Expression expected at position ${t.pos} in '${this.text}'.`);
    }
  }
}

function numberLiteral(value: number, text: string): Literal {
  if (/[.eE]/.test(text)) return { type: /[eE]/.test(text) ? 'Edm.Double' : 'Edm.Decimal', value };
  return {
    type: Number.isSafeInteger(value) && Math.abs(value) <= 2 ** 31 - 1 ? 'Edm.Int32' : 'Edm.Int64',
    value,
  };
}

export function parseFilter(text: string): FilterNode {
  return new Parser(text, tokenize(text)).parse();
}

// ---------------------------------------------------------------------------------------------------------------
// Translation onto the core filter AST

const OP_KIND: Record<CompareOp, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};
const FLIP: Record<CompareOp, CompareOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };
const STRING_FUNCTIONS = ['contains', 'startswith', 'endswith'] as const;
type StringFunction = (typeof STRING_FUNCTIONS)[number];
// OData's other canonical functions: known names, not supported here (Business Central supports few of them).
const OTHER_FUNCTIONS = [
  'length',
  'indexof',
  'substring',
  'tolower',
  'toupper',
  'trim',
  'concat',
  'matchespattern',
  'year',
  'month',
  'day',
  'hour',
  'minute',
  'second',
  'date',
  'time',
  'now',
  'round',
  'floor',
  'ceiling',
  'cast',
  'isof',
];

const TRUE: ContactCondition = { and: [] };
const FALSE: ContactCondition = { or: [] };

function propertyNamed(name: string): ContactProperty | undefined {
  return Object.hasOwn(CONTACT_PROPERTIES, name)
    ? (CONTACT_PROPERTIES[name as keyof typeof CONTACT_PROPERTIES] as ContactProperty)
    : undefined;
}

function filterable(name: string): ContactProperty {
  const prop = propertyNamed(name);
  if (!prop) throw unknownProperty(name);
  if (!prop.column) {
    throw badRequest(`Filtering on the property '${name}' is not supported: it is calculated, not stored.`);
  }
  return prop;
}

/** A blank (null) string value satisfies `'' op value`: '' sorts before every other string. */
function blankSatisfies(op: CompareOp | StringFunction, value: string): boolean {
  switch (op) {
    case 'eq':
    case 'ge':
    case 'contains':
    case 'startswith':
    case 'endswith':
      return value === '';
    case 'ne':
    case 'lt':
      return value !== '';
    case 'le':
      return true;
    case 'gt':
      return false;
  }
}

/**
 * A condition on a string property. Business Central strings are never null (blank is ''), while core columns
 * hold null for "not set": null is read as '' so `firstName eq ''`, `ne 'x'` and `lt 'B'` match contacts without
 * a first name, and every condition is two-valued (so `not` is exact).
 */
function stringCondition(
  prop: ContactProperty,
  op: CompareOp | StringFunction,
  raw: string,
): ContactCondition {
  const column = prop.column as QueryableContactColumn;
  const value = prop.lowercase ? raw.toLowerCase() : raw;
  const base: ContactCondition = { column, op, value };
  if (!prop.nullable) return base;
  return blankSatisfies(op, value)
    ? { or: [base, { column, op: 'eq', value: null }] }
    : { and: [base, { column, op: 'ne', value: null }] };
}

function typeName(literal: Literal): string {
  return literal.type ?? 'null';
}

function compare(node: Extract<FilterNode, { kind: 'compare' }>): ContactCondition {
  let { left, right, op } = node;
  // A boolean expression compared with true/false: `contains(email, 'x') eq true`.
  if (right.kind === 'literal' && right.literal.type === 'Edm.Boolean' && left.kind !== 'property') {
    if (op !== 'eq' && op !== 'ne') {
      throw badRequest(`The operator '${op}' cannot compare boolean values in '$filter'.`);
    }
    const inner = toCondition(left);
    return (op === 'eq') === right.literal.value ? inner : { not: inner };
  }
  if (left.kind === 'literal' && right.kind === 'property') {
    [left, right] = [right, left];
    op = FLIP[op];
  }
  if (left.kind !== 'property' || right.kind !== 'literal') {
    // An unknown or unsupported function is the better message (`tolower(email) eq 'x'`).
    for (const side of [left, right]) if (side.kind === 'call') call(side);
    throw badRequest(
      `Only comparisons of a property with a literal value are supported in '$filter' (position ${node.pos}).`,
    );
  }
  const prop = filterable(left.name);
  const literal = right.literal;
  const incompatible = () =>
    badRequest(
      `A binary operator with incompatible types was detected. Found operand types '${prop.edmType}' and '${typeName(literal)}' for operator kind '${OP_KIND[op]}'.`,
    );
  if (prop.edmType === 'Edm.Guid') {
    if (literal.type === null) return { column: prop.column as QueryableContactColumn, op, value: null };
    // A quoted GUID is accepted as well as the bare GUID literal OData defines.
    const value = literal.type === 'Edm.Guid' || literal.type === 'Edm.String' ? literal.value : undefined;
    if (value === undefined || !GUID.test(value)) throw incompatible();
    return { column: prop.column as QueryableContactColumn, op, value: value.toLowerCase() };
  }
  if (literal.type === null) return stringCondition(prop, op, '');
  if (literal.type !== 'Edm.String') throw incompatible();
  return stringCondition(prop, op, literal.value);
}

function call(node: Extract<FilterNode, { kind: 'call' }>): ContactCondition {
  const name = node.name.toLowerCase();
  if (!(STRING_FUNCTIONS as readonly string[]).includes(name)) {
    if (OTHER_FUNCTIONS.includes(name)) {
      throw badRequest(`The function '${node.name}' is not supported in '$filter'.`);
    }
    throw badRequest(`Unknown function '${node.name}'.`);
  }
  const signature = () =>
    badRequest(
      `No function signature for the function with name '${name}' matches the specified arguments. The function signatures considered are: ${name}(Edm.String Nullable=true, Edm.String Nullable=true).`,
    );
  const [target, arg] = node.args;
  if (node.args.length !== 2 || target?.kind !== 'property' || arg?.kind !== 'literal') throw signature();
  const prop = filterable(target.name);
  if (prop.edmType !== 'Edm.String') throw signature();
  if (arg.literal.type !== 'Edm.String' && arg.literal.type !== null) throw signature();
  return stringCondition(prop, name as StringFunction, arg.literal.value ?? '');
}

function toCondition(node: FilterNode): ContactCondition {
  switch (node.kind) {
    case 'and':
      return { and: [toCondition(node.left), toCondition(node.right)] };
    case 'or':
      return { or: [toCondition(node.left), toCondition(node.right)] };
    case 'not':
      return { not: toCondition(node.operand) };
    case 'compare':
      return compare(node);
    case 'call':
      return call(node);
    case 'literal':
      if (node.literal.type === 'Edm.Boolean') return node.literal.value ? TRUE : FALSE;
      break;
    case 'property':
      filterable(node.name);
      break;
  }
  throw badRequest('The $filter expression must evaluate to a single boolean value.');
}

/** Parses `$filter` into a condition over the allow-listed contact columns. */
export function filterToCondition(text: string): ContactCondition {
  return toCondition(parseFilter(text));
}

// ---------------------------------------------------------------------------------------------------------------
// The other system query options

export interface ODataQuery {
  where?: ContactCondition | undefined;
  orderBy: { column: QueryableContactColumn; desc: boolean }[];
  /** Properties to return, in entity order; undefined: all. */
  select?: string[] | undefined;
  expandPdf: boolean;
  top?: number | undefined;
  skip: number;
  count: boolean;
}

const SUPPORTED = new Set([
  '$filter',
  '$orderby',
  '$select',
  '$expand',
  '$top',
  '$skip',
  '$count',
  '$format',
  '$schemaversion',
]);

function nonNegative(name: string, value: string): number {
  const n = /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw badRequest(
      `Invalid value '${value}' for ${name} query option found. The ${name} query option requires a non-negative integer value.`,
    );
  }
  return n;
}

function parseOrderBy(text: string): ODataQuery['orderBy'] {
  const out: ODataQuery['orderBy'] = [];
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*$/i.exec(part);
    if (!m) throw badRequest(`Syntax error in '$orderby': '${part.trim()}' is not 'property [asc|desc]'.`);
    const name = m[1] as string;
    const prop = propertyNamed(name);
    if (!prop) throw unknownProperty(name);
    if (!prop.column) {
      throw badRequest(`Ordering by the property '${name}' is not supported: it is calculated, not stored.`);
    }
    if (seen.has(name)) {
      throw badRequest(`Duplicate property named '${name}' is not supported in '$orderby' expression.`);
    }
    seen.add(name);
    out.push({ column: prop.column, desc: m[2]?.toLowerCase() === 'desc' });
  }
  return out;
}

function parseSelect(text: string): string[] | undefined {
  const names = new Set<string>();
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name === '*') return undefined;
    if (!name) throw badRequest(`Syntax error in '$select': empty item in '${text}'.`);
    if (!propertyNamed(name)) throw unknownProperty(name);
    names.add(name);
  }
  return Object.keys(CONTACT_PROPERTIES).filter((p) => names.has(p));
}

function parseExpand(text: string): boolean {
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name !== 'pdfDocument') throw unknownProperty(name || text);
  }
  return true;
}

/**
 * Reads the system query options of a customerContacts request. Custom options (no `$`) are ignored, as OData
 * prescribes; an unknown or repeated system option is an error.
 */
export function parseODataQuery(query: Record<string, unknown>, options: { single: boolean }): ODataQuery {
  const value = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      throw badRequest(
        `Query option '${name}' was specified more than once, but it must be specified at most once.`,
      );
    }
    return v;
  };
  for (const key of Object.keys(query)) {
    if (key.startsWith('$') && !SUPPORTED.has(key)) {
      throw badRequest(`The query parameter '${key}' is not supported.`);
    }
    value(key);
  }
  const format = value('$format');
  if (format !== undefined && !/^(json|application\/json\b.*)$/i.test(format.trim())) {
    throw badRequest(`The format '${format}' is not supported; use 'json'.`);
  }
  const select = value('$select');
  const expand = value('$expand');
  const parsed: ODataQuery = {
    orderBy: [],
    skip: 0,
    count: false,
    select: select === undefined ? undefined : parseSelect(select),
    expandPdf: expand === undefined ? false : parseExpand(expand),
  };
  if (options.single) {
    for (const name of ['$filter', '$orderby', '$top', '$skip', '$count']) {
      if (value(name) !== undefined) {
        throw badRequest(`The query option '${name}' is not allowed on a single entity.`);
      }
    }
    return parsed;
  }
  const filter = value('$filter');
  if (filter !== undefined) parsed.where = filterToCondition(filter);
  const orderby = value('$orderby');
  if (orderby !== undefined) parsed.orderBy = parseOrderBy(orderby);
  const top = value('$top');
  if (top !== undefined) parsed.top = nonNegative('$top', top);
  const skip = value('$skip');
  if (skip !== undefined) parsed.skip = nonNegative('$skip', skip);
  const count = value('$count');
  if (count !== undefined) {
    if (count !== 'true' && count !== 'false') throw badRequest(`'${count}' is not a valid count option.`);
    parsed.count = count === 'true';
  }
  return parsed;
}

/** The page size a client asked for with `Prefer: odata.maxpagesize=N`, bounded by the core's limit. */
export function maxPageSize(prefer: string | string[] | undefined): number | undefined {
  const text = Array.isArray(prefer) ? prefer.join(',') : prefer;
  if (!text) return undefined;
  const m = /(?:^|[,;\s])odata\.maxpagesize\s*=\s*"?(\d{1,9})"?/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= 1 ? Math.min(n, MAX_PAGE_SIZE) : undefined;
}
