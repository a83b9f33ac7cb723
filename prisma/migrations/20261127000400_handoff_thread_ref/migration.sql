-- Every message in a Slack thread is checked against the handoffs' human threads (is a person
-- answering a customer here?): an index on the thread's ref, so that check is a lookup, not a
-- scan of the tenant's handoffs.
CREATE INDEX "handoffs_tenant_id_human_thread_ref_idx" ON "handoffs" ("tenant_id", ("human_thread" ->> 'ref'));
