-- Row-level security: a second wall behind the tenant filter every query already carries. The server's request
-- pool runs as contacts_app (src/db/connection.ts), which sees and writes only the rows of the tenant named by the
-- transaction-local setting app.tenant_id (set by src/db/driver.ts); with no setting it sees nothing. The table
-- owner (the role that runs migrations) is not subject to these policies (no FORCE): migrations, the CLI's
-- cross-tenant commands and the API-key lookup, which runs before the tenant is known, use it.
--
-- A new tenant table must get the same three things: grants to contacts_app, ENABLE ROW LEVEL SECURITY and a
-- tenant_isolation policy (test/rls.test.ts fails for a table with a tenant_id column and no policy).

DO $$
BEGIN
  -- Roles are cluster-wide: another database of the same cluster may have created it, possibly at this moment.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'contacts_app') THEN
    BEGIN
      CREATE ROLE contacts_app NOLOGIN NOINHERIT;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role contacts_app does not exist and % may not create it', current_user
          USING HINT = format('As a superuser run: CREATE ROLE contacts_app NOLOGIN; GRANT contacts_app TO %I;',
            current_user);
    END;
  END IF;
  -- The wall holds only if the role cannot step around it.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'contacts_app' AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role contacts_app must have neither SUPERUSER nor BYPASSRLS';
  END IF;
  IF pg_has_role('contacts_app', current_user, 'USAGE') THEN
    RAISE EXCEPTION 'role contacts_app must not inherit the privileges of the table owner %', current_user;
  END IF;
  -- The service's login switches to contacts_app when it connects (the startup parameter role=contacts_app), which
  -- needs a membership with SET (PostgreSQL 16+; before, any membership); a superuser needs none. The creator of a
  -- role holds only ADMIN on it since PostgreSQL 16.
  IF NOT pg_has_role(current_user, 'contacts_app',
      CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) THEN
    BEGIN
      EXECUTE format('GRANT contacts_app TO %I', current_user)
        || CASE WHEN current_setting('server_version_num')::int >= 160000 THEN ' WITH SET TRUE' ELSE '' END;
    EXCEPTION
      WHEN unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION '% may not switch to role contacts_app', current_user
          USING HINT = format('As a superuser run: GRANT contacts_app TO %I;', current_user);
    END;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO contacts_app', current_schema());
END
$$;

-- Least privilege, from what the request path does: events are appended and scrubbed, never deleted; keys are
-- created and revoked, never deleted. Identity columns need no grant on their sequences.
GRANT SELECT ON tenants TO contacts_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON customers, contacts, channels, idempotency_keys TO contacts_app;
GRANT SELECT, INSERT, UPDATE ON events, api_keys TO contacts_app;

-- nullif: once a session has used the setting, PostgreSQL reports it as '' (not NULL) outside the transaction
-- that set it, and ''::uuid would be an error rather than "no rows".
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants FOR SELECT TO contacts_app
  USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys TO contacts_app
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers TO contacts_app
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contacts TO contacts_app
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE channels ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON channels TO contacts_app
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events TO contacts_app
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys TO contacts_app
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Under row-level security PostgreSQL evaluates the policy before any condition of the query that is not
-- LEAKPROOF, and such a condition can then no longer be an index condition: `search LIKE '%…%'` (the trigram
-- indexes) and `lower(name)` (the customers' name order and search) would scan every row of the tenant. These two
-- built-ins raise no error that depends on row data (LIKE's only error is about the pattern), so marking them
-- LEAKPROOF gives up nothing the wall is for. Only a superuser may; elsewhere (managed PostgreSQL) a superuser
-- can run these two statements once, or search and name-ordered pages of large tenants get slower.
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF;
    ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF;
  ELSE
    RAISE WARNING 'not a superuser: textlike(text, text) and lower(text) stay non-LEAKPROOF, so under row-level security the search and name-order indexes cannot be used'
      USING HINT = 'As a superuser: ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF; ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF;';
  END IF;
END
$$;
