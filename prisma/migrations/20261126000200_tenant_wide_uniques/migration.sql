-- A tenant-wide budget (agent_id NULL) or rate limit (connection_id NULL) must be unique too;
-- the composite unique indexes treat NULLs as distinct, so add partial ones.
CREATE UNIQUE INDEX "budgets_tenant_wide_key" ON "budgets"("tenant_id", "period", "unit") WHERE "agent_id" IS NULL;
CREATE UNIQUE INDEX "rate_limit_settings_tenant_wide_key" ON "rate_limit_settings"("tenant_id") WHERE "connection_id" IS NULL;

-- Operator rows hold password hashes. Tenant-scoped code has no reason to read them; login
-- gets its own narrow path when the API lands.
REVOKE SELECT ON "operators" FROM konstruct_app;
