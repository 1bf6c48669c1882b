// What DNSimple's recorded responses (the fixtures of its API clients, v2/api/*.http) show, written down as facts
// for the tests: status codes, the headers clients rely on, the keys of each body in their order with the JSON
// type of each value, and the exact wording of the errors. The recordings themselves are not copied here: their
// source carries no licence, and the tests need the facts, not the files.

/** A JSON type name, an object of shapes (keys in order), or a one-item array: the shape of every item. */
export type Shape = 'number' | 'string' | 'null' | 'boolean' | { [key: string]: Shape } | [Shape];

export interface Recorded {
  status: number;
  /** Headers as recorded, for those whose value is not per request; `ratelimit`: X-RateLimit-* are present. */
  headers: { 'content-type'?: string; 'cache-control': string; allow?: string };
  ratelimit: boolean;
  /** The body's shape (success), or its exact value (errors); undefined: no body. */
  shape?: Shape;
  body?: unknown;
}

const JSON_UTF8 = 'application/json; charset=utf-8';
const REVALIDATE = 'max-age=0, private, must-revalidate';

/** A contact as every recorded response carries it (createContact, getContact, updateContact, listContacts). */
const CONTACT: Shape = {
  id: 'number',
  account_id: 'number',
  label: 'string',
  first_name: 'string',
  last_name: 'string',
  job_title: 'string',
  organization_name: 'string',
  email: 'string',
  phone: 'string',
  fax: 'string',
  address1: 'string',
  address2: 'string',
  city: 'string',
  state_province: 'string',
  postal_code: 'string',
  country: 'string',
  created_at: 'string',
  updated_at: 'string',
};

const PAGINATION: Shape = {
  current_page: 'number',
  per_page: 'number',
  total_entries: 'number',
  total_pages: 'number',
};

/** createContact with an empty body (createContact/error-validation-errors.http, validation-error.http). */
const VALIDATION_FAILED = {
  message: 'Validation failed',
  errors: {
    address1: ["can't be blank"],
    city: ["can't be blank"],
    country: ["can't be blank"],
    email: ["can't be blank", 'is an invalid email address'],
    first_name: ["can't be blank"],
    last_name: ["can't be blank"],
    phone: ["can't be blank", 'is probably not a phone number'],
    postal_code: ["can't be blank"],
    state_province: ["can't be blank"],
  },
};

export const RECORDED = {
  createContact: {
    status: 201,
    headers: { 'content-type': JSON_UTF8, 'cache-control': REVALIDATE },
    ratelimit: true,
    shape: { data: CONTACT },
  },
  getContact: {
    status: 200,
    headers: { 'content-type': JSON_UTF8, 'cache-control': REVALIDATE },
    ratelimit: true,
    shape: { data: CONTACT },
  },
  updateContact: {
    status: 200,
    headers: { 'content-type': JSON_UTF8, 'cache-control': REVALIDATE },
    ratelimit: true,
    shape: { data: CONTACT },
  },
  listContacts: {
    status: 200,
    headers: { 'content-type': JSON_UTF8, 'cache-control': REVALIDATE },
    ratelimit: true,
    shape: { data: [CONTACT], pagination: PAGINATION },
  },
  /** pages-1of3.http: contacts abbreviated to {id}; the envelope and pagination are the real ones. */
  listPage: {
    status: 200,
    headers: { 'content-type': JSON_UTF8, 'cache-control': REVALIDATE },
    ratelimit: true,
    shape: { data: [{ id: 'number' }], pagination: PAGINATION },
  },
  validationFailed: {
    status: 400,
    headers: { 'content-type': JSON_UTF8, 'cache-control': 'no-cache' },
    ratelimit: true,
    body: VALIDATION_FAILED,
  },
  deleteContact: {
    status: 204,
    headers: { 'cache-control': 'no-cache' },
    ratelimit: true,
  },
  contactInUse: {
    status: 400,
    headers: { 'content-type': JSON_UTF8, 'cache-control': 'no-cache' },
    ratelimit: true,
    body: { message: "The contact cannot be deleted because it's currently in use" },
  },
  /** notfound-contact.http: the id is the one asked for. */
  contactNotFound: {
    status: 404,
    headers: { 'content-type': JSON_UTF8, 'cache-control': 'no-cache' },
    ratelimit: false,
    body: { message: 'Contact `0` not found' },
  },
  /** method-not-allowed.http: no body, no content type; Allow lists the path's methods. */
  methodNotAllowed: {
    status: 405,
    headers: { 'cache-control': 'no-cache', allow: 'DELETE, GET, HEAD, PATCH, POST' },
    ratelimit: false,
  },
} satisfies Record<string, Recorded>;
