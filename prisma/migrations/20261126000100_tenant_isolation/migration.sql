-- Tenant isolation enforced by the database.
--
-- Application code never touches tenant data as the table owner: each transaction runs
-- `SET LOCAL ROLE konstruct_app` and `set_config('app.tenant_id', <id>, true)` first
-- (packages/db withTenant). konstruct_app is not a superuser, has no BYPASSRLS and owns no
-- table, so the policies below always apply. Settings are transaction-local because the
-- embedded database multiplexes every connection onto one backend, and because that is the
-- correct pattern behind any connection pool.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'konstruct_app') THEN
    CREATE ROLE konstruct_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  -- Looks up routing data (channel connection by team / phone number, API key by prefix)
  -- before the tenant is known. It can read those two tables and nothing else.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'konstruct_router') THEN
    CREATE ROLE konstruct_router NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  -- A login role created by the deployment (docker-compose) gets both.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'konstruct_service') THEN
    GRANT konstruct_app, konstruct_router TO konstruct_service;
  END IF;
END $$;

CREATE FUNCTION konstruct_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

GRANT USAGE ON SCHEMA public TO konstruct_app, konstruct_router;
GRANT EXECUTE ON FUNCTION konstruct_tenant_id() TO konstruct_app, konstruct_router;

-- Every table with a tenant_id column: RLS enabled and forced, one policy for the app role.
DO $$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
    WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND tb.table_type = 'BASE TABLE'
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I TO konstruct_app USING (tenant_id = konstruct_tenant_id()) WITH CHECK (tenant_id = konstruct_tenant_id())',
      t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO konstruct_app', t);
  END LOOP;
END $$;

-- The tenant row itself: a tenant sees and may rename only itself.
ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tenants" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_self ON "tenants" TO konstruct_app USING (id = konstruct_tenant_id()) WITH CHECK (id = konstruct_tenant_id());
GRANT SELECT, UPDATE ON "tenants" TO konstruct_app;

-- Global catalogue tables.
GRANT SELECT ON "plans" TO konstruct_app;
GRANT SELECT ON "operators" TO konstruct_app;

-- Routing look-ups.
CREATE POLICY routing_lookup ON "channel_connections" FOR SELECT TO konstruct_router USING (true);
CREATE POLICY routing_lookup ON "api_keys" FOR SELECT TO konstruct_router USING (true);
GRANT SELECT ON "channel_connections", "api_keys" TO konstruct_router;

-- Audit events are append-only: the app may insert and read, never change or remove.
REVOKE UPDATE, DELETE ON "audit_events" FROM konstruct_app;

-- Hash chain per tenant, computed in the database so concurrent writers cannot fork it.
CREATE FUNCTION konstruct_audit_chain() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  last_seq bigint;
  last_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('konstruct.audit:' || NEW.tenant_id::text, 0));
  SELECT seq, hash INTO last_seq, last_hash
    FROM audit_events WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
  NEW.seq := coalesce(last_seq, 0) + 1;
  NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
  NEW.occurred_at := coalesce(NEW.occurred_at, CURRENT_TIMESTAMP);
  NEW.hash := konstruct_audit_hash(NEW);
  RETURN NEW;
END $$;

CREATE FUNCTION konstruct_audit_hash(e audit_events) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws('|',
    e.prev_hash, e.tenant_id::text, e.seq::text, e.id::text,
    to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    e.actor_kind, coalesce(e.actor_id, ''), e.action,
    coalesce(e.subject_type, ''), coalesce(e.subject_id, ''), e.data::text), 'UTF8')), 'hex')
$$;

CREATE FUNCTION konstruct_audit_immutable() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_events_chain BEFORE INSERT ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION konstruct_audit_chain();
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION konstruct_audit_immutable();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION konstruct_audit_immutable();

GRANT EXECUTE ON FUNCTION konstruct_audit_hash(audit_events) TO konstruct_app;

-- Walks a tenant's chain and returns the first event whose link or hash does not hold
-- (no row: the chain is intact).
CREATE FUNCTION konstruct_audit_verify(p_tenant uuid)
  RETURNS TABLE (seq bigint, id uuid, problem text)
  LANGUAGE sql STABLE AS $$
  WITH chain AS (
    SELECT e.seq, e.id, e.prev_hash, e.hash, konstruct_audit_hash(e) AS recomputed,
           lag(e.hash) OVER (ORDER BY e.seq) AS expected_prev,
           lag(e.seq) OVER (ORDER BY e.seq) AS prev_seq
      FROM audit_events e WHERE e.tenant_id = p_tenant
  )
  SELECT c.seq, c.id,
         CASE
           WHEN c.prev_seq IS NULL AND c.seq <> 1 THEN 'chain does not start at 1'
           WHEN c.prev_seq IS NOT NULL AND c.seq <> c.prev_seq + 1 THEN 'gap before this event'
           WHEN c.prev_seq IS NULL AND c.prev_hash <> repeat('0', 64) THEN 'first event does not link to the genesis hash'
           WHEN c.prev_seq IS NOT NULL AND c.prev_hash <> c.expected_prev THEN 'prev_hash does not match the previous event'
           ELSE 'hash does not match the event contents'
         END
    FROM chain c
   WHERE (c.prev_seq IS NULL AND (c.seq <> 1 OR c.prev_hash <> repeat('0', 64)))
      OR (c.prev_seq IS NOT NULL AND (c.seq <> c.prev_seq + 1 OR c.prev_hash <> c.expected_prev))
      OR c.hash <> c.recomputed
   ORDER BY c.seq
   LIMIT 1
$$;
GRANT EXECUTE ON FUNCTION konstruct_audit_verify(uuid) TO konstruct_app;
