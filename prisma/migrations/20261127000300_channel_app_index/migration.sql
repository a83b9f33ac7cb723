-- A tenant's own Slack app is found by the request's api_app_id before the tenant is known
-- (its signing secret verifies the request): an index, so a forged app id costs a lookup, not a scan.
CREATE INDEX "channel_connections_kind_app_id_idx" ON "channel_connections" ("kind", "app_id");
