// The tenant context a request (or a CLI command) acts in. Services take it explicitly; nothing below the routes
// knows about HTTP.

export const SCOPES = [
  'customers:read',
  'customers:write',
  'contacts:read',
  'contacts:write',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export interface TenantContext {
  readonly tenantId: string;
  readonly tenantNumber: number;
  readonly tenantSlug: string;
  readonly defaultRegion: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The API key acting, recorded on events; undefined for the CLI. */
  readonly apiKeyId?: string | undefined;
  readonly requestId?: string | undefined;
}

export function hasScope(ctx: TenantContext, scope: Scope): boolean {
  return ctx.scopes.has('admin') || ctx.scopes.has(scope);
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
