// Two Ajv instances: request bodies are validated exactly as sent (no type coercion, unknown fields rejected),
// while path and query strings, which are always text, are coerced to the declared types.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from './errors.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    coerceTypes: coerce,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
    messages: true,
  });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const stringAjv = makeAjv(true);
const cache = new WeakMap<object, ValidateFunction>();

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : stringAjv;
  const key = schema as object;
  if (httpPart === 'body') {
    const hit = cache.get(key);
    if (hit) return hit;
  }
  const fn = ajv.compile(schema as object);
  if (httpPart === 'body') cache.set(key, fn);
  return fn;
};

function joinPath(instancePath: string, extra?: string): string {
  const parts = instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.join('.');
}

/** Turns Ajv errors into field errors that name the field, one per field and problem. */
export function toFieldErrors(errors: ErrorObject[], root: string): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let field = joinPath(e.instancePath);
    let code = 'invalid';
    let message = e.message ?? 'is invalid';
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        field = joinPath(e.instancePath, String(params.missingProperty));
        code = 'required';
        message = 'is required';
        break;
      case 'additionalProperties':
        field = joinPath(e.instancePath, String(params.additionalProperty));
        code = 'unknown_field';
        message = 'is not a known field';
        break;
      case 'type':
        code = 'invalid_type';
        message = `must be ${String(params.type).replace(',', ' or ')}`;
        break;
      case 'format':
        code = 'invalid_format';
        message = `must be a valid ${String(params.format)}`;
        break;
      case 'pattern':
        code = 'invalid_format';
        message = 'has an invalid format';
        break;
      case 'maxLength':
      case 'maxItems':
      case 'maxProperties':
        code = 'too_long';
        message = `must have at most ${String(params.limit)} ${e.keyword === 'maxLength' ? 'characters' : 'entries'}`;
        break;
      case 'minLength':
      case 'minItems':
        code = 'too_short';
        message = `must have at least ${String(params.limit)} ${e.keyword === 'minLength' ? 'characters' : 'entries'}`;
        break;
      case 'enum': {
        code = 'invalid_value';
        const allowed = params.allowedValues as unknown[];
        message = `must be one of: ${allowed.filter((v) => v !== null).join(', ')}${allowed.includes(null) ? ' (or null)' : ''}`;
        break;
      }
      case 'const':
        code = 'invalid_value';
        message = `must be ${JSON.stringify(params.allowedValue)}`;
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        code = 'out_of_range';
        message = `must be ${String(params.comparison)} ${String(params.limit)}`;
        break;
      case 'anyOf':
      case 'oneOf':
        continue;
    }
    const name = field || root;
    const k = `${name}|${code}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ field: name, code, message });
  }
  return out;
}
