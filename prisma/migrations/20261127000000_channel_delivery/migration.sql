-- Outbound delivery that survives a crash between "posted to the vendor" and "recorded here":
-- a reply is claimed as `sending` before the vendor call, so a redelivery knows to reconcile
-- with the vendor instead of posting again; long replies go out in parts, counted as they land.
ALTER TYPE "delivery_state" ADD VALUE IF NOT EXISTS 'sending' BEFORE 'sent';
ALTER TABLE "messages" ADD COLUMN "parts_sent" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "messages" ADD COLUMN "delivery_attempted_at" TIMESTAMPTZ(3);
