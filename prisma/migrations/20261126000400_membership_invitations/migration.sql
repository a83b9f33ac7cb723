-- Memberships become invitations until the operator accepts: a tenant admin can no longer
-- attach someone else's login to their tenant, nor see their details, without consent.
ALTER TABLE "memberships" ADD COLUMN "accepted_at" TIMESTAMPTZ(3);
ALTER TABLE "memberships" ADD COLUMN "invited_email" TEXT;
UPDATE "memberships" SET "accepted_at" = "created_at";

DROP POLICY tenant_members ON "operators";
CREATE POLICY tenant_members ON "operators" FOR SELECT TO konstruct_app
  USING (EXISTS (SELECT 1 FROM memberships m
                  WHERE m.operator_id = operators.id AND m.tenant_id = konstruct_tenant_id() AND m.accepted_at IS NOT NULL));
