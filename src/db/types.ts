// Row types of the tables in migrations/. Kept apart from the API types; each resource has one row → API mapper.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
// postgres.js serialises a jsonb parameter itself (it learns the type when preparing): pass objects, never JSON text.
type Json = ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
type ReadOnly<T> = ColumnType<T, never, never>;

export interface TenantsTable {
  id: string;
  number: ReadOnly<number>;
  slug: string;
  name: string;
  default_region: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApiKeysTable {
  tenant_id: string;
  id: string;
  name: Generated<string>;
  prefix: string;
  token_hash: Buffer;
  scopes: string[];
  created_at: Timestamp;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface CustomersTable {
  tenant_id: string;
  id: string;
  number: ReadOnly<number>;
  name: string;
  external_ref: string | null;
  metadata: Json;
  billing_contact_id: string | null;
  technical_contact_id: string | null;
  security_contact_id: string | null;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Date | null;
}

export interface ContactsTable {
  tenant_id: string;
  id: string;
  number: ReadOnly<number>;
  customer_id: string | null;
  name: string | null;
  first_name: string | null;
  last_name: string | null;
  job_title: string | null;
  organization_name: string | null;
  label: string | null;
  email: string | null;
  phone: string | null;
  phone_e164: string | null;
  fax: string | null;
  fax_e164: string | null;
  address1: string | null;
  address2: string | null;
  city: string | null;
  state_province: string | null;
  postal_code: string | null;
  country: string | null;
  contact_type: string | null;
  role: string | null;
  is_primary: Generated<boolean>;
  notes: string | null;
  user_id: string | null;
  metadata: Json;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Date | null;
  sort_name: ReadOnly<string>;
  sort_email: ReadOnly<string>;
  search: ReadOnly<string>;
}

export interface ChannelsTable {
  tenant_id: string;
  id: string;
  number: ReadOnly<number>;
  customer_id: string;
  contact_id: string | null;
  type: string;
  value: string;
  handle: string | null;
  note: string | null;
  is_default: Generated<boolean>;
  position: Generated<number>;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EventsTable {
  tenant_id: string;
  id: ReadOnly<number>;
  type: string;
  resource_type: string;
  resource_id: string;
  data: Json;
  api_key_id: string | null;
  request_id: string | null;
  created_at: Timestamp;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  fingerprint: string;
  status: number;
  body: ColumnType<unknown, unknown, unknown>;
  headers: Json;
  created_at: Timestamp;
}

export interface DB {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  customers: CustomersTable;
  contacts: ContactsTable;
  channels: ChannelsTable;
  events: EventsTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type TenantRow = Selectable<TenantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type CustomerRow = Selectable<CustomersTable>;
export type NewCustomerRow = Insertable<CustomersTable>;
export type CustomerUpdate = Updateable<CustomersTable>;
export type ContactRow = Selectable<ContactsTable>;
export type NewContactRow = Insertable<ContactsTable>;
export type ContactUpdate = Updateable<ContactsTable>;
export type ChannelRow = Selectable<ChannelsTable>;
export type NewChannelRow = Insertable<ChannelsTable>;
export type ChannelUpdate = Updateable<ChannelsTable>;
