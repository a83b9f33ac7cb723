-- konstruct_platform: what operator login and platform administration need across tenants,
-- and nothing else. Tenant data (agents, conversations, keys, …) stays reachable only
-- through konstruct_app with a tenant set.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'konstruct_platform') THEN
    CREATE ROLE konstruct_platform NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'konstruct_service') THEN
    GRANT konstruct_platform TO konstruct_service;
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO konstruct_platform;
GRANT EXECUTE ON FUNCTION konstruct_tenant_id() TO konstruct_platform;

GRANT SELECT, INSERT, UPDATE, DELETE ON "tenants" TO konstruct_platform;
CREATE POLICY platform_all ON "tenants" TO konstruct_platform USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE ON "operators" TO konstruct_platform;

GRANT SELECT, INSERT, UPDATE, DELETE ON "memberships" TO konstruct_platform;
CREATE POLICY platform_all ON "memberships" TO konstruct_platform USING (true) WITH CHECK (true);

-- Tenant admins list their members: konstruct_app may read the public columns of operators
-- who belong to the current tenant — never the password hash, never anyone else.
ALTER TABLE "operators" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "operators" FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_all ON "operators" TO konstruct_platform USING (true) WITH CHECK (true);
CREATE POLICY tenant_members ON "operators" FOR SELECT TO konstruct_app
  USING (EXISTS (SELECT 1 FROM memberships m WHERE m.operator_id = operators.id AND m.tenant_id = konstruct_tenant_id()));
GRANT SELECT ("id", "email", "display_name", "is_platform_admin", "created_at", "last_login_at") ON "operators" TO konstruct_app;
