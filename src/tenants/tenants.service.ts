import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import type { TenantRow } from '../db/types.ts';
import { ERRORS } from '../http/errors.ts';
import { isCountryCode } from '../lib/country.ts';
import { newId } from '../lib/ids.ts';

export interface Tenant {
  id: string;
  number: number;
  slug: string;
  name: string;
  default_region: string;
  created_at: string;
  updated_at: string;
}

export function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    number: row.number,
    slug: row.slug,
    name: row.name,
    default_region: row.default_region,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export interface TenantInput {
  slug: string;
  name?: string | undefined;
  default_region?: string | undefined;
}

export async function createTenant(db: Db, input: TenantInput): Promise<Tenant> {
  const errors = [];
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.slug)) {
    errors.push({
      field: 'slug',
      code: 'invalid_format',
      message: 'must be 1-63 lowercase letters, digits or dashes',
    });
  }
  const region = input.default_region ?? 'US';
  if (!isCountryCode(region)) {
    errors.push({
      field: 'default_region',
      code: 'invalid_value',
      message: 'must be an ISO 3166-1 alpha-2 code',
    });
  }
  const name = input.name ?? input.slug;
  if (name.length < 1 || name.length > 200) {
    errors.push({ field: 'name', code: 'invalid_length', message: 'must have 1 to 200 characters' });
  }
  if (errors.length) throw ERRORS.validation(errors);
  const row = await db
    .insertInto('tenants')
    .values({ id: newId(), slug: input.slug, name, default_region: region })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toTenant(row);
}

export async function findTenantBySlug(db: Db, slug: string): Promise<Tenant | undefined> {
  const row = await db.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
  return row ? toTenant(row) : undefined;
}

export async function listTenants(db: Db): Promise<Tenant[]> {
  const rows = await db.selectFrom('tenants').selectAll().orderBy('number').execute();
  return rows.map(toTenant);
}

export async function countTenants(db: Db): Promise<number> {
  const row = await db
    .selectFrom('tenants')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * On an empty database, creates the `default` tenant and its first admin key, and returns the key's token (to be
 * shown once). Serialised by an advisory lock so two servers starting together create one tenant.
 */
export async function bootstrapDefaultTenant(
  db: Db,
  createKey: (trx: Db, tenantId: string) => Promise<string>,
): Promise<{ tenant: Tenant; token: string } | undefined> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(7213004102)`.execute(trx);
    if ((await countTenants(trx)) > 0) return undefined;
    const tenant = await createTenant(trx, { slug: 'default', name: 'Default' });
    return { tenant, token: await createKey(trx, tenant.id) };
  });
}
