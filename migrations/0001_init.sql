-- The contacts core. tenant_id leads every primary key, unique key and index of tenant data, so the schema can be
-- distributed by tenant (Citus: distribute customers/contacts/channels/events/idempotency_keys by tenant_id,
-- tenants and api_keys as reference tables). Integer `number`s exist for dialects whose ids are integers.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  number bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  -- Region used to read national phone numbers (ISO 3166-1 alpha-2).
  default_region text NOT NULL DEFAULT 'US' CHECK (default_region ~ '^[A-Z]{2}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Looked up by token hash before the tenant is known, so its hash index cannot lead with tenant_id; under Citus
-- this is a reference table.
CREATE TABLE api_keys (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL DEFAULT '' CHECK (char_length(name) <= 200),
  prefix text NOT NULL,
  token_hash bytea NOT NULL UNIQUE,
  scopes text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE customers (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  number bigint GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  external_ref text CHECK (char_length(external_ref) BETWEEN 1 AND 200),
  metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  -- The customer's designated contacts; a contact referenced here is "in use" and cannot be deleted.
  billing_contact_id uuid,
  technical_contact_id uuid,
  security_contact_id uuid,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, number)
);
CREATE UNIQUE INDEX customers_external_ref ON customers (tenant_id, external_ref)
  WHERE external_ref IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX customers_created ON customers (tenant_id, created_at, id);
CREATE INDEX customers_updated ON customers (tenant_id, updated_at, id);
CREATE INDEX customers_name ON customers (tenant_id, lower(name), id);
CREATE INDEX customers_search ON customers USING gin (tenant_id, lower(name) gin_trgm_ops);

CREATE TABLE contacts (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  number bigint GENERATED ALWAYS AS IDENTITY,
  -- NULL for the tenant's own contacts (DNSimple's account contacts).
  customer_id uuid,
  name text CHECK (char_length(name) <= 200),
  first_name text CHECK (char_length(first_name) <= 100),
  last_name text CHECK (char_length(last_name) <= 100),
  job_title text CHECK (char_length(job_title) <= 200),
  organization_name text CHECK (char_length(organization_name) <= 200),
  label text CHECK (char_length(label) <= 100),
  email text CHECK (char_length(email) <= 254),
  phone text CHECK (char_length(phone) <= 40),
  phone_e164 text CHECK (phone_e164 ~ '^\+[1-9][0-9]{1,14}$'),
  fax text CHECK (char_length(fax) <= 40),
  fax_e164 text CHECK (fax_e164 ~ '^\+[1-9][0-9]{1,14}$'),
  address1 text CHECK (char_length(address1) <= 200),
  address2 text CHECK (char_length(address2) <= 200),
  city text CHECK (char_length(city) <= 100),
  state_province text CHECK (char_length(state_province) <= 100),
  postal_code text CHECK (char_length(postal_code) <= 20),
  country text CHECK (country ~ '^[A-Z]{2}$'),
  -- Fastly's closed list of contact types; `role` is DayZero's free text.
  contact_type text CHECK (contact_type IN ('primary', 'billing', 'technical', 'security', 'emergency', 'general compliance')),
  role text CHECK (char_length(role) <= 100),
  is_primary boolean NOT NULL DEFAULT false,
  notes text CHECK (char_length(notes) <= 5000),
  user_id text CHECK (char_length(user_id) <= 100),
  metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  -- Sort and search keys, kept by PostgreSQL so no code path can forget them.
  sort_name text GENERATED ALWAYS AS (
    lower(coalesce(nullif(name, ''), btrim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')), ''))
  ) STORED,
  sort_email text GENERATED ALWAYS AS (lower(coalesce(email, ''))) STORED,
  search text GENERATED ALWAYS AS (
    lower(
      coalesce(name, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
      coalesce(email, '') || ' ' || coalesce(organization_name, '')
    ) || ' ' || coalesce(regexp_replace(phone_e164, '[^0-9]', '', 'g'), '')
  ) STORED,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, number),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
-- One primary contact per customer, and one among the tenant's own contacts.
CREATE UNIQUE INDEX contacts_one_primary ON contacts (tenant_id, customer_id)
  WHERE is_primary AND deleted_at IS NULL AND customer_id IS NOT NULL;
CREATE UNIQUE INDEX contacts_one_primary_tenant ON contacts (tenant_id)
  WHERE is_primary AND deleted_at IS NULL AND customer_id IS NULL;
CREATE INDEX contacts_created ON contacts (tenant_id, created_at, id);
CREATE INDEX contacts_updated ON contacts (tenant_id, updated_at, id);
CREATE INDEX contacts_sort_name ON contacts (tenant_id, sort_name, id);
CREATE INDEX contacts_sort_email ON contacts (tenant_id, sort_email, id);
CREATE INDEX contacts_customer ON contacts (tenant_id, customer_id, created_at, id);
CREATE INDEX contacts_phone ON contacts (tenant_id, phone_e164) WHERE phone_e164 IS NOT NULL;
CREATE INDEX contacts_search ON contacts USING gin (tenant_id, search gin_trgm_ops);

ALTER TABLE customers
  ADD FOREIGN KEY (tenant_id, billing_contact_id) REFERENCES contacts (tenant_id, id),
  ADD FOREIGN KEY (tenant_id, technical_contact_id) REFERENCES contacts (tenant_id, id),
  ADD FOREIGN KEY (tenant_id, security_contact_id) REFERENCES contacts (tenant_id, id);

-- Ecwid's customer contacts: the ways to reach a customer, optionally tied to one of its contacts.
CREATE TABLE channels (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  number bigint GENERATED ALWAYS AS IDENTITY,
  customer_id uuid NOT NULL,
  contact_id uuid,
  type text NOT NULL CHECK (type IN ('EMAIL', 'PHONE', 'FACEBOOK', 'INSTAGRAM', 'TWITTER', 'YOUTUBE', 'TIKTOK',
    'PINTEREST', 'VK', 'FB_MESSENGER', 'WHATSAPP', 'TELEGRAM', 'VIBER', 'URL', 'OTHER')),
  value text NOT NULL CHECK (char_length(value) BETWEEN 1 AND 500),
  handle text CHECK (char_length(handle) <= 200),
  note text CHECK (char_length(note) <= 1000),
  is_default boolean NOT NULL DEFAULT false,
  position integer NOT NULL DEFAULT 0 CHECK (position >= 0),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, number),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
-- Ecwid's rule: at most one default channel per type per customer.
CREATE UNIQUE INDEX channels_one_default ON channels (tenant_id, customer_id, type) WHERE is_default;
CREATE INDEX channels_customer ON channels (tenant_id, customer_id, position, id);
CREATE INDEX channels_contact ON channels (tenant_id, contact_id) WHERE contact_id IS NOT NULL;

-- Every write records an event in its own transaction: the history of each object today, and the source of the
-- change feed and webhook outbox later.
CREATE TABLE events (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  type text NOT NULL,
  resource_type text NOT NULL,
  resource_id uuid NOT NULL,
  data jsonb NOT NULL,
  api_key_id uuid,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX events_resource ON events (tenant_id, resource_id, id);

CREATE TABLE idempotency_keys (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key text NOT NULL,
  fingerprint text NOT NULL,
  status integer NOT NULL,
  body jsonb,
  headers jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (tenant_id, created_at);
