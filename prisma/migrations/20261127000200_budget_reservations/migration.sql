-- Budget reservations: what each LLM call in flight holds against each budget window.
--
-- budget_windows.reserved is the sum of the live (expired_at IS NULL) holds of that window.
-- A hold is created by the reservation taken before a call and removed when the call is
-- settled (its actual usage moves to `spent`) or released (the call did not happen). A runner
-- that crashes in between leaves its holds behind: each has an `expires_at`, and the next
-- reservation against the same window (or the maintenance sweep) marks expired holds with
-- `expired_at` and gives their amount back to the window. The row stays for a grace period so
-- that a call that outlived its hold can still be settled into `spent`; after that it is
-- deleted. Every change to holds happens while the window rows are locked (FOR UPDATE, in
-- (budget_id, window_start) order), so reserve, settle, release and sweep serialize per
-- window across processes without deadlocking.
CREATE TABLE "budget_reservations" (
    "id" UUID NOT NULL,
    "budget_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "unit" "budget_unit" NOT NULL,
    "amount" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "expired_at" TIMESTAMPTZ(3),
    CONSTRAINT "budget_reservations_pkey" PRIMARY KEY ("id", "budget_id"),
    CONSTRAINT "budget_reservations_amount_check" CHECK ("amount" >= 0)
);
CREATE INDEX "budget_reservations_tenant_id_idx" ON "budget_reservations"("tenant_id");
CREATE INDEX "budget_reservations_budget_id_window_start_idx" ON "budget_reservations"("budget_id", "window_start");

ALTER TABLE "budget_reservations" ADD CONSTRAINT "budget_reservations_tenant_id_fkey"
  FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "budget_reservations" ADD CONSTRAINT "budget_reservations_budget_id_window_start_fkey"
  FOREIGN KEY ("budget_id", "window_start") REFERENCES "budget_windows"("budget_id", "window_start") ON DELETE CASCADE ON UPDATE CASCADE;

-- Tenant isolation, exactly as for every other tenant table (20261126000100_tenant_isolation).
ALTER TABLE "budget_reservations" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "budget_reservations" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "budget_reservations" TO konstruct_app
  USING (tenant_id = konstruct_tenant_id()) WITH CHECK (tenant_id = konstruct_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON "budget_reservations" TO konstruct_app;
