// The npm package `fastly` (fastly-js, a devDependency used by the dialect's tests) ships no types: the part of
// its CommonJS entry the tests use, read from node_modules/fastly/dist/{index,ApiClient,api/ContactApi}.js.
declare module 'fastly' {
  export class ApiClient {
    static instance: ApiClient;
    basePath: string;
    defaultHeaders: Record<string, string>;
    /** superagent plugins, each called with every request before it is sent. */
    plugins: ((request: SuperagentRequest) => void)[] | null;
    authenticate(token: string, type?: 'token'): void;
    buildUrl(
      path: string,
      pathParams: Record<string, unknown>,
      pathParamsAllowReserved: Record<string, boolean>,
      apiBasePath?: string | null,
    ): string;
  }

  /** The little of superagent's Request the tests look at: its 'request' event gives the Node ClientRequest. */
  export interface SuperagentRequest {
    on(
      event: 'request',
      listener: (request: { req: { getHeader(name: string): unknown }; _data?: unknown }) => void,
    ): void;
  }

  /** A SchemasContactResponse / ContactResponse: timestamps converted to Date, null kept. */
  export interface ContactModel {
    id?: string;
    customer_id?: string | null;
    user_id?: string | null;
    contact_type?: string | null;
    name?: string | null;
    email?: string | null;
    phone?: string | null;
    created_at?: Date | null;
    updated_at?: Date | null;
    deleted_at?: Date | null;
  }

  /** What the generated client rejects with on a non-2xx answer. */
  export interface ApiError {
    status?: number;
    body?: unknown;
    response?: { headers: Record<string, string> };
    error?: Error;
  }

  export interface CreateContactsOptions {
    customer_id: string;
    user_id?: string;
    contact_type?: string;
    name?: string;
    email?: string;
    phone?: string;
    customer_id2?: string;
  }

  export class ContactApi {
    constructor(apiClient?: ApiClient);
    apiClient: ApiClient;
    listContacts(options: { customer_id: string }): Promise<ContactModel[]>;
    createContacts(options: CreateContactsOptions): Promise<ContactModel>;
    deleteContact(options: { customer_id: string; contact_id: string }): Promise<{ status?: string } | null>;
  }
}
