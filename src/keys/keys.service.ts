// API keys: the secret is shown once; only its SHA-256 is stored (the token carries 256 random bits, so a fast
// hash is as strong as a slow one here and keeps authentication cheap).
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import type { ApiKeyRow, TenantRow } from '../db/types.ts';
import { isScope, SCOPES, type Scope } from '../http/context.ts';
import { ERRORS } from '../http/errors.ts';
import { newId } from '../lib/ids.ts';

export const KEY_REVOKED_CHANNEL = 'contacts_api_key_revoked';
const TOKEN_PREFIX = 'ck_';

export interface ApiKey {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes.filter(isScope),
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
  };
}

export function hashToken(token: string): Buffer {
  return hash('sha256', token, 'buffer') as unknown as Buffer;
}

/** hashToken as base64: the API-key cache's key, computed on every request (one-shot hash: no Hash object). */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'base64');
}

export function parseScopes(input: readonly string[] | undefined): Scope[] {
  if (!input || input.length === 0) return [...SCOPES];
  const bad = input.filter((s) => !isScope(s));
  if (bad.length) {
    throw ERRORS.invalidField(
      'scopes',
      'invalid_value',
      `unknown scope(s) ${bad.join(', ')}; valid: ${SCOPES.join(', ')}`,
    );
  }
  return [...new Set(input as Scope[])];
}

export async function createApiKey(
  db: Db,
  tenantId: string,
  input: { name?: string | undefined; scopes?: readonly string[] | undefined },
): Promise<{ key: ApiKey; token: string }> {
  const scopes = parseScopes(input.scopes);
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('api_keys')
    .values({
      tenant_id: tenantId,
      id: newId(),
      name: input.name ?? '',
      prefix: token.slice(0, 10),
      token_hash: hashToken(token),
      scopes,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key: toApiKey(row), token };
}

export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKey[]> {
  const rows = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toApiKey);
}

export async function revokeApiKey(db: Db, tenantId: string, keyId: string): Promise<ApiKey> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('api_keys')
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', keyId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw ERRORS.notFound('api key', keyId);
    // Delivered on commit to every server's LISTEN, which drops the key from its cache at once.
    await sql`select pg_notify(${KEY_REVOKED_CHANNEL}, ${keyId})`.execute(trx);
    return toApiKey(row);
  });
}

export interface KeyLookup {
  key: ApiKeyRow;
  tenant: TenantRow;
}

export async function findActiveKey(db: Db, token: string): Promise<KeyLookup | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return undefined;
  const hash = hashToken(token);
  const row = await db
    .selectFrom('api_keys as k')
    .innerJoin('tenants as t', 't.id', 'k.tenant_id')
    .selectAll('k')
    .select([
      't.number as t_number',
      't.slug as t_slug',
      't.name as t_name',
      't.default_region as t_default_region',
      't.created_at as t_created_at',
      't.updated_at as t_updated_at',
    ])
    .where('k.token_hash', '=', hash)
    .where('k.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row || !timingSafeEqual(row.token_hash, hash)) return undefined;
  const { t_number, t_slug, t_name, t_default_region, t_created_at, t_updated_at, ...key } = row;
  return {
    key,
    tenant: {
      id: key.tenant_id,
      number: t_number,
      slug: t_slug,
      name: t_name,
      default_region: t_default_region,
      created_at: t_created_at,
      updated_at: t_updated_at,
    },
  };
}

/** Sets last_used_at to now for these keys, in one statement. */
export async function touchApiKeys(db: Db, keys: { tenantId: string; keyId: string }[]): Promise<void> {
  if (keys.length === 0) return;
  await sql`
    update api_keys k set last_used_at = now()
    from unnest(${keys.map((k) => k.tenantId)}::uuid[], ${keys.map((k) => k.keyId)}::uuid[]) as t(tenant_id, id)
    where k.tenant_id = t.tenant_id and k.id = t.id`.execute(db);
}
